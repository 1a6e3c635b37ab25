"""Underwriting works on applicants in blocks: their utilities (``underwriting.CHOICE_ROWS``,
with the noise drawn block by block) and their assessment (``underwriting.ASSESS_ROWS``).
Each applicant's row depends on its own data only, and the generator gives the same numbers
in blocks as in one draw, so a run's numbers do not depend on the block sizes. Checked on
whole runs, against the same run in one block, with blocks far smaller than a round so that
every round is split (and its last block short)."""

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
