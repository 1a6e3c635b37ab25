"""The ``lendsim`` command on bad input: one line naming the field and value, exit status 2,
no traceback, nothing written. Run as a real subprocess (``python -m lendsim``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from lendsim.simulation.params import Scenario


def lendsim(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lendsim", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def check_one_line_error(proc: subprocess.CompletedProcess, out: Path) -> str:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("lendsim: error: ")
    assert not out.exists()
    return lines[0]


@pytest.fixture(scope="module")
def unknown_key_run(tmp_path_factory):
    """One run with a misspelt key, shared by two tests (each start of lendsim takes seconds)."""
    tmp = tmp_path_factory.mktemp("unknown_key")
    out = tmp / "x"
    proc = lendsim("run", "--set", "regulator.apr_capp=0.2", "--out", str(out), cwd=tmp)
    return proc, out


def test_unknown_key(unknown_key_run):
    line = check_one_line_error(*unknown_key_run)
    assert "regulator.apr_capp" in line
    assert "'regulator.apr_cap'" in line  # the suggestion


def test_unknown_key_message_also_names_the_value(unknown_key_run):
    """errors.py and cli.py promise a line naming the field *and the value*."""
    line = check_one_line_error(*unknown_key_run)
    assert "0.2" in line


def test_out_of_range_override(tmp_path):
    out = tmp_path / "x"
    proc = lendsim("run", "--set", "borrowers.n=-1", "--out", str(out), cwd=tmp_path)
    line = check_one_line_error(proc, out)
    assert "borrowers.n = -1" in line
    assert "must be" in line


@pytest.mark.parametrize("body,field,value", [
    ('[borrowers]\nn = "many"\n', "borrowers.n", "'many'"),
    ("[regulator]\ndata_sharing = 1.5\n", "regulator.data_sharing", "1.5"),
    ('[network.social]\nkind = "small_world"\n', "network.social.kind", "'small_world'"),
    ("[borrowers]\napplication_hassle = -5\n", "borrowers.application_hassle", "-5"),
    ("[borrowers]\napplication_hassle = inf\n", "borrowers.application_hassle", "inf"),
    ('[borrowers]\noutside_apr_cash = "high"\n', "borrowers.outside_apr_cash", "'high'"),
    ("[borrowers]\noutside_apr_repay = -0.1\n", "borrowers.outside_apr_repay", "-0.1"),
])
def test_bad_value_in_scenario_file(tmp_path, body, field, value):
    scenario = tmp_path / "bad.toml"
    scenario.write_text('[meta]\nextends = "baseline.toml"\n' + body, encoding="utf-8")
    out = tmp_path / "x"
    proc = lendsim("run", str(scenario), "--out", str(out), cwd=tmp_path)
    line = check_one_line_error(proc, out)
    assert f"{field} = {value}" in line
    assert "bad.toml" in line and "must be" in line


def test_bad_set_item(tmp_path):
    out = tmp_path / "x"
    proc = lendsim("run", "--set", "borrowers.n", "--out", str(out), cwd=tmp_path)
    line = check_one_line_error(proc, out)
    assert "borrowers.n" in line and "key=value" in line


def test_missing_scenario_file(tmp_path):
    out = tmp_path / "x"
    proc = lendsim("run", str(tmp_path / "nope.toml"), "--out", str(out), cwd=tmp_path)
    line = check_one_line_error(proc, out)
    assert "nope.toml" in line


def test_params_lists_every_parameter(tmp_path):
    proc = lendsim("params", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    listed = {line.split()[0] for line in proc.stdout.splitlines() if line.strip()}
    assert "regulator.apr_cap" in listed
    assert set(Scenario().flat()) <= listed


def test_params_markdown(tmp_path):
    proc = lendsim("params", "--markdown", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "| `regulator.apr_cap` |" in proc.stdout
