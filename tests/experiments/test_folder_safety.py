"""Experiment folders under concurrency and damage (issue 22, defects 2, 3, 5, 6 and 9): the
lock is taken before anything is read or written, damaged runs are found, rerun and skipped,
and a killed sweep leaves no process behind."""

import json
import os
import signal
import subprocess
import sys
import time
import warnings

import pandas as pd
import pytest

from lendsim.errors import DamagedRunWarning, LendsimError, ScenarioError
from lendsim.experiments import load_experiment, run_experiment
from lendsim.results import load
from lendsim.results.folders import (EXPERIMENT_FILE, MANIFEST_FILE, RUNS_DIR, folder_status,
                                     lock_folder)

from experiment_helpers import GRID, WALL_CLOCK, write_experiment

SMALL = """
[run]
steps = 3
replications = 2
root_seed = 7
[sweep]
"regulator.apr_cap" = [0.36, 0.24]
[outputs]
tables = ["platforms"]
"""


@pytest.fixture
def small_exp(tmp_path):
    return load_experiment(write_experiment(tmp_path, SMALL))


@pytest.fixture
def finished(small_exp, tmp_path):
    """A finished sweep folder and an untouched copy to compare against."""
    out, ref = tmp_path / "out", tmp_path / "ref"
    run_experiment(small_exp, out, executor="serial")
    run_experiment(small_exp, ref, executor="serial")
    return small_exp, out, ref


def _same_tables(a, b):
    ra, rb = load(a), load(b)
    for name, df in ra.tables().items():
        drop = [c for c in WALL_CLOCK if c in df.columns]
        pd.testing.assert_frame_equal(df.drop(columns=drop), rb.tables()[name].drop(columns=drop))


# -- defect 2: steps and seed cannot be factors ----------------------------------------------------
@pytest.mark.parametrize("key, values", [("simulation.steps", "[3, 4]"),
                                         ("simulation.seed", "[1, 2]"),
                                         ("simulation.steps", "5")])
def test_sweeping_steps_or_seed_is_refused(tmp_path, key, values):
    """They used to be accepted and silently replaced by [run]'s values in every run."""
    path = write_experiment(tmp_path, f'[run]\nsteps = 3\n[sweep]\n"{key}" = {values}\n')
    with pytest.raises(ScenarioError, match=r"comes from \[run\]"):
        load_experiment(path)


def test_sampling_steps_is_refused(tmp_path):
    path = write_experiment(tmp_path, '[sample]\nkind = "latin"\nn = 4\n'
                            '"simulation.steps" = [3, 9]\n"regulator.apr_cap" = [0.2, 0.3]\n')
    with pytest.raises(ScenarioError, match=r"simulation.steps .*comes from \[run\]"):
        load_experiment(path)


# -- defect 3: the lock comes first -----------------------------------------------------------------
def test_a_sweep_writes_nothing_into_a_folder_another_sweep_holds(small_exp, tmp_path):
    """Sweep A has made the new folder and holds its lock but not yet written experiment.json;
    sweep B of a different experiment must stop at the lock, before writing its own
    experiment.json (which used to happen first, so the folder could describe B while A's
    runs filled it)."""
    out = tmp_path / "new"
    out.mkdir()
    lock = lock_folder(out)
    try:
        with pytest.raises(LendsimError, match="another lendsim sweep"):
            run_experiment(small_exp, out, executor="serial")
        assert not (out / EXPERIMENT_FILE).exists()
        assert not (out / RUNS_DIR).exists()
    finally:
        lock.close()


# -- defect 5: the size of a design is known before it is built --------------------------------------
@pytest.mark.parametrize("n_values, n_factors", [(1000, 2), (100, 5)])
def test_a_huge_grid_is_refused_before_it_is_built(tmp_path, n_values, n_factors):
    """10^6 arms used to be validated one by one for minutes; 10^10 exhausted memory."""
    keys = ["regulator.data_sharing", "regulator.joint_lending_min_share",
            "regulator.bank_joint_loan_limit", "regulator.provision_rate",
            "regulator.delinquency_alert"][:n_factors]
    lines = "".join(f'"{k}" = [{", ".join(str(i / n_values) for i in range(n_values))}]\n'
                    for k in keys)
    path = write_experiment(tmp_path, "[run]\nsteps = 3\n[sweep]\n" + lines)
    with pytest.raises(ScenarioError, match=r"runs: must be <= 100,000"):
        load_experiment(path)


def test_a_huge_sample_is_refused(tmp_path):
    path = write_experiment(tmp_path, '[sample]\nkind = "sobol"\nn = 65536\n'
                            '"regulator.apr_cap" = [0.2, 0.3]\n"regulator.data_sharing" = [0, 1]\n')
    with pytest.raises(ScenarioError, match=r"262,144 arms"):
        load_experiment(path)


# -- defect 6: damaged folders recover ---------------------------------------------------------------
def _run_dir(out, exp, arm=0, rep=0):
    return out / RUNS_DIR / exp.run_id(arm, rep)


def test_a_run_without_its_manifest_is_found_and_rerun(finished):
    exp, out, ref = finished
    (_run_dir(out, exp) / MANIFEST_FILE).unlink()
    st = folder_status(out)
    assert (st["done"], st["damaged"]) == (3, 1)
    summary = run_experiment(exp, out, executor="serial")
    assert summary.is_complete and summary.n_ran == 1
    _same_tables(out, ref)


@pytest.mark.parametrize("damage", ["manifest", "parquet", "failure"])
def test_unreadable_files_are_found_rerun_and_skipped(finished, damage):
    exp, out, ref = finished
    run_dir = _run_dir(out, exp, 1, 1)
    if damage == "manifest":
        (run_dir / MANIFEST_FILE).write_text("{not json")
    elif damage == "parquet":
        (run_dir / "model.parquet").write_bytes(b"PAR1 garbage")
    else:  # an unreadable failure record of a run whose folder is gone
        import shutil

        shutil.rmtree(run_dir)
        (out / "failures" / f"{exp.run_id(1, 1)}.json").write_text("\x00\x01")
    st = folder_status(out)  # no JSONDecodeError
    assert st["done"] == 3
    if damage != "failure":
        assert st["damaged"] == 1
        assert "damaged run folder" in st["runs"].set_index("run_id").loc[exp.run_id(1, 1),
                                                                           "error"]
        with pytest.warns(DamagedRunWarning, match=exp.run_id(1, 1)):
            res = load(out)
        assert exp.run_id(1, 1) not in set(res.model["run_id"])
    else:
        assert st["pending"] == 1
    summary = run_experiment(exp, out, executor="serial")
    assert summary.is_complete and summary.n_ran == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error", DamagedRunWarning)
        _same_tables(out, ref)


def test_a_corrupt_experiment_json_is_one_clear_error(finished):
    exp, out, _ = finished
    (out / EXPERIMENT_FILE).write_text('{"name": ')
    with pytest.raises(LendsimError, match="experiment.json: damaged"):
        folder_status(out)
    with pytest.raises(LendsimError, match="experiment.json: damaged"):
        run_experiment(exp, out, executor="serial")


def test_status_and_report_commands_name_a_damaged_run(finished, tmp_path):
    exp, out, _ = finished
    (_run_dir(out, exp) / "model.parquet").write_bytes(b"x")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    st = subprocess.run([sys.executable, "-m", "lendsim", "status", str(out)],
                        capture_output=True, text=True, env=env, timeout=120)
    assert st.returncode == 0, st.stderr
    assert f"damaged {exp.run_id(0, 0)}" in st.stdout
    rp = subprocess.run([sys.executable, "-m", "lendsim", "report", str(out), "--out",
                         str(tmp_path / "r.html")], capture_output=True, text=True, env=env,
                        timeout=300)
    assert rp.returncode == 0, rp.stderr
    warn = [line for line in rp.stderr.splitlines() if "damaged" in line]
    assert len(warn) == 1 and warn[0].startswith("lendsim: warning: ")
    assert "Traceback" not in rp.stderr


# -- defect 9: no orphans ---------------------------------------------------------------------------
@pytest.mark.parametrize("executor, n_children", [
    ("processes", 4),  # forkserver, resource tracker, 2 workers
    pytest.param("dask", 4, marks=pytest.mark.slow),  # the local cluster: 2 nannies, 2 workers
])
def test_killing_the_sweep_leaves_no_process_behind(tmp_path, executor, n_children):
    """kill -9 of the sweep used to leave the forkserver, the workers and the resource tracker
    running for ever; a local Dask cluster's nannies and workers must go too."""
    psutil = pytest.importorskip("psutil")
    if executor == "dask":
        pytest.importorskip("distributed")
    path = write_experiment(tmp_path, "[run]\nsteps = 120\nreplications = 6\n",
                            params='[params]\n"borrowers.n" = 20000\n')
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen([sys.executable, "-m", "lendsim", "sweep", str(path), "--out",
                             str(tmp_path / "out"), "--executor", executor, "--workers", "2",
                             "--quiet"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    parent = psutil.Process(proc.pid)
    deadline = time.monotonic() + 120
    children = []
    while time.monotonic() < deadline:  # until the workers run
        children = parent.children(recursive=True)
        if len(children) >= n_children:
            break
        time.sleep(0.2)
    assert len(children) >= n_children, children
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    gone, alive = psutil.wait_procs(children, timeout=30)
    for p in alive:  # do not leave them running whatever happens
        p.kill()
    assert alive == []
