"""Guarantee and insurance pools (agents/guarantors.py; docs/ODD.md, 7.17.10): a hand example of
a small guarantor's premiums, claims, capital exhaustion and failure; claims in a run checked
loan by loan; the contagion.guarantee switch."""

import mesa
import numpy as np
import pytest
from conftest import tiny

from lendsim import MarketModel
from lendsim.agents.guarantors import Guarantor
from lendsim.simulation.ledger import LoanStatus
from lendsim.simulation.month import Month

#: a P2P market of thin platforms with one thin guarantor insuring every one of them
P2P = {"borrowers.n": 600, "platforms.n": 6, "platforms.max_n": 6,
       "platforms.embedded.weight": 1.0, "platforms.micro_lender.weight": 0.0,
       "platforms.consumer_finance.weight": 0.0, "platforms.p2p.weight": 10.0,
       "platforms.p2p.equity_per_borrower": 10.0, "platforms.p2p.retail_funding": 15.0,
       "guarantee.n": 1, "guarantee.capital_per_borrower": 2.0,
       "guarantee.cover_share": 0.9, "macro.shock_start": 2, "macro.shock_months": 6,
       "macro.shock_income_loss": 0.5, "macro.shock_unemployment": 0.3}
#: ... and a guarantor too thin to survive the shock's claims
THIN = {**P2P, "guarantee.capital_per_borrower": 0.5, "guarantee.target_leverage": 1000.0,
        "guarantee.max_leverage": 1000.0}


def test_hand_example_premiums_claims_exhaustion_and_failure():
    g = Guarantor(mesa.Model(), 0, capital=100.0)
    steps = []

    def check(cash, reserve, equity, debt=0.0):
        assert (g.cash, g.reserve, g.equity, g.debt) == pytest.approx((cash, reserve, equity,
                                                                       debt))
        assert g.balance_gap() == pytest.approx(0.0, abs=1e-12)  # every step adds up
        steps.append(g.equity)

    g.collect_premium(10.0)  # month 1: a premium
    check(110.0, 0.0, 110.0)
    g.set_reserve(30.0)  # covered loans default: reserve for their claims
    check(110.0, 30.0, 80.0)
    assert g.pay_claims(50.0, backstop=False) == 50.0  # month 2: charge-offs, paid in full
    g.set_reserve(0.0)  # the defaulted loans are charged off: the reserve is released
    check(60.0, 0.0, 60.0)
    # month 3: more claims than capital; the 40 it cannot pay fall on the lenders
    # (losses_guarantee), not on its books
    assert g.pay_claims(100.0, backstop=False) == 60.0
    check(0.0, 0.0, 0.0)
    assert g.equity <= 0  # capital exhausted: the failures phase fails it
    assert (g.claims_due, g.claims_paid, g.premiums) == (150.0, 110.0, 10.0)
    g.pay_dividend(5.0)  # nothing to pay out
    check(0.0, 0.0, 0.0)
    # with a backstop (contagion.guarantee off) the claim is paid in full and funded
    h = Guarantor(mesa.Model(), 1, capital=20.0)
    assert h.pay_claims(50.0, backstop=True) == 50.0
    h.settle_cash()
    assert (h.cash, h.debt, h.equity) == (0.0, 30.0, -30.0)
    assert h.balance_gap() == 0.0


def test_dividend_pays_out_above_the_target_leverage():
    g = Guarantor(mesa.Model(), 0, capital=10.0)
    g.collect_premium(90.0)
    g.covered_balance = 200.0
    g.pay_dividend(5.0)  # keeps 200 / 5 = 40 > initial 10
    assert (g.equity, g.cash, g.dividends) == (40.0, 40.0, 60.0)


def test_default_market_has_no_guarantor_and_no_guarantee_losses():
    model = MarketModel(tiny())
    model.run(6)
    m = model.tables()["model"]
    assert model.guarantors == []
    assert (m["losses_guarantee"] == 0).all() and (m["guarantee_premiums"] == 0).all()


def _run_checking_claims(model, months):
    """Step the model by hand; before each accounting phase note the loans it will charge off,
    and after it compare each guarantor's claims with a loop over those loans."""
    gp, pp = model.params.guarantee, model.params.platforms
    checked, total = 0, 0.0
    for _ in range(months):
        model.t += 1
        model.month = Month(model.n_borrowers, len(model.platforms))
        from lendsim.agents import guarantors
        guarantors.start_month(model)
        for phase in model.PHASES:
            if phase.__name__.endswith("accounting"):
                guarantors.attach_pools(model)  # (idempotent: accounting attaches none more)
                L = model.loans
                rows = [i for i in range(L.n) if L.status[i] == LoanStatus.DEFAULTED
                        and L.n_missed[i] >= pp.chargeoff_after_missed]
                want = np.zeros(len(model.guarantors))
                for i in rows:
                    g = model.pool_cover[L.pool_idx[i]]
                    if g < 0:
                        continue
                    pl = model.platforms[L.platform_idx[i]]
                    live = pl.is_active or pl.is_resolved
                    rec = L.balance[i] * pp.recovery_rate * (1.0 if live else
                                                              pp.resolver_recovery)
                    want[g] += gp.cover_share * (L.balance[i] - rec)
                phase.step(model)
                got = np.array([g.claims_due for g in model.guarantors])
                np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-6)
                checked += len(rows)
                total += float(got.sum())
            else:
                phase.step(model)
        model.check_invariants()
    return checked, total


def test_claims_match_a_loop_over_charged_off_loans():
    model = MarketModel(tiny(**P2P))
    # 96 months: the insured book's first charge-offs come late in this small market (72
    # months checked 14 loans and no claim yet, 2026-12-05)
    checked, claims = _run_checking_claims(model, 96)
    assert checked > 20 and claims > 0


def test_a_failed_guarantor_stops_paying_and_its_platforms_lose_reputation():
    # seed 10: in a market this small whether and when the thin guarantor fails within 48
    # months is chance (on seeds 1-12 it fails on 10, in months 10-44; seed 10 in month 10,
    # 2026-12-06); the test is about what follows its failure
    model = MarketModel(tiny(**THIN, **{"simulation.seed": 10}))
    model.run(48)
    t = model.tables()
    ev, m = t["events"], t["model"]
    fail = ev[ev["kind"] == "guarantor_failure"]
    assert len(fail) == 1
    step = int(fail["step"].iloc[0])
    assert m.loc[m["step"] == step, "guarantor_failures"].item() == 1
    # after its failure claims go unpaid: losses_guarantee, and the failure is in a cascade
    assert m.loc[m["step"] > step, "losses_guarantee"].sum() > 0
    assert m.loc[m["step"] < step, "losses_guarantee"].sum() == 0
    casc = ev[ev["kind"] == "cascade"]
    assert casc["detail"].str.contains("guarantor").any()
    # the platforms it insured lost reputation that month
    p = t["platforms"]
    insured = model.guarantors[0].insured
    before = p[(p["step"] == step - 1) & p["platform_id"].isin(insured) & p["is_active"]]
    at = p[(p["step"] == step) & p["platform_id"].isin(before["platform_id"])]
    assert (at["reputation"].to_numpy() < before["reputation"].to_numpy()).all()


def test_switch_off_pays_every_claim_and_attributes_nothing():
    model = MarketModel(tiny(**THIN, **{"contagion.guarantee": False}))
    model.run(40)
    m = model.tables()["model"]
    assert (m["losses_guarantee"] == 0).all()
    g = model.guarantors[0]
    assert g.claims_paid == pytest.approx(g.claims_due)


def test_screening_holds_insured_cutoffs_at_the_threshold():
    model = MarketModel(tiny(**P2P, **{"guarantee.policy": "screening",
                                       "guarantee.screening_pd": 0.05}))
    model.run(6)
    for i in model.guarantors[0].insured:
        pl = model.platforms[i]
        assert pl.pd_cutoff <= 0.05 * (1 + model.params.platforms.cutoff_speed)


def test_moral_hazard_raises_the_cutoff_for_the_months_lending_only():
    from lendsim.agents import guarantors

    model = MarketModel(tiny(**P2P, **{"guarantee.moral_hazard": 0.5}))
    model.run(2)
    pl = model.platforms[model.guarantors[0].insured[0]]
    own = pl.pd_cutoff
    guarantors.enforce_terms(model)  # as a month starts
    assert pl.pd_cutoff == pytest.approx(min(1.0, own / (1 - 0.5 * 0.9)))
    guarantors.attach_pools(model)  # accounting, after the month's lending
    assert pl.pd_cutoff == own


def test_reserve_funds_one_per_insured_platform():
    model = MarketModel(tiny(**P2P, **{"guarantee.kind": "reserve"}))
    model.run(12)
    p2p = [pl.idx for pl in model.platforms if pl.kind == "p2p"]
    assert sorted(g.owner for g in model.guarantors) == p2p
    assert all(g.insured == [g.owner] for g in model.guarantors)


# ------------------------------------------------------------------ insured pricing (7.17.10)
def test_retained_loss_rate_hand_example():
    from lendsim.agents.rules.underwriting import retained_loss_rate

    # EL 10 % a year, 80 % covered, 2 % premium: the lender keeps 2 % and pays 2 %
    got = retained_loss_rate(np.array([0.10, 0.01]), np.array([0.8, 0.8]),
                             np.array([0.02, 0.02]))
    np.testing.assert_allclose(got, [0.04, 0.022])  # 0.2 x 0.01 + 0.02: cover dear when safe
    # no cover, no premium: the expected loss itself
    np.testing.assert_array_equal(retained_loss_rate(np.array([0.07]), np.zeros(1),
                                                     np.zeros(1)), [0.07])


def test_insured_break_even_price_is_the_uninsured_one_less_cover_times_el_plus_premium():
    """An insured lender prices the loss it keeps: its floor and asking price are the
    uninsured ones minus cover x EL plus the premium (hand-computed: PD 0.1, severity 0.5,
    12 months: EL = 0.1 x 0.5 x 24 / 13 a year; cover 0.9, premium 0.02)."""
    import dataclasses

    from lendsim.simulation.phases.underwriting import platform_arrays
    from lendsim.simulation.strategies import BreakEven

    model = MarketModel(tiny(**P2P))
    g = platform_arrays(model)
    ins = model.guarantors[0].insured[0]
    emb = next(pl.idx for pl in model.platforms if pl.kind == "embedded")
    assert g.cover_share[ins] == 0.9 and g.premium_rate[ins] == 0.02
    assert g.cover_share[emb] == 0.0 and g.premium_rate[emb] == 0.0
    p = np.array([ins, emb])
    pd_life, lgd, term = np.full(2, 0.1), np.full(2, 0.5), np.full(2, 12)
    amount = np.full(2, 3000.0)
    floor, price = BreakEven().quote(pd_life, p, term, g, lgd, amount, np.ones(len(p)))
    plain = dataclasses.replace(g, cover_share=None, premium_rate=None)
    floor0, price0 = BreakEven().quote(pd_life, p, term, plain, lgd, amount,
                                       np.ones(len(p)))
    el = 0.1 * 0.5 * 24 / 13
    assert floor[0] == pytest.approx(floor0[0] - 0.9 * el + 0.02, abs=1e-12)
    assert price[0] == pytest.approx(price0[0] - 0.9 * el + 0.02, abs=1e-12)
    assert (floor[1], price[1]) == (floor0[1], price0[1])  # the uninsured lender: unchanged


def test_pricing_sees_cover_only_while_the_guarantor_is_live_and_within_its_limit():
    from lendsim.agents import guarantors

    assert guarantors.pricing_terms(MarketModel(tiny())) is None  # default market: no cover
    model = MarketModel(tiny(**P2P))
    g = model.guarantors[0]
    cover, premium = guarantors.pricing_terms(model)
    assert (cover[g.insured] == 0.9).all() and (premium[g.insured] == 0.02).all()
    g.covered_balance = 1.0 + model.params.guarantee.max_leverage * g.equity  # at its limit
    assert not guarantors.pricing_terms(model)[0].any()
    g.covered_balance = 0.0
    g.fail(1)
    cover, premium = guarantors.pricing_terms(model)
    assert not cover.any() and not premium.any()
    # a reserve fund covers the platform's own share only (P2P: all of it)
    res = MarketModel(tiny(**P2P, **{"guarantee.kind": "reserve"}))
    cover, _ = guarantors.pricing_terms(res)
    reg = res.regulator.policy
    for f in res.guarantors:
        assert cover[f.owner] == pytest.approx(0.9 * res.platforms[f.owner].own_share(reg))


def test_perceived_loss_hand_example():
    from lendsim.agents.guarantors import perceived_loss

    # reputation 0.6 (0.4 lost); investors believe a guarantor pays 0.8 of losses: they act
    # on 0.4 x 0.2 = 0.08; with no cover (or after it failed) on all 0.4
    assert perceived_loss(0.4, 0.8) == pytest.approx(0.08)
    assert perceived_loss(0.4, 0.0) == 0.4
    assert perceived_loss(np.array([0.0, 0.5, 1.0]), np.array([0.8, 0.5, 1.0])) == \
        pytest.approx([0.0, 0.25, 0.0])


def test_investors_discount_bad_news_while_the_guarantor_is_live_then_run_in_full():
    from lendsim.agents import guarantors

    assert guarantors.investor_cover(MarketModel(tiny())) is None  # default market: none
    model = MarketModel(tiny(**P2P))
    g = model.guarantors[0]
    cover = guarantors.investor_cover(model)
    assert (cover[g.insured] == 0.9).all()
    assert not np.delete(cover, g.insured).any()  # uninsured platforms: no cover
    # investors do not see leverage: beyond its limit the cover still calms them
    g.covered_balance = 1.0 + model.params.guarantee.max_leverage * g.equity
    assert (guarantors.investor_cover(model)[g.insured] == 0.9).all()
    # the run by hand (tests/simulation/test_channels.py, test_retail_flows_by_hand): with
    # lost reputation 0.4 the insured platform's investors withdraw base + s x 0.4 x 0.1
    cp = model.params.contagion
    pl = model.platforms[g.insured[0]]
    outs = []
    for c in (0.9, 0.0):
        pl.retail_funds, pl.cash, pl.reputation = 1000.0, 1e9, 0.6
        eq, loans = pl.equity, pl.loans_held
        lost = 0.4 * (1 - c)
        net, cost = pl.retail_flows(cp, c)
        aim = loans / pl.tp.target_leverage
        appetite = min(pl.tp.retail_funding * eq, max(loans - aim, 0))
        out = 1000 * (cp.retail_base_withdrawal + cp.retail_run_sensitivity * lost)
        back = (1 - lost) * (1000 * cp.retail_base_withdrawal
                             + cp.retail_refill * max(appetite - 1000, 0))
        assert net == pytest.approx(out - back) and cost == 0.0
        pl.post(cash=net, retail_funds=net)  # undo
        outs.append(net)
    assert outs[0] < outs[1]  # the guarantor failed (cover 0): the full run
    g.fail(1)
    assert not guarantors.investor_cover(model).any()


def test_accounting_passes_each_platform_its_investors_cover(monkeypatch):
    from lendsim.agents.platforms import Platform

    seen = {}
    real = Platform.retail_flows

    def spy(self, cp, cover=0.0):
        seen[self.idx] = cover
        return real(self, cp, cover)

    monkeypatch.setattr(Platform, "retail_flows", spy)
    model = MarketModel(tiny(**P2P))
    g = model.guarantors[0]
    model.run(1)
    assert all(seen[i] == 0.9 for i in g.insured)
    assert all(c == 0.0 for i, c in seen.items() if i not in g.insured)
    g.fail(model.t)  # the guarantor has failed: no cover believed in, anywhere
    seen.clear()
    model.run(1)
    assert seen and all(c == 0.0 for c in seen.values())
    seen.clear()
    MarketModel(tiny()).run(1)  # the default market: every platform reads its news in full
    assert seen and all(c == 0.0 for c in seen.values())
