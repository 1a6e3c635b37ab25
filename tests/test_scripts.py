"""scripts/delinquency_buckets.py, bureau_deletion.py, charged_off_debt.py, lender_split.py and
debt_service.py measure what the model's tables report; window_defaults.py what lenders'
training windows hold.

Each script reads the loan book; the model's tables count the same balances in their own
pass (``kernels.book_by_platform``, ``outputs.collect_step``). The scripts' sums are checked
against a loop over the loans and against those tables.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from lendsim import MarketModel, load_scenario
from lendsim.simulation.ledger import LoanStatus
from lendsim.simulation.phases.accounting import chargeoff_after
from lendsim.simulation.phases.underwriting import BUREAU_DEFAULT_MEMORY_MONTHS

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import delinquency_buckets as db  # noqa: E402  (a script folder, not a package)


def _refused_in_one_line(main, argv, needle, capsys):
    """A script's ``main(argv)`` exits with argparse's code 2 and a last line naming
    ``needle``."""
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert needle in err[-1]


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


# scripts/bureau_deletion.py: the recent defaulters' part of the market's 30+

import bureau_deletion as bd  # noqa: E402


@pytest.fixture(scope="module")
def positive_model():
    """A market whose bureau reports no defaults, so recent defaulters hold open loans."""
    m = MarketModel(load_scenario("data_sharing_positive.toml", {
        "borrowers.n": 1500, "simulation.burn_in": 24, "simulation.steps": 12,
        "output.charts": False}), seed=4)
    m.run(12)
    yield m
    m.close()


def test_split_is_the_book_loan_by_loan_and_adds_up_to_the_models_30_plus(positive_model):
    m = positive_model
    L, pop = m.loans, m.population
    want = np.zeros(4)
    for i in range(L.n):
        if L.status[i] > LoanStatus.DEFAULTED:
            continue
        recent = pop.months_since_default[L.borrower_idx[i]] < BUREAU_DEFAULT_MEMORY_MONTHS
        late = L.n_missed[i] >= 1
        j = 0 if recent else 2
        want[j] += L.balance[i]
        if late:
            want[j + 1] += L.balance[i]
    got = bd.split(m)
    assert want[0] > 0 and want[1] > 0  # the test sees recent defaulters, some behind
    np.testing.assert_allclose(got, want, rtol=1e-12)
    row = m.tables()["model"].iloc[-1]
    assert (got[1] + got[3]) / (got[0] + got[2]) == pytest.approx(row["delinquency_30"],
                                                                  rel=1e-9)


def test_bureau_deletion_runs_both_arms_on_each_seed(capsys):
    bd.main(["--seeds", "1-2", "--n", "300", "--months", "3", "--window", "2",
             "--set", "simulation.burn_in=6"])
    out = capsys.readouterr().out.strip().splitlines()
    rows = [line.split() for line in out[1:-1]]
    assert [(r[0], r[1]) for r in rows] == [(s, arm) for s in ("1", "2") for arm in bd.ARMS]
    d30 = [float(r[2]) for r in rows]
    diff = float(out[-1].split(":")[1].split()[0])
    assert diff == pytest.approx(((d30[1] - d30[0]) + (d30[3] - d30[2])) / 2, abs=2e-3)


@pytest.mark.parametrize("argv, needle", [
    (["--seeds", "x"], "--seeds = 'x'"),
    (["--n", "5"], "--n = 5"),
    (["--window", "30"], "--window = 30"),
    (["--set", "regulator.foo=1"], "regulator.foo"),
])
def test_bureau_deletion_rejects_bad_input_in_one_line(argv, needle, capsys):
    _refused_in_one_line(bd.main, argv, needle, capsys)


def test_by_age_is_the_book_loan_by_loan(positive_model):
    m = positive_model
    L, pop = m.loans, m.population
    want = np.zeros((4, bd.MAX_AGE + 1))
    for i in range(L.n):
        if L.status[i] > LoanStatus.DEFAULTED:
            continue
        since = pop.months_since_default[L.borrower_idx[i]]
        age = min(m.t - int(L.origination_step[i]), bd.MAX_AGE)
        if since < BUREAU_DEFAULT_MEMORY_MONTHS:
            if L.origination_step[i] <= m.t - since:
                continue  # made before the default: in neither group
            k = 0
        else:
            k = 2
        want[k, age] += L.balance[i]
        if L.n_missed[i] >= 1:
            want[k + 1, age] += L.balance[i]
    got = bd.by_age(m)
    assert want[0].sum() > 0 and want[3].sum() > 0  # post-default loans, others behind
    np.testing.assert_allclose(got, want, rtol=1e-12)
    # the others are split from the recent defaulters as in split()
    assert got[2].sum() == pytest.approx(bd.split(m)[2], rel=1e-12)


# scripts/charged_off_debt.py: what defaulters could still pay, and re-default by history

import charged_off_debt as cod  # noqa: E402


def test_performing_debtors_is_the_book_loan_by_loan(model):
    L = model.loans
    expected = np.zeros(model.n_borrowers, dtype=bool)
    for r in range(L.n):
        if L.status[r] in (LoanStatus.CURRENT, LoanStatus.DELINQUENT) and L.balance[r] > 0:
            expected[L.borrower_idx[r]] = True
    np.testing.assert_array_equal(cod.performing_debtors(model), expected)


def test_redefault_over_one_month_counts_the_models_new_defaults():
    """Over one month, everyone who defaults had performing debt at its start (a new loan
    cannot default in its first month, a defaulted one not again), so the two groups'
    defaulters add up to the model table's count of borrowers entering default."""
    m = MarketModel(load_scenario("baseline", {"borrowers.n": 1500, "simulation.burn_in": 24,
                                               "simulation.steps": 18}), seed=5)
    m.run(12)
    total = 0.0
    for _ in range(6):
        debtors = cod.performing_debtors(m)
        recent = debtors & (m.population.months_since_default < BUREAU_DEFAULT_MEMORY_MONTHS)
        n_recent, n_others = int(recent.sum()), int((debtors & ~recent).sum())
        rate_recent, rate_others = cod.redefault(m, 1)
        row = m.tables()["model"].iloc[-1]
        new = row["default_rate"] * row["borrowers_with_debt"] / (1 - row["default_rate"])
        got = (np.nan_to_num(rate_recent) * n_recent + rate_others * n_others) / 100
        assert got == pytest.approx(new, rel=1e-9, abs=1e-9)
        total += new
    m.close()
    assert total > 0


def test_charged_off_debt_runs_both_arms_and_pairs_them(capsys):
    cod.main(["--seeds", "1-2", "--n", "300", "--arm", "borrowers.collection_share=0.2",
              "--window", "12", "--set", "simulation.burn_in=6", "--set",
              "simulation.steps=14"])
    out = capsys.readouterr().out.strip().splitlines()
    assert out[0] == "arm: borrowers.collection_share=0.2"
    rows = [line.split() for line in out[2:6]]
    assert [(r[0], r[1]) for r in rows] == [(s, arm) for s in ("1", "2")
                                            for arm in ("base", "arm")]
    # nothing collected in the base arm (nan: nothing charged off in the window)
    assert not float(rows[0][2]) > 0 and not float(rows[2][2]) > 0
    d30 = [float(r[4]) for r in rows]
    line = next(x for x in out if x.strip().startswith("d30"))
    assert float(line.split()[1]) == pytest.approx(((d30[1] - d30[0]) + (d30[3] - d30[2])) / 2,
                                                   abs=2e-3)


@pytest.mark.parametrize("argv, needle", [
    (["--seeds", "a-b"], "--seeds = 'a-b'"),
    (["--n", "5"], "--n = 5"),
    (["--arm", "borrowers.collection_share=1.5"], "borrowers.collection_share"),
    (["--arm", "borrowers.scar"], "borrowers.scar"),
    (["--window", "6"], "--window = 6"),
    (["--set", "borrowers.foo=1"], "borrowers.foo"),
])
def test_charged_off_debt_rejects_bad_input_in_one_line(argv, needle, capsys):
    _refused_in_one_line(cod.main, argv, needle, capsys)


def test_debt_owed_against_a_loop(model):
    pop = model.population
    ratios = [pop.collection_debt[i] / pop.base_income[i] for i in range(pop.n)
              if pop.collection_debt[i] > 0]
    employed = [pop.is_employed[i] for i in range(pop.n) if pop.collection_debt[i] > 0]
    assert len(ratios) > 0
    months, share = cod.debt_owed(model)
    assert months == pytest.approx(float(np.median(ratios)), rel=1e-12)
    assert share == pytest.approx(100 * np.mean(employed), rel=1e-12)


# scripts/lender_split.py: how many lenders multi-lenders have, paired arms

import lender_split as ls  # noqa: E402

_SMALL = ["--set", "borrowers.n=600", "--set", "simulation.burn_in=12", "--set",
          "simulation.steps=24"]


def test_lender_split_measures_what_lendsim_calibrate_measures(capsys):
    """The base arm's figures are `lendsim calibrate`'s for the same seed and window, and the
    paired difference printed is the mean of the seeds' differences."""
    import argparse

    from lendsim.cli.calibrate import _figures_of_runs

    ls.main(["--seeds", "1-2", "--window", "12", *_SMALL])
    out = capsys.readouterr().out.strip().splitlines()
    assert out[0] == "arm: platforms.limit_risk_elasticity=1.0"
    rows = [line.split() for line in out[2:6]]
    assert [(r[0], r[1]) for r in rows] == [(s, arm) for s in ("1", "2")
                                            for arm in ("base", "arm")]
    figs = _figures_of_runs(argparse.Namespace(
        seeds="1", sets=_SMALL[1::2], source=None, allow_outside_paths=False,
        window=12))[0][0]
    for j, k in enumerate(ls.FIGURES):
        if k in figs:
            assert float(rows[0][2 + j]) == pytest.approx(100 * figs[k], abs=6e-3), k
    two = [float(r[2 + list(ls.FIGURES).index("multi_lenders_2")]) for r in rows]
    line = next(x for x in out if x.strip().startswith("multi_lenders_2 "))
    assert float(line.split()[1]) == pytest.approx(((two[1] - two[0]) + (two[3] - two[2])) / 2,
                                                   abs=6e-3)
    assert two[0] != two[1]  # the arm changed something


def test_lender_split_counts_lenders_both_ways_from_the_snapshots():
    """The split by lending apps (the targets') and by every lender (the ``all`` columns), and
    ``apps several``, against counts over the run's borrower snapshots in the window: of the
    rows owing one lender or more, those owing two or more, and among them those owing 2, 3
    and 5 or more."""
    from lendsim.api import resolve_scenario
    from lendsim.cli.calibrate import seed_run
    from lendsim.simulation.scenario import parse_overrides

    sets = parse_overrides(_SMALL[1::2])
    got = ls.measure(None, 1, 12, sets)
    res = seed_run(resolve_scenario(None, sets), 1, 12)
    snap = res.extra["borrowers"]
    window = snap[snap["step"] > int(res.model["step"].max()) - 12]
    for column, keys in (("n_app_lenders", ("multi_lenders_2", "multi_lenders_3",
                                            "multi_lenders_5plus")),
                         ("n_lenders", ("all_2", "all_3", "all_5plus"))):
        k = window[column].tolist()
        owing = [x for x in k if x >= 1]
        multi = [x for x in owing if x >= 2]
        assert len(multi) > 20
        if column == "n_app_lenders":
            assert got["apps_several"] == pytest.approx(100 * len(multi) / len(owing))
        for key, hit in zip(keys, (lambda x: x == 2, lambda x: x == 3, lambda x: x >= 5)):
            assert got[key] == pytest.approx(100 * sum(map(hit, multi)) / len(multi)), key
    # the embedded platform is one of every lender: the two counts give other splits
    assert got["multi_lenders_2"] != got["all_2"]


@pytest.mark.parametrize("argv, needle", [
    (["--seeds", "x"], "--seeds = 'x'"),
    (["--arm", "platforms.limit_risk_elasticity=-1"], "platforms.limit_risk_elasticity"),
    (["--arm", "platforms.limit_reference_pd=0"], "platforms.limit_reference_pd"),
    (["--window", "0"], "--window = 0"),
    (["--set", "borrowers.foo=1"], "borrowers.foo"),
])
def test_lender_split_rejects_bad_input_in_one_line(argv, needle, capsys):
    _refused_in_one_line(ls.main, argv, needle, capsys)


# scripts/debt_service.py: what borrowers owe each month against their income

import debt_service as ds  # noqa: E402


def test_scheduled_payments_are_next_months_bills(monkeypatch):
    """Each borrower's scheduled payment is what the next month's billing asks of its loans
    (less arrears, which the figure leaves out): checked on the model's own bills, and
    against a loop over the loans with ``kernels.amount_due``."""
    from lendsim import kernels
    from lendsim.simulation.phases import repayment

    m = MarketModel(load_scenario("baseline", {"borrowers.n": 800, "simulation.burn_in": 12,
                                               "simulation.steps": 8}), seed=4)
    m.run(6)
    L = m.loans
    due, due_long = ds.scheduled_payments(m)
    want, want_long = np.zeros(m.n_borrowers), np.zeros(m.n_borrowers)
    for i in range(L.n):
        if L.status[i] in (LoanStatus.CURRENT, LoanStatus.DELINQUENT) and L.balance[i] > 0:
            d = kernels.amount_due(L.balance[i] * (1 + L.apr[i] / 12), L.instalment[i], 0.0,
                                   L.months_left[i])
            want[L.borrower_idx[i]] += d
            if L.term[i] > 1:
                want_long[L.borrower_idx[i]] += d
    np.testing.assert_allclose(due, want, rtol=1e-12)
    np.testing.assert_allclose(due_long, want_long, rtol=1e-12)
    assert 0 < due_long.sum() < due.sum()
    # the next month's bills, on loans without arrears, by borrower
    before = {"borrower": L.borrower_idx.copy(), "arrears": L.arrears.copy(), "n": L.n}
    seen = {}
    real = kernels.bill_loans

    def bill(*args):  # the billed rows and what they owe, as billing leaves the book
        real(*args)
        rows = np.flatnonzero(args[13] & kernels.BILLED)  # the state, written in place
        balance, instalment, arrears, months_left = args[4], args[6], args[7], args[8]
        seen.setdefault("bills", (rows, kernels.due_on(rows, balance, instalment, arrears,
                                                       months_left)))

    monkeypatch.setattr(repayment.kernels, "bill_loans", bill)
    m.run(1)
    rows, amount = seen["bills"]
    assert rows.max() < before["n"]  # loans booked this month are not billed yet
    clean = before["arrears"][rows] == 0
    billed = np.bincount(before["borrower"][rows[clean]], weights=amount[clean],
                         minlength=m.n_borrowers)
    owes_arrears = np.bincount(before["borrower"][rows[~clean]], minlength=m.n_borrowers) > 0
    np.testing.assert_allclose(billed[~owes_arrears], due[~owes_arrears], rtol=1e-9)
    m.close()


def test_month_figures_against_loops(model):
    L, pop = model.loans, model.population
    due = ds.scheduled_payments(model)
    lenders = [set() for _ in range(model.n_borrowers)]
    indebted = np.zeros(model.n_borrowers, dtype=bool)
    for i in range(L.n):
        if L.status[i] <= LoanStatus.DEFAULTED and L.balance[i] > 0:
            indebted[L.borrower_idx[i]] = True
            if L.term[i] > 1:
                lenders[L.borrower_idx[i]].add(int(L.platform_idx[i]))
    f = ds.month_figures(model)
    assert f["due"] == pytest.approx(100 * np.mean(due[0] / pop.base_income), rel=1e-12)
    assert f["due_instalments"] == pytest.approx(100 * np.mean(due[1] / pop.base_income),
                                                 rel=1e-12)
    assert f["no_debt"] == pytest.approx(100 * np.mean(~indebted), rel=1e-12)
    two = np.mean([len(s) >= 2 for s in lenders])
    assert 0 < two < 1
    assert f["two_cash_lenders"] == pytest.approx(100 * two, rel=1e-12)


@pytest.mark.parametrize("argv, needle", [
    (["--seeds", "1-x"], "--seeds = '1-x'"),
    (["--window", "0"], "--window = 0"),
    (["--set", "borrowers.n=5"], "borrowers.n"),
])
def test_debt_service_rejects_bad_input_in_one_line(argv, needle, capsys):
    _refused_in_one_line(ds.main, argv, needle, capsys)


def test_debt_service_prints_each_seed_and_their_mean(capsys):
    ds.main(["--seeds", "1-2", "--window", "2", "--set", "borrowers.n=400", "--set",
             "simulation.burn_in=6", "--set", "simulation.steps=6"])
    out = capsys.readouterr().out.strip().splitlines()
    rows = [[float(x) for x in line.split()[1:]] for line in out[1:3]]
    mean = [float(x) for x in out[3].split()[1:]]
    np.testing.assert_allclose(mean, np.mean(rows, axis=0), atol=6e-3)


# -- scripts/window_defaults.py: defaults a training window holds against the fair count -----
import window_defaults as wd  # noqa: E402


def test_window_defaults_held_and_fair_against_the_rows_month_by_month():
    """Months of matured instalment loans, repaid first and defaulted last, each tagged with
    its month in a feature column: the defaults the ring holds and the fair count (each
    month's weight held times that month's own rate), from the rows ``rows()`` gives back,
    month by month, against :func:`held_and_fair` on the written batches."""
    from lendsim.agents.platforms import TrainingWindow
    from lendsim.simulation.features import N_FEATURES

    win = TrainingWindow(200)  # rings of 100
    rng = np.random.default_rng(5)
    batches, rates = [], {}
    for month, (n, weight) in enumerate(((70, 1.0), (45, 2.0), (80, 1.0), (30, 3.0))):
        X = np.zeros((n, N_FEATURES), dtype=np.float32)
        X[:, TrainingWindow.TERM] = np.log(6 / 6)  # instalment loans
        X[:, 1] = month  # the tag
        d = int(rng.integers(3, 12))
        y = np.r_[np.zeros(n - d), np.ones(d)].astype(np.int8)
        start = int(win.n_seen[wd.LOANS])
        win.add(X, y, weight=weight)
        batches.append(wd.batch_written(win, wd.LOANS, start))
        rates[month] = d / n
        assert batches[-1][2] == pytest.approx(rates[month])
        Xr, yr, w = win.rows()
        tag = Xr[:, 1]
        held = float(np.dot(w, yr))
        fair = sum(float(w[tag == m].sum()) * rates[m] for m in rates)
        got = wd.held_and_fair(win, wd.LOANS, batches)
        assert got[0] == pytest.approx(held) and got[1] == pytest.approx(fair)
        assert got[2] == pytest.approx(w.sum()) and got[3] == pytest.approx(w[tag == month].sum())
    assert len(set(tag.tolist())) > 1  # the ring held parts of several months
    # a month that wrote nothing is the newest: the newest month holds nothing
    batches.append(wd.batch_written(win, wd.LOANS, int(win.n_seen[wd.LOANS])))
    assert wd.held_and_fair(win, wd.LOANS, batches)[3] == 0.0


def test_window_defaults_measures_a_run():
    got = wd.measure("baseline", 1, 12, {"borrowers.n": 1500, "simulation.burn_in": 24,
                                          "simulation.steps": 24})
    assert "embedded" in got
    for held, fair, weight, newest in got.values():
        assert held >= 0 and fair > 0 and 0 < newest <= weight


@pytest.mark.parametrize("argv, needle", [
    (["--window", "0"], "--window = 0"),
    (["--seeds", "x"], "--seeds = 'x'"),
    (["--set", "platforms.training_window=5"], "platforms.training_window"),
])
def test_window_defaults_rejects_bad_input_in_one_line(argv, needle, capsys):
    _refused_in_one_line(wd.main, argv, needle, capsys)


# ------------------------------------------------------------------- platform_pnl.py
import platform_pnl as pnl  # noqa: E402

SMALL = ["--set", "borrowers.n=800", "--set", "simulation.burn_in=12",
         "--set", "simulation.steps=24", "--first", "13", "--last", "24"]


def test_platform_pnl_prints_each_types_return_and_statement(capsys):
    """The script's per-seed return on equity is the pooled one of the run's platforms table,
    computed here from the table's equity and distributions, not from its statement lines."""
    pnl.main(["--seeds", "2-2", *SMALL])
    out = capsys.readouterr().out
    import lendsim
    res = lendsim.run(seed=2, overrides={"borrowers.n": 800, "simulation.burn_in": 12,
                                         "simulation.steps": 24})
    t = res.platforms.sort_values(["platform_id", "step"])
    prev = t.groupby("platform_id").equity.shift(1)
    gain = t.equity - prev + t.dividends - t.equity_raised  # profit, by the identity
    w = t[(t.step >= 13) & t.is_active & (prev > 0)]
    seed_row = next(line for line in out.splitlines() if line.split()[:1] == ["2"])
    for k, g in w.groupby("platform_type"):
        roe = 100 * 12 * gain[g.index].sum() / prev[g.index].sum()
        col = sorted(w.platform_type.unique()).index(k)
        assert float(seed_row.split()[1 + col]) == pytest.approx(roe, abs=0.051)
    for line in ("fee_income", "fixed_cost", "profit", "roe median", "book share",
                 "live in month 24"):
        assert line in out
    # the types' shares of the live book add up to all of it; live counts are the table's
    share = next(ln for ln in out.splitlines() if ln.startswith("book share")).split()[2:]
    assert sum(map(float, share)) == pytest.approx(100.0, abs=0.02 * len(share))
    live = next(ln for ln in out.splitlines() if ln.startswith("live in month 24")).split()[4:]
    end = t[(t.step == 24) & t.is_active].groupby("platform_type").size()
    assert [float(x) for x in live] == [float(end.get(k, 0)) for k in sorted(end.index)]
    # equity need: own loans over the type's target leverage, by hand from the parameters
    # (no regulator limit binds by default: micro-lender 2, consumer-finance 5, embedded 1)
    need = next(ln for ln in out.splitlines() if ln.startswith("need")).split()[1:]
    lev = {"embedded": 1.0, "micro_lender": 2.0, "consumer_finance": 5.0}
    w = t[(t.step >= 13) & t.is_active]
    by_hand = (w.loans_held / w.platform_type.map(lev)).groupby(w.platform_type).mean() / 800
    assert [float(x) for x in need] == pytest.approx(list(by_hand.sort_index()), abs=0.006)
    start = next(ln for ln in out.splitlines() if ln.startswith("at start")).split()[2:]
    assert [float(x) for x in start] == [
        {"embedded": 400.0, "micro_lender": 3.5, "consumer_finance": 80.0}[k]
        for k in sorted(by_hand.index)]


@pytest.mark.parametrize("argv, needle", [
    (["--first", "0"], "--first = 0"),
    (["--first", "30", "--last", "20"], "--first = 30"),
    (["--seeds", "x"], "--seeds = 'x'"),
    (["--set", "platforms.fixed_cost_share=-1"], "platforms.fixed_cost_share"),
])
def test_platform_pnl_rejects_bad_input_in_one_line(argv, needle, capsys):
    _refused_in_one_line(pnl.main, argv, needle, capsys)
