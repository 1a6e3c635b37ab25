"""Mesa-native use: ``mesa.batch_run`` over dotted parameter keys, and Mesa's DataCollector
interface over lendsim's tables."""

import inspect

import mesa
import numpy as np
import pytest

import lendsim
from lendsim import MarketModel, ScenarioError


def _seeded(seed: int) -> dict:
    """How a seed reaches the model: Mesa 3.5's batch_run has ``rng`` (one value per
    replication, passed to the model's ``seed``); 3.3's passes ``seed`` as a parameter."""
    if "rng" in inspect.signature(mesa.batch_run).parameters:
        return {"rng": [seed]}
    return {"parameters": {"seed": seed}}


def test_batch_run_with_dotted_keys_matches_lendsim_run():
    how = _seeded(5)
    params = {"regulator.apr_cap": [0.24, 0.36], "borrowers.n": 300, "platforms.n": 3,
              "banks.n": 3, **how.pop("parameters", {})}
    rows = mesa.batch_run(MarketModel, parameters=params, max_steps=4,
                          data_collection_period=1, display_progress=False, **how)
    assert len(rows) == 2 * 5  # months 0-4 of each arm
    for cap in (0.24, 0.36):
        arm = [r for r in rows if r["regulator.apr_cap"] == cap]
        assert [r["Step"] for r in arm] == [0, 1, 2, 3, 4]
        assert np.isnan(arm[0]["credit_outstanding"])  # before the first month
        ref = lendsim.run(overrides={"regulator.apr_cap": cap, "borrowers.n": 300,
                                     "platforms.n": 3, "banks.n": 3}, seed=5, steps=4)
        got = [r["credit_outstanding"] for r in arm[1:]]
        np.testing.assert_array_equal(got, ref.model["credit_outstanding"].to_numpy())
        assert all(r["apr_cap"] == cap for r in arm[1:])


def test_keyword_overrides_are_validated_like_any_scenario():
    with pytest.raises(ScenarioError, match="regulator.apr_cap"):
        MarketModel(**{"regulator.apr_cap": -1.0})
    with pytest.raises(TypeError, match="integer seed"):
        MarketModel(rng=np.random.default_rng(1))
    assert MarketModel(rng=7, **{"borrowers.n": 100}).seed == 7


def test_datacollector_frames_are_the_tables():
    model = MarketModel(**{"borrowers.n": 200, "platforms.n": 3, "banks.n": 3})
    model.run(3)
    t = model.tables()
    dc = model.datacollector
    assert dc.get_model_vars_dataframe().equals(t["model"])
    assert dc.get_agent_vars_dataframe().equals(t["platforms"])
    assert dc.model_vars["step"][1:] == [1, 2, 3]
