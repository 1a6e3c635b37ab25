"""Phase 2, income (simulation/phases/income.py): the month's clock for defaults, income
growth, employment and income, replayed by hand on a copy of the random stream."""

import copy

import numpy as np
import pytest
from conftest import tiny

import lendsim
from lendsim import MarketModel
from lendsim.agents.rules import income as rules
from lendsim.simulation.month import Month
from lendsim.simulation.phases import income


@pytest.mark.parametrize("steps, scar", [(0, 0.0), (3, 0.0), (3, 0.3)])
def test_income_step_by_hand(steps, scar):
    model = MarketModel(tiny(**{"borrowers.n": 300, "macro.income_growth": 0.12,
                                "borrowers.job_loss_scar": scar,
                                "macro.unemployment_rate": 0.2}))
    model.run(steps)
    model.t += 1  # the phase runs in the month being stepped (Mesa counts it first)
    model.month = Month(model.n_borrowers, len(model.platforms))
    pop, p = model.population, model.params
    pop.months_since_default[:3] = [0, 5, pop.NEVER]
    before = {k: getattr(pop, k).copy() for k in ("base_income", "cash", "is_employed",
                                                  "months_since_default", "income_state")}
    twin = copy.deepcopy(model.rng)
    income.step(model)
    assert pop.months_since_default[:3].tolist() == [1, 6, pop.NEVER]  # capped at NEVER
    growth = 1.12 ** (1 / 12) if model.t > 1 else 1.0  # incomes grow from month 2
    np.testing.assert_allclose(pop.base_income, before["base_income"] * growth, rtol=1e-12)
    p_eu = rules.job_loss_prob(model.macro.unemployment_target, p.macro.job_finding_rate,
                               pop.job_loss_loading)
    employed = rules.employment_step(before["is_employed"], p_eu, p.macro.job_finding_rate,
                                     twin.random(model.n_borrowers))
    np.testing.assert_array_equal(pop.is_employed, employed)
    bp = p.borrowers
    x = (bp.income_persistence * before["income_state"]
         + np.sqrt(1 - bp.income_persistence ** 2) * bp.income_persistent_sd
         * twin.standard_normal(pop.n))
    re_employed = employed & ~before["is_employed"]
    assert re_employed.any()
    x = x + scar * p.macro.unemployment_rate * p.macro.job_finding_rate - scar * re_employed
    np.testing.assert_allclose(pop.income_state, x)
    z = twin.standard_normal(pop.n)
    y = pop.base_income * np.exp(bp.income_volatility * z - bp.income_volatility ** 2 / 2
                                 + x - bp.income_persistent_sd ** 2 / 2)
    got = np.where(employed, y * (1 - model.macro.income_loss),
                   bp.benefit_share * pop.base_income)
    np.testing.assert_allclose(pop.income, got)
    np.testing.assert_allclose(pop.cash, before["cash"] + got)
    model.close()


def test_unemployment_follows_the_macro_target():
    res = lendsim.run(tiny(**{"borrowers.n": 5000, "macro.cycle_amplitude": 0.0,
                              "macro.unemployment_rate": 0.1,
                              "simulation.check_invariants": False}), steps=24)
    # starts at the target and the chain's stationary share is the target
    assert res.model["unemployment_rate"].mean() == pytest.approx(0.1, abs=0.01)
