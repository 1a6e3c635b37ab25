"""lendsim: an agent-based simulation of an internet consumer-finance market, on Mesa.

Small public API::

    import lendsim
    res = lendsim.run(overrides={"borrowers.n": 5000}, steps=24)
    res.model.tail()                   # one row per month
    model = lendsim.MarketModel(lendsim.load_scenario())   # step-by-step use
"""

from lendsim.api import RunResult, run
from lendsim.errors import InvariantError, LendsimError, ScenarioError
from lendsim.simulation.model import MarketModel
from lendsim.simulation.params import Scenario
from lendsim.simulation.scenario import load_scenario

__version__ = "0.1.0"
__all__ = ["run", "RunResult", "MarketModel", "Scenario", "load_scenario", "ScenarioError",
           "InvariantError", "LendsimError", "__version__"]
