"""Phase 11, banks adapt (simulation/phases/banks_adapt.py): what each bank's line rule is
given (against a loop over loans), and what the phase does with its answer."""

import numpy as np
import pytest
from conftest import tiny

from lendsim import MarketModel
from lendsim.simulation import strategies
from lendsim.simulation.month import Month
from lendsim.simulation.phases import banks_adapt


def _model(**over):
    model = MarketModel(tiny(**{"platforms.n": 3, "banks.n": 3, **over}))
    model.run(3)
    model.month = Month(model.n_borrowers, len(model.platforms))
    return model


class Recorder(strategies.UseAndQuality):  # not registered: the bank holds an instance
    name = "recorder_test"

    def __init__(self, calls):
        self.calls = calls

    def new_lines(self, bank, lines, outstanding, delinquency, is_active, reg, bp,
                  common_funder=True):
        self.calls[bank.idx] = (lines.copy(), outstanding, delinquency, is_active,
                                common_funder)
        return np.full(len(lines), 100.0 + bank.idx)


@pytest.mark.parametrize("common_funder", [True, False])
def test_each_bank_gets_its_lines_use_and_the_platforms_quality(common_funder):
    model = _model(**{"contagion.common_funder": common_funder})
    model.platforms[2].fail(model.t)
    for pl, d in zip(model.platforms, (0.01, 0.2, 0.05)):
        pl.last_delinquency_30 = d
    calls = {}
    for bk in model.banks:
        bk.line_rule = Recorder(calls)
    lines = model.lines.copy()
    banks_adapt.step(model)
    L, pools, P = model.loans, model.pools, 3
    out = np.zeros((P, len(model.banks)))
    for i in np.flatnonzero(L.is_open()):
        k = L.pool_idx[i]
        out[pools.platform_idx[k]] += L.balance[i] * pools.bank_shares[k]
    for bk in model.banks:
        got_lines, got_out, dq, active, cf = calls[bk.idx]
        np.testing.assert_array_equal(got_lines, lines[bk.idx, :P])
        np.testing.assert_allclose(got_out, out[:, bk.idx], rtol=1e-9)
        assert dq.tolist() == [0.01, 0.2, 0.05] and active.tolist() == [True, True, False]
        assert cf is common_funder
        assert model.lines[bk.idx, :P].tolist() == [100.0 + bk.idx] * P
    assert out.sum() > 0
    assert (model.lines[:, P:] == lines[:, P:]).all()  # room for entrants untouched


def test_lines_to_a_failed_platform_close():
    model = _model()
    model.platforms[0].fail(model.t)
    assert model.lines[:, 0].sum() > 0
    banks_adapt.step(model)
    assert model.lines[:, 0].sum() == 0 and model.lines[:, 1:3].sum() > 0
