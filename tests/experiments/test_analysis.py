"""Summaries and sensitivity indices against independent truth: hand-computed intervals,
the Ishigami function's analytic Sobol indices, exact Morris effects of a linear model."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from lendsim.experiments import load_experiment, run_experiment
from lendsim.results import load
from lendsim.results.analysis import (MIN_REPLICATIONS, arm_summary, bounds, few_replications,
                                      mean_ci, mean_interval, morris_indices, run_outcomes,
                                      series_bands, sobol_indices)

from experiment_helpers import GRID, write_experiment


def test_mean_ci_is_the_student_t_interval():
    # n = 5, mean 3, s = sqrt(2.5); t(0.975, 4) = 2.776445 (tables)
    m, lo, hi = mean_ci([1, 2, 3, 4, 5])
    half = 2.776445 * math.sqrt(2.5) / math.sqrt(5)
    assert m == 3 and lo == pytest.approx(3 - half, abs=1e-6)
    assert hi == pytest.approx(3 + half, abs=1e-6)
    assert math.isnan(mean_ci([4.0])[1]) and mean_ci([4.0])[0] == 4.0


def test_the_interval_of_a_share_is_cut_at_0_and_flagged():
    """By hand: values 0 and 0.02 of a share; s = 0.014142, t(0.975, 1) = 12.7062, half-width
    12.7062 * 0.014142 / sqrt(2) = 0.127062: [-0.117062, 0.137062] -> [0, 0.137062]; the
    t statistic is 0.01 / 0.01 = 1, whose two-sided p-value with 1 degree of freedom (a
    Cauchy variable) is 2 * (1 - 0.75) = 0.5."""
    r = mean_interval([0.0, 0.02], bounds=bounds("delinquency_30"))
    assert r["mean"] == pytest.approx(0.01)
    assert r["lo"] == 0.0 and r["hi"] == pytest.approx(0.137062, abs=1e-6)
    assert r["clipped"] is True and r["p_value"] == pytest.approx(0.5)
    r = mean_interval([0.30, 0.32, 0.31, 0.33], bounds=(0.0, 1.0))
    assert r["clipped"] is False
    x = [0.1, -0.3, 0.25, 0.4, 0.05]
    assert mean_interval(x)["p_value"] == pytest.approx(stats.ttest_1samp(x, 0).pvalue)


def test_few_replications_warn():
    assert few_replications(2).startswith("only 2 replications")
    assert few_replications(1).startswith("only 1 replication:")
    assert few_replications(MIN_REPLICATIONS) is None


def test_arm_summary_and_bands_of_shares_stay_in_0_1():
    per_run = pd.DataFrame({"arm": [0, 0], "default_rate": [0.0, 0.004]})
    s = arm_summary(per_run, ["default_rate"])
    assert s.loc[0, "default_rate_lo"] == 0.0 and s.attrs["clipped"] == 1
    model = pd.DataFrame({"arm": [0, 0], "step": [1, 1], "delinquency_90": [0.0, 0.001]})
    b = series_bands(model, "delinquency_90")
    assert b.loc[0, "lo"] == 0.0 and bool(b.loc[0, "clipped"])


def test_arm_summary_and_bands_by_hand():
    per_run = pd.DataFrame({"run_id": ["a", "b", "c", "d"], "arm": [0, 0, 1, 1],
                            "f": [1.0, 1.0, 2.0, 2.0], "y": [1.0, 3.0, 10.0, 10.0]})
    s = arm_summary(per_run, ["y"], ["f"])
    half = 12.706205 * math.sqrt(2) / math.sqrt(2)  # t(0.975, 1) = 12.706205
    assert s["y"].tolist() == [2.0, 10.0] and s["n"].tolist() == [2, 2]
    assert s.loc[0, "y_lo"] == pytest.approx(2 - half, abs=1e-5)
    assert s.loc[1, "y_lo"] == s.loc[1, "y_hi"] == 10.0
    model = pd.DataFrame({"arm": [0, 0, 0, 0], "step": [1, 1, 2, 2], "x": [1., 3., 5., 5.]})
    b = series_bands(model, "x")
    assert b["mean"].tolist() == [2.0, 5.0] and b["n"].tolist() == [2, 2]


def test_sobol_indices_of_the_ishigami_function():
    """Analytic values (Ishigami & Homma 1990; a = 7, b = 0.1): S1 = 0.3139, 0.4424, 0;
    ST = 0.5576, 0.4424, 0.2437."""
    sobol_sample = pytest.importorskip("SALib.sample.sobol", reason="the 'sensitivity' extra")

    problem = {"num_vars": 3, "names": ["x1", "x2", "x3"], "bounds": [[-np.pi, np.pi]] * 3}
    x = sobol_sample.sample(problem, 4096, calc_second_order=False, seed=1)
    y = np.sin(x[:, 0]) + 7 * np.sin(x[:, 1]) ** 2 + 0.1 * x[:, 2] ** 4 * np.sin(x[:, 0])
    design = {"problem": problem, "second_order": False, "seed": 3}
    si = sobol_indices(design, y, n_resamples=200)
    assert si["S1"].to_numpy() == pytest.approx([0.3139, 0.4424, 0.0], abs=0.03)
    assert si["ST"].to_numpy() == pytest.approx([0.5576, 0.4424, 0.2437], abs=0.03)
    assert (si["S1_conf"] > 0).all()
    assert si.attrs["warnings"] == []  # N = 4096: nothing to warn about


def test_sobol_indices_from_a_tiny_sample_warn_and_keep_intervals_in_0_1():
    """The shipped example's size (N = 8): estimates are noise, and the report must say so."""
    sobol_sample = pytest.importorskip("SALib.sample.sobol", reason="the 'sensitivity' extra")
    problem = {"num_vars": 3, "names": ["x1", "x2", "x3"], "bounds": [[-np.pi, np.pi]] * 3}
    x = sobol_sample.sample(problem, 8, calc_second_order=False, seed=1)
    y = np.sin(x[:, 0]) + 7 * np.sin(x[:, 1]) ** 2 + 0.1 * x[:, 2] ** 4 * np.sin(x[:, 0])
    si = sobol_indices({"problem": problem, "second_order": False, "seed": 3}, y,
                       n_resamples=200)
    assert any(w.startswith("only 8 base samples") for w in si.attrs["warnings"])
    for s in ("S1", "ST"):
        assert ((si[f"{s}_lo"] >= 0) & (si[f"{s}_hi"] <= 1)).all()
        assert (si[f"{s}_lo"] <= si[f"{s}_hi"]).all()


def test_morris_mu_star_of_a_linear_model_is_slope_times_range():
    morris_sample = pytest.importorskip("SALib.sample.morris",
                                        reason="the 'sensitivity' extra")

    problem = {"num_vars": 3, "names": ["a", "b", "c"], "bounds": [[0, 1], [0, 2], [5, 6]]}
    x = morris_sample.sample(problem, 10, num_levels=4, seed=2)
    y = 3.0 * x[:, 0] - 1.5 * x[:, 1] + 0.0 * x[:, 2]
    si = morris_indices({"problem": problem, "matrix": x.tolist(), "levels": 4, "seed": 5}, y)
    assert si["mu_star"].to_numpy() == pytest.approx([3.0, 3.0, 0.0], abs=1e-9)
    assert si["mu"].to_numpy() == pytest.approx([3.0, -3.0, 0.0], abs=1e-9)
    assert si["sigma"].to_numpy() == pytest.approx([0.0, 0.0, 0.0], abs=1e-9)


def test_run_outcomes_average_the_last_steps_of_each_run(tmp_path):
    exp = load_experiment(write_experiment(tmp_path, GRID))
    run_experiment(exp, tmp_path / "out", executor="serial")
    res = load(tmp_path / "out")
    out = run_outcomes(res, ["delinquency_30", "avg_apr", "no_such_column"], last_steps=2)
    assert len(out) == 8 and "no_such_column" not in out.columns
    one = res.model[res.model["run_id"] == "a002-r01"]
    expected = one[one["step"] >= 2]["avg_apr"].mean()
    assert out.set_index("run_id").loc["a002-r01", "avg_apr"] == pytest.approx(expected)
    summary = arm_summary(out, ["avg_apr"], res.factors)
    assert summary["n"].tolist() == [2, 2, 2, 2]
    assert summary["regulator.apr_cap"].tolist() == [0.36, 0.36, 0.24, 0.24]
