"""Every shipped example (src/lendsim/examples/*.toml) validates and runs a few steps at tiny
size.

Scenario files run as scenarios; experiment files (a [run], [sweep] or [sample] table) run as
experiments, every arm, one replication, through the serial executor.
"""

from pathlib import Path

import pytest

import lendsim
from lendsim.experiments import is_experiment_file, load_experiment, run_experiment
from lendsim.results import load
from lendsim.simulation.scenario import load_scenario

FILES = sorted((Path(__file__).parents[1] / "src" / "lendsim" / "examples").glob("*.toml"))
SCENARIOS = [p for p in FILES if not is_experiment_file(p)]
EXPERIMENTS = [p for p in FILES if is_experiment_file(p)]
TINY = {"borrowers.n": 200, "platforms.n": 4, "banks.n": 4,
        "simulation.check_invariants": True}


def test_there_are_experiment_files():
    assert len(SCENARIOS) >= 4
    assert {p.stem for p in EXPERIMENTS} >= {"replicated_baseline", "competition",
                                             "sobol_sensitivity"}


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_file_opens_with_its_question(path):
    assert path.read_text().lstrip().startswith("#"), \
        "each file opens with a comment saying what it asks"


def tiny_steps(scen) -> int:
    """3 months, or up to the last scheduled shock, policy change or rule: a scenario whose
    schedule falls outside its run is refused (issue 22)."""
    months = [scen.macro.shock_start, scen.shocks.bank_loss_step,
              scen.shocks.platform_failure_step]
    months += [c.announce for c in scen.policy] + [t.after for t in scen.triggers]
    return max(3, *months)


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_scenario_file_runs_at_tiny_size(path):
    scen = load_scenario(path, TINY)
    steps = tiny_steps(scen)
    res = lendsim.run(scen, steps=steps)
    assert len(res.model) == steps


@pytest.mark.parametrize("path", EXPERIMENTS, ids=[p.stem for p in EXPERIMENTS])
def test_experiment_file_runs_at_tiny_size(path, tmp_path):
    if "[sample]" in path.read_text():
        pytest.importorskip("SALib", reason="the 'sensitivity' extra")
    full = load_experiment(path)
    sets = {k: v for k, v in TINY.items() if k not in full.factors}
    steps = max(tiny_steps(full.arm_scenario(a)) for a in range(full.n_arms))
    sets.update({"run.steps": steps, "run.replications": 1})
    if full.design["kind"] in ("sobol", "morris", "latin"):
        sets["sample.n"] = 2
    exp = load_experiment(path, sets)
    assert exp.factors == full.factors
    summary = run_experiment(exp, tmp_path / "out", executor="serial")
    assert summary.is_complete, summary.text()
    res = load(tmp_path / "out")
    assert len(res.model) == steps * exp.n_arms
    assert set(exp.outcomes) <= set(res.model.columns), "outcomes name model columns"


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_scenario_file_reads_the_same_through_the_experiment_loader(path):
    """The experiment loader builds scenarios with the scenario loader's rules: a plain
    scenario file read as a (one-arm) experiment gives the same parameters."""
    exp = load_experiment(path)
    direct = load_scenario(path)
    assert exp.base.to_dict() == direct.to_dict()
    assert exp.n_arms == 1 and exp.steps == direct.simulation.steps
