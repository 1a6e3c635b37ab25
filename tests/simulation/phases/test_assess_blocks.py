"""Underwriting assesses applicants in blocks (``underwriting.ASSESS_ROWS``): each
applicant's assessment depends on its own row only, so a run's numbers do not depend on the
block size. Checked on whole runs, against the same run assessed in one block, with the
block far smaller than a round so that every round is split (and its last block short)."""

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
