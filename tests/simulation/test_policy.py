"""Policy schedules, triggered rules, early warnings, instruments and who-is-affected columns."""

import math

import numpy as np
import pytest
from conftest import tiny

import lendsim
from lendsim import MarketModel
from lendsim.agents.regulators import EW_INDICATORS, Regulator
from lendsim.errors import ScenarioError
from lendsim.simulation.ledger import LoanStatus
from lendsim.simulation.policy import (PolicyChange, parse_policy, parse_triggers, value_at,
                                       with_policy)
from lendsim.simulation.scenario import load_scenario


def _with(scen=None, policy=(), triggers=()):
    return with_policy(scen or tiny(), list(policy), list(triggers), source="test")


# ------------------------------------------------------------------ parsing


@pytest.mark.parametrize("entry, message", [
    ({"key": "regulator.apr_cpa", "value": 0.2, "step": 3}, "did you mean 'regulator.apr_cap'"),
    ({"key": "regulator.apr_cap", "value": -0.2, "step": 3}, "regulator.apr_cap = -0.2"),
    ({"key": "regulator.apr_cap", "value": 0.2}, "step: missing"),
    ({"key": "regulator.apr_cap", "value": 0.2, "step": 3, "announce": 5}, "announce = 5"),
    ({"key": "regulator.apr_cap", "value": 0.2, "step": 3, "stepp": 1}, "did you mean 'step'"),
    ({"key": "borrowers.n", "value": 5, "step": 3}, "not a regulator instrument"),
])
def test_bad_policy_entries_get_one_clear_message(entry, message):
    with pytest.raises(ScenarioError, match=message.replace("(", r"\(").replace(".", r"\.")):
        parse_policy([entry], "f.toml")


@pytest.mark.parametrize("entry, message", [
    ({"indicator": "delinquency_99", "above": 0.1, "action": "set"}, "did you mean"),
    ({"indicator": "delinquency_90", "action": "set", "key": "regulator.apr_cap",
      "value": 0.2}, "exactly one of 'above' and 'below'"),
    ({"indicator": "delinquency_90", "above": 0.1, "action": "ban"}, "action = 'ban'"),
    ({"indicator": "delinquency_90", "above": 0.1, "action": "deleverage"},
     "'platform_leverage' for action 'deleverage'"),
    ({"indicator": "bank_capital_ratio", "below": 0.1, "action": "resolve"},
     "a platform indicator"),
    ({"indicator": "delinquency_90", "above": 0.1, "action": "set",
      "key": "regulator.apr_cap"}, "value: missing"),
])
def test_bad_triggers_get_one_clear_message(entry, message):
    with pytest.raises(ScenarioError, match=message):
        parse_triggers([entry], "f.toml")


def test_policy_arrays_in_files_and_extends(tmp_path):
    (tmp_path / "base.toml").write_text(
        '[meta]\nextends = "baseline.toml"\n'
        '[[policy]]\nkey = "regulator.apr_cap"\nvalue = 0.24\nstep = 4\n')
    (tmp_path / "child.toml").write_text(
        '[meta]\nextends = "base.toml"\n'
        '[[policy]]\nkey = "joint_lending_min_share"\nvalue = 0.3\nstep = 2\nphase_in = 3\n'
        '[[trigger]]\nindicator = "delinquency_90"\nabove = 0.05\naction = "set"\n'
        'key = "regulator.max_lenders"\nvalue = 3\n')
    base = load_scenario(tmp_path / "base.toml")
    assert [c.key for c in base.policy] == ["regulator.apr_cap"] and base.triggers == ()
    child = load_scenario(tmp_path / "child.toml", {"borrowers.n": 300})
    assert [c.key for c in child.policy] == ["regulator.joint_lending_min_share"]  # replaces
    assert child.triggers[0].value == 3 and child.borrowers.n == 300
    assert child.to_json_dict()["policy"][0]["value"] == 0.3
    (tmp_path / "bad.toml").write_text('[[policy]]\nkey = "regulator.apr_cap"\nvalue = "x"\n'
                                       'step = 2\n')
    with pytest.raises(ScenarioError, match="bad.toml"):
        load_scenario(tmp_path / "bad.toml")


def test_value_at_switches_non_numeric_and_count_instruments_at_the_step():
    c = PolicyChange("regulator.apr_cap_mode", "indexed", step=5, announce=2)
    assert [value_at(c, "fixed", t, 0.5) for t in (4, 5)] == ["fixed", "indexed"]
    c = PolicyChange("regulator.max_lenders", 3, step=5, announce=2, phase_in=4)
    assert [value_at(c, 0, t, 0.5) for t in (4, 5, 6)] == [0, 3, 3]  # 0 means no limit
    c = PolicyChange("regulator.max_debt_income", 0.33, step=5, announce=2, phase_in=4)
    assert value_at(c, math.inf, 4, 0.5) == math.inf and value_at(c, math.inf, 5, 0.5) == 0.33
    # no announcement: nothing is anticipated, the phase-in starts from the old value
    c = PolicyChange("regulator.apr_cap", 0.24, step=5, announce=5, phase_in=4)
    assert [value_at(c, 0.36, t, 0.5) for t in (4, 5, 8)] == pytest.approx([0.36, 0.33, 0.24])


# ------------------------------------------------------------------ in the model


def test_scheduled_change_with_announcement_and_phase_in():
    scen = _with(tiny(**{"regulator.anticipation": 0.5}), policy=[
        {"key": "regulator.joint_lending_min_share", "value": 0.3, "step": 5, "announce": 3,
         "phase_in": 2}])
    model = MarketModel(scen)
    seen = []
    for _ in range(7):
        model.step()
        seen.append(model.regulator.policy.joint_lending_min_share)
    # t: 1 2 3 (announced) 4 (half the anticipation) 5 (phase-in 1/2) 6 7
    assert seen == pytest.approx([0, 0, 0, 0.075, 0.225, 0.3, 0.3])
    kinds = model.tables()["events"]["kind"].tolist()
    assert "policy_announced" in kinds and "policy_change" in kinds
    # switched off: the same run without the schedule
    off = MarketModel(scen.with_overrides({"regulator.apply_schedule": False}))
    off.run(7)
    assert off.regulator.policy.joint_lending_min_share == 0


def test_scheduled_rate_cap_binds_from_its_month_on_the_same_seeds():
    pol = [{"key": "regulator.apr_cap", "value": 0.15, "step": 6}]
    on = lendsim.run(_with(policy=pol), steps=10).model
    off = lendsim.run(_with(policy=pol).with_overrides({"regulator.apply_schedule": False}),
                      steps=10).model
    assert (on["apr_cap"].iloc[:5] == 0.36).all() and (on["apr_cap"].iloc[5:] == 0.15).all()
    assert on.iloc[:5].equals(off.iloc[:5])  # common random numbers until the change
    assert (on["avg_apr"].iloc[5:] <= 0.15 + 1e-12).all()


def test_trigger_set_fires_once_on_last_months_indicator():
    trig = [{"indicator": "approval_rate", "above": 0.0, "action": "set",
             "key": "regulator.max_lenders", "value": 1, "after": 3}]
    model = MarketModel(_with(triggers=trig))
    model.run(2)
    assert model.regulator.policy.max_lenders == 0  # not watched before month 3
    model.step()
    assert model.regulator.policy.max_lenders == 1
    model.run(3)
    ev = model.tables()["events"]
    assert (ev["kind"] == "regulator_action").sum() == 1


def test_trigger_stop_lending_and_deleverage():
    trig = [{"indicator": "platform_leverage", "above": -1.0, "action": "stop_lending",
             "months": 2, "after": 3}]
    model = MarketModel(_with(triggers=trig))
    model.run(5)
    plat = model.tables()["platforms"]
    orig = plat.pivot(index="step", columns="platform_id", values="originations")
    assert (orig.loc[[3, 4]] == 0).all().all()  # every platform suspended in months 3-4
    assert orig.loc[5].sum() > 0  # lending resumes
    model = MarketModel(_with(tiny(), triggers=[
        {"indicator": "platform_leverage", "above": 0.05, "action": "deleverage", "after": 4}]))
    model.run(3)
    over = [p for p in model.platforms if p.is_active and p.leverage() > 0.05]
    assert over
    model.step()  # ordered: no lending until leverage is back at or below 0.05
    plat = model.tables()["platforms"]
    now = plat[plat["step"] == 4].set_index("platform_id")
    for p in over:
        assert now.loc[p.idx, "originations"] == 0
        assert p.deleverage_order == 0.05 or p.leverage() <= 0.05


def test_trigger_resolve_stops_walk_aways():
    base = {"platforms.fixed_cost_share": 0.3, "borrowers.failed_lender_nonpayment": 1.0}
    trig = [{"indicator": "platform_equity_ratio", "below": 0.0, "action": "resolve",
             "once": False}]
    walk = lendsim.run(tiny(**base), steps=14).model
    res = lendsim.run(_with(tiny(**base), triggers=trig), steps=14)
    assert (res.events["kind"] == "regulator_action").any()
    assert res.model["losses_platform_failure"].sum() < walk["losses_platform_failure"].sum()


def test_early_warnings_against_hand_computation():
    model = MarketModel(tiny())
    reg = model.regulator
    values = [0.01, 0.012, 0.011, 0.013, 0.05]
    for v in values:
        out = reg.early_warnings({"delinquency_90": v, "bank_capital_ratio_min": 0.12})
    hist = np.array(values[:4])
    z = (0.05 - hist.mean()) / hist.std(ddof=1)
    assert out["ew_delinquency_90_z"] == pytest.approx(z)
    assert out["ew_delinquency_90"] == 1.0
    assert out["ew_bank_capital_ratio_min"] == 0.0  # flat history: no scale, no warning
    assert math.isnan(out["ew_bank_capital_ratio_min_z"])
    assert out["ew_count"] == 1.0
    assert set(f"ew_{k}" for k in EW_INDICATORS) <= set(out)
    fresh = Regulator(model, model.params.regulator)
    assert math.isnan(fresh.early_warnings({"delinquency_90": 0.01})["ew_delinquency_90_z"])


def test_who_is_affected_columns_add_up():
    model = MarketModel(tiny(**{"borrowers.n": 500}))
    model.run(8)
    m = model.tables()["model"]
    q = [f"q{i}" for i in range(1, 6)]
    seg = ["prime", "near_prime", "subprime"]
    for metric in ("applications", "new_loans", "originations", "defaults", "debt"):
        np.testing.assert_allclose(m[[f"{metric}_{g}" for g in q]].sum(axis=1),
                                   m[[f"{metric}_{g}" for g in seg]].sum(axis=1))
    np.testing.assert_allclose(m[[f"debt_{g}" for g in q]].sum(axis=1),
                               m["credit_outstanding"])
    np.testing.assert_allclose(m[[f"originations_{g}" for g in q]].sum(axis=1),
                               m["originations"], rtol=1e-9)
    assert np.bincount(model.population.income_quintile).tolist() == [100] * 5
    ex = m[[f"excluded_{g}" for g in q + seg]].to_numpy()
    assert ((ex >= 0) & (ex <= 1)).all()


def test_require_income_and_fee_loophole():
    model = MarketModel(tiny(**{"regulator.require_income": True, "macro.unemployment_rate":
                                0.3}))
    for _ in range(4):
        n0 = model.loans.n
        model.step()
        L = model.loans
        new = np.arange(n0, L.n)
        new = new[(L.origination_step[new] == model.steps)]
        assert model.population.is_employed[L.borrower_idx[new]].all()
    loose = {"regulator.apr_cap": 0.2, "regulator.apr_cap_all_in": False,
             "platforms.micro_lender.fee_rate": 0.3}
    m_loose = MarketModel(tiny(**loose))
    m_loose.run(4)
    m_tight = MarketModel(tiny(**{**loose, "regulator.apr_cap_all_in": True}))
    m_tight.run(4)
    assert (m_tight.loans.apr <= 0.2 + 1e-12).all()
    assert (m_loose.loans.apr > 0.2).any()  # fees on top of the capped rate
    micro = [p.idx for p in m_loose.platforms if p.kind == "micro_lender"]
    over = m_loose.loans.apr > 0.2
    assert np.isin(m_loose.loans.platform_idx[over], micro).all()
    assert (m_loose.loans.status[over] <= LoanStatus.REPAID).all()


def test_borrowing_and_abs_limits_bound_leverage(monkeypatch):
    """Equity plus borrowing (1 x net assets) plus bonds/ABS (4 x) bound a platform's own
    loans at 6 x equity: its own share of a month's new loans never takes its book above
    that (checked when the month's loans are posted, before that month's repayments and
    losses; losses afterwards can leave a platform above the limit, and then it lends
    nothing of its own until it is back below)."""
    from lendsim.simulation.phases import accounting

    scen = tiny(**{"regulator.platform_borrowing_limit": 1.0,
                   "regulator.platform_abs_limit": 4.0})
    model = MarketModel(scen)
    pl = model.platforms[0]
    assert pl.leverage_limit(model.regulator.policy) == min(pl.tp.max_leverage, 6.0)
    real, checked = accounting.step, []

    def check_then_post(model):
        pools = model.pools
        own, _ = pools.split(pools.flows["originated"][: pools.n], len(model.platforms))
        for p in model.platforms:
            if own[p.idx] > 0:
                limit = min(p.leverage_limit(model.regulator.policy), 6.0)
                assert p.loans_held + own[p.idx] <= limit * p.equity * (1 + 1e-6) + 1e-6
                checked.append(p.idx)
        real(model)

    monkeypatch.setattr(accounting, "step", check_then_post)
    model.run(12)
    assert len(checked) > 12
