"""Phase 9, failures (simulation/phases/failures.py): platforms and banks whose equity is
gone, interbank contagion by hand, the news that reaches a failed platform's type."""

import numpy as np
import pytest
from conftest import tiny

import lendsim
from lendsim import MarketModel
from lendsim.simulation.month import Month
from lendsim.simulation.phases import failures


def _banks_model(**over):
    scen = tiny(**{"banks.n": 4, "network.interbank.kind": "none", **over})
    model = MarketModel(scen)
    model.run(1)
    return model


def _new_month(model):
    """Fresh month counters, as a step starts them, for driving one phase by hand."""
    model.month = Month(model.n_borrowers, len(model.platforms))
    model.month.bank_joint_losses = np.zeros(len(model.banks))


def _set_interbank(model, E, equity):
    """Replace the interbank matrix and bank equity, keeping each balance sheet whole."""
    for bk in model.banks:
        bk.deposits -= bk.interbank_assets - bk.interbank_liabilities
        bk.interbank_assets = float(E[bk.idx].sum())
        bk.interbank_liabilities = float(E[:, bk.idx].sum())
        bk.deposits += bk.interbank_assets - bk.interbank_liabilities
        bk.other_loans += equity[bk.idx] - bk.equity
        bk.equity = equity[bk.idx]
    model.interbank = np.array(E, dtype=float)


@pytest.mark.parametrize("interbank_on", [True, False])
def test_interbank_failures_clear_through_exposures(interbank_on):
    model = _banks_model(**{"contagion.interbank": interbank_on})
    _new_month(model)
    # E[i, j]: i's claim on j. Bank 0 fails; bank 1 holds 30 on it with capital 20 (fails);
    # bank 2 holds 15 on bank 1 with capital 10 (fails); bank 3 holds 5 on bank 2, capital 50.
    E = np.zeros((4, 4))
    E[1, 0], E[2, 1], E[3, 2] = 30.0, 15.0, 5.0
    _set_interbank(model, E, np.array([-1.0, 20.0, 10.0, 50.0]))
    failures.bank_failures(model)
    failed = [bk.is_failed for bk in model.banks]
    model.check_invariants()
    if interbank_on:
        assert failed == [True, True, True, False]
        assert model.month.losses["interbank"] == pytest.approx(30 + 15 + 5)
        assert model.banks[3].equity == pytest.approx(45.0)
        assert [f[2] for f in model.month.failures] == ["credit", "interbank", "interbank"]
    else:
        assert failed == [True, False, False, False]
        assert model.month.losses["interbank"] == 0.0
        assert model.banks[1].equity == pytest.approx(20.0)


def test_eisenberg_noe_clearing_in_the_model_by_hand():
    """Bank 0 is 1 short of what it owes (deposits senior): it pays its interbank creditor
    29 of 30, so bank 1 loses 1, not 30 as in a zero-recovery cascade."""
    model = _banks_model(**{"network.interbank.clearing": "eisenberg_noe"})
    _new_month(model)
    E = np.zeros((4, 4))
    E[1, 0], E[2, 1], E[3, 2] = 30.0, 15.0, 5.0
    _set_interbank(model, E, np.array([-1.0, 20.0, 10.0, 50.0]))
    failures.bank_failures(model)
    assert [bk.is_failed for bk in model.banks] == [True, False, False, False]
    assert model.month.losses["interbank"] == pytest.approx(1.0)
    assert model.banks[1].equity == pytest.approx(19.0)
    assert model.banks[0].equity == pytest.approx(0.0)  # its remaining shortfall is gone
    model.check_invariants()


def test_interbank_recovery_softens_the_cascade():
    model = _banks_model(**{"network.interbank.recovery": 0.5})
    _new_month(model)
    E = np.zeros((4, 4))
    E[1, 0], E[2, 1] = 30.0, 15.0
    _set_interbank(model, E, np.array([-1.0, 20.0, 10.0, 50.0]))
    failures.bank_failures(model)
    # bank 1 loses 15 < 20 and survives, so bank 2 is safe
    assert [bk.is_failed for bk in model.banks] == [True, False, False, False]
    assert model.banks[1].equity == pytest.approx(5.0)
    assert model.month.losses["interbank"] == pytest.approx(15.0)
    model.check_invariants()


def test_reputation_falls_for_the_same_type_only_and_recovers():
    model = MarketModel(tiny(**{"platforms.n": 6}))
    model.run(2)
    victim = next(p for p in model.platforms if p.kind == "micro_lender")
    same = [p for p in model.platforms if p.kind == victim.kind and p is not victim]
    other = [p for p in model.platforms if p.kind != victim.kind]
    assert same and other
    before = {p.idx: p.reputation for p in model.platforms}
    _new_month(model)
    failures.fail_platform(model, victim, "platform_failure", "credit", "test")
    hit = model.params.contagion.reputation_hit
    for p in same:
        assert p.reputation == pytest.approx(before[p.idx] * (1 - hit))
    for p in other:
        assert p.reputation == before[p.idx]
    model.step()
    assert all(p.reputation > before[p.idx] * (1 - hit) for p in same)


def test_bank_failure_channels_and_nothing_without_a_failure():
    model = _banks_model()
    _new_month(model)
    equity = [bk.equity for bk in model.banks]
    failures.bank_failures(model)  # every bank solvent: nothing happens
    assert [bk.equity for bk in model.banks] == equity and model.month.failures == []
    model.month.shocked_banks.add(0)
    model.month.bank_joint_losses = np.array([0.0, 5.0, 0.0, 0.0])
    for j in (0, 1, 2):
        model.banks[j].post(other_loans=-(equity[j] + 1.0), equity=-(equity[j] + 1.0))
    failures.bank_failures(model)
    assert [bk.is_failed for bk in model.banks] == [True, True, True, False]
    assert model.month.failures == [("bank", 0, "shock", "equity exhausted (shock)"),
                                    ("bank", 1, "common_funder", "equity exhausted"),
                                    ("bank", 2, "credit", "equity exhausted")]
    assert model.month.bank_failures == 3
    ev = [e for e in model.records["events"] if e["kind"] == "bank_failure"]
    assert [e["agent_id"] for e in ev] == [0, 1, 2]
    assert ev[0]["size"] == pytest.approx(model.banks[0].joint_loans
                                          + model.banks[0].other_loans)
    _new_month(model)
    failures.bank_failures(model)  # failed banks do not fail again
    assert model.month.bank_failures == 0


@pytest.mark.parametrize("cause, channel", [("credit", "credit"), ("run", "reputation"),
                                            ("breach", "operational")])
def test_a_platform_without_equity_fails_with_its_channel(cause, channel):
    model = MarketModel(tiny(**{"platforms.n": 3}))
    model.run(2)
    _new_month(model)
    pl = model.platforms[1]
    pl.post(cash=-(pl.equity + 10.0), equity=-(pl.equity + 10.0))
    if cause == "run":
        model.month.run_cost[1] = 3.0
    elif cause == "breach":
        model.month.breached.add(1)
    failures.step(model)
    assert [p.is_active for p in model.platforms] == [True, False, True]
    assert pl.failed_step == model.t and pl.reputation == 0.0
    assert model.month.platform_failures == 1
    assert model.month.failures == [("platform", 1, channel, f"{pl.kind}: equity exhausted")]
    ev = [e for e in model.records["events"] if e["kind"] == "platform_failure"]
    assert len(ev) == 1 and ev[0]["agent_id"] == 1 and ev[0]["size"] == pl.loans_held
    _new_month(model)
    failures.step(model)  # a failed platform does not fail again
    assert model.month.platform_failures == 0


def test_no_news_spreads_with_the_reputation_channel_off():
    model = MarketModel(tiny(**{"platforms.n": 6, "contagion.reputation": False}))
    model.run(1)
    victim = next(p for p in model.platforms if p.kind == "micro_lender")
    before = [p.reputation for p in model.platforms]
    failures.reputation_shock(model, victim, 0.5)
    assert [p.reputation for p in model.platforms] == before


def test_platform_failure_is_logged_and_its_loans_run_off():
    # fixed costs of 40 % of initial equity a month exhaust equity within three months
    scen = tiny(**{"platforms.fixed_cost_share": 0.4})
    res = lendsim.run(scen, steps=12)
    fails = res.events[res.events["kind"] == "platform_failure"]
    assert len(fails) > 0
    assert res.model["n_platforms_active"].iloc[-1] < 5
    failed = res.platforms[res.platforms["platform_id"].isin(fails["agent_id"])]
    assert not failed.groupby("platform_id")["is_active"].last().any()


def test_bank_failure_is_logged():
    res = lendsim.run(tiny(**{"banks.other_loan_loss": 1.0}), steps=12)
    assert (res.events["kind"] == "bank_failure").sum() > 0
    assert res.banks.groupby("bank_id")["is_failed"].last().any()
    assert res.model["bank_failures"].sum() == (res.events["kind"] == "bank_failure").sum()
