"""Early warning from behaviour (issue 23, item 4; docs/ODD.md 7.21): the borrower signal and
the platform score by hand, the dynamic threshold against a per-platform loop over the run's
own scores, the reviews a warning brings forward, the regulator's indicators, bad input."""

from __future__ import annotations

import math
import statistics
from collections import deque

import numpy as np
import pytest
from conftest import tiny

from lendsim import MarketModel, kernels
from lendsim.agents.regulators import EW_INDICATORS, _platform_indicator
from lendsim.agents.rules import early_warning as rules
from lendsim.cli import main
from lendsim.errors import ScenarioError
from lendsim.simulation import early_warning
from lendsim.simulation.ledger import LoanStatus
from lendsim.simulation.policy import SYSTEM_INDICATORS, with_policy
from lendsim.simulation.scenario import load_scenario


# ------------------------------------------------------------------ the rules, by hand
def push_miss(bits, missed):
    """The compiled per-loan rule, loan by loan."""
    return np.array([kernels.push_miss(b, m) for b, m in zip(bits, missed)], dtype=np.uint8)


def test_repayment_history_bits_by_hand():
    bits = np.zeros(2, dtype=np.uint8)
    # loan 0 misses in months 1 and 3, loan 1 in month 2; month 4 is paid by both
    for missed in ([True, False], [False, True], [True, False], [False, False]):
        bits = push_miss(bits, missed)
    assert bits.tolist() == [0b1010, 0b0100]
    none = np.zeros(2)
    assert rules.late_loans(bits, none, 3).tolist() == [True, True]  # months 2-4
    assert rules.late_loans(bits, none, 2).tolist() == [True, False]  # months 3-4
    assert rules.late_loans(bits, none, 1).tolist() == [False, False]
    assert rules.late_loans(bits, np.array([0, 2]), 1).tolist() == [False, True]  # behind
    for _ in range(8):  # a miss leaves the 8-month history after 8 more bills
        bits = push_miss(bits, [False, False])
    assert bits.tolist() == [0, 0]


def test_borrower_signal_and_platform_score_by_hand():
    # five borrowers, two platforms; platform 1 sees spending, platform 0 does not
    #   loan: borrower platform balance misses behind
    loans = [(0, 0, 100.0, 1, 0),   # missed last month at 0: flags its other loan at 0 too
             (0, 0, 300.0, 0, 0),
             (0, 1, 200.0, 0, 0),   # ... not its loan at 1 (1 does not see 0's accounts)
             (1, 0, 400.0, 0, 2),   # two payments behind now
             (2, 0, 500.0, 0, 0),   # spending jumped, but platform 0 does not see it
             (2, 1, 250.0, 0, 0),   # platform 1 sees it
             (3, 1, 250.0, 0, 0),   # spending up 0.4 only: below the 0.5 jump
             (4, 1, 500.0, 0, 0)]   # no spending history yet: no signal
    b, p, bal, misses, behind = (np.array(c) for c in zip(*loans))
    ratio = np.array([0.5, 0.5, 0.9, 0.7, 0.9])
    history = np.array([[0.5, 0.5, 0.5], [0.5, 0.5, 0.5], [0.4, 0.6, 0.5],
                        [0.5, 0.5, np.nan], [np.nan] * 3])
    jump = rules.spending_jump(ratio, history)
    assert jump[:4] == pytest.approx([0.0, 0.0, 0.8, 0.4])
    assert math.isnan(jump[4])
    late = rules.late_loans(np.where(misses > 0, 1, 0).astype(np.uint8), behind, 3)
    is_open = np.ones(len(b), dtype=bool)
    flag = rules.flagged_loans(b, p, late, is_open, jump, np.array([False, True]), 0.5)
    assert flag.tolist() == [0, 1, 3, 5]
    book = np.bincount(p, weights=bal, minlength=3)
    score = rules.platform_score(p[flag], bal[flag], book)
    # platform 0: (100 + 300 + 400) / (100 + 300 + 400 + 500); platform 1: 250 / 1200
    assert score[0] == pytest.approx(800 / 1300)
    assert score[1] == pytest.approx(250 / 1200)
    assert math.isnan(score[2])  # no book
    # a closed loan neither signals nor is flagged: with loan 0 repaid, loan 1 loses its
    # signal; with loan 5 closed, only it drops out
    is_open[0] = False
    assert rules.flagged_loans(b, p, late, is_open, jump, np.array([False, True]),
                               0.5).tolist() == [3, 5]
    is_open[0], is_open[5] = True, False
    assert rules.flagged_loans(b, p, late, is_open, jump, np.array([False, True]),
                               0.5).tolist() == [0, 1, 3]


def test_dynamic_threshold_and_warning_by_hand():
    hist = np.array([[0.10, 0.12, 0.14, np.nan],  # mean 0.12, sd 0.02
                     [0.20, 0.20, 0.20, 0.20],    # flat: no scale, no threshold
                     [0.10, 0.30, np.nan, np.nan]])  # two months only
    thr = rules.dynamic_threshold(hist, 2.0)
    assert thr[0] == pytest.approx(0.16)
    assert np.isnan(thr[1:]).all()
    assert rules.on_warning(np.array([0.17, 0.9, 0.9]), thr).tolist() == [True, False, False]
    assert not rules.on_warning(np.array([0.16]), thr[:1])[0]  # at the limit: not above


# ------------------------------------------------------------------ in the model
def test_dynamic_threshold_matches_a_per_platform_loop_over_the_run():
    """Every platform's threshold each month is mean + ew_z sd of its own last ew_window
    recorded scores (a deque per platform, statistics.stdev), and on_warning only when the
    score is above it."""
    scen = tiny(**{"platforms.ew_window": 5, "platforms.ew_z": 1.0, "platforms.min_book": 0,
                   "borrowers.n": 600})
    res = MarketModel(scen).run(24).tables()["platforms"]
    hist: dict[int, deque] = {}
    n_thr = n_warn = 0
    for row in res.sort_values(["step", "platform_id"]).itertuples():
        h = hist.setdefault(row.platform_id, deque(maxlen=5))
        past = [x for x in h if math.isfinite(x)]
        want = np.nan
        if len(past) >= 3 and statistics.stdev(past) > 1e-12:
            want = statistics.mean(past) + 1.0 * statistics.stdev(past)
        if math.isnan(want):
            assert math.isnan(row.early_warning_threshold)
            assert not row.on_warning
        else:
            n_thr += 1
            assert row.early_warning_threshold == pytest.approx(want, rel=1e-9)
            assert row.on_warning == (row.early_warning > want)
            n_warn += row.on_warning
        h.append(row.early_warning)
    assert n_thr > 50 and 0 < n_warn < n_thr  # the test saw both outcomes


def _flagged_by_loop(model) -> set[tuple[int, int]]:
    """(borrower, platform) pairs with a warning signal, one loan at a time."""
    L, months = model.loans, model.params.platforms.ew_months
    out = set()
    for i in range(L.n):
        if L.status[i] > LoanStatus.DEFAULTED:
            continue
        recent = [(int(L.miss_bits[i]) >> k) & 1 for k in range(months)]
        if sum(recent) or L.n_missed[i] > 0:
            out.add((int(L.borrower_idx[i]), int(L.platform_idx[i])))
    return out


def _market_with_lines(**over):
    """A small market after six months, with credit lines open at two platforms."""
    scen = tiny(**{"borrowers.n": 1500, "platforms.min_book": 0, **over})
    model = MarketModel(scen)
    model.run(6)
    CL = model.credit_lines
    held = np.bincount(CL.platform[CL.platform >= 0], minlength=len(model.platforms))
    return model, np.argsort(held)[::-1][:2]


def _plant_signals(model, plats, rng):
    """Give half the line holders at ``plats`` who have an open loan there a missed payment
    last month on it, so some flagged borrowers hold lines (a miss also closes a line in the
    model, so the market seldom has them by itself)."""
    L, CL = model.loans, model.credit_lines
    for p in plats:
        rows = np.flatnonzero(L.is_open() & (L.platform_idx == p)
                              & (CL.platform[L.borrower_idx] == p))
        assert len(rows) >= 4
        pick = rows[rng.random(len(rows)) < 0.5]
        L.miss_bits[pick] |= 0b10
    CL.until[CL.platform >= 0] = model.t + 6  # none due yet


@pytest.mark.parametrize("reviews", [True, False])
def test_a_platform_on_warning_reviews_exactly_its_flagged_borrowers_lines(reviews):
    model, (hot, calm) = _market_with_lines(**{"platforms.ew_reviews": reviews})
    _plant_signals(model, (hot, calm), np.random.default_rng(0))
    ew = model.early_warning
    ew.history[:] = np.nan
    ew.history[hot, :4] = [0.0, 0.001, 0.002, 0.001]  # any signal puts it on warning
    ew.history[calm, :4] = [0.97, 0.98, 0.99, 0.98]  # it would need more than all its book
    CL = model.credit_lines
    before = CL.until.copy()
    flagged = _flagged_by_loop(model)
    early_warning.step(model)
    assert ew.on_warning[hot] and not ew.on_warning[calm]
    moved = set(np.flatnonzero(CL.until != before).tolist())
    want = {b for b, p in flagged if p == hot and CL.platform[b] == hot} if reviews else set()
    assert moved == want
    if reviews:
        assert len(want) >= 2
        assert (CL.until[list(want)] == model.t + 1).all()  # due at the next draw
        assert ew.reviews[hot] == len(want) and ew.reviews.sum() == len(want)
    # the calm platform's flagged line holders were there to be moved, and were not
    assert any(p == calm and CL.platform[b] == calm for b, p in flagged)


def test_a_brought_forward_line_is_underwritten_again_at_its_next_draw():
    model, (hot, _) = _market_with_lines()
    _plant_signals(model, (hot,), np.random.default_rng(1))
    model.early_warning.history[:] = np.nan
    model.early_warning.history[hot, :4] = [0.0, 0.001, 0.002, 0.001]
    early_warning.step(model)
    due = np.flatnonzero(model.credit_lines.until == model.t + 1)
    assert len(due)
    model.step()
    CL, month = model.credit_lines, model.month
    asked = np.isin(due, month.applicants[month.is_convenience])  # asked to draw this month
    assert asked.any()
    # each that asked was underwritten again first: closed, or renewed past this month
    assert ((CL.platform[due[asked]] < 0) | (CL.until[due[asked]] > model.t)).all()
    # the others still wait for their review (unless a miss closed the line)
    rest = due[~asked]
    assert ((CL.platform[rest] < 0) | (CL.until[rest] == model.t)).all()


def test_scores_and_model_row_against_the_loan_book():
    # 1,500 borrowers: with 800, no loan had missed a payment by month 10 once the debt spiral
    # stopped lending against rounding residues (2026-12-02), and there was nothing to check
    model = MarketModel(tiny(**{"borrowers.n": 1500}))
    model.run(10)
    L, P, ew = model.loans, len(model.platforms), model.early_warning
    flagged = _flagged_by_loop(model)
    bad, book = np.zeros(P), np.zeros(P)
    for i in range(L.n):
        if L.status[i] <= LoanStatus.DELINQUENT:
            p = int(L.platform_idx[i])
            book[p] += L.balance[i]
            if (int(L.borrower_idx[i]), p) in flagged:
                bad[p] += L.balance[i]
    # the state of month 10 was scored before collection: score it again from the book
    early_warning.step(model)
    live = np.array([pl.is_active for pl in model.platforms]) & (book > 0)
    assert ew.score[:P][live] == pytest.approx((bad / np.where(book > 0, book, 1))[live])
    row = early_warning.model_row(model)
    assert row["early_warning"] == pytest.approx(bad[live].sum() / book[live].sum())
    active = np.array([pl.is_active for pl in model.platforms])
    assert row["platforms_on_warning"] == pytest.approx(ew.on_warning[:P][active].mean())
    assert 0 < row["early_warning"] < 1


def test_the_regulator_sees_the_platforms_scores():
    # 1,000 borrowers: the z-score needs a market score that varies over months 1-7; with 800
    # no loan was flagged before month 8 once micro-lenders lent to repay (2026-12-06)
    model = MarketModel(tiny(**{"borrowers.n": 1000}))
    model.run(8)
    m = model.tables()["model"]
    assert {"early_warning", "platforms_on_warning", "early_warning_reviews",
            "ew_early_warning", "ew_early_warning_z"} <= set(m.columns)
    assert "early_warning" in EW_INDICATORS
    assert {"early_warning", "platforms_on_warning"} <= set(SYSTEM_INDICATORS)
    # the regulator's z-score of the market's score, by hand from the model table
    x = m["early_warning"].to_numpy()
    z = (x[7] - x[:7].mean()) / x[:7].std(ddof=1)
    assert m["ew_early_warning_z"].iloc[7] == pytest.approx(z)
    ew = model.early_warning
    for pl in model.platforms:
        assert _platform_indicator(pl, "platform_on_warning") == float(ew.on_warning[pl.idx])
        got = _platform_indicator(pl, "platform_early_warning")
        assert got == ew.score[pl.idx] or (math.isnan(got) and math.isnan(ew.score[pl.idx]))


def test_a_trigger_rule_acts_on_platforms_on_warning():
    """A platform-scope rule on platform_on_warning stops exactly the platforms on warning
    (the rule reads the state the month before lending)."""
    scen = with_policy(tiny(**{"borrowers.n": 800, "platforms.min_book": 0,
                               "platforms.ew_z": 0.5}), [],
                       [{"indicator": "platform_on_warning", "above": 0.5,
                         "action": "stop_lending", "months": 1, "once": False}], source="test")
    model = MarketModel(scen)
    hits = 0
    for _ in range(14):
        warned = {pl.idx for pl in model.platforms if model.early_warning.on_warning[pl.idx]
                  and pl.is_active}
        model.step()
        stopped = {pl.idx for pl in model.platforms if pl.suspended_until == model.t}
        assert stopped == warned
        hits += len(warned)
    assert hits > 0


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize("key, value, allowed", [
    ("platforms.ew_window", 2, ">= 3 and <= 240"),
    ("platforms.ew_z", 0, "> 0 and <= 10"),
    ("platforms.ew_months", 9, ">= 1 and <= 8"),
    ("platforms.ew_spending_jump", -0.5, "> 0"),
    ("platforms.ew_reviews", "maybe", "true or false"),
])
def test_bad_early_warning_parameters_are_one_line(key, value, allowed, tmp_path, capsys):
    with pytest.raises(ScenarioError, match=f"{key} = .*{allowed}"):
        load_scenario(None, {key: value})
    out = tmp_path / "x"
    assert main(["run", "--set", f"{key}={value}", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("lendsim: error: ")
    assert key in err[0] and str(value) in err[0] and allowed in err[0]
    assert not out.exists()
