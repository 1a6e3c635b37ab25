"""Phase 5, credit lines (simulation/phases/credit_lines.py): draws on a line at its price
and platform without scoring; reviews renew or close lines."""

import numpy as np
import pytest
from conftest import tiny

from lendsim import MarketModel
from lendsim.simulation.month import Month
from lendsim.simulation.phases import credit_lines, demand, funding, underwriting


def _month_before_lines(review=6):
    model = MarketModel(tiny(**{"borrowers.n": 600, "platforms.line_review_months": review}))
    model.run(3)
    model.t += 1  # the month being stepped
    model.month = Month(model.n_borrowers, len(model.platforms))
    demand.step(model)
    funding.step(model)
    return model


def _quiet_lines(model, k):
    """``k`` borrowers holding a line that nothing puts under review this month."""
    CL, pop = model.credit_lines, model.population
    b = np.flatnonzero((CL.platform >= 0) & pop.is_employed)[:k]
    assert len(b) == k
    CL.until[b] = model.t + 5
    CL.debt_seen[b] = 1e9
    CL.lenders_seen[b] = 100
    CL.features[b, 2] = -10.0  # income at grant far below today's
    return b


def test_draws_are_booked_at_the_lines_price_and_platform():
    model = _month_before_lines()
    CL, L, m = model.credit_lines, model.loans, model.month
    b = _quiet_lines(model, 20)
    amount = np.minimum(CL.limit[b].astype(float), 500.0) * 0.5
    conv = np.arange(20) % 4 != 0  # a quarter ask for instalment credit: not drawn
    m.capacity[:] = 1e12
    cap0, n0, debt0 = m.capacity.copy(), L.n, model.debt.total[b].copy()
    drawn = credit_lines.draw_lines(model, b, amount, conv)
    usable = CL.usable(b, amount, model.t, underwriting.platform_arrays(model).is_active,
                       underwriting.price_cap(model, underwriting.platform_arrays(model)))
    want = np.where(conv & usable, amount, 0.0)
    np.testing.assert_allclose(drawn, want)
    assert (drawn > 0).sum() >= 10
    new = np.arange(n0, L.n)
    w = np.flatnonzero(drawn > 0)
    assert L.borrower_idx[new].tolist() == b[w].tolist()
    assert L.platform_idx[new].tolist() == CL.platform[b[w]].tolist()
    np.testing.assert_array_equal(L.apr[new], CL.apr[b[w]].astype(float))
    assert (L.term[new] == 1).all() and L.principal[new] == pytest.approx(drawn[w])
    assert cap0.sum() - m.capacity.sum() == pytest.approx(drawn.sum())
    np.testing.assert_allclose(model.debt.total[b] - debt0, drawn)
    assert m.applied[b[w]].all() and m.granted_any[b[w]].all()
    model.close()


def test_draws_stay_within_the_platforms_capacity():
    model = _month_before_lines()
    CL, m = model.credit_lines, model.month
    b = _quiet_lines(model, 20)
    amount = np.minimum(CL.limit[b].astype(float), 500.0) * 0.5
    m.capacity[:] = 0.0
    drawn = credit_lines.draw_lines(model, b, amount, np.ones(20, bool))
    assert (drawn == 0).all()  # nothing to lend: every request goes to underwriting
    model.close()


def test_no_lines_without_reviews():
    model = _month_before_lines(review=0)
    m = model.month
    drawn = credit_lines.draw_lines(model, m.applicants, m.request, np.ones(len(m.applicants),
                                                                             bool))
    assert (drawn == 0).all() and model.credit_lines.n_open == 0
    model.close()


def test_a_review_renews_or_closes_the_line():
    model = _month_before_lines()
    CL = model.credit_lines
    g = underwriting.platform_arrays(model)
    b = np.flatnonzero(CL.platform >= 0)[:40]
    p = CL.platform[b].copy()
    credit_lines.review_lines(model, b, g)
    kept = CL.platform[b] >= 0
    assert kept.any()
    assert (CL.platform[b[kept]] == p[kept]).all()  # a review keeps the line's platform
    assert (CL.until[b[kept]] > model.t).all()  # and sets the next review
    # a cap no platform's price can meet: every reviewed line closes
    model.apr_cap = 1e-6
    b2 = b[kept]
    credit_lines.review_lines(model, b2, underwriting.platform_arrays(model))
    assert (CL.platform[b2] == -1).all()
    model.close()


def test_step_records_the_draws_as_granted():
    model = _month_before_lines()
    m = model.month
    credit_lines.step(model)
    assert len(m.granted) == len(m.applicants)
    assert ((m.granted == 0) | m.is_convenience).all()  # only convenience requests draw
    assert (m.granted > 0).any()
    model.close()


@pytest.mark.parametrize("elasticity", [0.0, 0.7])
def test_a_new_lines_limit_is_the_lenders_room_scaled_for_risk(elasticity):
    """A line opened by an approved convenience request gets the lender's room (docs/ODD.md
    7.7): its limit on its own exposure, the type's months of income scaled by
    ``(reference PD / annual PD)^elasticity`` for a one-month PD, and the debt limits."""
    model = MarketModel(tiny(**{"borrowers.n": 600,
                                "platforms.limit_risk_elasticity": elasticity,
                                "platforms.limit_reference_pd": 0.02}))
    model.run(3)
    g = underwriting.platform_arrays(model)
    pop, reg, rng = model.population, model.regulator.policy, np.random.default_rng(5)
    b = rng.choice(model.n_borrowers, 50, replace=False)
    p = rng.integers(0, len(model.platforms), 50)
    own, visible = rng.uniform(0, 2000, 50), rng.uniform(2000, 6000, 50)
    pd_life = rng.uniform(0.0005, 0.02, 50)
    X = np.zeros((50, model.credit_lines.features.shape[1]))
    underwriting.grant_lines(model, np.arange(50), b, p, own, visible, pd_life,
                             np.full(50, 0.15), X, g)
    for i in range(50):
        tp = model.platforms[p[i]].tp
        pd_year = 1 - (1 - pd_life[i]) ** 12  # a line's draw is a one-month loan
        multiple = tp.limit_income_multiple * (0.02 / pd_year) ** elasticity
        room = min(multiple * pop.income[b[i]] - own[i],
                   tp.max_debt_income * 12 * pop.income[b[i]] - visible[i],
                   reg.max_loan - visible[i])
        assert float(model.credit_lines.limit[b[i]]) == pytest.approx(max(room, 0.0),
                                                                      rel=1e-6), i
    assert (model.credit_lines.limit[b] > 0).any()
    model.close()
