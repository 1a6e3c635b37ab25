"""Where the compiled kernels' cache lands and who reuses it (issue 20, item 3).

Each check runs in a fresh Python process with its own ``NUMBA_CACHE_DIR`` (or none), so the
cache of the source tree and of the test process play no part. Counts, not times: numba's
dispatchers count, per signature, the compilations loaded from the cache (``cache_hits``)
and those it had to compile (``cache_misses``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

# a tiny model run, then every kernel's cache counts in this process
PROBE = textwrap.dedent('''
    import json, os, sys

    def probe(months=3):
        """Run a tiny model ``months`` months (0: only call one kernel); each kernel's cache
        counts, type and folder."""
        import numba
        import numpy as np
        from lendsim import kernels, load_scenario
        from lendsim.simulation.model import MarketModel

        if months:
            scen = load_scenario(None, {"borrowers.n": 300, "platforms.n": 3, "banks.n": 3,
                                        "simulation.burn_in": 0, "output.charts": False})
            MarketModel(scen).run(months)
        else:
            sums = kernels.grouped_sum(np.array([0, 1, 1]), np.array([1.0, 2.0, 3.0]),
                                       np.array([True, True, False]), 2)
            assert sums.tolist() == [1.0, 2.0]
        out = {}
        for name, k in vars(kernels).items():
            if isinstance(k, numba.core.registry.CPUDispatcher):
                out[name] = {"hits": sum(k.stats.cache_hits.values()),
                             "misses": sum(k.stats.cache_misses.values()),
                             "cache": type(k._cache).__name__,
                             "path": getattr(k._cache, "cache_path", None)}
        return os.getpid(), out
''')


def run_python(tmp_path, code: str, env: dict[str, str | None]) -> dict:
    """Run ``code`` (after PROBE) as a script in a fresh interpreter (a file: worker
    processes import it to find ``probe``); its last stdout line is JSON. ``env`` entries
    set to None are removed."""
    script = tmp_path / "probe_script.py"
    script.write_text(PROBE + textwrap.dedent(code))
    full_env = {**os.environ, **env}
    for key, value in env.items():
        if value is None:
            full_env.pop(key, None)
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          env=full_env, timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def used(stats: dict) -> dict:
    """The kernels the run called (the rest were never needed, so never loaded)."""
    return {k: v for k, v in stats.items() if v["hits"] + v["misses"]}


#: kernels that only other kernels call: compiled along with their callers, and then part of
#: the callers' cached machine code, so a process that loads the callers never loads them
INNER = {"amount_due", "payments_behind", "push_miss", "_is_late_pair", "_sees_arrears",
         "stable_argsort", "_debt_in_buckets", "is_billed"}


def assert_all_loaded(stats: dict, compiled: dict, who) -> None:
    """Every kernel that ``compiled`` (the process that filled the cache) called directly,
    ``stats``' process loaded from the cache, compiling none."""
    assert used(stats).keys() == used(compiled).keys() - INNER, who
    assert {"bill_loans", "settle_loans", "debt_by_cell"} <= used(stats).keys(), who
    for name, s in used(stats).items():
        assert s["misses"] == 0 and s["hits"] > 0, (who, name, s)


def test_a_read_only_package_caches_in_the_users_cache_folder(tmp_path):
    """numba checks that ``__pycache__`` next to the module is writable by creating a file
    there; a read-only install fails that check (as root, permissions do not stop the
    write, so the check is made to fail as a read-only folder makes it fail)."""
    code = '''
        from numba.core import caching

        def read_only(self):
            raise PermissionError(13, "Read-only file system", self.get_cache_path())

        caching.InTreeCacheLocator.ensure_cache_path = read_only
        print(json.dumps(probe(0)[1]))
    '''
    xdg = tmp_path / "xdg"
    stats = run_python(tmp_path, code, {"NUMBA_CACHE_DIR": None, "XDG_CACHE_HOME": str(xdg)})
    assert used(stats)
    for name, s in used(stats).items():
        assert s["cache"] == "FunctionCache", name
        assert s["path"].startswith(str(xdg / "numba")), (name, s["path"])
    assert list((xdg / "numba").rglob("*.nbi"))


def test_with_nowhere_to_cache_the_kernels_compile_and_the_model_runs(tmp_path):
    """No writable place at all (numba's every locator fails): ``cache=True`` would stop
    lendsim from importing; ``kernels.kernel`` compiles without a cache instead."""
    code = '''
        from numba.core import caching

        caching.CacheImpl._locator_classes = []  # before lendsim is imported
        pid, stats = probe(2)
        print(json.dumps(stats))
    '''
    stats = run_python(tmp_path, code, {"NUMBA_CACHE_DIR": None})
    assert used(stats)
    assert {s["cache"] for s in stats.values()} == {"NullCache"}


WORKERS = '''
    from concurrent.futures import ProcessPoolExecutor

    from lendsim.experiments.runner import _mp_context

    if __name__ == "__main__":
        parent = probe()[1]  # fills the cache
        with ProcessPoolExecutor(2, mp_context=_mp_context()) as pool:
            workers = [f.result() for f in [pool.submit(probe) for _ in range(4)]]
        print(json.dumps({"parent": parent, "workers": dict(workers)}))
'''


def test_sweep_worker_processes_load_the_kernels_from_the_cache(tmp_path):
    """The process pool of ``lendsim sweep --executor processes`` (its start method and
    preloaded modules): once one process has compiled, workers load every kernel."""
    cache = tmp_path / "cache"
    out = run_python(tmp_path, WORKERS, {"NUMBA_CACHE_DIR": str(cache)})
    for name, s in used(out["parent"]).items():  # an empty cache: compiled, and saved there
        assert s["misses"] > 0 and s["path"].startswith(str(cache)), (name, s)
    assert list(cache.rglob("*.nbi"))
    assert out["workers"]
    for pid, stats in out["workers"].items():
        assert_all_loaded(stats, out["parent"], pid)


DASK = '''
    import logging

    import dask
    from distributed import Client, LocalCluster

    from lendsim.experiments.runner import _mp_context

    if __name__ == "__main__":
        parent = probe()[1]  # fills the cache
        # the local cluster as lendsim's Dask executor starts it
        method = _mp_context().get_start_method()
        with dask.config.set({"distributed.worker.multiprocessing-method": method}):
            with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                              host="127.0.0.1", dashboard_address=None,
                              silence_logs=logging.ERROR) as cluster, Client(cluster) as c:
                workers = c.run(probe)
        print(json.dumps({"parent": parent, "workers": {a: s for a, (_, s) in
                                                        workers.items()}}))
'''


@pytest.mark.slow
def test_dask_workers_load_the_kernels_from_the_cache(tmp_path):
    pytest.importorskip("distributed", reason="the 'dask' extra")
    out = run_python(tmp_path, DASK, {"NUMBA_CACHE_DIR": str(tmp_path / "cache")})
    assert any(s["misses"] for s in out["parent"].values())
    assert len(out["workers"]) == 2
    for addr, stats in out["workers"].items():
        assert_all_loaded(stats, out["parent"], addr)
