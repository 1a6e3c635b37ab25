"""lendsim sweep / status / report from the command line."""

from lendsim.cli import main

from experiment_helpers import GRID, write_experiment


def test_sweep_status_report(tmp_path, capsys):
    path = write_experiment(tmp_path, GRID.replace("replications = 2", "replications = 1"))
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--executor", "serial", "--out", str(out),
                 "--set", "borrowers.n=150", "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "4 runs: 4 done, 0 failed" in text
    assert main(["status", str(out)]) == 0
    assert "4 done, 0 failed, 0 pending" in capsys.readouterr().out
    assert main(["report", str(out)]) == 0
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64,") >= 6  # series + responses + heatmaps
    assert "http://" not in html and "https://" not in html  # self-contained
    assert "Summary per arm" in html and "regulator.apr_cap" in html
    # one replication per arm: no interval can be trusted, and the report says so
    assert "Warning: only 1 replication:" in html and "x 1 replication," in html
    assert "<div class='scroll'>" in html  # wide tables scroll instead of being clipped


def test_bad_experiment_file_writes_nothing(tmp_path, capsys):
    path = write_experiment(tmp_path, '[sweep]\n"regulator.apr_cap" = [0.2, "high"]\n')
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lendsim: error: regulator.apr_cap = 'high'")
    assert not out.exists()


def test_run_points_experiment_files_to_sweep(tmp_path, capsys):
    path = write_experiment(tmp_path, GRID)
    assert main(["run", str(path), "--quiet"]) == 2
    assert f"lendsim sweep {path}" in capsys.readouterr().err
