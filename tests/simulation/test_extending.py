"""docs/extending.md's code runs, and does what the page says."""

import re
from pathlib import Path

import numpy as np
import pytest

import lendsim
from lendsim import ScenarioError
from lendsim.simulation import registry

DOC = Path(__file__).resolve().parents[2] / "docs" / "extending.md"


@pytest.fixture(scope="module")
def ns():
    """The page's code blocks, run in order in one namespace."""
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    assert len(blocks) == 4
    namespace: dict = {"__name__": "extending_example"}
    for block in blocks:
        exec(compile(block, str(DOC), "exec"), namespace)  # noqa: S102 (our own docs)
    yield namespace
    # leave the registries as they were for the other tests
    registry.PRICING._classes.pop("risk_tiered", None)
    registry.SHOCKS._classes.pop("fine", None)


def test_risk_tiered_prices_only_the_micro_lenders_at_its_tiers(ns):
    model, L = ns["model"], ns["model"].loans
    kinds = np.array([pl.kind for pl in model.platforms])[L.platform_idx]
    micro = kinds == "micro_lender"
    assert micro.any() and (~micro).any()
    # (credit-line draws carry the line's APR, stored as float32: 6 digits)
    assert set(np.round(L.apr[micro], 6)) == {0.12, 0.18, 0.24}
    # cost-plus platforms price continuously: far more distinct APRs than three tiers
    assert len(set(np.round(L.apr[~micro], 6))) > 10


def test_an_unknown_strategy_name_is_refused_with_a_hint(ns):
    with pytest.raises(ScenarioError, match="did you mean 'risk_tiered'"):
        lendsim.load_scenario(None, {"platforms.micro_lender.pricing": "risk_tierd"})


def test_the_fine_takes_half_the_equity_in_its_month_and_books_balance(ns):
    events = ns["fines"]
    assert len(events) > 0 and (events["step"] == 6).all()
    # a model that is not fined has the same month-5 state; its month-6 micro-lender equity,
    # halved, is what the fined model reports for the fine
    plain = lendsim.MarketModel(lendsim.load_scenario(None, {"borrowers.n": 1000,
                                                             "simulation.burn_in": 0}))
    plain.run(5)
    expected = {pl.idx: 0.5 * max(pl.equity, 0.0) for pl in plain.platforms
                if pl.is_active and pl.kind == "micro_lender"}
    ns["fined"].check_invariants()
    assert dict(zip(events["agent_id"], events["size"])) == pytest.approx(expected)


def test_an_added_phase_reads_without_changing_the_model(ns):
    mine = ns["mine"]
    assert len(mine.n_applicants) == 6 and all(n > 0 for n in mine.n_applicants)
    plain = lendsim.MarketModel(lendsim.load_scenario(None, {"borrowers.n": 1000,
                                                             "simulation.burn_in": 0})).run(6)
    np.testing.assert_array_equal(mine.tables()["model"].to_numpy(dtype=float),
                                  plain.tables()["model"].to_numpy(dtype=float))
