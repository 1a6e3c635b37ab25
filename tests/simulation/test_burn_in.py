"""``simulation.burn_in``: months simulated unrecorded before month 1; tables, policy changes,
triggers and shocks all count from month 1 after them."""

import numpy as np
from conftest import tiny

import lendsim
from lendsim import MarketModel
from lendsim.simulation.policy import with_policy

B = 9


def test_tables_start_at_month_one_after_the_burn_in():
    res = lendsim.run(tiny(**{"simulation.burn_in": B}), steps=5)
    assert list(res.model["step"]) == [1, 2, 3, 4, 5]
    assert set(res.platforms["step"]) == set(range(1, 6))
    assert (res.events["step"] >= 1).all()
    # month 1 starts with the loans made during the burn-in
    plain = lendsim.run(tiny(), steps=5)
    assert res.model["credit_outstanding"].iloc[0] > plain.model["credit_outstanding"].iloc[0]


def test_the_burn_in_runs_at_the_first_step_only():
    model = MarketModel(tiny(**{"simulation.burn_in": B}))
    assert model.t == -B and model.loans.n == 0
    model.step()
    assert model.t == 1 == model.steps
    L = model.loans
    assert (L.origination_step[L.is_open()] <= 0).any()  # loans made during the burn-in
    n_loans = model.loans.n
    model.step()
    assert model.t == 2 == model.steps and model.loans.n >= n_loans * 0.5


def test_policy_triggers_and_shocks_count_from_month_one():
    scen = with_policy(tiny(**{"simulation.burn_in": B, "macro.shock_start": 4,
                                "macro.shock_months": 2, "regulator.apr_cap": 0.36}),
                       [{"key": "regulator.apr_cap", "value": 0.30, "step": 3}],
                       [{"indicator": "unemployment_rate", "above": 0.0, "action": "set",
                         "key": "regulator.max_lenders", "value": 4, "after": 2}],
                       source="test")
    res = lendsim.run(scen, steps=6)
    m, ev = res.model, res.events
    np.testing.assert_array_equal(m["apr_cap"], [0.36, 0.36, 0.30, 0.30, 0.30, 0.30])
    assert list(m["is_income_shock"]) == [False, False, False, True, True, False]
    assert ev.loc[ev["kind"] == "policy_change", "step"].tolist() == [3]
    # a trigger reads last month's row: the first recorded month has none, so it fires in
    # month 2 at the earliest (its "after"), on month 1's row
    assert ev.loc[ev["kind"] == "regulator_action", "step"].tolist() == [2]


def test_without_a_burn_in_nothing_changes():
    a = lendsim.run(tiny(), steps=4, seed=3)
    b = lendsim.run(tiny(**{"simulation.burn_in": 0}), steps=4, seed=3)
    assert a.model.equals(b.model) and a.events.equals(b.events)
