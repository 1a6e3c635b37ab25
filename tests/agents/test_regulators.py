"""Regulator (agents/regulators.py): enforcement of each action with its events, the schedule,
triggers and supervision, by hand."""

import dataclasses
import math

import numpy as np
import pytest
from conftest import tiny

from lendsim import MarketModel
from lendsim.agents.regulators import Regulator
from lendsim.simulation.policy import PolicyChange, TriggerRule


@pytest.fixture
def model():
    m = MarketModel(tiny(**{"platforms.n": 3, "banks.n": 3}))
    m.run(2)
    return m


def _events(model):
    return [(e["kind"], e["agent_type"], e["agent_id"], e["detail"])
            for e in model.records["events"] if e["kind"] == "regulator_action"]


def test_enforce_set_changes_the_instrument_and_logs_one_event(model):
    reg = model.regulator
    rule = TriggerRule("delinquency_30", "set", above=0.05, key="regulator.max_lenders",
                       value=2)
    reg.enforce(rule, [])
    assert reg.policy.max_lenders == 2
    assert _events(model) == [("regulator_action", "regulator", -1,
                               "delinquency_30 > 0.05: regulator.max_lenders = 2")]


def test_enforce_set_validates_the_value(model):
    rule = TriggerRule("delinquency_30", "set", above=0.05, key="regulator.apr_cap",
                       value=-1.0)
    with pytest.raises(Exception, match="apr_cap"):
        model.regulator.enforce(rule, [])


def test_enforce_deleverage_orders_the_platforms_concerned_only(model):
    pls = model.platforms
    rule = TriggerRule("platform_leverage", "deleverage", above=3.0)
    model.regulator.enforce(rule, [pls[0], pls[2]])
    assert [p.deleverage_order for p in pls] == [3.0, None, 3.0]
    assert _events(model) == [("regulator_action", "platform", 0,
                               "platform_leverage > 3.0: deleverage"),
                              ("regulator_action", "platform", 2,
                               "platform_leverage > 3.0: deleverage")]


def test_enforce_stop_lending_suspends_for_the_rules_months(model):
    pl = model.platforms[1]
    rule = TriggerRule("platform_delinquency_30", "stop_lending", above=0.1, months=3)
    model.regulator.enforce(rule, [pl])
    reg = model.regulator.policy
    t = model.t  # the month it is enforced counts as the first
    assert pl.suspended_until == t + 2
    assert [pl.may_lend(s, reg) for s in (t, t + 1, t + 2, t + 3)] == [False] * 3 + [True]
    assert _events(model) == [("regulator_action", "platform", 1,
                               "platform_delinquency_30 > 0.1: stop_lending")]


def test_enforce_resolve_hands_the_book_to_a_resolver(model):
    pl = model.platforms[0]
    pl.fail(model.t)
    rule = TriggerRule("platform_equity_ratio", "resolve", below=0.0)
    model.regulator.enforce(rule, [pl])
    assert pl.is_resolved and not model.platforms[1].is_resolved
    assert _events(model) == [("regulator_action", "platform", 0,
                               "platform_equity_ratio < 0.0: resolve")]


def test_check_triggers_system_rule_fires_once_and_after_its_month(model):
    rule = TriggerRule("default_rate", "set", above=0.01, key="regulator.max_lenders",
                       value=1, after=3)
    reg = Regulator(model, model.regulator.policy, (), (rule,))
    assert reg.check_triggers(2, {"default_rate": 0.5}, [], []) == []  # not watched yet
    assert reg.check_triggers(3, {"default_rate": 0.01}, [], []) == []  # not strictly above
    assert reg.check_triggers(3, {"default_rate": math.nan}, [], []) == []
    assert reg.check_triggers(3, {"default_rate": 0.02}, [], []) == [(0, rule, [])]
    assert reg.check_triggers(4, {"default_rate": 0.02}, [], []) == []  # once
    every = dataclasses.replace(rule, once=False)
    reg = Regulator(model, model.regulator.policy, (), (every,))
    assert len(reg.check_triggers(3, {"default_rate": 0.02}, [], [])) == 1
    assert len(reg.check_triggers(4, {"default_rate": 0.02}, [], [])) == 1
    off = Regulator(model, dataclasses.replace(model.regulator.policy, apply_schedule=False),
                    (), (rule,))
    assert off.check_triggers(3, {"default_rate": 0.02}, [], []) == []


def test_check_triggers_platform_and_bank_rules_once_per_institution(model):
    pls, banks = model.platforms, model.banks
    for pl, lev in zip(pls, (1.0, 5.0, 6.0)):  # leverage by hand
        pl.loans_held, pl.equity = lev * 100.0, 100.0
    lev = TriggerRule("platform_leverage", "stop_lending", above=4.0)
    cap = TriggerRule("bank_capital_ratio", "set", below=0.1, key="regulator.max_lenders",
                      value=1)
    reg = Regulator(model, model.regulator.policy, (), (lev, cap))
    banks[0].equity = 0.05 * (banks[0].joint_loans + banks[0].other_loans)
    fired = reg.check_triggers(1, {}, pls, banks)
    assert [(i, [a.idx for a in who]) for i, _, who in fired] == [(0, [1, 2]), (1, [0])]
    pls[0].loans_held = 500.0  # now above too; 1 and 2 already had their turn
    fired = reg.check_triggers(2, {}, pls, banks)
    assert [(i, [a.idx for a in who]) for i, _, who in fired] == [(0, [0])]
    pls[1].fail(2)  # failed platforms are not watched by leverage rules ...
    res = TriggerRule("platform_equity_ratio", "resolve", below=0.5, once=False)
    reg = Regulator(model, model.regulator.policy, (), (lev, res))
    fired = reg.check_triggers(3, {}, pls, banks)
    # ... only by "resolve", which concerns failed platforms not yet resolved
    assert [(i, [a.idx for a in who]) for i, _, who in fired] == [(0, [0, 2]), (1, [1])]
    pls[1].is_resolved = True
    fired = reg.check_triggers(4, {}, pls, banks)
    assert fired == []  # leverage: each platform had its turn; the failed one is resolved


def test_apply_schedule_sets_each_instrument_at_its_month(model):
    pol = dataclasses.replace(model.regulator.policy, apr_cap=0.36, max_lenders=0,
                              anticipation=0.0)
    sched = (PolicyChange("regulator.apr_cap", 0.24, step=5, announce=5),
             PolicyChange("regulator.max_lenders", 2, step=3, announce=2))
    reg = Regulator(model, pol, sched)
    seen = []
    for t in range(1, 8):
        reg.apply_schedule(t)
        seen.append((reg.policy.apr_cap, reg.policy.max_lenders))
    assert seen == [(0.36, 0), (0.36, 0), (0.36, 2), (0.36, 2), (0.24, 2), (0.24, 2),
                    (0.24, 2)]
    reg.policy = dataclasses.replace(reg.policy, apr_cap=0.3)  # a triggered rule moves it
    reg.apply_schedule(8)  # the change is fully in force: it no longer acts
    assert reg.policy.apr_cap == 0.3
    off = Regulator(model, dataclasses.replace(pol, apply_schedule=False), sched)
    off.apply_schedule(6)
    assert off.policy.apr_cap == 0.36 and off.policy.max_lenders == 0


def test_supervise_counts_breaches_by_hand(model):
    pol = dataclasses.replace(model.regulator.policy, platform_leverage_limit=4.0,
                              bank_capital_requirement=0.08, delinquency_alert=0.03)
    reg = Regulator(model, pol)
    pls, banks = model.platforms, model.banks
    want_lev = 0
    for pl, lev in zip(pls, (3.0, 4.0, 4.5)):
        pl.loans_held, pl.equity = lev * 100.0, 100.0
        want_lev += lev > min(pl.tp.max_leverage, 4.0)
    for bk, ratio in zip(banks, (0.07, 0.08, 0.2)):
        bk.equity = ratio * (bk.joint_loans + bk.other_loans)
    out = reg.supervise(pls, banks, 0.031)
    assert out == {"reg_leverage_breaches": float(want_lev), "reg_capital_breaches": 1.0,
                   "reg_delinquency_alert": 1.0}
    assert want_lev >= 1
    pls[2].fail(3)
    banks[0].fail(3)  # failed institutions are no longer supervised
    out = reg.supervise(pls, banks, 0.03)
    assert out["reg_capital_breaches"] == 0.0 and out["reg_delinquency_alert"] == 0.0
    assert out["reg_leverage_breaches"] == float(want_lev - (4.5 > min(pls[2].tp.max_leverage,
                                                                         4.0)))


def test_early_warning_on_a_fall_of_bank_capital(model):
    reg = Regulator(model, dataclasses.replace(model.regulator.policy, ew_z=2.0))
    hist = [0.12, 0.121, 0.119, 0.12]
    for v in hist:
        reg.early_warnings({"bank_capital_ratio_min": v})
    out = reg.early_warnings({"bank_capital_ratio_min": 0.10})
    z = (0.10 - np.mean(hist)) / np.std(hist, ddof=1)
    assert out["ew_bank_capital_ratio_min_z"] == pytest.approx(z)
    assert out["ew_bank_capital_ratio_min"] == 1.0  # a fall is the alarm
    reg2 = Regulator(model, dataclasses.replace(model.regulator.policy, ew_z=2.0))
    for v in hist:
        reg2.early_warnings({"bank_capital_ratio_min": v})
    assert reg2.early_warnings({"bank_capital_ratio_min": 0.14})[
        "ew_bank_capital_ratio_min"] == 0.0  # a rise is not


def test_apr_cap_fixed_or_indexed(model):
    pol = model.regulator.policy
    assert Regulator(model, dataclasses.replace(pol, apr_cap=0.3)).apr_cap(0.04) == 0.3
    idx = dataclasses.replace(pol, apr_cap_mode="indexed", apr_cap_multiple=4.0)
    assert Regulator(model, idx).apr_cap(0.0385) == pytest.approx(0.154)
