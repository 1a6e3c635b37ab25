"""Experiments: experiment files, expansion into runs, seeds and executors (to come)."""
