"""`lendsim run` end to end, and `lendsim.run(out=...)` writing a complete run folder."""

import json
import subprocess
import sys

import pandas as pd

import lendsim
from lendsim.results.store import load_run
from lendsim.simulation.params import Scenario
from lendsim.simulation.scenario import load_scenario


def test_cli_run_writes_a_run_folder(tmp_path):
    out = tmp_path / "run1"
    proc = subprocess.run(
        [sys.executable, "-m", "lendsim", "run", "--steps", "3", "--set", "borrowers.n=300",
         "--set", "regulator.apr_cap=0.24", "--out", str(out), "--quiet"],
        capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert f"results: {out}" in proc.stdout
    assert "credit_outstanding" in proc.stdout  # the summary table
    for name in ("model.parquet", "platforms.parquet", "banks.parquet", "events.parquet",
                 "manifest.json", "credit.png"):
        assert (out / name).is_file(), name
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["steps"] == 3 and manifest["parameters"]["regulator"]["apr_cap"] == 0.24
    assert manifest["versions"]["mesa"]


def test_api_run_round_trips_through_the_store(tmp_path):
    res = lendsim.run(overrides={"borrowers.n": 300}, steps=4, out=tmp_path / "r",
                      charts=False)
    back = load_run(res.path)
    pd.testing.assert_frame_equal(back.model, res.model)
    pd.testing.assert_frame_equal(back.platforms, res.platforms)
    # the manifest holds the resolved parameters: rebuilding them gives the same scenario
    scen = Scenario.from_dict(back.manifest["parameters"])
    expected = load_scenario(None, {"borrowers.n": 300, "simulation.steps": 4})
    assert scen.flat() == expected.flat()


def test_api_run_without_out_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = lendsim.run(overrides={"borrowers.n": 200}, steps=2)
    assert res.path is None and list(tmp_path.iterdir()) == []
