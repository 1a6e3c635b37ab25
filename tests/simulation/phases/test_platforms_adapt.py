"""Phase 10, platforms adapt (simulation/phases/platforms_adapt.py): training samples and
their weights, the book's compaction, what each platform adapts to, exit and entry."""

import numpy as np
import pytest
from conftest import tiny

import lendsim
from lendsim import MarketModel
from lendsim.simulation.ledger import LoanStatus
from lendsim.simulation.month import Month
from lendsim.simulation.phases import platforms_adapt


def _model(**over):
    model = MarketModel(tiny(**{"platforms.n": 3, "platforms.training_window": 100,
                                "platforms.entry_prob": 0.0, **over}))
    model.run(3)
    model.month = Month(model.n_borrowers, len(model.platforms))
    return model


def _record_learning(model):
    calls = []
    for pl in model.platforms:
        pl.learn = lambda X, y, weight=1.0, i=pl.idx: calls.append((i, X.copy(), y.copy(),
                                                                    weight))
    return calls


@pytest.mark.parametrize("sizes", [(200, 150, 120), (30, 20, 10)])
def test_train_on_matured_samples_every_kth_loan_with_weight_k(sizes):
    """Against a loop: number the month's matured loans 0, 1, ... in the order they were
    handed over; every k-th (k = ceil(n / (window x platforms))) trains its platform, with
    frequency weight k; a platform with more than ``window`` of them keeps every j-th of its
    own (j = ceil(count / window)), with weight k x j: a thinned sample, not the last ones
    (which would be the month's defaulted loans, handed over last)."""
    model = _model()
    L, rng = model.loans, np.random.default_rng(3)
    at0 = np.flatnonzero(L.platform_idx == 0)
    queue = [(rng.choice(at0, sizes[0]), 0),  # all at platform 0: its window overflows
             (rng.integers(0, L.n, sizes[1]), 1),
             (rng.integers(0, L.n, sizes[2]), 0)]
    for rows, y in queue:
        model.month.learn(rows, y)
    calls = _record_learning(model)
    platforms_adapt.train_on_matured(model)
    n, W = sum(sizes), 100
    k = -(-n // (W * 3))
    picked = {}
    pos = 0
    for rows, y in queue:
        for r in rows:
            if pos % k == 0:
                x = L.features[r]
                picked.setdefault(int(L.platform_idx[r]), []).append((x, y, L.principal[r]))
            pos += 1
    thin = {p: -(-len(v) // W) for p, v in picked.items()}
    want = {p: v[::thin[p]] for p, v in picked.items()}
    assert [c[0] for c in calls] == sorted(want)
    for p, X, y, w in calls:
        # each also by its principal over the mean of the platform's loans taken this month
        amount = np.array([v[2] for v in want[p]])
        np.testing.assert_allclose(w, k * thin[p] * amount / amount.mean(), rtol=1e-12)
        assert len(y) <= W
        assert y.tolist() == [v[1] for v in want[p]]
        np.testing.assert_array_equal(X, np.array([v[0] for v in want[p]], dtype=np.float32))
    assert model.month.matured == []
    if k > 1:
        assert len(picked[0]) > W  # the window's thinning is exercised


@pytest.mark.parametrize("sizes", [(200, 150, 120), (30, 20, 10)])
def test_a_sampling_book_trains_on_its_sampled_loans_each_standing_for_its_weight(
        sizes, monkeypatch):
    """As above, on a book that kept the features of every third loan (every month's
    ``feature_sampling`` forced to 3): only sampled loans train, numbered in the order they
    were handed over; every k-th of them (k = ceil(sampled / (window x platforms))) trains,
    and each stands for k x j x its sample weight (3; 1 for the first month's loans, booked
    before the first month set it) matured loans."""
    monkeypatch.setattr(platforms_adapt, "feature_sampling", lambda *a: 3)
    model = _model()
    L, rng = model.loans, np.random.default_rng(4)
    assert 0 < L.ns < L.n
    queue = [(rng.choice(np.flatnonzero(L.platform_idx == 0), sizes[0]), 0),
             (rng.integers(0, L.n, sizes[1]), 1), (rng.integers(0, L.n, sizes[2]), 0)]
    for rows, y in queue:
        model.month.learn(rows, y)
    calls = _record_learning(model)
    platforms_adapt.train_on_matured(model)
    cand = [(r, y) for rows, y in queue for r in rows if L.is_sampled(np.array([r]))[0]]
    W = 100
    k = -(-len(cand) // (W * 3))
    picked = {}
    for r, y in cand[::k]:
        w = int(L.sample_weight(np.array([r]))[0])
        picked.setdefault(int(L.platform_idx[r]), []).append(
            (L.feature_rows(np.array([r]))[0], y, w, L.principal[r]))
    # the first month's loans were booked before any sampling: weight 1
    assert 3 in {w for v in picked.values() for _, _, w, _ in v}
    thin = {p: -(-len(v) // W) for p, v in picked.items()}
    want = {p: v[::thin[p]] for p, v in picked.items()}
    assert [c[0] for c in calls] == sorted(want)
    for p, X, y, w in calls:
        amount = np.array([v[3] for v in want[p]])
        np.testing.assert_allclose(np.broadcast_to(w, y.shape),
                                   [k * thin[p] * v[2] * a / amount.mean()
                                    for v, a in zip(want[p], amount)], rtol=1e-12)
        assert y.tolist() == [v[1] for v in want[p]]
        np.testing.assert_array_equal(X, np.array([v[0] for v in want[p]], dtype=np.float32))


def test_a_fit_by_amount_is_right_per_rmb_where_a_fit_by_count_is_not():
    """Hand example: half the loans are of 1,000 RMB and default at 1 %, half of 4,000 and
    default at 4 %, and the scorecard cannot tell them apart (one intercept). Fitted by count,
    every loan gets 2.5 %, and the expected loss per RMB is 2.5 % against the 3.4 % lost
    ((10 + 160) / 5,000 of each 100 loans); weighted by principal over the mean, the fit is
    3.4 %, the rate per RMB."""
    from lendsim.agents.rules import scoring

    n = 2000
    amount = np.r_[np.full(n // 2, 1000.0), np.full(n // 2, 4000.0)]
    y = np.r_[np.arange(n // 2) % 100 == 0, np.arange(n // 2) % 25 == 0].astype(float)
    X = np.ones((n, 1))
    by_count = scoring.fit_logistic(X, y, prior_mean=np.zeros(1), prior_precision=np.zeros((1, 1)))
    w = amount / amount.mean()
    by_amount = scoring.fit_logistic(X, y, prior_mean=np.zeros(1),
                                     prior_precision=np.zeros((1, 1)), sample_weight=w)
    pd_count, pd_amount = (1 / (1 + np.exp(-c[0])) for c in (by_count, by_amount))
    assert pd_count == pytest.approx(0.025, rel=1e-4)
    assert pd_amount == pytest.approx(np.dot(amount, y) / amount.sum(), rel=1e-4)  # 0.034


def test_feature_sampling_keeps_four_windows_of_a_months_loans():
    """Hand-computed: 10 platforms with windows of 5,000 take 50,000 matured loans; the book
    keeps every loan's features until a month books more than 4 x 50,000, then every k-th
    with k = new loans // 200,000."""
    f = platforms_adapt.feature_sampling
    assert [f(n, 5_000, 10) for n in (0, 199_999, 200_000, 399_999, 400_000, 1_300_000)] \
        == [1, 1, 1, 1, 2, 6]
    assert f(10**7, 1_000_000, 10) == 1  # windows as large as the parameter allows


def test_a_market_that_books_more_than_its_windows_take_keeps_a_sample_and_trains_on_it():
    """With windows of 100 loans, a market of 3,000 borrowers and 3 platforms books more than
    twice a month what four windows of its platforms take (about 2,900 loans against 1,200):
    from the second month the book keeps only a sample of the
    features, the lenders' windows fill with sampled loans weighted by the stride, and the
    run goes on to the end with its balance sheets adding up (the model checks them every
    month)."""
    model = MarketModel(tiny(**{"borrowers.n": 3000, "platforms.n": 3,
                                "platforms.entry_prob": 0.0, "platforms.training_window": 100}))
    model.run(12)
    L = model.loans
    assert L.keep_every > 1 and L.ns < L.n
    weights = np.concatenate([pl.window.rows()[2] for pl in model.platforms])
    assert len(weights) and weights.max() >= L.keep_every


def test_nothing_matured_trains_nothing():
    model = _model()
    calls = _record_learning(model)
    platforms_adapt.train_on_matured(model)
    assert calls == []


def test_drop_closed_loans_compacts_whenever_a_loan_closed():
    """Every month with a closed loan (COMPACT_CLOSED_SHARE = 0): closed rows left for a
    month would stay through the next month's repayment, the peak of memory."""
    model = _model()
    L = model.loans
    platforms_adapt.drop_closed_loans(model)
    assert L.n and L.is_open().all()
    n = L.n
    platforms_adapt.drop_closed_loans(model)  # nothing closed: nothing to drop
    assert L.n == n
    L.status[0] = LoanStatus.REPAID  # one loan in n, far below the former quarter
    kept = L.balance[1:].copy()
    platforms_adapt.drop_closed_loans(model)
    assert L.n == n - 1
    np.testing.assert_array_equal(L.balance, kept)


def test_each_platform_adapts_to_its_share_target_and_delinquency():
    model = _model()
    L, P = model.loans, 3
    n_open = np.bincount(L.platform_idx[L.is_open()], minlength=P)
    min_book = int(n_open[[1, 2]].max())  # the smaller live book is too small to judge
    model.params = model.params.with_overrides({"platforms.min_book": min_book})
    model.platforms[0].fail(model.t)
    late = L.is_open() & (np.arange(L.n) % 5 == 0)
    for p in (1, 2):  # at least one loan behind at each live platform, however small
        late[np.flatnonzero(L.is_open() & (L.platform_idx == p))[0]] = True
    L.n_missed[late] = 1
    m = model.month
    m.orig_by_platform[:] = [0.0, 1000.0, 500.0]
    m.apr_by_platform[:] = [0.0, 200.0, 150.0]
    posted = model.platforms[0].posted_apr
    prev = model.prev_equity.copy()
    calls = {}
    for pl in model.platforms:
        pl.adapt = lambda *a, i=pl.idx: calls.setdefault(i, a)
    platforms_adapt.step(model)
    managed, d30, n_open = np.zeros(P), np.zeros(P), np.zeros(P)
    for i in np.flatnonzero(L.is_open()):
        managed[L.platform_idx[i]] += L.balance[i]
        d30[L.platform_idx[i]] += L.balance[i] * (L.n_missed[i] >= 1)
        n_open[L.platform_idx[i]] += 1
    live = np.array([False, True, True])
    share = np.where(live, managed, 0) / managed[live].sum()
    w = np.where(live, model.target_weight[:P], 0)
    assert sorted(calls) == [1, 2]  # a failed platform adapts nothing
    for i in (1, 2):
        sig, pp = calls[i]
        s, target, dq = sig.market_share, sig.target_share, sig.delinquency_30
        assert sig.managed == pytest.approx(managed[i])
        pl, reg = model.platforms[i], model.regulator.policy
        assert sig.capital_per_loan == pytest.approx(pl.own_share(reg) / pl.target_leverage(reg))
        bp = model.params.borrowers
        assert sig.price_sensitivity == pytest.approx(bp.price_sensitivity / bp.choice_noise)
        assert s == pytest.approx(share[i]) and target == pytest.approx(w[i] / w.sum())
        assert dq == pytest.approx(d30[i] / managed[i] if n_open[i] >= min_book else 0.0)
        assert model.platforms[i].last_delinquency_30 == dq
        # the month's profit: equity before this month's raise or payout (7.12, Capital)
        eq = pl.equity + pl.dividends - pl.equity_raised * (1 - pp.equity_issue_cost)
        assert pl.roe_history[-1] == pytest.approx(12 * (eq - prev[i]) / prev[i])
        assert model.prev_equity[i] == pl.equity
    assert min(n_open[[1, 2]]) < min_book <= max(n_open[[1, 2]]) and min(d30[[1, 2]]) > 0
    assert [pl.posted_apr for pl in model.platforms] == pytest.approx([posted, 0.2, 0.3])
    np.testing.assert_allclose(model.market_share, share)


def test_an_unfunded_platform_exits():
    model = _model(**{"platforms.funding_exit_months": 3})
    pl = model.platforms[2]
    pl.months_unfunded = 3
    model.platforms[0].months_unfunded = 2
    platforms_adapt.step(model)
    assert [p.is_active for p in model.platforms] == [True, True, False]
    assert model.month.platform_exits == 1
    assert model.month.failures == [("platform", 2, "common_funder",
                                     f"{pl.kind}: no funding for 3 months")]
    assert model.records["events"][-1]["kind"] == "platform_exit"


def test_entry_stops_at_the_most_platforms():
    model = _model(**{"platforms.max_n": 4})
    assert len(model.platforms) == 3
    model.params = model.params.with_overrides({"platforms.entry_roe": -1.0,
                                                "platforms.entry_prob": 1.0})
    platforms_adapt.maybe_enter(model)
    assert len(model.platforms) == 4 and model.month.platform_entries == 1
    new = model.platforms[3]
    assert model.records["events"][-1] == {"step": model.t, "kind": "platform_entry",
                                           "agent_type": "platform", "agent_id": 3,
                                           "size": new.equity, "detail": new.kind}
    assert model.lines[:, 3].sum() > 0
    platforms_adapt.maybe_enter(model)
    assert len(model.platforms) == 4


def test_entry_follows_each_types_own_return():
    """An entrant picks the type whose live platforms earn most (mean of their mean ROE
    records), enters only if that is above entry_roe, and judges a type with none live by
    the market's mean; the draw against entry_prob is made only when some type qualifies."""
    model = _model(**{"platforms.n": 5, "platforms.max_n": 10})
    model.params = model.params.with_overrides({"platforms.entry_roe": 0.15,
                                                "platforms.entry_prob": 1.0})
    kinds = [pl.kind for pl in model.platforms]
    for pl in model.platforms:
        pl.roe_history.clear()
        pl.roe_history.extend({"embedded": [0.4], "micro_lender": [0.1, 0.12],
                               "consumer_finance": [0.2]}[pl.kind])
    assert sorted(kinds) == ["consumer_finance"] * 2 + ["embedded"] + ["micro_lender"] * 2
    state = model.rng.bit_generator.state
    platforms_adapt.maybe_enter(model)
    assert model.platforms[-1].kind == "consumer_finance" and len(model.platforms) == 6
    for pl in model.platforms:  # now the consumer-finance companies earn below entry_roe
        if pl.kind == "consumer_finance":
            pl.roe_history.clear()
            pl.roe_history.append(0.1)
    model.rng.bit_generator.state = state
    platforms_adapt.maybe_enter(model)
    assert len(model.platforms) == 6  # the embedded platform's 40 % draws no entrant
    assert model.rng.bit_generator.state == state  # and no draw was made
    for pl in model.platforms:  # no live micro-lender: judged by the market's mean
        if pl.kind == "micro_lender":
            pl.is_active = False
    expected = np.mean([np.mean(pl.roe_history) for pl in model.platforms if pl.is_active])
    assert expected > 0.15
    platforms_adapt.maybe_enter(model)
    assert model.platforms[-1].kind == "micro_lender" and len(model.platforms) == 7


def test_entry_when_profitable_and_blocked_by_entry_capital():
    free = lendsim.run(tiny(**{"platforms.entry_roe": -1.0, "platforms.entry_prob": 1.0,
                               "platforms.max_n": 8}), steps=6)
    assert (free.events["kind"] == "platform_entry").sum() == 3  # up to max_n
    assert free.platforms["platform_id"].nunique() == 8
    blocked = lendsim.run(tiny(**{"platforms.entry_roe": -1.0, "platforms.entry_prob": 1.0,
                                  "regulator.entry_capital": 1e6}), steps=4)
    assert (blocked.events["kind"] == "platform_entry").sum() == 0
    assert (blocked.events["kind"] == "entry_blocked").sum() > 0
