"""Same seed, same numbers, whatever the number of BLAS threads.

OpenBLAS, numpy's linear algebra, splits a long sum over its threads (one per core by
default), so a sum's rounding depends on how many there are. The logistic scorecard's Newton
steps sum over the loans of the training window (``X' w``, ``X' W X``); on two threads their
last bits differed from those on one, and every table of a run after the first refit with them
(2026-12-06, on the code before fits ran on one thread). These tests give the library more
than one thread and compare with one: they can fail only where OpenBLAS may use two or more.
"""

from __future__ import annotations

import numpy as np
import pytest

import lendsim
from lendsim.simulation import strategies
from lendsim.simulation.features import N_FEATURES
from lendsim.simulation.params import PlatformParams

threadpoolctl = pytest.importorskip("threadpoolctl")


def blas_threads() -> int:
    """The most threads any BLAS library loaded in this process would use."""
    info = [i["num_threads"] for i in threadpoolctl.threadpool_info()
            if i.get("user_api") == "blas"]
    return max(info, default=1)


@pytest.fixture
def several_blas_threads():
    n = blas_threads()
    if n < 2:
        pytest.skip("this machine's BLAS runs on one thread: nothing to compare")
    return n


def test_the_logistic_fit_is_the_same_on_one_thread_and_on_several(several_blas_threads):
    rng = np.random.default_rng(3)
    n = 5_000  # a full training window (platforms.training_window)
    X = np.zeros((n, N_FEATURES))
    X[:, 0] = 1.0
    X[:, 1:] = rng.normal(size=(n, N_FEATURES - 1))
    y = (rng.random(n) < 0.05).astype(float)
    w = rng.uniform(0.5, 2.0, n)
    m = strategies.create("scoring", "logistic")
    coef = {}
    for t in (1, several_blas_threads):
        with threadpoolctl.threadpool_limits(limits=t):
            coef[t] = m.fit(X, y, w, pp=PlatformParams(), start=np.zeros(N_FEATURES))
    assert np.array_equal(coef[1], coef[several_blas_threads])


def test_a_run_is_the_same_on_one_blas_thread_and_on_several(several_blas_threads):
    overrides = {"borrowers.n": 2_000, "simulation.steps": 36, "simulation.burn_in": 0,
                 "output.charts": False}
    tables = {}
    for t in (1, several_blas_threads):
        with threadpoolctl.threadpool_limits(limits=t):
            tables[t] = lendsim.run(None, seed=1, overrides=overrides).tables()
    for name in ("model", "platforms", "banks"):
        assert tables[1][name].equals(tables[several_blas_threads][name]), name
