"""Bad input: one line naming the field, before any work and before anything is written
(issue 22, defects 4, 7, 8 and 10, and the percentage and horizon checks)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lendsim.cli import main
from lendsim.errors import ScenarioError
from lendsim.experiments import load_experiment
from lendsim.simulation.scenario import load_scenario

TINY = '"borrowers.n" = 200\n"platforms.n" = 3\n"banks.n" = 3\n'


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def scenario(tmp_path: Path, body: str = "", name: str = "s.toml", params: str = TINY) -> Path:
    return write(tmp_path / name, '[meta]\nextends = "baseline.toml"\n' + body
                 + ("\n[params]\n" + params if params else ""))


def one_line(capsys, argv: list[str], out: Path | None = None) -> str:
    """Run the command in-process: exit 2, one line on stderr, nothing written to ``out``."""
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("lendsim: error: ")
    if out is not None:
        assert not out.exists()
    return err[0]


# -- defect 7: files that are not scenario files -----------------------------------------------------
@pytest.mark.parametrize("what", ["directory", "binary", "deep", "dev_zero"])
def test_a_file_that_is_no_scenario_is_one_line(tmp_path, capsys, what):
    target = {"directory": lambda: tmp_path,
              "binary": lambda: write(tmp_path / "b.toml", b"\xff\xfe\x00name = 1\n"),
              "deep": lambda: write(tmp_path / "d.toml",
                                    "a = " + "[" * 5000 + "]" * 5000 + "\n"),
              "dev_zero": lambda: Path("/dev/zero")}[what]()
    if what == "dev_zero" and not target.exists():
        pytest.skip("no /dev/zero here")
    out = tmp_path / "out"
    line = one_line(capsys, ["run", str(target), "--out", str(out), "--quiet"], out)
    assert str(target) in line
    one_line(capsys, ["sweep", str(target), "--out", str(out), "--quiet"], out)


def test_an_out_folder_that_cannot_be_made_is_refused_before_the_run(tmp_path, capsys):
    """--out /sys/x used to fail after the whole run."""
    blocker = write(tmp_path / "file", "x")  # a file where a folder would have to be
    out = blocker / "run"
    path = scenario(tmp_path)
    line = one_line(capsys, ["run", str(path), "--out", str(out), "--quiet"])
    assert "--out" in line and "cannot create" in line
    exp = scenario(tmp_path, "[run]\nsteps = 2\n", name="e.toml")
    one_line(capsys, ["sweep", str(exp), "--out", str(out), "--quiet"])


def test_a_nan_trigger_threshold_is_refused(tmp_path, capsys):
    path = scenario(tmp_path, '[[trigger]]\nindicator = "delinquency_90"\nabove = nan\n'
                    'action = "set"\nkey = "regulator.max_lenders"\nvalue = 2\n')
    line = one_line(capsys, ["run", str(path), "--steps", "2", "--out", str(tmp_path / "o")])
    assert "trigger[0]" in line and "above = nan" in line and "finite" in line


@pytest.mark.parametrize("content", [None, "# ties\nalpha beta\n", b"\xff\xfe0 1\n"])
def test_a_bad_edge_list_is_one_line_before_anything_is_written(tmp_path, capsys, content):
    if content is not None:
        write(tmp_path / "ties.txt", content)
    body = '[network.social]\nkind = "edge_list"\nedge_list = "ties.txt"\n'
    out = tmp_path / "out"
    line = one_line(capsys, ["run", str(scenario(tmp_path, body)), "--out", str(out)], out)
    assert "network.social.edge_list" in line
    assert "alpha" not in line  # never the file's contents
    exp = scenario(tmp_path, body + '[run]\nsteps = 2\n[sweep]\n"regulator.apr_cap" = [0.3, 0.2]\n',
                   name="e.toml")
    one_line(capsys, ["sweep", str(exp), "--out", str(out), "--quiet"], out)


def test_an_unreachable_scheduler_is_one_line_and_writes_nothing(tmp_path, capsys):
    exp = scenario(tmp_path, "[run]\nsteps = 2\n", name="e.toml")
    out = tmp_path / "out"
    line = one_line(capsys, ["sweep", str(exp), "--executor", "dask", "--scheduler",
                             "tcp://127.0.0.1:9", "--out", str(out), "--quiet"], out)
    assert "--scheduler tcp://127.0.0.1:9" in line


def _until(proc: subprocess.Popen, text: str) -> None:
    for line in proc.stderr:
        if text in line:
            return
    raise AssertionError(f"{text!r} never printed")


@pytest.mark.parametrize("command, executor", [("run", None), ("sweep", "serial"),
                                               ("sweep", "processes")])
def test_ctrl_c_is_one_line(tmp_path, command, executor):
    """SIGINT to lendsim (Ctrl-C, or kill -INT of the sweep alone): one line, exit status 130,
    and the workers stopped at once, not left to finish their runs first."""
    psutil = pytest.importorskip("psutil")
    path = scenario(tmp_path, "[run]\nsteps = 120\nreplications = 4\n" if command == "sweep"
                    else "", params='"borrowers.n" = 20000\n')
    args = ["--steps", "120"] if command == "run" else ["--executor", executor, "--workers", "2"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    # not --quiet: the header says the handler runs (--quiet prints nothing until the end)
    proc = subprocess.Popen([sys.executable, "-m", "lendsim", command, str(path), *args,
                             "--out", str(tmp_path / "out")], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True,
                            # as from a terminal: a shell that started pytest in the
                            # background leaves SIGINT ignored, and children inherit that
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        _until(proc, "lendsim:")  # the handler runs
        if executor == "processes":  # until the workers run
            parent, deadline = psutil.Process(proc.pid), time.monotonic() + 120
            while len(parent.children(recursive=True)) < 4 and time.monotonic() < deadline:
                time.sleep(0.2)
        children = psutil.Process(proc.pid).children(recursive=True)
        start = time.monotonic()
        os.kill(proc.pid, signal.SIGINT)
        err = proc.stderr.read()  # until lendsim and every worker (they share stderr) end
        proc.wait(timeout=60)
        seconds = time.monotonic() - start
        _, alive = psutil.wait_procs(children, timeout=10)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    # the progress bar's lines aside, one line
    assert [ln for ln in err.splitlines() if ln.startswith("lendsim:")] == ["lendsim: interrupted"]
    assert err.strip().splitlines()[-1] == "lendsim: interrupted"
    assert alive == []
    assert seconds < 15  # not the minute or more the workers' current runs would take


# -- defect 4: names are not paths -----------------------------------------------------------------
@pytest.mark.parametrize("name", ["../../escaped", "/tmp/abs", "a/b", ".."])
def test_a_name_that_is_a_path_is_refused(tmp_path, capsys, monkeypatch, name):
    monkeypatch.chdir(tmp_path)
    body = f'[meta]\nname = "{name}"\nextends = "baseline.toml"\n[params]\n{TINY}'
    path = write(tmp_path / "work" / "s.toml", body)
    line = one_line(capsys, ["run", str(path), "--steps", "2"])
    assert "meta.name" in line
    exp = write(tmp_path / "work" / "e.toml", body + "[run]\nsteps = 2\n")
    one_line(capsys, ["sweep", str(exp), "--quiet"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["work"]  # no results/, nothing else
    assert not Path("/tmp/abs").exists() or name != "/tmp/abs"


# -- defect 8: checked before the run --------------------------------------------------------------
@pytest.mark.parametrize("sets, match", [
    (["network.interbank.kind=core_periphery", "network.interbank.n_core=9", "banks.n=5"],
     "network.interbank.n_core = 9"),
    (["shocks.platform_failure_step=2", "shocks.platform_failure_type=p2p",
      "platforms.p2p.weight=0"], "shocks.platform_failure_type = 'p2p'"),
    (["regulator.apr_cap=inf"], "regulator.apr_cap = inf"),
    (["shocks.bank_loss_step=500"], r"shocks.bank_loss_step = 500 .*simulation.steps \(12\)"),
    (["macro.shock_start=13"], r"macro.shock_start = 13 .*simulation.steps \(12\)"),
])
def test_values_the_model_would_ignore_are_refused(tmp_path, capsys, sets, match):
    out = tmp_path / "o"
    argv = ["run", "--steps", "12", "--out", str(out)]
    for s in sets:
        argv += ["--set", s]
    import re

    assert re.search(match, one_line(capsys, argv, out))


def test_a_policy_after_the_last_month_names_the_month_and_the_run_length(tmp_path, capsys):
    path = scenario(tmp_path, '[[policy]]\nkey = "regulator.apr_cap"\nvalue = 0.24\nstep = 500\n')
    line = one_line(capsys, ["run", str(path), "--steps", "12", "--out", str(tmp_path / "o")])
    assert "policy[0].step = 500" in line and "simulation.steps = 12" in line
    trig = scenario(tmp_path, '[[trigger]]\nindicator = "delinquency_90"\nabove = 0.03\n'
                    'action = "set"\nkey = "regulator.max_lenders"\nvalue = 2\nafter = 13\n',
                    name="t.toml")
    line = one_line(capsys, ["run", str(trig), "--steps", "12", "--out", str(tmp_path / "o")])
    assert "trigger[0].after = 13" in line


def test_a_policy_beyond_an_experiments_run_steps_is_refused(tmp_path):
    path = scenario(tmp_path, '[[policy]]\nkey = "regulator.apr_cap"\nvalue = 0.24\nstep = 25\n'
                    "[run]\nsteps = 12\n", name="e.toml")
    with pytest.raises(ScenarioError, match=r"policy\[0\].step = 25 .*simulation.steps = 12"):
        load_experiment(path)


@pytest.mark.parametrize("value, hint", [("24", "0.24"), ("36", "0.36")])
def test_a_rate_given_as_a_percentage_gets_a_hint(tmp_path, capsys, value, hint):
    line = one_line(capsys, ["run", "--set", f"regulator.apr_cap={value}", "--out",
                             str(tmp_path / "o")])
    assert f"did you mean {hint}?" in line
    line = one_line(capsys, ["run", "--set", "regulator.data_sharing=30", "--out",
                             str(tmp_path / "o")])
    assert "did you mean 0.3?" in line


def test_recycle_every_zero_is_refused_not_replaced(tmp_path, capsys):
    exp = scenario(tmp_path, "[run]\nsteps = 2\n", name="e.toml")
    out = tmp_path / "out"
    line = one_line(capsys, ["sweep", str(exp), "--recycle-every", "0", "--out", str(out)], out)
    assert "--recycle-every 0" in line


def test_compare_options_are_blamed_by_name(tmp_path, capsys):
    base = scenario(tmp_path, name="base.toml")
    pol = scenario(tmp_path, "[regulator]\napr_cap = 0.2\n", name="pol.toml")
    out = tmp_path / "cmp"
    line = one_line(capsys, ["compare", str(base), str(pol), "--replications", "0", "--out",
                             str(out)], out)
    assert line.startswith("lendsim: error: --replications 0")
    line = one_line(capsys, ["compare", str(base), str(pol), "--steps", "6", "--last", "100",
                             "--out", str(out)], out)
    assert "--last 100" in line and "6 months" in line


def test_an_outcome_that_is_not_a_model_column_is_refused_before_the_sweep(tmp_path):
    path = scenario(tmp_path, '[run]\nsteps = 2\n[outputs]\noutcomes = ["delinquency_3"]\n',
                    name="e.toml")
    with pytest.raises(ScenarioError, match="not a column of the model table; did you mean "
                                            "'delinquency_30'"):
        load_experiment(path)


def test_a_misspelt_experiment_table_gets_a_hint(tmp_path):
    path = scenario(tmp_path, '[swep]\n"regulator.apr_cap" = [0.3, 0.2]\n', name="e.toml")
    with pytest.raises(ScenarioError, match="did you mean 'sweep'"):
        load_experiment(path)


# -- defect 10: paths stay in the folder tree, contents are never echoed ------------------------------
def test_extends_cannot_leave_the_folder_unless_allowed(tmp_path, capsys):
    write(tmp_path / "common" / "parent.toml", '[meta]\nextends = "baseline.toml"\n'
          f"[params]\n{TINY}")
    child = write(tmp_path / "runs" / "child.toml", '[meta]\nextends = "../common/parent.toml"\n')
    with pytest.raises(ScenarioError, match="leaves the folder tree"):
        load_scenario(child)
    assert load_scenario(child, allow_outside=True).banks.n == 3
    line = one_line(capsys, ["run", str(child), "--steps", "2", "--out", str(tmp_path / "o")])
    assert "--allow-outside-paths" in line
    assert main(["run", str(child), "--steps", "2", "--out", str(tmp_path / "o"), "--quiet",
                 "--no-charts", "--allow-outside-paths"]) == 0


@pytest.mark.parametrize("where", ["relative", "absolute"])
def test_a_data_file_outside_the_folder_is_refused_without_reading_it(tmp_path, where):
    secret = write(tmp_path / "secret.txt", "root:x:0:0:secret-line\n")
    ref = "../secret.txt" if where == "relative" else str(secret)
    path = write(tmp_path / "work" / "s.toml", '[meta]\nextends = "baseline.toml"\n'
                 f'[network.social]\nkind = "edge_list"\nedge_list = "{ref}"\n')
    with pytest.raises(ScenarioError, match="network.social.edge_list .*leaves the folder tree"
                       ) as err:
        load_scenario(path)
    assert "secret-line" not in str(err.value)
    with pytest.raises(ScenarioError) as err:  # allowed: read, and still not echoed
        load_scenario(path, allow_outside=True)
    assert "line 1" in str(err.value) and "secret-line" not in str(err.value)


def test_interbank_file_errors_do_not_echo_the_file(tmp_path):
    write(tmp_path / "ib.csv", "lender,borrower,amount\nsecret-a,secret-b,secret-c\n")
    path = write(tmp_path / "s.toml", '[meta]\nextends = "baseline.toml"\n[params]\n' + TINY
                 + '"network.interbank.kind" = "file"\n"network.interbank.file" = "ib.csv"\n')
    with pytest.raises(ScenarioError, match="network.interbank.file") as err:
        load_scenario(path)
    assert "secret" not in str(err.value)


@pytest.mark.parametrize("damage", ["manifest.json", "model.parquet"])
def test_a_damaged_run_folder_is_one_line(tmp_path, capsys, damage):
    """A corrupt run folder used to end calibrate (and load_run) with a traceback."""
    from lendsim.results.store import DamagedRunError, load_run

    run = tmp_path / "run"
    assert main(["run", str(scenario(tmp_path)), "--steps", "3", "--out", str(run), "--quiet",
                 "--no-charts"]) == 0
    capsys.readouterr()
    (run / damage).write_text("{not what lendsim wrote")
    line = one_line(capsys, ["calibrate", str(run), "--window", "2"])
    assert "damaged run folder" in line and damage in line
    with pytest.raises(DamagedRunError, match=damage):
        load_run(run)
