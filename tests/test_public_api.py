"""lendsim.sweep and lendsim.compare: the commands' work from Python, returning tables."""

import pandas as pd
import pytest

import lendsim
from lendsim.errors import ScenarioError
from lendsim.experiments.compare import compare_results
from lendsim.results import load

BODY = ('# q\n[meta]\nname = "g"\nextends = "baseline.toml"\n'
        '[params]\n"borrowers.n" = 200\n"platforms.n" = 3\n"banks.n" = 3\n'
        '[run]\nsteps = 3\nreplications = 2\n[outputs]\noutcomes = ["approval_rate"]\n'
        '[sweep]\n"regulator.apr_cap" = [0.36, 0.24]\n')


def test_sweep_returns_the_results_and_their_summary(tmp_path):
    path = tmp_path / "g.toml"
    path.write_text(BODY)
    res = lendsim.sweep(path, tmp_path / "out")
    assert len(res.model) == 2 * 2 * 3 and res.factors == ["regulator.apr_cap"]
    s = res.summary(last_steps=1)
    final = res.model[res.model["step"] == 3].groupby("arm")["approval_rate"].mean()
    assert s["approval_rate"].tolist() == pytest.approx(final.tolist())
    assert s["n"].tolist() == [2, 2]
    again = lendsim.sweep(path, tmp_path / "out")  # resumes: nothing to rerun
    pd.testing.assert_frame_equal(again.model, res.model)


def test_sweep_and_compare_refuse_bad_input_before_running(tmp_path):
    with pytest.raises(ScenarioError):
        lendsim.sweep("no_such_example", tmp_path / "x")
    with pytest.raises(ScenarioError):
        lendsim.compare("baseline", "baseline", out=tmp_path / "y")
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


def test_compare_returns_the_paired_differences(tmp_path):
    cap = tmp_path / "cap.toml"
    cap.write_text('[meta]\nextends = "baseline.toml"\n[regulator]\napr_cap = 0.2\n')
    cmp = lendsim.compare("baseline", cap, sets={"borrowers.n": 200, "platforms.n": 3,
                                                 "banks.n": 3},
                          replications=2, steps=4, out=tmp_path / "c", last_steps=2)
    want = compare_results(load(tmp_path / "c"), last_steps=2)["effects"]
    pd.testing.assert_frame_equal(cmp.effects, want)
    assert cmp.warnings and cmp.warnings[0].startswith("only 2 replications")
    assert (cmp.path / "compare.html").is_file()
