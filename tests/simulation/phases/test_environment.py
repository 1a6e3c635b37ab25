"""Phase 1, environment (simulation/phases/environment.py): shocks' hooks in their order,
the regulator's schedule and its events, bureau coverage, operational incidents by hand."""

import numpy as np
import pytest
from conftest import tiny

from lendsim import MarketModel
from lendsim.simulation import shocks
from lendsim.simulation.month import Month
from lendsim.simulation.phases import environment
from lendsim.simulation.policy import with_policy


def _start(model):
    model.t += 1
    model.month = Month(model.n_borrowers, len(model.platforms))


class Probe(shocks.Shock):
    """Records when its hooks run: before the macro state, and after the incidents."""

    name = "probe_test"

    def __init__(self, log):
        self.log = log

    def before_month(self, model):
        self.log.append(("before", model.month.n_incidents))

    def apply(self, model):
        self.log.append(("apply", model.month.n_incidents))


def test_shocks_due_run_both_hooks_in_order_once():
    model = MarketModel(tiny(**{"contagion.incident_rate": 1.0, "contagion.breach_share": 0.0}))
    log = []
    model.schedule(Probe(log), 2)
    model.schedule(Probe(log), 3)
    _start(model)
    environment.step(model)
    assert log == []  # not yet
    _start(model)
    macro = model.macro
    environment.step(model)
    n = len(model.platforms)
    # before the month: incidents not yet drawn; after: every platform had one
    assert log == [("before", 0), ("apply", n)]
    assert model.macro is not macro
    assert 2 not in model.scheduled and 3 in model.scheduled
    model.close()


def test_an_income_shock_reaches_the_macro_state_the_same_month():
    model = MarketModel(tiny())
    model.schedule(shocks.IncomeShock(months=2, income_loss=0.3, unemployment=0.05), 2)
    _start(model)
    environment.step(model)
    assert model.macro.income_loss == 0.0
    _start(model)
    environment.step(model)
    assert model.macro.income_loss == pytest.approx(0.3)
    model.close()


def test_policy_schedule_is_logged_when_announced_and_when_in_force():
    scen = with_policy(tiny(), [{"key": "regulator.apr_cap", "value": 0.24, "step": 4,
                                 "announce": 2},
                                {"key": "regulator.data_sharing", "value": 0.5, "step": 3}],
                       [], source="test")
    model = MarketModel(scen)
    caps, covered = [], []
    for _ in range(5):
        _start(model)
        environment.step(model)
        caps.append(model.apr_cap)
        covered.append(model.is_covered.copy())
    ev = [(e["step"], e["kind"], e["detail"]) for e in model.records["events"]]
    assert ev == [(2, "policy_announced", "regulator.apr_cap = 0.24 from month 4"),
                  (3, "policy_change", "regulator.data_sharing = 0.5"),
                  (4, "policy_change", "regulator.apr_cap = 0.24")]
    assert caps[0] == 0.36 and caps[3:] == [0.24, 0.24]
    # bureau coverage follows the rule in force: the borrowers with bureau_u below it
    assert not covered[1].any()
    np.testing.assert_array_equal(covered[2], model.population.bureau_u < 0.5)
    model.close()


def test_a_change_of_a_line_rule_puts_every_line_under_review():
    scen = with_policy(tiny(), [{"key": "regulator.max_loan", "value": 20000.0, "step": 4}],
                       [], source="test")
    model = MarketModel(scen)
    model.run(3)
    CL = model.credit_lines
    held = CL.platform >= 0
    assert held.any() and (CL.until[held] > 4).any()
    _start(model)
    environment.step(model)
    assert (CL.until[held] <= 4).all()
    model.close()


@pytest.mark.parametrize("breach", [False, True])
def test_incidents_by_hand(breach):
    model = MarketModel(tiny(**{"platforms.n": 6, "contagion.incident_rate": 1.0,
                                "contagion.breach_share": 1.0 if breach else 0.0,
                                "contagion.incident_reputation_hit": 0.15,
                                "contagion.breach_cost": 0.03}))
    model.run(1)
    for pl in model.platforms:
        pl.reputation = 1.0
    model.platforms[5].fail(1)
    eq = [pl.equity for pl in model.platforms]
    kinds = [pl.kind for pl in model.platforms]
    _start(model)
    environment.incidents(model)
    live = [pl.is_active for pl in model.platforms]
    hit = 0.3 if breach else 0.15
    for pl in model.platforms:
        if not pl.is_active:
            assert pl.reputation == 0.0 and pl.equity == eq[pl.idx]
            continue
        # its own hit, and a third of it for every other live platform of its type hit
        same = sum(live[j] and kinds[j] == pl.kind for j in range(6) if j != pl.idx)
        assert pl.reputation == pytest.approx((1 - hit) * (1 - hit / 3) ** same)
        if breach:
            assert pl.equity == pytest.approx(eq[pl.idx] * 0.97)
            assert pl.idx in model.month.breached
        else:
            assert pl.outage_step == model.t and pl.equity == eq[pl.idx]
    assert model.month.n_incidents == 5
    assert model.month.losses["operational"] == pytest.approx(
        0.03 * sum(max(e, 0) for e, a in zip(eq, live) if a) if breach else 0.0)
    ev = [e for e in model.records["events"] if e["kind"] == "incident"
          and e["step"] == model.t]
    assert sorted(e["agent_id"] for e in ev) == [0, 1, 2, 3, 4]
    model.close()
