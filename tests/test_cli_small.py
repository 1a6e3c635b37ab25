"""Small things of the command line (issue 21, items 8 and 9): --version, params with a
prefix, --quiet, plurals, the manifest's provenance, a run's report, CSV export."""

import json
import subprocess

import pandas as pd

import lendsim
from lendsim.cli import main

TINY = ["--set", "borrowers.n=200", "--set", "platforms.n=3", "--set", "banks.n=3",
        "--steps", "3", "--no-charts"]


def test_version(capsys):
    try:
        main(["--version"])
    except SystemExit as exc:
        assert exc.code == 0
    assert capsys.readouterr().out == f"lendsim {lendsim.__version__}\n"


def test_params_with_a_prefix_a_header_and_wrapped_lines(capsys):
    assert main(["params", "regulator.apr_cap"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["parameter", "default"]
    from lendsim.simulation.params import parameter_reference

    want = [r[0] for r in parameter_reference() if r[0].startswith("regulator.apr_cap")]
    keys = [ln.split()[0] for ln in lines if ln.startswith("regulator.")]
    assert keys == want and "regulator.apr_cap_mode" in keys
    assert lines[-1] == f"{len(want)} parameters starting with 'regulator.apr_cap'"
    assert main(["params"]) == 0
    assert max(len(ln) for ln in capsys.readouterr().out.splitlines()) <= 100
    assert main(["params", "regulatr"]) == 2
    assert "did you mean 'regulator'?" in capsys.readouterr().err


def test_params_spell_out_cal_where_a_description_uses_it(capsys):
    """"CAL:" in a description points to docs/calibration.md, which holds the figure's source;
    the note is printed only when a listed description uses the abbreviation."""
    note = '"CAL:" names the real-world figure behind a default; its source is in ' \
        "docs/calibration.md"
    assert main(["params", "regulator.max_loan"]) == 0
    out = capsys.readouterr().out
    assert "CAL:" in out and note in out.splitlines()
    assert main(["params", "simulation"]) == 0
    out = capsys.readouterr().out
    assert "CAL:" not in out


def test_quiet_is_quiet_and_the_manifest_says_what_ran(tmp_path, capsys):
    out = tmp_path / "r"
    assert main(["run", *TINY, "--quiet", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""  # no header, no progress bar
    assert "results:" in captured.out
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["command"] == "lendsim run " + " ".join(TINY) + f" --quiet --out {out}"
    # the tests run from a git checkout: the commit is recorded
    head = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                          cwd=lendsim.__file__.rsplit("/", 1)[0])
    if head.returncode == 0:
        assert manifest["git_commit"].startswith(head.stdout.strip())


def test_report_of_a_single_run_and_its_csv(tmp_path, capsys):
    out = tmp_path / "r"
    assert main(["run", *TINY[:-1], "--quiet", "--out", str(out)]) == 0
    assert main(["report", str(out), "--csv", str(tmp_path / "csv")]) == 0
    page = (out / "report.html").read_text()
    assert "lendsim run: baseline" in page and page.count("data:image/png;base64,") >= 3
    model = pd.read_csv(tmp_path / "csv" / "model.csv")
    assert len(model) == 3 and "credit_outstanding" in model


def test_a_sweeps_tables_as_csv_with_factors_and_plurals(tmp_path, capsys):
    path = tmp_path / "grid.toml"
    path.write_text('# q\n[meta]\nname = "grid"\nextends = "baseline.toml"\n'
                    '[params]\n"borrowers.n" = 150\n"platforms.n" = 3\n"banks.n" = 3\n'
                    '[run]\nsteps = 3\nreplications = 1\n'
                    '[sweep]\n"regulator.apr_cap" = [0.36, 0.24]\n'
                    '"regulator.data_sharing" = [0.0, 1.0]\n')
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--executor", "serial", "--out", str(out),
                 "--quiet"]) == 0
    assert capsys.readouterr().err == ""
    assert main(["status", str(out)]) == 0
    assert "(4 arms x 1 replication, 3 months)" in capsys.readouterr().out
    assert main(["report", str(out), "--csv", str(tmp_path / "csv")]) == 0
    model = pd.read_csv(tmp_path / "csv" / "model.csv")
    assert {"run_id", "arm", "regulator.apr_cap", "regulator.data_sharing"} <= set(model)
    assert len(model) == 4 * 3
    assert set(pd.read_csv(tmp_path / "csv" / "runs.csv")["status"]) == {"done"}
