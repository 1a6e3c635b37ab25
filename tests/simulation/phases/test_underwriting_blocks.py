"""Underwriting works on applicants in blocks: their utilities (``underwriting.CHOICE_ROWS``,
with the noise drawn block by block) and their assessment (``underwriting.ASSESS_ROWS``).
Each applicant's row depends on its own data only, and the generator gives the same numbers
in blocks as in one draw, so a run's numbers do not depend on the block sizes. Checked on
whole runs, against the same run in one block, with blocks far smaller than a round so that
every round is split (and its last block short).

The search's matrices hold the open platforms' columns only
(``underwriting.choice_columns``): checked against the search over every platform with the
closed ones' utilities ``-inf``."""

import numpy as np
import pytest

import lendsim
from lendsim.simulation.phases import underwriting
from conftest import tiny

#: the run of tests/simulation/test_scoring_models.py with learned models, and the
#: alternative data, so that every kind of scorer and feature is assessed
LEARNED = {"borrowers.n": 2_000, "platforms.n": 4, "banks.n": 4, "simulation.steps": 12,
           "simulation.burn_in": 36, "output.charts": False, "platforms.min_training": 100,
           "platforms.retrain_every": 3, "platforms.micro_lender.scoring": "trees",
           "platforms.embedded.alt_data": "spending_income,contacts_in_arrears"}
NEURAL = {"platforms.consumer_finance.scoring": "neural_net"}


def _tables(scenario, rows, monkeypatch):
    monkeypatch.setattr(underwriting, "ASSESS_ROWS", rows)
    monkeypatch.setattr(underwriting, "CHOICE_ROWS", rows + 6)  # blocks of their own
    sizes = []
    real = underwriting._assess_rows

    def counted(model, b, *args):
        sizes.append(len(b))
        return real(model, b, *args)

    monkeypatch.setattr(underwriting, "_assess_rows", counted)
    model = lendsim.MarketModel(scenario)
    model.run()
    out = model.tables()
    model.close()
    return out, sizes


@pytest.mark.parametrize("case", ["default", "trees_and_alt_data", "neural_net"])
def test_a_run_is_the_same_whatever_the_block(case, monkeypatch):
    if case == "default":
        scenario = tiny(**{"simulation.steps": 18, "simulation.burn_in": 6,
                           "platforms.line_review_months": 3})
    else:
        pytest.importorskip("sklearn")
        scenario = lendsim.load_scenario(None, {**LEARNED,
                                                **(NEURAL if case == "neural_net" else {})})
    whole, sizes = _tables(scenario, 10**9, monkeypatch)
    assert max(sizes) > 40  # rounds large enough to split
    blocks, sizes = _tables(scenario, 17, monkeypatch)
    if case == "neural_net":
        # a network's predictions depend on how many rows it scores at once: once fitted,
        # it scores the round whole
        assert max(sizes) > 17
    else:
        assert max(sizes) == 17 and min(sizes) < 17
    assert whole.keys() == blocks.keys()
    for name in whole:
        assert whole[name].equals(blocks[name]), name


def test_blocks_return_every_row_in_order(monkeypatch):
    """The blocks' outputs are put together in the applicants' order: each applicant's row
    is the one a block of its own would give."""
    model = lendsim.MarketModel(tiny(**{"simulation.steps": 3}))
    model.run(2)
    model.month = type(model.month)(model.n_borrowers, len(model.platforms))
    g = underwriting.platform_arrays(model)
    b = np.arange(model.n_borrowers)
    p = b % len(model.platforms)
    request = np.full(len(b), 1500.0)
    state = model.rng.bit_generator.state
    monkeypatch.setattr(underwriting, "ASSESS_ROWS", 64)
    together = underwriting.assess(model, b, p, request, g, g.term[p])
    model.rng.bit_generator.state = state
    noise = model.rng.standard_normal(len(b))
    for i in (0, 63, 64, 200, len(b) - 1):
        one = underwriting._assess_rows(model, b[i:i + 1], p[i:i + 1], request[i:i + 1], g,
                                        g.term[p][i:i + 1], None, noise[i:i + 1])
        for whole, x in zip(together, one):
            np.testing.assert_array_equal(whole[i], x[0])
    model.close()


def test_noise_drawn_in_blocks_is_the_noise_drawn_at_once():
    for n, P, k in ((1001, 7, 13), (5, 3, 2), (64, 15, 64)):
        a, b = np.random.default_rng(3), np.random.default_rng(3)
        whole = a.standard_exponential(size=(n, P), dtype=np.float32)
        parts = [b.standard_exponential(size=(min(k, n - s), P), dtype=np.float32)
                 for s in range(0, n, k)]
        np.testing.assert_array_equal(whole, np.concatenate(parts))
        assert a.random() == b.random()  # and the generator goes on from the same state


#: search costs and doing without (Weitzman's rule, 7.5), with credit lines: the search's
#: beliefs, hassles and years of credit take the open platforms' columns too
SEARCH = {"borrowers.application_hassle": 40.0, "borrowers.outside_apr_purchase": 0.5,
          "borrowers.outside_apr_cash": 0.6, "borrowers.outside_apr_repay": 0.7}


def _search_over_every_platform(monkeypatch) -> list:
    """Make underwriting search over every platform, with the closed ones' utilities
    ``-inf``, as it did before its matrices held the open platforms' columns only. Returns
    the list that receives each round's open platforms."""
    opened = []
    real_utilities = underwriting.noisy_utilities

    def every_platform(is_open):
        opened.append(is_open)
        return np.arange(len(is_open))

    def closed_ruled_out(model, g, b, has_account, beta, cols):
        util = real_utilities(model, g, b, has_account, beta, cols)
        util[:, ~opened[-1]] = -np.inf
        return util

    monkeypatch.setattr(underwriting, "choice_columns", every_platform)
    monkeypatch.setattr(underwriting, "noisy_utilities", closed_ruled_out)
    return opened


@pytest.mark.parametrize("case", ["default", "search_costs"])
def test_the_search_over_open_platforms_chooses_as_over_all_with_the_closed_ones_ruled_out(
        case, monkeypatch):
    """Against the search over every platform with the closed ones' utilities ``-inf`` (how
    it ran before its matrices were narrowed to the open platforms): the same tables. The
    runs have platforms that lend for cash only, one that fails and one that stops lending
    for a while, so rounds have closed platforms in every position."""
    extra = SEARCH if case == "search_costs" else {}
    scenario = tiny(**{"simulation.steps": 18, "simulation.burn_in": 6,
                       "platforms.line_review_months": 3, "platforms.n": 6,
                       "shocks.platform_failure_step": 8,
                       "shocks.platform_failure_type": "micro_lender", **extra})

    def run():
        model = lendsim.MarketModel(scenario)
        model.run()
        out = model.tables()
        model.close()
        return out

    narrowed = run()
    opened = _search_over_every_platform(monkeypatch)
    wide = run()
    assert sum(not o.all() for o in opened) > 10  # many rounds had closed platforms
    assert narrowed.keys() == wide.keys()
    for name in wide:
        assert narrowed[name].equals(wide[name]), name


@pytest.mark.parametrize("extra", [{}, SEARCH])
def test_a_round_with_no_platform_open_applies_nowhere_and_draws_as_before(extra,
                                                                           monkeypatch):
    """Every platform closed (out of capacity): no one applies, every applicant stays
    rationed, and the generator moves on by the same draws as a search over all platforms
    with their utilities ``-inf``."""
    def round_with_no_capacity():
        model = lendsim.MarketModel(tiny(**{"simulation.steps": 3, **extra}))
        model.run(2)
        model.month = type(model.month)(model.n_borrowers, len(model.platforms))
        model.month.capacity = np.zeros(len(model.platforms))
        b = np.arange(0, model.n_borrowers, 3)
        granted = underwriting.apply(model, b, np.full(len(b), 900.0), 3, False,
                                     product="cash")
        return (granted, model.month.rationed.copy(), model.month.applied.copy(),
                model.rng.standard_normal(3))

    narrowed = round_with_no_capacity()
    opened = _search_over_every_platform(monkeypatch)
    wide = round_with_no_capacity()
    assert not opened[-1].any()  # the round with no capacity
    assert (narrowed[0] == 0).all() and narrowed[1].sum() == len(narrowed[0])
    for a, b in zip(narrowed, wide):
        np.testing.assert_array_equal(a, b)


def test_open_columns_keeps_a_repeated_row_a_view():
    cols = np.array([0, 2])
    row = np.broadcast_to(np.array([1.0, 2.0, 3.0]), (4, 3))
    got = underwriting.open_columns(row, cols)
    assert got.strides[0] == 0 and got.tolist() == [[1.0, 3.0]] * 4
    full = np.arange(12.0).reshape(4, 3)
    assert underwriting.open_columns(full, cols).tolist() == full[:, [0, 2]].tolist()
    assert underwriting.open_columns(np.array([5.0, 6.0, 7.0]), cols).tolist() == [5.0, 7.0]
    assert underwriting.open_columns(0.0, cols) == 0.0


def test_the_months_log_incomes_are_those_of_the_incomes_lenders_see():
    """Underwriting looks the log income feature up in a table made at the month's first
    application (``features.month_log_incomes``): no phase may change an income after it.
    Checked at the end of every month, when every lending round (purchases, cash, credit-line
    draws, refinancing) has used it."""
    from lendsim.simulation.features import log_incomes

    model = lendsim.MarketModel(tiny(**{"borrowers.n": 1500, "macro.unemployment_rate": 0.2}))
    for _ in range(8):
        model.step()
        assert model.month.log_income is not None
        np.testing.assert_array_equal(
            model.month.log_income, log_incomes(model.population.income,
                                                model.params.borrowers.income_median))
