"""``lendsim attribute``: the attribution table on the command line, and its bad input."""

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import lendsim
from lendsim.cli import main
from lendsim.experiments import channel_attribution

SMALL = {"borrowers.n": 300, "platforms.n": 3, "banks.n": 3, "simulation.steps": 8,
         "simulation.burn_in": 0, "macro.shock_start": 3, "macro.shock_income_loss": 0.5}


def test_attribute_prints_and_writes_the_table(tmp_path, capsys):
    sets = [a for k, v in SMALL.items() for a in ("--set", f"{k}={v}")]
    csv = tmp_path / "t.csv"
    assert main(["attribute", *sets, "--seeds", "3,4", "--channels", "debt_spiral,social",
                 "--csv", str(csv)]) == 0
    out = capsys.readouterr().out
    assert "| debt_spiral | paired runs | 2 |" in out and "| social | in-run | 2 |" in out
    want = channel_attribution(None, seeds=[3, 4], channels=["debt_spiral", "social"],
                               overrides=SMALL)
    pd.testing.assert_frame_equal(pd.read_csv(csv), want, check_dtype=False)


@pytest.mark.parametrize("args, field", [
    (["--channels", "interbank"], "channels: 'interbank'"),
    (["--seeds", "1,x"], "--seeds = '1,x'"),
    (["--set", "contagion.debt_spiral=false", "--channels", "debt_spiral"],
     "contagion.debt_spiral: false"),
])
def test_attribute_bad_input_is_one_line(tmp_path, args, field):
    # the subprocess imports the lendsim under test, wherever it was imported from
    env = {**os.environ, "PYTHONPATH": str(Path(lendsim.__file__).resolve().parents[1])}
    proc = subprocess.run([sys.executable, "-m", "lendsim", "attribute", *args], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lendsim: error: "), proc.stderr
    assert field in lines[0]
