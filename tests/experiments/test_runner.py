"""Executors give identical tables; failures are recorded; interrupted sweeps resume to the
same tables (issue 4, items 3, 4 and 9)."""

import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

import lendsim.experiments.runner as runner
import lendsim.results.folders as folders
from lendsim.errors import LendsimError
from lendsim.experiments import load_experiment, run_experiment
from lendsim.results import load

from experiment_helpers import GRID, assert_same_results, write_experiment


@pytest.fixture
def grid_exp(tmp_path):
    return load_experiment(write_experiment(tmp_path, GRID))


def test_serial_run_writes_every_run_and_the_runs_table(grid_exp, tmp_path):
    out = tmp_path / "serial"
    summary = run_experiment(grid_exp, out, executor="serial")
    assert summary.is_complete and summary.n_ran == 8
    runs = pd.read_parquet(out / "runs.parquet")
    assert list(runs["run_id"]) == [r.run_id for r in grid_exp.runs()]
    assert set(runs["status"]) == {"done"}
    assert list(runs.columns[:6]) == ["run_id", "arm", "replication", "seed",
                                      "regulator.apr_cap", "regulator.data_sharing"]
    res = load(out)
    # the parameters joined on each row are the ones the run used (its own manifest)
    for run_id, grp in res.model.groupby("run_id"):
        manifest = json.loads((out / "runs" / run_id / "manifest.json").read_text())
        assert grp["regulator.apr_cap"].unique().tolist() == \
            [manifest["parameters"]["regulator"]["apr_cap"]]
        assert grp["seed"].unique().tolist() == [manifest["parameters"]["simulation"]["seed"]]
        assert grp["step"].tolist() == [1, 2, 3]
    assert len(res.platforms) and len(res.banks)
    # the same run outside the runner gives the same model table
    spec = grid_exp.runs()[5]
    tables, _ = runner.simulate(spec.scenario)
    direct = tables["model"]
    mine = res.model[res.model["run_id"] == spec.run_id].drop(
        columns=["run_id", "arm", "replication", "seed", "regulator.apr_cap",
                 "regulator.data_sharing"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(mine, direct)
    # a second call resumes: nothing left to run
    again = run_experiment(grid_exp, out, executor="serial")
    assert again.n_ran == 0 and again.n_skipped == 8


def test_processes_give_the_same_tables_as_serial(grid_exp, tmp_path):
    run_experiment(grid_exp, tmp_path / "serial", executor="serial")
    summary = run_experiment(grid_exp, tmp_path / "proc", executor="processes", workers=2,
                             tasks_per_child=1)  # recycles the pool after every 2 runs
    assert summary.is_complete
    assert_same_results(tmp_path / "serial", tmp_path / "proc")
    workers = set(pd.read_parquet(tmp_path / "proc" / "runs.parquet")["worker"])
    assert len(workers) >= 4  # 8 runs, 2 workers, renewed every 2 runs


@pytest.mark.slow
def test_dask_local_cluster_gives_the_same_tables_as_serial(grid_exp, tmp_path):
    pytest.importorskip("distributed", reason="the 'dask' extra")
    run_experiment(grid_exp, tmp_path / "serial", executor="serial")
    summary = run_experiment(grid_exp, tmp_path / "dask1", executor="dask", workers=1)
    assert summary.is_complete
    assert_same_results(tmp_path / "serial", tmp_path / "dask1")
    summary = run_experiment(grid_exp, tmp_path / "dask2", executor="dask", workers=2)
    assert summary.is_complete
    assert_same_results(tmp_path / "serial", tmp_path / "dask2")


def test_dask_with_an_existing_client_on_127_0_0_1(grid_exp, tmp_path):
    distributed = pytest.importorskip("distributed", reason="the 'dask' extra")
    Client, LocalCluster = distributed.Client, distributed.LocalCluster

    run_experiment(grid_exp, tmp_path / "serial", executor="serial")
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster, Client(cluster) as client:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        summary = run_experiment(grid_exp, tmp_path / "dask", executor="dask",
                                 client=client)
    assert summary.is_complete
    assert_same_results(tmp_path / "serial", tmp_path / "dask")


def test_a_run_that_raises_is_recorded_and_the_rest_go_on(grid_exp, tmp_path, monkeypatch):
    """Failure injection: the documented test hook is monkeypatching runner.simulate."""
    real = runner.simulate

    def flaky(scenario):
        if scenario.regulator.apr_cap == 0.24 and scenario.regulator.data_sharing == 1.0:
            raise RuntimeError("injected failure")
        return real(scenario)

    monkeypatch.setattr(runner, "simulate", flaky)
    out = tmp_path / "out"
    summary = run_experiment(grid_exp, out, executor="serial")
    assert (summary.n_done, summary.n_failed) == (6, 2)
    assert summary.failed == ["a003-r00", "a003-r01"]
    runs = pd.read_parquet(out / "runs.parquet").set_index("run_id")
    assert runs.loc["a003-r00", "status"] == "failed"
    assert "RuntimeError: injected failure" in runs.loc["a003-r00", "error"]
    assert "flaky" in runs.loc["a003-r00", "error"]  # the traceback, not just the message
    assert not (out / "runs" / "a003-r00").exists()
    # without --retry-failed the failed runs stay failed
    monkeypatch.setattr(runner, "simulate", real)
    assert run_experiment(grid_exp, out, executor="serial").n_ran == 0
    fixed = run_experiment(grid_exp, out, executor="serial", retry_failed=True)
    assert fixed.n_ran == 2 and fixed.is_complete
    assert not list((out / "failures").iterdir())
    run_experiment(grid_exp, tmp_path / "clean", executor="serial")
    assert_same_results(tmp_path / "clean", out)


def test_interrupted_sweep_resumes_to_the_same_tables(grid_exp, tmp_path):
    out = tmp_path / "out"

    def stop_after_three(rec, counts):
        if counts["done"] == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_experiment(grid_exp, out, executor="serial", on_result=stop_after_three)
    runs = pd.read_parquet(out / "runs.parquet")
    assert (runs["status"] == "done").sum() == 3  # the table says what finished
    summary = run_experiment(grid_exp, out, executor="serial")
    assert (summary.n_skipped, summary.n_ran) == (3, 5)
    run_experiment(grid_exp, tmp_path / "clean", executor="serial")
    assert_same_results(tmp_path / "clean", out)


def test_folder_of_another_experiment_is_refused(grid_exp, tmp_path):
    out = tmp_path / "out"
    run_experiment(grid_exp, out, executor="serial")
    other = load_experiment(grid_exp.path, ["borrowers.n=250"])
    with pytest.raises(LendsimError, match="holds a different experiment"):
        run_experiment(other, out, executor="serial")
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "x.txt").write_text("x")
    with pytest.raises(LendsimError, match="not a lendsim experiment folder"):
        run_experiment(grid_exp, tmp_path / "junk", executor="serial")


def test_a_second_sweep_on_the_same_folder_is_refused_while_one_runs(grid_exp, tmp_path):
    out = tmp_path / "out"
    runner.prepare_folder(grid_exp, out)
    lock = folders.lock_folder(out)
    try:
        assert folders.is_locked(out)
        with pytest.raises(LendsimError, match="another lendsim sweep"):
            run_experiment(grid_exp, out, executor="serial")
    finally:
        lock.close()
    assert not folders.is_locked(out)


def _kill_and_resume(tmp_path, executor: str, n_before_kill: int):
    path = write_experiment(tmp_path, GRID.replace("replications = 2", "replications = 3"))
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "lendsim", "sweep", str(path), "--out", str(out),
           "--executor", executor, "--workers", "2", "--quiet"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            done = list((out / "runs").glob("a*/manifest.json")) if out.exists() else []
            if len(done) >= n_before_kill:
                break
            time.sleep(0.05)
        assert proc.poll() is None, "the sweep finished before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)  # the sweep's parent process only, like kill -9
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
    # orphaned workers of the killed parent may still finish the run they hold: let them
    time.sleep(1.0)
    n_done = len(list((out / "runs").glob("a*/manifest.json")))
    assert n_before_kill <= n_done < 12
    exp = load_experiment(path)
    summary = run_experiment(exp, out, executor="serial")
    assert summary.is_complete and summary.n_skipped >= n_before_kill
    run_experiment(exp, tmp_path / "clean", executor="serial")
    assert_same_results(tmp_path / "clean", out)
    try:  # tidy up any orphan still alive in the killed sweep's session
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def test_kill_9_serial_sweep_then_resume_gives_the_same_tables(tmp_path):
    _kill_and_resume(tmp_path, "serial", 3)


@pytest.mark.slow
def test_kill_9_process_pool_sweep_then_resume_gives_the_same_tables(tmp_path):
    _kill_and_resume(tmp_path, "processes", 4)


def _worker_watching(pid: int) -> subprocess.Popen:
    """A stand-in for a pool worker: ``watch_parent(pid)``, then an idle minute."""
    code = ("import time; from lendsim.experiments.runner import watch_parent; "
            f"watch_parent({pid}, 0.05); time.sleep(60)")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.Popen([sys.executable, "-c", code], env=env)


def _stop(*procs: subprocess.Popen) -> None:
    """Kill and collect whichever of ``procs`` still run (a failed test's leftovers)."""
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_a_worker_ends_when_its_sweep_has_ended_even_before_the_sweep_is_collected():
    """The sweep exits but its parent has not waited for it yet (a zombie), as when a caller
    reads the sweep's output to the end before waiting: the workers share that output, so a
    worker that took the zombie for a live sweep would hold it open forever."""
    sweep = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(1.5)"])
    worker = _worker_watching(sweep.pid)
    try:
        assert worker.wait(timeout=30) == 1  # it ended itself, not the minute's sleep
        assert sweep.poll() is not None  # collected only now
    finally:
        _stop(worker, sweep)


def test_a_worker_keeps_running_while_its_sweep_runs():
    sweep = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    worker = _worker_watching(sweep.pid)
    try:
        with pytest.raises(subprocess.TimeoutExpired):
            worker.wait(timeout=3)
        sweep.kill()  # and once it is gone, the worker goes too
        assert worker.wait(timeout=30) == 1
    finally:
        _stop(worker, sweep)


def test_process_gone_reads_a_zombie_as_gone():
    if not os.path.exists("/proc/self/stat"):
        pytest.skip("no /proc: a zombie cannot be told from a live process here")
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    assert not runner.process_gone(os.getpid())
    deadline = time.monotonic() + 30
    while not runner.process_gone(child.pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert runner.process_gone(child.pid)
    assert child.poll() == 0  # it was a zombie until now, not a reaped pid
    assert runner.process_gone(child.pid)
