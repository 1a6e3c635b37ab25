"""Phase 12, supervise (simulation/phases/supervise.py): next month's debt state and the
regulator's indicators, against loops over loans."""

import numpy as np
import pytest
from conftest import tiny

from lendsim import MarketModel
from lendsim.simulation.month import Month
from lendsim.simulation.phases import supervise


def test_supervise_closes_the_debt_state_and_reports_90_plus_delinquency():
    model = MarketModel(tiny(**{"regulator.delinquency_alert": 0.03}))
    model.run(3)
    model.month = Month(model.n_borrowers, len(model.platforms))
    L = model.loans
    L.n_missed[L.is_open() & (np.arange(L.n) % 10 == 0)] = 3
    L.n_missed[L.is_open() & (np.arange(L.n) % 10 == 5)] = 2  # 60+, not 90+
    seen = []
    supervise_indicators = model.regulator.supervise
    model.regulator.supervise = lambda pls, banks, d90: seen.append(d90) or \
        supervise_indicators(pls, banks, d90)
    supervise.step(model)
    own = np.zeros((model.n_borrowers, len(model.platforms)))
    total = d90 = 0.0
    for i in np.flatnonzero(L.is_open()):
        own[L.borrower_idx[i], L.platform_idx[i]] += L.balance[i]
        total += L.balance[i]
        d90 += L.balance[i] * (L.n_missed[i] >= 3)
    np.testing.assert_allclose(model.debt.own, own)
    np.testing.assert_allclose(model.debt.total, own.sum(axis=1))
    assert seen == [pytest.approx(d90 / total)] and d90 / total > 0.03
    assert model.regulator.indicators["reg_delinquency_alert"] == 1.0
    model.close()
