"""Each platform's back-test of its loss pricing (platforms table ``el_priced`` and
``loss_realised``): the expected loss priced into originations against loops over what was
booked, net charge-offs by hand, the trailing ratio by hand, and the identity with the model
table's losses."""

import numpy as np
import pytest
from conftest import tiny
from scipy.special import expit

from lendsim import MarketModel
from lendsim.agents.rules.underwriting import expected_loss_rate
from lendsim.simulation.ledger import LoanStatus
from lendsim.simulation.month import Month
from lendsim.simulation.phases import accounting, credit_lines, demand, funding, underwriting


def _start_month(model):
    model.t += 1
    model.month = Month(model.n_borrowers, len(model.platforms))
    demand.step(model)
    funding.step(model)


def _spy_on_book(monkeypatch, module, model, calls):
    """Record every booking (borrowers, platforms, amounts, terms, features) and the PD a
    credit line carries at that moment."""
    real = module.book

    def spy(model_, b, p, amount, apr, term, X, *args, **kw):
        calls.append((b.copy(), p.copy(), np.asarray(amount, float).copy(),
                      np.asarray(term).copy(), np.asarray(X, np.float64).copy(),
                      model.credit_lines.pd[b].astype(float)))
        return real(model_, b, p, amount, apr, term, X, *args, **kw)

    monkeypatch.setattr(module, "book", spy)


def test_tally_weighs_el_rates_by_expected_balance_months():
    """An annual loss rate is per RMB of balance, so each loan's rate weighs by its amount
    times its expected months on the book, (term + 1) / 2, as the realised rate's managed
    balance does: a one-month draw of 100 weighs 100, a six-month loan of 100 weighs 350."""
    m = Month(5, 3)
    seg, q = np.array([0, 1, 2]), np.array([0, 1, 2])
    m.count_applications(seg, seg, np.array([100.0, 50.0, 10.0]), np.full(3, 0.2), False, 3,
                         np.array([0, 2, 0]), q, q, el_rate=np.array([0.01, 0.04, 0.1]),
                         term=np.array([6, 12, 1]))
    m.count_applications(seg[:1], seg[:1], np.array([30.0]), np.array([0.3]), False, 3,
                         np.array([2]), q[:1], q[:1], el_rate=np.array([0.02]), term=1)
    m.tally()
    np.testing.assert_allclose(m.exposure_by_platform, [100 * 3.5 + 10 * 1.0, 0.0,
                                                        50 * 6.5 + 30 * 1.0])
    np.testing.assert_allclose(m.el_by_platform, [350 * 0.01 + 10 * 0.1, 0.0,
                                                  325 * 0.04 + 30 * 0.02])
    np.testing.assert_allclose(m.orig_by_platform, [110.0, 0.0, 80.0])


def test_apply_records_each_loans_el_rate_on_its_own_term(monkeypatch):
    """Instalment loans at their platform's term, convenience loans at one month; the PD is
    the platform's scorecard on the features it booked, the loss given default its loss
    severity."""
    model = MarketModel(tiny(**{"borrowers.n": 600}))
    model.run(3)
    _start_month(model)
    m = model.month
    coef = np.array([pl.coef for pl in model.platforms])
    severity = underwriting.platform_arrays(model).loss_severity
    calls = []
    _spy_on_book(monkeypatch, underwriting, model, calls)
    underwriting.apply(model, m.applicants, m.request, 3, is_refinance=False,
                       one_month=m.is_convenience)
    m.tally()
    want = np.zeros(len(model.platforms))
    terms = set()
    for b, p, amount, term, X, _ in calls:
        for i in range(len(b)):
            pd_life = expit(X[i] @ coef[p[i]])
            # weight: amount x expected months on the book, (term + 1) / 2
            want[p[i]] += amount[i] * (term[i] + 1.0) / 2.0 * (
                pd_life * severity[p[i]] * 24.0 / (term[i] + 1.0))
            terms.add(int(term[i]))
    assert terms >= {1, int(model.platforms[0].tp.term_months)}  # both kinds were booked
    assert want.sum() > 0
    np.testing.assert_allclose(m.el_by_platform, want, rtol=1e-5)
    model.close()


def test_line_draws_record_the_lines_pd_at_a_one_month_term(monkeypatch):
    model = MarketModel(tiny(**{"borrowers.n": 600, "platforms.line_review_months": 6}))
    model.run(6)
    _start_month(model)
    m = model.month
    severity = underwriting.platform_arrays(model).loss_severity
    calls = []
    _spy_on_book(monkeypatch, credit_lines, model, calls)
    m.capacity[m.pool_of >= 0] = 1e12  # every platform with a pool this month
    drawn = credit_lines.draw_lines(model, m.applicants, m.request, m.is_convenience)
    assert (drawn > 0).sum() >= 5
    m.tally()
    want = np.zeros(len(model.platforms))
    for b, p, amount, term, _, line_pd in calls:
        assert (term == 1).all()
        np.add.at(want, p, amount * line_pd * severity[p] * 12.0)  # weight 1, 24 / (1 + 1)
    np.testing.assert_allclose(m.el_by_platform, want, rtol=1e-6)
    model.close()


def test_charge_off_tallies_net_charge_offs_by_originating_platform():
    model = MarketModel(tiny(**{"platforms.n": 3, "banks.n": 3, "platforms.recovery_rate": 0.1,
                                "platforms.resolver_recovery": 0.5,
                                "platforms.chargeoff_after_missed": 6}))
    model.run(3)
    model.month = Month(model.n_borrowers, len(model.platforms))
    L = model.loans
    model.platforms[1].fail(model.t)  # no resolver: half the usual recovery
    open_ = np.flatnonzero(L.is_open() & (L.balance > 0))
    old, young = open_[:60], open_[60:80]
    L.status[old] = L.status[young] = LoanStatus.DEFAULTED
    L.n_missed[old], L.n_missed[young] = 6, 5
    want, principal, n = np.zeros(3), np.zeros(3), np.zeros(3)
    for i in old:  # only loans past the charge-off point, net of what is recovered
        rate = 0.05 if L.platform_idx[i] == 1 else 0.1
        want[L.platform_idx[i]] += L.balance[i] * (1 - rate)
        principal[L.platform_idx[i]] += L.principal[i]
        n[L.platform_idx[i]] += 1
    assert (want > 0).sum() >= 2
    accounting.charge_off(model)
    np.testing.assert_allclose(model.month.net_charge_offs_by_platform, want)
    # and what the loans charged off had been lent: each lender's loss severity reads it
    np.testing.assert_allclose(model.month.principal_charged_off_by_platform, principal)
    np.testing.assert_array_equal(model.month.n_charged_off_by_platform, n)
    # whoever funds them: the platforms' and banks' shares add up to the same total
    accounting.post_flows(model)
    m = model.month
    assert m.net_charge_offs_by_platform.sum() == pytest.approx(m.losses_platforms
                                                                + m.losses_banks)
    model.close()


def test_loss_realised_is_trailing_twelve_month_net_charge_offs_over_managed_by_hand():
    model = MarketModel(tiny(**{"platforms.n": 1}))
    pl = model.platforms[0]
    assert np.isnan(pl.loss_realised())
    pl.record_losses(0.0, 0.0)
    assert np.isnan(pl.loss_realised())  # nothing managed yet
    nco = [float(k) for k in range(1, 15)]
    managed = [1000.0 + 100 * k for k in range(1, 15)]
    for c, b in zip(nco, managed):
        pl.record_losses(c, b)
    # months 3..14 of the 14 recorded after the empty one: the last 12
    assert pl.loss_realised() == pytest.approx(12 * sum(nco[2:]) / sum(managed[2:]))
    model.close()


def test_backtest_columns_in_a_run_against_the_tables():
    """Over a run: the per-platform net charge-offs add up to the model table's losses every
    month; ``loss_realised`` is 12 x the trailing 12-month sum of them over the trailing sum of
    the table's ``loans_managed``; ``el_priced`` is NaN exactly when nothing was originated."""
    model = MarketModel(tiny(**{"borrowers.n": 800, "platforms.n": 3,
                                "platforms.entry_prob": 0.0,
                                "borrowers.strategic_base": -3.0}))  # defaults early
    nco = []
    for _ in range(20):
        model.step()
        nco.append(model.month.net_charge_offs_by_platform.copy())
    t = model.tables()
    nco = np.array(nco)  # (months, platforms)
    losses = (t["model"]["losses_platforms"] + t["model"]["losses_banks"]).to_numpy()
    np.testing.assert_allclose(nco.sum(axis=1), losses, rtol=1e-9, atol=1e-6)
    assert losses.sum() > 0
    pt = t["platforms"]
    for p in range(3):
        rows = pt[pt.platform_id == p].sort_values("step")
        managed = rows["loans_managed"].to_numpy()
        for k in range(len(rows)):
            lo = max(0, k - 11)
            with np.errstate(invalid="ignore"):
                want = 12 * nco[lo:k + 1, p].sum() / managed[lo:k + 1].sum()
            # NaN both while the platform has managed nothing yet
            assert rows["loss_realised"].iloc[k] == pytest.approx(want, rel=1e-9, nan_ok=True)
        assert (rows["el_priced"].isna() == (rows["originations"] == 0)).all()
        priced = rows["el_priced"].dropna()
        assert len(priced) and (priced > 0).all() and (priced < 1).all()
    model.close()
