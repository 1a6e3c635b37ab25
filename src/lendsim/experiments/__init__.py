"""Batch experiments: experiment files, expansion into runs, seeds and executors.

    from lendsim.experiments import load_experiment, run_experiment
    exp = load_experiment("competition", ["run.replications=2"])
    summary = run_experiment(exp, "results/competition", executor="processes", workers=2)
    res = lendsim.results.load("results/competition")     # tables with the factors joined

The command line is ``lendsim sweep FILE``, ``lendsim status DIR`` and ``lendsim report DIR``
(``lendsim.cli.sweep``); the folder layout is ``lendsim.results.folders``.
``channel_attribution`` sets each credit channel's attributed losses beside what switching it
off removes, on common seeds.
"""

from lendsim.experiments.attribution import channel_attribution
from lendsim.experiments.runner import EXECUTORS, SweepSummary, execute_run, run_experiment
from lendsim.experiments.spec import (Experiment, RunSpec, is_experiment_file,
                                      load_experiment, replication_seeds)
from lendsim.results.folders import folder_status

__all__ = ["EXECUTORS", "Experiment", "RunSpec", "SweepSummary", "channel_attribution",
           "execute_run", "folder_status", "is_experiment_file", "load_experiment", "replication_seeds",
           "run_experiment"]
