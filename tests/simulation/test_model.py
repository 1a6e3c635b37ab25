"""MarketModel end to end: invariants, reproducibility, mechanisms, failure paths."""

import gc
import weakref

import mesa
import numpy as np
import pandas as pd
import pytest
from conftest import tiny
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lendsim
from lendsim import InvariantError, MarketModel
from lendsim.agents import Bank, Borrower, Platform, Regulator
from lendsim.simulation.ledger import LoanStatus
from lendsim.simulation.model import MODEL_COLUMNS


def test_model_table_has_required_columns_in_order():
    res = lendsim.run(tiny(), steps=3)
    assert tuple(res.model.columns[: len(MODEL_COLUMNS)]) == MODEL_COLUMNS
    assert list(res.model["step"]) == [1, 2, 3]
    for col in ("platform_id", "platform_type", "equity", "loans_held", "auc", "ks"):
        assert col in res.platforms.columns
    for col in ("bank_id", "equity", "capital_ratio", "joint_loans", "is_failed"):
        assert col in res.banks.columns
    assert list(res.events.columns) == ["step", "kind", "agent_type", "agent_id", "size",
                                        "detail"]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(50, 400), n_plat=st.integers(1, 6), n_bank=st.integers(1, 6),
       cap=st.floats(0.08, 1.0), share=st.floats(0.0, 1.0), sharing=st.floats(0.0, 1.0),
       kind=st.sampled_from(["watts_strogatz", "erdos_renyi", "barabasi_albert", "none"]),
       shock=st.integers(0, 6), seed=st.integers(0, 2**31 - 1),
       mode=st.sampled_from(["fixed", "indexed"]), max_lenders=st.integers(0, 3))
def test_balance_sheets_add_up_in_random_scenarios(n, n_plat, n_bank, cap, share, sharing, kind,
                                                    shock, seed, mode, max_lenders):
    scen = tiny(**{"borrowers.n": n, "platforms.n": n_plat, "banks.n": n_bank,
                   "regulator.apr_cap": cap, "regulator.apr_cap_mode": mode,
                   "regulator.joint_lending_min_share": share,
                   "regulator.data_sharing": sharing, "regulator.max_lenders": max_lenders,
                   "network.social.kind": kind, "network.social.mean_degree": 4,
                   "macro.shock_start": shock, "simulation.seed": seed})
    model = MarketModel(scen)  # check_invariants is on: every step asserts the identities
    model.run(10)
    t = model.tables()
    assert np.isfinite(t["platforms"][["equity", "cash", "debt", "loans_held"]]).all().all()
    assert np.isfinite(t["banks"][["equity", "cash", "deposits", "joint_loans"]]).all().all()
    owed = model.borrower_debt().sum()
    held = sum(p.loans_held for p in model.platforms) + sum(b.joint_loans for b in model.banks)
    assert owed == pytest.approx(held, rel=1e-9, abs=1e-6)
    model.close()


def test_invariant_check_catches_a_broken_ledger():
    model = MarketModel(tiny())
    model.run(3)
    model.platforms[0].loans_held += 1.0  # a holding that no loan backs
    with pytest.raises(InvariantError, match="hold"):
        model.check_invariants()


def test_invariant_check_catches_an_unbalanced_balance_sheet():
    model = MarketModel(tiny())
    model.run(3)
    model.banks[0].cash += 5.0  # cash from nowhere: assets no longer = liabilities + equity
    with pytest.raises(InvariantError, match="bank 0"):
        model.check_invariants()



def test_invariant_check_catches_a_loan_changed_after_the_closing_tallies():
    """The phases after compaction share one tally of the book (month.ClosingBook); the
    check recomputes it, so a phase that changed a loan after it was taken is caught."""
    model = MarketModel(tiny())
    model.run(6)
    model.check_invariants()  # the tallies agree with the book as the month left it
    L = model.loans
    row = np.flatnonzero(L.is_open() & (L.n_missed == 0))[0]
    L.n_missed[row] = 3  # now 90+ days behind, but the month's tallies say current
    with pytest.raises(InvariantError, match="closing tallies"):
        model.check_invariants()

def test_same_seed_same_tables_and_other_seed_differs():
    a = lendsim.run(tiny(), steps=8, seed=11)
    b = lendsim.run(tiny(), steps=8, seed=11)
    c = lendsim.run(tiny(), steps=8, seed=12)
    for name in ("model", "platforms", "banks", "events"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
    assert not a.model["credit_outstanding"].equals(c.model["credit_outstanding"])


def test_no_global_random_state_is_used():
    np.random.seed(0)
    before = np.random.get_state()[1].copy()
    lendsim.run(tiny(), steps=3)
    assert np.array_equal(np.random.get_state()[1], before)


def test_mesa_agents_and_borrower_views():
    model = MarketModel(tiny())
    assert model.steps == 0
    model.run(4)
    assert model.steps == 4
    borrowers = model.agents_by_type[Borrower]
    assert len(borrowers) == 400
    assert len(model.agents_by_type[Platform]) == 5
    assert len(model.agents_by_type[Bank]) == 5
    assert len(model.agents_by_type[Regulator]) == 1
    b = model.borrower(7)
    assert b.cash == model.population.cash[7]
    b.cash = 1234.5  # writes the population array
    assert model.population.cash[7] == 1234.5
    debt = model.borrower_debt()
    indebted = borrowers.select(lambda a: a.debt > 0)
    assert len(indebted) == int((debt > 0).sum())
    assert borrowers.agg("cash", np.sum) == pytest.approx(model.population.cash.sum())
    assert b.loans["balance"].sum() == pytest.approx(debt[7])


def test_above_threshold_borrowers_are_made_on_demand():
    model = MarketModel(tiny(**{"simulation.agent_threshold": 100}))
    assert Borrower not in model.agents_by_type or len(model.agents_by_type[Borrower]) == 0
    b = model.borrower(399)
    assert b.idx == 399 and b.income == model.population.income[399]
    with pytest.raises(IndexError):
        model.borrower(400)


def test_close_releases_the_model():
    model = MarketModel(tiny())
    model.run(2)
    ref = weakref.ref(model)
    model.close()
    del model
    gc.collect()
    assert ref() is None
    ids = getattr(mesa.Agent, "_ids", {})
    assert all(m is not None for m in ids)  # no dead model keys pinned


def test_indexed_cap_is_a_multiple_of_the_benchmark():
    res = lendsim.run(tiny(**{"regulator.apr_cap_mode": "indexed",
                              "regulator.apr_cap_multiple": 4.0,
                              "macro.benchmark_rate": 0.0385}), steps=3)
    assert np.allclose(res.model["apr_cap"], 0.154)
    assert (res.model["avg_apr"].dropna() <= 0.154 + 1e-12).all()


def test_loans_move_through_delinquency_default_and_charge_off():
    scen = tiny(**{"borrowers.n": 1500, "macro.unemployment_rate": 0.3,
                   "borrowers.strategic_base": -3.0})
    model = MarketModel(scen)
    seen = set()
    for _ in range(14):
        model.step()
        seen |= set(np.unique(model.loans.status).tolist())
    t = model.tables()["model"]
    assert {LoanStatus.CURRENT, LoanStatus.DELINQUENT, LoanStatus.DEFAULTED} <= seen
    assert t["charge_offs"].sum() > 0 and t["delinquency_90"].max() > 0
    assert (t["delinquency_90"] <= t["delinquency_30"] + 1e-12).all()
    model.close()


def test_income_shock_raises_delinquency_on_the_same_seeds():
    """Stylized fact 4: delinquency rises within months of an income shock (in a market that
    has had time to borrow: a burn-in of two years)."""
    base = {"borrowers.n": 3000, "simulation.check_invariants": False, "simulation.burn_in": 24,
            "macro.shock_income_loss": 0.5, "macro.shock_unemployment": 0.15,
            "macro.shock_months": 4}
    diffs = []
    for seed in (1, 2, 3):
        calm = lendsim.run(tiny(**base), steps=20, seed=seed).model
        hit = lendsim.run(tiny(**base, **{"macro.shock_start": 12}), steps=20, seed=seed).model
        window = slice(11, 16)  # steps 12-16: the four shock months and the one after
        diffs.append(hit["delinquency_30"].iloc[window].mean()
                     - calm["delinquency_30"].iloc[window].mean())
    assert min(diffs) > 0


def test_platforms_report_scoring_discrimination():
    res = lendsim.run(tiny(**{"borrowers.n": 5000, "simulation.check_invariants": False,
                              "platforms.min_training": 100}), steps=30)
    auc = res.platforms["auc"].dropna()
    assert len(auc) > 0 and ((auc >= 0) & (auc <= 1)).all()
    assert auc.mean() > 0.5  # better than chance on their own books


def test_borrower_snapshots_every_k_steps():
    res = lendsim.run(tiny(**{"output.borrower_snapshot_every": 2}), steps=5)
    snap = res.extra["borrowers"]
    assert sorted(snap["step"].unique()) == [2, 4]
    assert len(snap) == 2 * 400


def test_snapshots_count_lenders_and_the_lending_apps_among_them():
    """``n_lenders`` and ``n_app_lenders`` of a snapshot, against a loop over the loan book at
    the end of the same month: the platforms a borrower owes on open loans, all of them and
    those that are not embedded platforms."""
    model = MarketModel(tiny(**{"borrowers.n": 800, "output.borrower_snapshot_every": 9}))
    for _ in range(9):
        model.step()
    snap = model.records["borrowers"][-1]
    L = model.loans
    kind = {pl.idx: pl.kind for pl in model.platforms}
    owes = [set() for _ in range(model.n_borrowers)]
    for i in range(L.n):
        if L.status[i] <= LoanStatus.DEFAULTED and L.balance[i] > 0:
            owes[int(L.borrower_idx[i])].add(int(L.platform_idx[i]))
    assert snap["n_lenders"].tolist() == [len(o) for o in owes]
    apps = [sum(kind[p] != "embedded" for p in o) for o in owes]
    assert snap["n_app_lenders"].tolist() == apps
    # the embedded platform lends to many of them: the two counts differ for them
    assert sum(a < len(o) for a, o in zip(apps, owes)) > 100
    assert max(apps) >= 2


def test_charge_off_after_the_set_number_of_missed_instalments(monkeypatch):
    """Follow loans: a loan defaults at its 3rd missed instalment and is charged off at its 6th
    (platforms.default_after_missed, platforms.chargeoff_after_missed)."""
    from lendsim.simulation.phases import platforms_adapt

    # keep closed loans in the book, so that the month's charge-offs are there to see (the
    # book is compacted every month otherwise; compaction changes no number)
    monkeypatch.setattr(platforms_adapt, "COMPACT_CLOSED_SHARE", 1.0)
    model = MarketModel(tiny(**{"borrowers.n": 1500, "macro.unemployment_rate": 0.3,
                                "borrowers.strategic_base": -3.0,
                                "simulation.check_invariants": False}))
    first_default, charged = {}, {}
    for _ in range(16):
        model.step()
        L = model.loans
        key = list(zip(L.borrower_idx.tolist(), L.origination_step.tolist(),
                       L.platform_idx.tolist(), L.is_refinance.tolist()))  # unique per loan
        for k, status, nm in zip(key, L.status.tolist(), L.n_missed.tolist()):
            if status == LoanStatus.DEFAULTED and k not in first_default:
                first_default[k] = (model.steps, nm)
            if status == LoanStatus.CHARGED_OFF and k not in charged:
                charged[k] = model.steps
    assert first_default and charged
    assert all(nm == 3 for _, nm in first_default.values())
    gaps = [charged[k] - first_default[k][0] for k in charged if k in first_default]
    assert gaps and all(g == 3 for g in gaps)  # 3 more missed months: the 6th is the last


def test_a_cascade_after_an_earlier_bank_failure_runs_among_the_banks_standing():
    """Issue 22, defect 1: a cascade in a month after an earlier bank failure passed the
    failed bank's capital as infinity, which the cascade refused: any run in which banks fail
    in two different months died."""
    from lendsim.simulation.month import Month
    from lendsim.simulation.phases import failures

    model = MarketModel(tiny(**{"banks.n": 4, "network.interbank.kind": "none"}))
    model.run(2)
    model.banks[0].fail(1)  # failed in an earlier month
    model.month = Month(model.n_borrowers, len(model.platforms))
    model.month.bank_joint_losses = np.zeros(4)
    E = np.zeros((4, 4))
    E[2, 1], E[3, 0] = 30.0, 50.0  # bank 2 is owed 30 by bank 1 (claims on 0 were settled)
    model.interbank = E
    for bk in model.banks:  # keep each balance sheet whole
        bk.interbank_assets, bk.interbank_liabilities = E[bk.idx].sum(), E[:, bk.idx].sum()
        bk.deposits = (bk.cash + bk.joint_loans + bk.other_loans + bk.interbank_assets
                       - bk.allowance - bk.interbank_liabilities - bk.equity)
    for j, eq in ((1, -1.0), (2, 20.0)):  # bank 1 fails now; bank 2 loses 30 > 20
        b = model.banks[j]
        b.other_loans += eq - b.equity
        b.equity = eq
        b.deposits = (b.cash + b.joint_loans + b.other_loans + b.interbank_assets
                      - b.allowance - b.interbank_liabilities - b.equity)
    failures.bank_failures(model)
    assert [bk.is_failed for bk in model.banks] == [True, True, True, False]
    assert [f[2] for f in model.month.failures] == ["credit", "interbank"]
    assert model.banks[0].failed_step == 1  # the earlier failure is left as it was
    model.check_invariants()


def test_platform_prices_by_segment_add_up_to_the_platform_and_market_figures():
    """Each platform's originations by risk segment add up to its originations, its price
    tiers average (weighted by those originations) to its APR, and summed over platforms each
    segment's originations equal the model table's (counted by segment, not by platform)."""
    res = lendsim.run(tiny(**{"simulation.steps": 8}))
    p, m = res.platforms, res.model
    segs = ("prime", "near_prime", "subprime")
    orig = sum(p[f"originations_{s}"] for s in segs)
    assert np.allclose(orig, p["originations"])
    lent = p["originations"] > 0
    apr = sum(p[f"avg_apr_{s}"].fillna(0) * p[f"originations_{s}"] for s in segs)
    assert np.allclose(apr[lent] / p.loc[lent, "originations"], p.loc[lent, "avg_apr"])
    for s in segs:
        by_step = p.groupby("step")[f"originations_{s}"].sum()
        assert np.allclose(by_step.to_numpy(), m.set_index("step")[f"originations_{s}"]
                           .loc[by_step.index].to_numpy())
        assert p.loc[p[f"originations_{s}"] == 0, f"avg_apr_{s}"].isna().all()
    assert (p["originations_subprime"] > 0).any() and (p["originations_prime"] > 0).any()


def test_loans_frame_gives_the_books_loans_with_wide_integers():
    """The book keeps its counts in one or two bytes; the frame a user gets holds the same
    values as int64, so arithmetic on them (a term in days) does not wrap around."""
    model = MarketModel(tiny())
    model.run(4)
    df, L = model.loans_frame(), model.loans
    open_ = L.is_open()
    assert len(df) == open_.sum() > 0
    for c in ("term", "months_left", "n_missed", "origination_step", "borrower_idx"):
        assert df[c].dtype == np.int64, c
        assert df[c].tolist() == getattr(L, c)[open_].tolist(), c
    assert (df["term"] * 30).tolist() == [int(t) * 30 for t in L.term[open_]]
    assert df["balance"].tolist() == L.balance[open_].tolist()
