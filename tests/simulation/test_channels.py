"""Contagion channels in the model: each switchable, each with its losses attributed."""

import numpy as np
import pytest
from conftest import tiny

import lendsim
from lendsim import MarketModel
from lendsim.simulation.channels import (CHANNELS, IN_RUN_CREDIT_CHANNELS, LOSS_COLUMNS,
                                         credit_loss_channels, refinance_loan_losses)
from lendsim.simulation.ledger import MissCause
from lendsim.simulation.month import Month
from lendsim.simulation.phases import banks_adapt, failures, repayment

CREDIT = ["losses_fundamental", "losses_social", "losses_platform_failure"]


def _run(steps=24, **overrides):
    model = MarketModel(tiny(**overrides))
    model.run(steps)
    return model, model.tables()


def _new_month(model):
    """Fresh month counters, as a step starts them, for driving one phase by hand."""
    model.month = Month(model.n_borrowers, len(model.platforms))
    model.month.bank_joint_losses = np.zeros(len(model.banks))


def test_every_channel_but_the_debt_spiral_has_a_loss_column():
    res = lendsim.run(tiny(), steps=2)
    for ch in CHANNELS:
        assert (f"losses_{ch}" in res.model.columns) == (ch != "debt_spiral")
    assert set(LOSS_COLUMNS) <= set(res.model.columns)
    # the debt spiral's loss comes from paired runs; the table keeps only where losses sit
    assert "refinance_loan_losses" in res.model.columns
    assert "debt_spiral" not in IN_RUN_CREDIT_CHANNELS


def test_credit_losses_split_exactly_into_channels_every_step():
    # failing platforms (fixed costs), peer effects and stacking all at once; the threshold
    # rule makes peer-tipped defaults certain at this size (the hazard rule gives them only
    # now and then at 400 borrowers; with 400 the threshold rule too may give none once
    # lenders learn from their first loans)
    _, t = _run(30, **{"borrowers.n": 1000, "platforms.fixed_cost_share": 0.1,
                       "borrowers.peer_effect": 6.0,
                       "borrowers.strategic_base": -5.0, "contagion.social_mode": "threshold",
                       "contagion.social_threshold": 0.15})
    m = t["model"]
    total = m["losses_platforms"] + m["losses_banks"]  # charge-offs net of recoveries
    np.testing.assert_allclose(m[CREDIT].sum(axis=1), total, rtol=1e-9, atol=1e-6)
    assert (m[CREDIT] >= -1e-9).all().all()
    # the banks' share of those losses is what passes through the common-funder door
    np.testing.assert_allclose(m["losses_common_funder"], m["losses_banks"], rtol=1e-12)
    assert m["losses_social"].sum() > 0 and m["losses_platform_failure"].sum() > 0


def test_credit_loss_channels_against_a_loop():
    rng = np.random.default_rng(3)
    n = 200
    loss, res_loss = rng.random(n) * 100, rng.random(n) * (rng.random(n) < 0.3)
    cause, refi = rng.integers(0, 3, n), rng.random(n) < 0.4
    got = credit_loss_channels(loss, res_loss, cause)
    want = dict.fromkeys(got, 0.0)
    on_refi = 0.0
    for i in range(n):
        if cause[i] == MissCause.PLATFORM_FAILURE:
            key = "platform_failure"
        elif cause[i] == MissCause.SOCIAL:
            key = "social"
        else:  # a refinancing loan is split like any other
            key = "fundamental"
        want[key] += loss[i]
        want["platform_failure"] += res_loss[i]
        on_refi += (loss[i] + res_loss[i]) * refi[i]
    assert got == pytest.approx(want)
    assert refinance_loan_losses(loss, res_loss, refi) == pytest.approx(on_refi)


def test_refinancing_flag_marks_only_credit_taken_to_repay():
    """Each grant is a new loan: a borrower's loans taken to repay carry the flag and the loans
    they repay do not. Checked every month against the refinancing originations counted at
    underwriting (an independent path)."""
    over = {"borrowers.n": 600, "macro.shock_start": 3, "macro.shock_income_loss": 0.5}
    model = MarketModel(tiny(**over))
    seen = {"mixed": 0}

    def check(m):
        L = m.loans
        new = L.origination_step == m.t
        refi = new & L.is_refinance
        assert L.principal[refi].sum() == pytest.approx(m.records["model"][-1][
            "refinance_originations"], rel=1e-9, abs=1e-6)
        # loans booked before this month keep the flag they were born with
        old_refi = ~new & L.is_refinance
        assert (L.origination_step[old_refi] < m.t).all()
        both = np.intersect1d(L.borrower_idx[L.is_refinance], L.borrower_idx[~L.is_refinance])
        seen["mixed"] += len(both)

    model.run(24, progress=check)
    assert model.tables()["model"]["refinance_originations"].sum() > 0
    assert seen["mixed"] > 0  # borrowers holding both kinds: the flag is per loan, not per account


def test_social_switch_and_threshold_cascade():
    base = {"borrowers.n": 600, "contagion.social_mode": "threshold",
            "contagion.social_threshold": 0.15, "network.social.mean_degree": 6}
    _, on = _run(40, **base)  # the first defaults come in the third year
    _, off = _run(40, **base, **{"contagion.social": False})
    d_on = on["model"]["default_rate"].sum()
    d_off = off["model"]["default_rate"].sum()
    assert d_on > 1.5 * d_off  # one defaulted contact in ~6 tips a borrower: defaults spread
    assert on["model"]["losses_social"].sum() > 0
    assert off["model"]["losses_social"].sum() == 0


@pytest.mark.parametrize("mode", ["hazard", "threshold"])
def test_social_attribution_against_a_per_borrower_loop(mode):
    """A borrower counts as tipped by contacts only if, on the same uniform draw, they would
    have paid without the peer term (hazard) or without reaching the threshold."""
    import copy

    from scipy.special import expit

    model = MarketModel(tiny(**{"borrowers.peer_effect": 8.0, "borrowers.strategic_base": -4.0,
                                "contagion.social_mode": mode,
                                "contagion.social_threshold": 0.2}))
    model.run(6)
    pop, bp = model.population, model.params.borrowers
    pop.months_since_default[::7] = 0  # plenty of defaulted contacts
    u = copy.deepcopy(model.rng).random(model.n_borrowers)
    strategic, social = repayment.strategic_nonpayment(model)
    adj = model.social.tocsr()
    in_default = pop.is_in_default()
    dti = model.debt.total / (12.0 * pop.base_income)
    for i in range(model.n_borrowers):
        nb = adj.indices[adj.indptr[i]:adj.indptr[i + 1]]
        peer = in_default[nb].mean() if len(nb) else 0.0
        z = (bp.strategic_base + bp.strategic_risk * pop.risk[i] + bp.strategic_dti * dti[i]
             + bp.strategic_trust * (0.5 - pop.trust[i]))
        alone = u[i] < expit(z)
        if mode == "hazard":
            with_peer = u[i] < expit(z + bp.peer_effect * peer)
        else:
            with_peer = alone or peer >= 0.2
        assert strategic[i] == with_peer, i
        assert social[i] == (with_peer and not alone), i
    assert social.any()
    off = MarketModel(tiny(**{"contagion.social": False}))
    off.run(2)
    assert not repayment.strategic_nonpayment(off)[1].any()


def test_debt_spiral_switch():
    over = {"borrowers.n": 600, "macro.shock_start": 3, "macro.shock_income_loss": 0.5}
    _, on = _run(24, **over)
    _, off = _run(24, **over, **{"contagion.debt_spiral": False})
    assert on["model"]["refinance_originations"].sum() > 0
    assert off["model"]["refinance_originations"].sum() == 0
    assert off["model"]["refinance_loan_losses"].sum() == 0


def test_platform_failure_switch():
    over = {"platforms.fixed_cost_share": 0.2, "borrowers.failed_lender_nonpayment": 0.8}
    _, on = _run(24, **over)
    _, off = _run(24, **over, **{"contagion.platform_failure": False})
    assert (on["events"]["kind"] == "platform_failure").any()
    assert on["model"]["losses_platform_failure"].sum() > 0
    assert off["model"]["losses_platform_failure"].sum() == 0


def test_common_funder_switch_keeps_lines_when_capital_falls():
    lines = {}
    for on in (True, False):
        model = MarketModel(tiny(**{"contagion.common_funder": on}))
        model.run(3)
        for bk in model.banks:  # losses elsewhere leave capital just above the requirement
            cut = bk.equity - 0.085 * (bk.joint_loans + bk.other_loans)
            bk.equity -= cut
            bk.other_loans -= cut
        before = model.lines.copy()
        banks_adapt.step(model)
        lines[on] = (before.sum(), model.lines.sum())
    (b_on, a_on), (b_off, a_off) = lines[True], lines[False]
    assert b_on == pytest.approx(b_off)
    assert a_on < 0.95 * b_on  # every bank cuts every line
    assert a_off > a_on


def test_interbank_exposures_on_balance_sheets_at_start():
    model = MarketModel(tiny(**{"banks.n": 6, "network.interbank.mean_degree": 2}))
    E = model.interbank
    assert E.shape == (6, 6) and (np.diag(E) == 0).all() and E.sum() > 0
    for bk in model.banks:
        assert bk.interbank_assets == pytest.approx(E[bk.idx].sum())
        assert bk.interbank_liabilities == pytest.approx(E[:, bk.idx].sum())
        share = model.params.network.interbank.exposure_share
        assert bk.interbank_assets == pytest.approx(share * bk.other_loans) or \
            bk.interbank_assets == 0
    model.check_invariants()


def test_retail_flows_by_hand():
    model = MarketModel(tiny(**{"platforms.p2p.weight": 5.0, "platforms.n": 4}))
    p2p = next(p for p in model.platforms if p.kind == "p2p")
    cp = model.params.contagion
    p2p.retail_funds, p2p.cash, p2p.reputation = 1000.0, 100.0, 0.6
    eq = p2p.equity
    net, cost = p2p.retail_flows(cp)
    out = 1000 * (cp.retail_base_withdrawal + cp.retail_run_sensitivity * 0.4)
    # investors fund the loans it holds beyond its equity, up to retail_funding x equity
    aim = p2p.loans_held / p2p.tp.target_leverage
    appetite = min(p2p.tp.retail_funding * eq, max(p2p.loans_held - aim, 0))
    back = 0.6 * (1000 * cp.retail_base_withdrawal + cp.retail_refill * max(appetite - 1000, 0))
    assert net == pytest.approx(out - back)
    assert cost == pytest.approx(cp.run_penalty * (net - 100.0))
    assert p2p.equity == pytest.approx(eq - cost)
    assert p2p.retail_funds == pytest.approx(1000 - net)
    calm = model.params.contagion.__class__(reputation=False)
    p2p.reputation = 0.2
    p2p.post(cash=-3 * p2p.equity, loans_held=3 * p2p.equity)  # loans 3x equity and more
    want = min(p2p.tp.retail_funding * p2p.equity,
               p2p.loans_held * (1 - 1 / p2p.tp.target_leverage))
    p2p.retail_funds = want  # at investors' appetite
    net2, cost2 = p2p.retail_flows(calm)  # news ignored: outflow = inflow
    assert net2 == pytest.approx(0.0) and cost2 == 0.0
    p2p.retail_funds = want / 2  # below it: the refill share of the gap comes in
    net3, _ = p2p.retail_flows(calm)
    assert net3 == pytest.approx(-calm.retail_refill * want / 2)


def test_p2p_run_spreads_through_reputation():
    over = {"platforms.p2p.weight": 1.0, "platforms.embedded.weight": 0.0,
            "platforms.micro_lender.weight": 0.0, "platforms.consumer_finance.weight": 0.0,
            "platforms.n": 5, "platforms.max_n": 5, "contagion.operational": False,
            # the only lenders: they serve purchases too, so their books are big enough
            # for a run to cost them (a cash-only P2P market holds cash enough to pay out)
            "platforms.p2p.products": "both"}
    results = {}
    for on in (True, False):
        model = MarketModel(tiny(**over, **{"contagion.reputation": on}))
        model.run(3)
        _new_month(model)
        failures.fail_platform(model, model.platforms[0], "platform_failure", "credit", "trigger")
        model.run(9)
        t = model.tables()
        results[on] = t
    on, off = results[True]["model"], results[False]["model"]
    assert on["retail_withdrawals"].iloc[3:].sum() > 0
    assert on["losses_reputation"].sum() > 0
    assert off["losses_reputation"].sum() == 0
    # without news no run: money only comes in (investors fund the growing books)
    assert (off["retail_withdrawals"].iloc[3:] <= 1e-6).all()


def test_incidents_outage_and_breach():
    model = MarketModel(tiny(**{"contagion.incident_rate": 1.0, "contagion.breach_share": 0.0}))
    model.run(2)
    t = model.tables()
    assert (t["model"]["n_incidents"] == len(model.platforms)).all()
    assert (t["model"]["originations"] == 0).all()  # every platform down every month
    model = MarketModel(tiny(**{"contagion.incident_rate": 1.0, "contagion.breach_share": 1.0}))
    model.run(1)
    eq_before = np.array([p.equity for p in model.platforms])
    model.step()
    m = model.tables()["model"]
    assert m["losses_operational"].iloc[-1] == pytest.approx(
        model.params.contagion.breach_cost * np.maximum(eq_before, 0).sum(), rel=1e-9)
    _, off = _run(3, **{"contagion.incident_rate": 1.0, "contagion.operational": False})
    assert off["model"]["n_incidents"].sum() == 0 and off["model"]["originations"].sum() > 0


def test_cascades_are_recorded_with_trigger_size_duration_and_channels():
    _, t = _run(24, **{"platforms.fixed_cost_share": 0.3, "banks.n": 3})
    c = t["cascades"]
    fails = t["events"]["kind"].isin(["platform_failure", "platform_exit", "bank_failure"])
    assert len(c) >= 1
    assert c["size"].sum() == fails.sum()  # every failure belongs to one cascade
    assert (c["duration"] >= 1).all()
    first = c.iloc[0]
    ev = t["events"][fails]
    assert first["start_step"] == ev["step"].min()
    assert "trigger" in t["events"].loc[t["events"]["kind"] == "cascade", "detail"].iloc[0]
    assert set(",".join(c["channels"]).split(",")) <= {"credit", "common_funder", "interbank",
                                                     "reputation", "shock", "operational"}


def test_same_seed_same_numbers_with_every_channel_on():
    over = {"platforms.p2p.weight": 1.0, "contagion.incident_rate": 0.05,
            "platforms.fixed_cost_share": 0.05}
    a = lendsim.run(tiny(**over), steps=12).model
    b = lendsim.run(tiny(**over), steps=12).model
    assert a.equals(b)


def test_scheduled_shocks_fail_a_bank_and_close_the_largest_platform():
    model = MarketModel(tiny(**{"shocks.bank_loss_step": 3, "shocks.bank_loss_share": 1.0,
                                "shocks.platform_failure_step": 4,
                                "shocks.platform_failure_type": "consumer_finance"}))
    model.run(3)
    assert model.banks[0].is_failed  # lost all its other loans: far more than its equity
    L = model.loans
    managed = L.balance_by(L.platform_idx, len(model.platforms), L.is_open())
    cf = [p for p in model.platforms if p.kind == "consumer_finance" and p.is_active]
    largest = max(cf, key=lambda p: managed[p.idx])
    model.step()
    assert not largest.is_active
    assert all(p.is_active for p in cf if p is not largest)
    ev = model.tables()["events"]
    assert {"shock", "bank_failure", "platform_failure"} <= set(ev["kind"])


def test_interbank_kinds_core_periphery_and_file(tmp_path):
    model = MarketModel(tiny(**{"banks.n": 8, "network.interbank.kind": "core_periphery",
                                "network.interbank.n_core": 3}))
    E = model.interbank
    core = E[:3, :3]
    assert (core[~np.eye(3, dtype=bool)] > 0).all()  # the core lends to itself densely
    assert (E[3:, 3:] == 0).all()  # the periphery only deals with the core
    f = tmp_path / "exposures.csv"
    f.write_text("lender,borrower,amount\n0,1,100\n1,2,50\n")
    model = MarketModel(tiny(**{"banks.n": 3, "network.interbank.kind": "file",
                                "network.interbank.file": str(f)}))
    want = np.zeros((3, 3))
    want[0, 1], want[1, 2] = 100, 50
    np.testing.assert_array_equal(model.interbank, want)
    assert model.banks[1].interbank_liabilities == 100 and model.banks[1].interbank_assets == 50
    model.run(2)  # check_invariants is on in tiny scenarios


def test_bad_interbank_file_is_one_clear_error(tmp_path):
    f = tmp_path / "bad.csv"
    f.write_text("lender,borrower,amount\n0,7,100\n")
    with pytest.raises(lendsim.errors.LendsimError, match="bad.csv"):
        MarketModel(tiny(**{"banks.n": 3, "network.interbank.kind": "file",
                            "network.interbank.file": str(f)}))


def test_layers_export_to_networkx_and_files(tmp_path):
    import networkx as nx

    from lendsim.simulation.interbank import from_file

    model = MarketModel(tiny(**{"banks.n": 5}))
    model.run(4)
    lend = model.layer("lending")
    assert lend.shape == (model.n_borrowers, len(model.platforms))
    assert lend.sum() == pytest.approx(model.borrower_debt().sum())
    fund = model.layer("funding")
    held = sum(b.joint_loans for b in model.banks)
    assert fund.sum() == pytest.approx(held, rel=1e-9)
    g = model.layer_graph("lending")
    assert g.number_of_edges() == lend.nnz
    assert nx.is_bipartite(g)
    social = model.layer_graph("social")
    assert social.number_of_edges() == model.social.nnz // 2
    model.export_layer("interbank", tmp_path / "ib.csv")
    np.testing.assert_allclose(from_file(tmp_path / "ib.csv", 5).toarray(), model.interbank)
    model.export_layer("lending", tmp_path / "lending.graphml")
    assert nx.read_graphml(tmp_path / "lending.graphml").number_of_edges() == lend.nnz
    with pytest.raises(ValueError, match="allowed"):
        model.layer("trade")
