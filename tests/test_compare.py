"""lendsim compare: the paired experiment, the paired intervals, the report."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from lendsim.cli import main
from lendsim.errors import ScenarioError
from lendsim.experiments.compare import comparison_experiment, compare_results
from lendsim.experiments.runner import run_experiment
from lendsim.results.analysis import load

TINY = {"borrowers.n": 200, "platforms.n": 4, "banks.n": 4}


def _write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text('[meta]\nextends = "baseline.toml"\n' + text)
    return p


def test_two_files_become_a_two_arm_experiment(tmp_path):
    base = _write(tmp_path, "base.toml", "[regulator]\napr_cap = 0.36\n")
    cap = _write(tmp_path, "cap.toml", "[regulator]\napr_cap = 0.24\ndata_sharing = 0.5\n")
    exp = comparison_experiment(base, cap, sets=TINY, replications=3, steps=4)
    assert exp.factors == ("regulator.apr_cap", "regulator.data_sharing")
    assert exp.arms == ({"regulator.apr_cap": 0.36, "regulator.data_sharing": 0.0},
                        {"regulator.apr_cap": 0.24, "regulator.data_sharing": 0.5})
    runs = exp.runs()
    assert [r.seed for r in runs[:3]] == [r.seed for r in runs[3:]]  # common random numbers
    sched = _write(tmp_path, "sched.toml", '[[policy]]\nkey = "regulator.apr_cap"\n'
                   'value = 0.2\nstep = 3\n')
    exp = comparison_experiment(base, sched, sets=TINY)
    assert exp.arms == ({"regulator.apply_schedule": False}, {"regulator.apply_schedule": True})
    other = _write(tmp_path, "other.toml", '[[policy]]\nkey = "regulator.apr_cap"\n'
                   'value = 0.3\nstep = 3\n')
    with pytest.raises(ScenarioError, match="different"):
        comparison_experiment(other, sched)
    with pytest.raises(ScenarioError, match="nothing to compare"):
        comparison_experiment(base, base)
    three = _write(tmp_path, "three.toml", '[sweep]\n"regulator.apr_cap" = [0.2, 0.3, 0.4]\n')
    with pytest.raises(ScenarioError, match="exactly 2 arms"):
        comparison_experiment(three)


def test_paired_differences_match_a_paired_t_interval(tmp_path):
    base = _write(tmp_path, "base.toml", "")
    cap = _write(tmp_path, "cap.toml", "[regulator]\napr_cap = 0.2\n")
    exp = comparison_experiment(base, cap, sets=TINY, replications=4, steps=6)
    run_experiment(exp, tmp_path / "out")
    res = load(tmp_path / "out")
    tables = compare_results(res, last_steps=3)
    m = res.model
    tail = m[m["step"] > 3].groupby(["arm", "replication"])["approval_rate"].mean().unstack(0)
    d = tail[1] - tail[0]
    half = stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d))
    row = tables["effects"].set_index("outcome").loc["approval_rate"]
    assert row["difference"] == pytest.approx(d.mean())
    assert row["lo"] == pytest.approx(d.mean() - half)
    assert row["p_value"] == pytest.approx(stats.ttest_rel(tail[1], tail[0]).pvalue)
    assert row["n"] == 4 and "significant" not in tables["effects"]
    assert row["base"] == pytest.approx(tail[0].mean())
    who = tables["who"].set_index(["group", "metric"])
    sub = m[m["step"] > 3].groupby(["arm", "replication"])["approval_rate_subprime"].mean()
    sub = sub.unstack(0)
    assert who.loc[("subprime", "approval_rate"), "difference"] == pytest.approx(
        (sub[1] - sub[0]).mean())
    assert set(tables["platforms"]["platform_type"]) <= {"embedded", "micro_lender",
                                                         "consumer_finance", "p2p"}
    assert set(tables["banks"]["bank_size"]) == {"small", "mid_small", "mid_large", "large"}


def test_compare_command_writes_a_report(tmp_path, capsys):
    base = _write(tmp_path, "base.toml", "")
    cap = _write(tmp_path, "cap.toml", "[regulator]\napr_cap = 0.2\n")
    out = tmp_path / "cmp"
    args = ["compare", str(base), str(cap), "--replications", "2", "--steps", "4", "--quiet",
            "--out", str(out)] + [a for k, v in TINY.items() for a in ("--set", f"{k}={v}")]
    assert main(args) == 0
    captured = capsys.readouterr()
    printed = captured.out
    assert "approval_rate" in printed and "report:" in printed and "p_value" in printed
    assert "e+0" not in printed  # figures as every command shows them (225.7M, 5.12%)
    # 2 replications: the intervals are not to be trusted, and the output says so
    assert "lendsim: warning: only 2 replications" in captured.err
    page = (out / "compare.html").read_text()
    assert "Warning: only 2 replications" in page and "1 replications" not in page
    effects = pd.read_csv(out / "compare_effects.csv").set_index("outcome")
    for share in ("approval_rate", "delinquency_30", "multi_lender_share"):
        assert -1 <= effects.loc[share, "lo"] <= effects.loc[share, "hi"] <= 1
    assert "Who is affected" in page and page.count("data:image/png;base64,") >= 2
    for name in ("effects", "who", "platforms", "banks"):
        assert (out / f"compare_{name}.csv").is_file()


def test_compare_bad_input_is_one_line_and_writes_nothing(tmp_path, capsys):
    base = _write(tmp_path, "base.toml", "")
    out = tmp_path / "never"
    assert main(["compare", str(base), str(tmp_path / "missing.toml"), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "missing.toml" in err[0]
    assert main(["compare", str(base), str(base), "--set", "regulator.apr_cap=-1",
                 "--out", str(out)]) == 2
    assert "regulator.apr_cap" in capsys.readouterr().err
    assert not Path(out).exists()
