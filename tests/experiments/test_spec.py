"""Experiment files: grid expansion, samplers, seeds, validation."""

import numpy as np
import pytest

from lendsim.errors import ScenarioError
from lendsim.experiments import load_experiment, replication_seeds

from experiment_helpers import GRID, write_experiment


def test_grid_expands_lists_and_keeps_single_values(tmp_path):
    body = GRID.replace('"regulator.data_sharing" = [0.0, 1.0]',
                        '"regulator.data_sharing" = [0.0, 1.0]\n"regulator.max_lenders" = 4')
    path = write_experiment(tmp_path, body)
    exp = load_experiment(path)
    assert exp.factors == ("regulator.apr_cap", "regulator.data_sharing")
    assert exp.arms == ({"regulator.apr_cap": 0.36, "regulator.data_sharing": 0.0},
                        {"regulator.apr_cap": 0.36, "regulator.data_sharing": 1.0},
                        {"regulator.apr_cap": 0.24, "regulator.data_sharing": 0.0},
                        {"regulator.apr_cap": 0.24, "regulator.data_sharing": 1.0})
    assert exp.base.regulator.max_lenders == 4  # a single value stays fixed
    assert exp.base.borrowers.n == 200  # [params]
    runs = exp.runs()
    assert len(runs) == 8 and runs[3].run_id == "a001-r01"
    scen = runs[5].scenario  # arm 2, replication 1
    assert (scen.regulator.apr_cap, scen.regulator.data_sharing) == (0.24, 0.0)
    assert scen.simulation.steps == 3 and scen.output.charts is False


def test_replication_seeds_come_from_seedsequence_spawn_and_are_shared_by_arms(tmp_path):
    exp = load_experiment(write_experiment(tmp_path, GRID))
    expected = [int(np.random.SeedSequence(7).spawn(2)[r].generate_state(1, np.uint64)[0]
                    >> np.uint64(1)) for r in range(2)]
    assert exp.seeds() == expected == replication_seeds(7, 2)
    by_rep = {}
    for run in exp.runs():
        by_rep.setdefault(run.replication, set()).add(run.scenario.simulation.seed)
    assert by_rep == {0: {expected[0]}, 1: {expected[1]}}  # common random numbers


def test_list_parameter_varies_only_with_a_list_of_lists(tmp_path):
    body = """
[run]
steps = 2
[sweep]
"borrowers.tier_shares" = [[0.2, 0.35, 0.45], [0.3, 0.3, 0.4]]
"borrowers.tier_income" = [1.5, 1.0, 0.8]
"""
    exp = load_experiment(write_experiment(tmp_path, body))
    assert exp.factors == ("borrowers.tier_shares",)
    assert exp.base.borrowers.tier_income == (1.5, 1.0, 0.8)
    assert exp.arm_scenario(1).borrowers.tier_shares == (0.3, 0.3, 0.4)


@pytest.mark.parametrize("kind, n, arms", [("latin", 5, 5), ("sobol", 4, 4 * (3 + 2)),
                                           ("morris", 3, 3 * (3 + 1))])
def test_samplers_stay_in_range_round_integers_and_repeat(tmp_path, kind, n, arms):
    pytest.importorskip("SALib", reason="the 'sensitivity' extra")
    body = f"""
[run]
steps = 2
root_seed = 3
[sample]
kind = "{kind}"
n = {n}
"regulator.apr_cap" = [0.15, 0.36]
"banks.n" = [2, 6]
"borrowers.peer_effect" = [0.0, 3.0]
"""
    path = write_experiment(tmp_path, body)
    exp = load_experiment(path)
    assert exp.n_arms == arms
    caps = [a["regulator.apr_cap"] for a in exp.arms]
    assert min(caps) >= 0.15 and max(caps) <= 0.36
    assert all(isinstance(a["banks.n"], int) and 2 <= a["banks.n"] <= 6 for a in exp.arms)
    assert load_experiment(path).arms == exp.arms  # same root seed, same design
    other = load_experiment(path, ["run.root_seed=4"])
    assert other.arms != exp.arms


@pytest.mark.parametrize("body, message", [
    ('[sweep]\n"regulator.apr_capp" = [0.2, 0.3]\n', "regulator.apr_capp"),
    ('[sweep]\n"regulator.apr_cap" = [0.2, -1.0]\n', "regulator.apr_cap = -1.0"),
    ('[run]\nreplicatons = 2\n', "did you mean 'replications'"),
    ('[run]\nsteps = 0\n', "run.steps = 0"),
    ('[sample]\nkind = "sobol"\nn = 6\n"regulator.apr_cap" = [0.1, 0.3]\n'
     '"borrowers.peer_effect" = [0, 1]\n', "power of 2"),
    ('[sample]\nkind = "latin"\nn = 4\n"regulator.apr_cap" = [0.3, 0.1]\n', "low < high"),
    ('[sample]\nkind = "grid"\nn = 4\n"regulator.apr_cap" = [0.1, 0.3]\n', "sample.kind"),
    ('[sweep]\n"regulator.apr_cap" = [0.2, 0.3]\n[sample]\nkind = "latin"\nn = 2\n'
     '"borrowers.peer_effect" = [0, 1]\n', "cannot be combined"),
    ('[outputs]\ntables = ["loans"]\n', "outputs.tables"),
    ('[regulatr]\napr_cap = 0.2\n[run]\nsteps = 2\n', "did you mean 'regulator'"),
])
def test_bad_files_get_one_clear_message(tmp_path, body, message):
    with pytest.raises(ScenarioError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_experiment(write_experiment(tmp_path, body))


def test_set_overrides_parameters_and_experiment_settings_but_not_factors(tmp_path):
    path = write_experiment(tmp_path, GRID)
    exp = load_experiment(path, ["borrowers.n=300", "run.replications=3"])
    assert exp.base.borrowers.n == 300 and exp.replications == 3
    with pytest.raises(ScenarioError, match="is a factor"):
        load_experiment(path, ["regulator.apr_cap=0.2"])
    with pytest.raises(ScenarioError, match="run.root_seed"):
        load_experiment(path, ["simulation.seed=3"])
    assert exp.fingerprint() != load_experiment(path).fingerprint()
