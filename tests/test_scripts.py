"""scripts/delinquency_buckets.py measures what the model's tables report.

The script reads the loan book; the platforms table counts the same balances in its own
pass (``kernels.book_by_platform``). Its buckets are checked against a loop over the loans
and against that table.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from lendsim import MarketModel, load_scenario
from lendsim.simulation.ledger import LoanStatus
from lendsim.simulation.phases.accounting import chargeoff_after

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import delinquency_buckets as db  # noqa: E402  (a script folder, not a package)


@pytest.fixture(scope="module")
def model():
    m = MarketModel(load_scenario("baseline", {"borrowers.n": 1500, "simulation.burn_in": 24,
                                               "simulation.steps": 12}), seed=3)
    m.run(12)
    yield m
    m.close()


def test_buckets_are_the_open_balance_by_payments_behind_loan_by_loan(model):
    L = model.loans
    want = np.zeros(db.MAX_SHOWN + 1)
    for i in range(L.n):
        p = model.platforms[L.platform_idx[i]]
        if p.kind == "embedded" and L.status[i] in (LoanStatus.CURRENT, LoanStatus.DELINQUENT,
                                                   LoanStatus.DEFAULTED):
            want[min(int(L.n_missed[i]), db.MAX_SHOWN)] += L.balance[i]
    got = db.buckets(model)
    assert want[1:].sum() > 0  # the test sees loans behind
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_buckets_give_the_platforms_tables_delinquency(model):
    """30+ is buckets 1 and up, 90+ buckets 3 and up, as shares of the open balance: the
    embedded platform's ``delinquency_1``, ``delinquency_2`` and ``delinquency_3plus`` in the
    month just run."""
    b = db.buckets(model)
    s = b / b.sum()
    rows = model.tables()["platforms"]
    row = rows[(rows["step"] == model.t) & (rows["platform_type"] == "embedded")]
    assert len(row) == 1
    row = row.iloc[0]
    assert s[1] == pytest.approx(row["delinquency_1"], rel=1e-9)
    assert s[2] == pytest.approx(row["delinquency_2"], rel=1e-9)
    assert s[3:].sum() == pytest.approx(row["delinquency_3plus"], rel=1e-9)
    assert s[1:].sum() == pytest.approx(row["delinquency_30"], rel=1e-9)


def test_a_defaulted_loan_spends_one_month_in_each_bucket_from_three_to_charge_off(model):
    """The ceiling docs/calibration.md derives (90+ at most 3/5 of 30+ in a steady book)
    rests on this: a loan in default pays nothing and moves one bucket a month until it is
    charged off at 6, so no open loan is 6 or more behind, and next month's bucket k + 1
    holds this month's bucket k of defaulted loans, balance for balance."""
    L = model.loans
    limit = chargeoff_after(model)  # each platform's charge-off point, payments behind
    before = {}
    for i in np.flatnonzero(L.status == LoanStatus.DEFAULTED):
        before[(int(L.borrower_idx[i]), int(L.platform_idx[i]), int(L.origination_step[i]),
                float(L.principal[i]))] = (int(L.n_missed[i]), float(L.balance[i]),
                                           int(limit[L.platform_idx[i]]))
    assert before
    # the key tells the loans apart (no two defaulted loans share it on this seed)
    assert len(before) == int((L.status == LoanStatus.DEFAULTED).sum())
    model.run(1)
    L = model.loans
    after = {}
    for i in range(L.n):
        key = (int(L.borrower_idx[i]), int(L.platform_idx[i]), int(L.origination_step[i]),
               float(L.principal[i]))
        after[key] = (int(L.status[i]), int(L.n_missed[i]), float(L.balance[i]))
    open_ = L.status <= LoanStatus.DEFAULTED
    assert (L.n_missed[open_] < limit[L.platform_idx[open_]]).all()
    for key, (k, bal, c) in before.items():
        if k + 1 >= c:
            assert key not in after  # charged off and dropped
        else:
            assert after[key] == (LoanStatus.DEFAULTED, k + 1, bal)
