"""``lendsim calibrate``: figures against hand-computed tables, verdicts at the band edges, and
the command on a small run, on a run folder and on bad input."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import lendsim
from lendsim.cli import main
from lendsim.results.calibration import (TARGETS, calibration_figures, calibration_table,
                                         distance_outside, format_calibration, rank_arms)

KEYS = [t.key for t in TARGETS]


def _tables():
    """Four steps, two platforms; a window of 2 keeps steps 3-4. Platform 1 has the larger
    market share in the window (platform 0 led before it)."""
    model = pd.DataFrame({"step": [1, 2, 3, 4], "avg_apr": [0.9, 0.9, 0.10, 0.20],
                          "multi_lender_share": [0.9, 0.9, 0.40, 0.50]})
    rows = []
    for step, s0, s1 in [(1, 0.9, 0.1), (2, 0.9, 0.1), (3, 0.3, 0.7), (4, 0.45, 0.55)]:
        rows.append({"step": step, "platform_id": 0, "market_share": s0, "delinquency_30": 0.5,
                     "delinquency_90": 0.5, "avg_apr": 0.5, "own_share": 0.5})
        rows.append({"step": step, "platform_id": 1, "market_share": s1,
                     "delinquency_30": 0.01 * step, "delinquency_90": 0.002 * step,
                     "avg_apr": 0.1 + 0.01 * step, "own_share": 0.02})
    # snapshots: step 2 is outside the window; in it, the lending apps of the multi-lenders
    # are 2, 3, 5 (step 3) and 2, 5 (step 4). The split counts apps (n_app_lenders), not
    # every lender (n_lenders, the embedded platform included)
    borrowers = pd.DataFrame({"step": [2, 2, 3, 3, 3, 3, 3, 3, 4, 4, 4],
                              "debt": [1.0] * 11,
                              "n_lenders": [3, 3, 0, 1, 2, 2, 3, 5, 2, 6, 1],
                              "n_app_lenders": [2, 2, 0, 1, 1, 2, 3, 5, 2, 5, 0]})
    return model, pd.DataFrame(rows), borrowers


def test_figures_by_hand():
    model, platforms, borrowers = _tables()
    f = calibration_figures(model, platforms, borrowers, window=2)
    assert set(f) == set(KEYS)
    assert f["avg_apr"] == pytest.approx(0.15)
    assert f["multi_lender_share"] == pytest.approx(0.45)
    # top platform in the window: platform 1 (mean share 0.625 against 0.375)
    assert f["top_delinquency_30"] == pytest.approx(0.035)
    assert f["top_delinquency_90"] == pytest.approx(0.007)
    assert f["top_avg_apr"] == pytest.approx(0.135)
    assert f["top_own_share"] == pytest.approx(0.02)
    # multi-lenders in the window, by lending apps: 2, 3, 5, 2, 5
    assert f["multi_lenders_2"] == pytest.approx(2 / 5)
    assert f["multi_lenders_3"] == pytest.approx(1 / 5)
    assert f["multi_lenders_5plus"] == pytest.approx(2 / 5)


def test_whole_run_window_picks_the_overall_leader():
    model, platforms, borrowers = _tables()
    f = calibration_figures(model, platforms, borrowers, window=4)
    assert f["top_delinquency_30"] == pytest.approx(0.5)  # platform 0: mean share 0.6375
    assert f["multi_lenders_3"] == pytest.approx(1 / 7)  # 2, 2, 2, 3, 5, 2, 5


def test_snapshots_without_the_app_count_leave_the_split_missing():
    """Snapshots written before ``n_app_lenders`` existed give no split, rather than one
    counted another way."""
    model, platforms, borrowers = _tables()
    f = calibration_figures(model, platforms, borrowers.drop(columns="n_app_lenders"),
                            window=2)
    assert math.isnan(f["multi_lenders_2"]) and not math.isnan(f["avg_apr"])


def test_without_snapshots_the_split_is_missing_and_says_so():
    model, platforms, _ = _tables()
    f = calibration_figures(model, platforms, None, window=2)
    assert math.isnan(f["multi_lenders_2"]) and not math.isnan(f["avg_apr"])
    table = calibration_table([f])
    assert table.set_index("figure").loc["multi_lenders_2", "verdict"] == "n/a"
    assert "n/a" in format_calibration(table)


def test_table_means_over_runs_and_verdicts_at_the_band_edges():
    t = {x.key: x for x in TARGETS}
    low, high = t["top_delinquency_30"].low, t["top_delinquency_30"].high
    base = {k: math.nan for k in KEYS}
    runs = [dict(base, top_delinquency_30=low, avg_apr=0.01, multi_lender_share=0.60),
            dict(base, top_delinquency_30=high, avg_apr=0.03, multi_lender_share=0.62)]
    table = calibration_table(runs).set_index("figure")
    row = table.loc["top_delinquency_30"]
    assert row["model"] == pytest.approx((low + high) / 2)
    assert (row["model_min"], row["model_max"]) == (low, high)
    assert row["verdict"] == "in band"
    assert calibration_table(runs[:1]).set_index("figure").loc["top_delinquency_30",
                                                                 "verdict"] == "in band"
    assert table.loc["avg_apr", "verdict"] == "low"
    assert table.loc["multi_lender_share", "verdict"] == "high"
    assert table.loc["top_delinquency_90", "verdict"] == "n/a"
    assert list(table.index) == KEYS


def test_bands_contain_the_published_values():
    """Each band holds the figure docs/calibration.md gives (every number in ``published`` that is
    not an upper bound of a range of APRs)."""
    for t in TARGETS:
        assert 0 <= t.low < t.high <= 1, t
    t = {x.key: x for x in TARGETS}
    for key, published in [("top_delinquency_30", (0.0108, 0.0143, 0.0156)),
                           ("top_delinquency_90", (0.0068, 0.0101, 0.0105)),
                           ("top_own_share", (0.02,)), ("multi_lender_share", (0.44,)),
                           ("multi_lenders_2", (0.57,)), ("multi_lenders_3", (0.22,)),
                           ("multi_lenders_5plus", (0.108,))]:
        for v in published:
            assert t[key].low <= v <= t[key].high, (key, v)


SMALL = ["--set", "borrowers.n=400", "--set", "simulation.steps=24", "--set", "platforms.n=4",
         "--set", "banks.n=4"]


def test_cli_runs_a_scenario_and_matches_the_run_tables(tmp_path, capsys):
    csv = tmp_path / "cal.csv"
    rc = main(["calibrate", *SMALL, "--seeds", "1,2", "--window", "12", "--csv", str(csv)])
    out = capsys.readouterr().out
    assert rc == 0
    assert "figures in band" in out and "seeds 1,2" in out
    table = pd.read_csv(csv).set_index("figure")
    assert list(table.index) == KEYS
    # independent of the module: the model table's own column, averaged by hand
    shares = []
    for seed in (1, 2):
        m = lendsim.run(seed=seed, overrides={"borrowers.n": 400, "simulation.steps": 24,
                                              "platforms.n": 4, "banks.n": 4}).model
        shares.append(m.loc[m["step"] > 12, "multi_lender_share"].mean())
    assert table.loc["multi_lender_share", "model"] == pytest.approx(np.mean(shares))
    assert table.loc["multi_lender_share", "model_min"] == pytest.approx(min(shares))
    assert not math.isnan(table.loc["multi_lenders_2", "model"])


def test_cli_reads_a_run_folder(tmp_path, capsys):
    folder = tmp_path / "run"
    res = lendsim.run(overrides={"borrowers.n": 400, "simulation.steps": 12, "platforms.n": 4,
                                 "banks.n": 4, "output.borrower_snapshot_every": 3},
                      out=folder, charts=False)
    csv = tmp_path / "cal.csv"
    assert main(["calibrate", str(folder), "--window", "6", "--csv", str(csv)]) == 0
    table = pd.read_csv(csv).set_index("figure")
    want = calibration_figures(res.model, res.platforms, res.extra["borrowers"], window=6)
    for key, value in want.items():
        assert table.loc[key, "model"] == pytest.approx(value, nan_ok=True), key
    assert f"run folder {folder}" in capsys.readouterr().out
    assert not math.isnan(table.loc["multi_lenders_2", "model"])
    # a folder written before the snapshots counted lending apps: read, the split n/a
    snaps = pd.read_parquet(folder / "borrowers.parquet")
    snaps.drop(columns="n_app_lenders").to_parquet(folder / "borrowers.parquet")
    assert main(["calibrate", str(folder), "--window", "6", "--csv", str(csv)]) == 0
    old = pd.read_csv(csv).set_index("figure")
    assert math.isnan(old.loc["multi_lenders_2", "model"])
    assert old.loc["avg_apr", "model"] == pytest.approx(want["avg_apr"])


EXPERIMENT = """# test
[meta]
name = "{name}"
extends = "baseline.toml"
[params]
"borrowers.n" = 300
"platforms.n" = 4
"banks.n" = 4
[run]
steps = 12
replications = 2
root_seed = 3
{sweep}
[outputs]
tables = ["platforms"]
borrower_snapshot_every = 3
"""


def _sweep(tmp_path, name, sweep=""):
    from lendsim.experiments import load_experiment, run_experiment

    path = tmp_path / f"{name}.toml"
    path.write_text(EXPERIMENT.format(name=name, sweep=sweep))
    run_experiment(load_experiment(path), tmp_path / name, executor="serial")
    return tmp_path / name


def test_cli_reads_a_one_arm_experiment_folder(tmp_path, capsys):
    """The mean over the sweep's runs equals the mean of each run folder's figures, read on
    their own with the run-folder loader."""
    from lendsim.results.folders import RUNS_DIR
    from lendsim.results.store import load_run

    folder = _sweep(tmp_path, "reps")
    csv = tmp_path / "cal.csv"
    assert main(["calibrate", str(folder), "--window", "6", "--csv", str(csv)]) == 0
    assert "2 runs" in capsys.readouterr().out
    table = pd.read_csv(csv).set_index("figure")
    per_run = []
    for run_dir in sorted((folder / RUNS_DIR).iterdir()):
        r = load_run(run_dir)
        per_run.append(calibration_figures(r.model, r.platforms, r.extras.get("borrowers"),
                                           window=6))
    assert len(per_run) == 2
    for key in KEYS:
        vals = [f[key] for f in per_run]
        assert table.loc[key, "model"] == pytest.approx(np.nanmean(vals), nan_ok=True), key
        assert table.loc[key, "model_min"] == pytest.approx(np.nanmin(vals), nan_ok=True), key
    assert not math.isnan(table.loc["multi_lenders_2", "model"])


def _in_band_figures(**outside):
    """Figures all at their band's middle, except the ``outside`` ones (key: value)."""
    return {t.key: outside.get(t.key, (t.low + t.high) / 2) for t in TARGETS}


def test_distance_outside_in_band_widths():
    t = {x.key: x for x in TARGETS}
    w30 = t["top_delinquency_30"].high - t["top_delinquency_30"].low  # 0.48 points
    figs = _in_band_figures(top_delinquency_30=t["top_delinquency_30"].high + w30 / 2,
                            multi_lender_share=t["multi_lender_share"].low - 0.2,  # 2 widths
                            multi_lenders_3=math.nan)
    table = calibration_table([figs])
    assert distance_outside(table) == pytest.approx(0.5 + 2.0 + 1.0)
    assert distance_outside(calibration_table([_in_band_figures()])) == 0.0


def test_rank_arms_orders_by_figures_in_band_then_distance():
    t = {x.key: x for x in TARGETS}
    hi30 = t["top_delinquency_30"].high
    arms = {
        0: [_in_band_figures(top_delinquency_30=hi30 + 0.01, avg_apr=0.5)],  # 7 in band
        1: [_in_band_figures(top_delinquency_30=hi30 + 0.001)],              # 8, near
        2: [_in_band_figures(top_delinquency_30=hi30 + 0.004)],              # 8, farther
        # two runs: in band on average although one run is not
        3: [_in_band_figures(avg_apr=0.30), _in_band_figures(avg_apr=0.10)],  # 9
    }
    r = rank_arms(arms)
    assert list(r["arm"]) == [3, 1, 2, 0]
    assert list(r["in_band"]) == [9, 8, 8, 7] and list(r["runs"]) == [2, 1, 1, 1]
    assert r.loc[0, "avg_apr"] == pytest.approx(0.20) and r.loc[0, "outside"] == 0.0
    assert r.loc[1, "outside"] == pytest.approx(0.001 / (hi30 - t["top_delinquency_30"].low))


@pytest.mark.parametrize("value", [True, False, 0.1 + 0.2, 3, -0.010000960926769996,
                                   [0.2, 0.3], "watts_strogatz", "1", "true", "a b"])
def test_set_option_reads_back_as_the_same_value(value):
    """What the ranking prints for the best arm, typed into a shell, gives ``--set`` (the
    command line's own parser) the arm's value back."""
    import shlex

    from lendsim.results.calibration import set_option
    from lendsim.simulation.scenario import parse_overrides

    words = shlex.split(set_option("x.y", value))
    assert words[0] == "--set" and len(words) == 2
    assert parse_overrides([words[1]]) == {"x.y": value}


def test_cli_ranks_the_arms_of_a_sweep_and_shows_one(tmp_path, capsys):
    """Each arm's row equals the calibration table of that arm's runs, read on their own from
    the run folders; ``--arm`` prints that arm's table."""
    from lendsim.results.folders import RUNS_DIR
    from lendsim.experiments.spec import make_run_id
    from lendsim.results.store import load_run

    folder = _sweep(tmp_path, "grid", '[sweep]\n"regulator.apr_cap" = [0.36, 0.24]')
    csv = tmp_path / "rank.csv"
    assert main(["calibrate", str(folder), "--window", "6", "--csv", str(csv)]) == 0
    out = capsys.readouterr().out
    assert "2 arms ranked" in out and "--set regulator.apr_cap=" in out
    ranking = pd.read_csv(csv).set_index("arm")
    assert sorted(ranking.index) == [0, 1]
    assert sorted(ranking["regulator.apr_cap"]) == [0.24, 0.36]
    for arm in (0, 1):
        runs = []
        for rep in (0, 1):
            r = load_run(folder / RUNS_DIR / make_run_id(arm, rep, 2, 2))
            runs.append(calibration_figures(r.model, r.platforms, r.extras.get("borrowers"),
                                            window=6))
        assert len(runs) == 2
        table = calibration_table(runs).set_index("figure")
        assert ranking.loc[arm, "in_band"] == (table["verdict"] == "in band").sum()
        assert ranking.loc[arm, "outside"] == pytest.approx(
            distance_outside(table.reset_index()))
        for key in KEYS:
            assert ranking.loc[arm, key] == pytest.approx(table.loc[key, "model"],
                                                          nan_ok=True), key
    best = int(pd.read_csv(csv)["arm"].iloc[0])  # the file keeps the ranking's order
    assert f"best: arm {best}," in out
    assert main(["calibrate", str(folder), "--window", "6", "--arm", "1"]) == 0
    out = capsys.readouterr().out
    assert "arm 1" in out and "2 runs" in out and "figure" in out.splitlines()[0]
    assert main(["calibrate", str(folder), "--arm", "5"]) == 2
    err = capsys.readouterr().err
    assert "--arm = 5" in err and "0-1" in err


def test_cli_ranking_says_what_the_split_needs_without_snapshots(tmp_path, capsys):
    path = tmp_path / "nosnap.toml"
    path.write_text(EXPERIMENT.format(
        name="nosnap", sweep='[sweep]\n"regulator.apr_cap" = [0.36, 0.24]').replace(
        "borrower_snapshot_every = 3", "borrower_snapshot_every = 0"))
    from lendsim.experiments import load_experiment, run_experiment

    run_experiment(load_experiment(path), tmp_path / "nosnap", executor="serial")
    assert main(["calibrate", str(tmp_path / "nosnap"), "--window", "6"]) == 0
    out = capsys.readouterr().out
    assert "2 arms ranked" in out and "needs borrower snapshots" in out


def test_cli_says_what_a_sweep_without_the_platforms_table_needs(tmp_path, capsys):
    path = tmp_path / "bare.toml"
    path.write_text(EXPERIMENT.format(name="bare", sweep="").replace(
        'tables = ["platforms"]', "tables = []"))
    from lendsim.experiments import load_experiment, run_experiment

    run_experiment(load_experiment(path), tmp_path / "bare", executor="serial")
    assert main(["calibrate", str(tmp_path / "bare")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and 'tables = ["platforms"]' in err


def _lendsim(*args, cwd):
    return subprocess.run([sys.executable, "-m", "lendsim", "calibrate", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("args, names", [
    (["--seeds", "1,x"], ["--seeds", "1,x"]),
    (["--window", "0"], ["--window", "0"]),
    (["--window", "500"], ["--window", "500", "120"]),
    (["--set", "borrowers.nn=5"], ["borrowers.nn", "borrowers.n"]),
    (["--csv", "no/such/folder/x.csv"], ["--csv", "no/such/folder/x.csv"]),
    (["no_such_file.toml"], ["no_such_file.toml"]),
    (["--top", "0"], ["--top", "0"]),
    (["--arm", "1"], ["--arm", "experiment folder"]),
])
def test_cli_bad_input_is_one_line_and_writes_nothing(tmp_path, args, names):
    proc = _lendsim(*args, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lendsim: error: "), proc.stderr
    for name in names:
        assert name in lines[0]
    assert proc.stdout == ""
    assert list(tmp_path.iterdir()) == []


def test_cli_says_what_the_split_needs_when_a_run_has_no_snapshots(tmp_path, capsys):
    folder = tmp_path / "run"
    lendsim.run(overrides={"borrowers.n": 300, "simulation.steps": 6, "platforms.n": 3,
                           "banks.n": 3}, out=folder, charts=False)
    assert main(["calibrate", str(folder), "--window", "3"]) == 0
    out = capsys.readouterr().out
    assert "needs borrower snapshots" in out and "n/a" in out


def test_cli_run_folder_refuses_run_options(tmp_path, capsys):
    (tmp_path / "manifest.json").write_text("{}")
    assert main(["calibrate", str(tmp_path), "--seeds", "4"]) == 2
    assert "run folder" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["calibrate", str(empty)]) == 2
    assert "manifest.json" in capsys.readouterr().err


def test_price_tiers_by_type_and_segment_by_hand():
    """A type's price to a segment weighs each platform's segment APR by its originations to
    that segment; months outside the window and platforms lending nothing to it do not count."""
    from lendsim.results.calibration import format_lenders, lender_figures

    model = pd.DataFrame({"step": [1, 2, 3], "avg_apr_prime": [0.1] * 3,
                          "avg_apr_subprime": [0.2] * 3})
    rows = []
    for step in (1, 2, 3):
        for pid, (op, ap, os_, as_) in enumerate([(100.0, 0.10, 50.0, 0.20),
                                                  (300.0, 0.14, 0.0, math.nan)]):
            rows.append({"step": step, "platform_id": pid, "platform_type": "cf",
                         "is_active": True, "loans_managed": 1000.0, "equity": 50.0,
                         "originations": op + os_, "avg_apr": 0.15, "el_priced": 0.02,
                         "loss_realised": 0.02, "originations_prime": op * step,
                         "avg_apr_prime": ap + (0.5 if step == 1 else 0.0),
                         "originations_subprime": os_, "avg_apr_subprime": as_})
    f = lender_figures(model, pd.DataFrame(rows), window=2)
    # steps 2-3: prime (100*2*0.10 + 300*2*0.14 + 100*3*0.10 + 300*3*0.14) / (200+600+300+900)
    assert f["tier_prime_cf"] == pytest.approx((20 + 84 + 30 + 126) / 2000)
    assert f["tier_subprime_cf"] == pytest.approx(0.20)
    text = format_lenders([f])
    assert "APR prime" in text and "13.00%" in text and "20.00%" in text


def test_loss_backtest_counts_seasoned_lenders_only_by_hand():
    """The back-test weighs each platform-month's priced and realised loss by its managed
    book, over platforms that have lent for ``SEASONED_MONTHS`` at least: an entrant's trailing
    year holds no charge-offs of its first loans yet."""
    from lendsim.results.calibration import SEASONED_MONTHS, lender_figures

    model = pd.DataFrame({"step": [1, 2]})
    rows = []
    for step in (1, 2):
        for pid, (age, book, el, real) in enumerate([(SEASONED_MONTHS + 10, 1000.0, 0.06, 0.08),
                                                    (SEASONED_MONTHS - 2 + step, 500.0, 0.09,
                                                     0.01)]):
            rows.append({"step": step, "platform_id": pid, "platform_type": "micro",
                         "is_active": True, "age": age, "loans_managed": book, "equity": 50.0,
                         "originations": 10.0, "avg_apr": 0.3, "el_priced": el,
                         "loss_realised": real})
    f = lender_figures(model, pd.DataFrame(rows), window=2)
    # step 1: the entrant is 23 months old and does not count; step 2: it is 24 and does
    assert f["el_priced_micro"] == pytest.approx((1000 * 0.06 * 2 + 500 * 0.09) / 2500)
    assert f["loss_realised_micro"] == pytest.approx((1000 * 0.08 * 2 + 500 * 0.01) / 2500)
    # the type's share of the book counts every live month, seasoned or not
    assert f["share_micro"] == pytest.approx(1.0)
    young = pd.DataFrame(rows).assign(age=1)
    assert math.isnan(lender_figures(model, young, window=2)["el_priced_micro"])


def test_figures_out_of_band_say_why_and_the_others_do_not():
    """Every target the default market misses, or holds only at its band's edge (five or
    more apps), has its reason on record, naming the command that shows it; the reasons
    are printed for out-of-band figures only."""
    from lendsim.results.calibration import format_misses

    t = {x.key: x for x in TARGETS}
    for key in ("top_delinquency_30", "top_delinquency_90", "multi_lender_share",
                "multi_lenders_2", "multi_lenders_3", "multi_lenders_5plus"):
        assert "lendsim " in t[key].why or "scripts/" in t[key].why, key
    runs = [{k: (t[k].low + t[k].high) / 2 for k in KEYS}]
    assert format_misses(calibration_table(runs)) == ""
    runs[0]["multi_lender_share"] = 0.9
    text = format_misses(calibration_table(runs))
    assert text.count("\n- ") == 1 and "borrowers with several lenders (high)" in text
    assert "baseline_embedded_cash" in text
