"""lendsim: an agent-based simulation of an internet consumer-finance market, on Mesa.

Small public API::

    import lendsim
    res = lendsim.run(overrides={"borrowers.n": 5000}, steps=24)
    res.model.tail()                   # one row per month
    exp = lendsim.sweep("competition", sets={"run.replications": 2})   # an experiment
    exp.summary()                      # means and 95 % intervals per arm
    cmp = lendsim.compare("episode_rate_cap_lpr")   # a policy against a base
    cmp.effects                        # paired differences, intervals, p-values
    model = lendsim.MarketModel(lendsim.load_scenario())   # step-by-step use
"""

from lendsim.api import Comparison, RunResult, compare, run, sweep
from lendsim.errors import InvariantError, LendsimError, ScenarioError
from lendsim.simulation.model import MarketModel
from lendsim.simulation.params import Scenario
from lendsim.simulation.scenario import load_scenario

__version__ = "0.1.0"
__all__ = ["run", "RunResult", "sweep", "compare", "Comparison", "MarketModel", "Scenario", "load_scenario", "ScenarioError",
           "InvariantError", "LendsimError", "__version__"]
