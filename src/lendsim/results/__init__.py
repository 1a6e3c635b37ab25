"""Results: writing and loading run folders (Parquet + manifest), summaries, charts."""

from lendsim.results.analysis import ExperimentResults, load
from lendsim.results.store import RunTables, default_run_dir, load_run, write_run
from lendsim.results.summary import summary_table

__all__ = ["ExperimentResults", "RunTables", "default_run_dir", "load", "load_run",
           "write_run", "summary_table"]
