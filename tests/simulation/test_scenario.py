"""Tests for lendsim.simulation.scenario: TOML scenario files, ``extends`` and ``--set``."""

from __future__ import annotations

import math
import tomllib
from pathlib import Path

import pytest

from lendsim.errors import ScenarioError
from lendsim.simulation.params import Scenario, flatten
from lendsim.simulation.scenario import load_scenario, packaged_scenario, parse_overrides

ROOT = Path(__file__).resolve().parents[2]
EXPERIMENTS = ROOT / "src" / "lendsim" / "examples"
SHIPPED_BASELINE = EXPERIMENTS / "baseline.toml"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def file_values(path: Path) -> dict:
    """Dotted key -> value as written in a scenario file (no [meta])."""
    with open(path, "rb") as fh:
        data = tomllib.load(fh)
    data.pop("meta", None)
    flat = flatten(data.pop("params", {}))
    return {**flatten(data), **flat}


# ----------------------------------------------------------------- shipped files


def test_packaged_scenario_finds_the_shipped_baseline():
    path = packaged_scenario("baseline.toml")
    assert path is not None
    assert path.read_bytes() == SHIPPED_BASELINE.read_bytes()
    assert packaged_scenario("baseline") == path  # a bare name
    assert packaged_scenario("no_such_scenario.toml") is None
    assert packaged_scenario("../examples/baseline.toml") is None  # names only, no paths


def test_a_bare_name_loads_the_shipped_example_and_a_local_file_wins(tmp_path, monkeypatch):
    assert load_scenario("income_shock").name == "income_shock"
    assert load_scenario("income_shock.toml") == load_scenario(EXPERIMENTS / "income_shock.toml")
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "income_shock.toml", '[meta]\nname = "mine"\n')
    assert load_scenario("income_shock.toml").name == "mine"
    with pytest.raises(ScenarioError, match="`lendsim examples` lists"):
        load_scenario("no_such_example")


def test_default_scenario_is_the_baseline_with_its_values():
    scen = load_scenario()
    assert scen.name == "baseline"
    for key, value in file_values(SHIPPED_BASELINE).items():
        assert scen.get(key) == value, key
    assert load_scenario(SHIPPED_BASELINE) == scen


SCENARIO_FILES = [p for p in sorted(EXPERIMENTS.glob("*.toml"))
                  if not {"run", "sweep", "sample"} & set(tomllib.loads(p.read_text()))]


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=lambda p: p.name)
def test_every_scenario_file_validates(path):
    """Scenario files (experiment files, with [run]/[sweep]/[sample], have their own tests)."""
    scen = load_scenario(path)
    for key, value in file_values(path).items():
        if key != "network.social.edge_list":  # made absolute relative to the file
            assert scen.get(key) == (tuple(value) if isinstance(value, list) else value), key


# ----------------------------------------------------------------- extends


def test_extends_relative_file_child_wins(tmp_path):
    write(tmp_path / "parent.toml", """
[meta]
name = "parent"
[borrowers]
n = 500
[regulator]
apr_cap = 0.24
data_sharing = 0.5
""")
    child = write(tmp_path / "child.toml", """
[meta]
name = "child"
extends = "parent.toml"
[regulator]
apr_cap = 0.2
""")
    scen = load_scenario(child)
    assert scen.name == "child"
    assert scen.borrowers.n == 500  # from the parent
    assert scen.regulator.data_sharing == 0.5  # from the parent
    assert scen.regulator.apr_cap == 0.2  # the child wins
    # everything else is the default
    default, got = Scenario().flat(), scen.flat()
    changed = {k for k in default if default[k] != got[k]}
    assert changed == {"borrowers.n", "regulator.apr_cap", "regulator.data_sharing"}


def test_extends_path_relative_to_the_child_not_the_cwd(tmp_path, monkeypatch):
    write(tmp_path / "common" / "parent.toml", "[banks]\nn = 7\n")
    child = write(tmp_path / "runs" / "child.toml",
                  '[meta]\nextends = "../common/parent.toml"\n[platforms]\nn = 4\n')
    monkeypatch.chdir(tmp_path)  # a cwd where "../common" does not exist
    scen = load_scenario(child, allow_outside=True)  # "../" leaves the child's folder
    assert (scen.banks.n, scen.platforms.n) == (7, 4)
    assert scen.name == "child"  # no [meta] name: the file's stem


def test_extends_chain_of_three(tmp_path):
    write(tmp_path / "a.toml", "[borrowers]\nn = 100\n[banks]\nn = 3\n[platforms]\nn = 2\n")
    write(tmp_path / "b.toml", '[meta]\nextends = "a.toml"\n[banks]\nn = 5\n')
    c = write(tmp_path / "c.toml", '[meta]\nextends = "b.toml"\n[platforms]\nn = 6\n')
    scen = load_scenario(c)
    assert (scen.borrowers.n, scen.banks.n, scen.platforms.n) == (100, 5, 6)


def test_extends_shipped_baseline(tmp_path):
    child = write(tmp_path / "tight_cap.toml", """
[meta]
name = "tight_cap"
extends = "baseline.toml"
[regulator]
apr_cap = 0.24
""")
    scen = load_scenario(child)
    baseline = load_scenario(SHIPPED_BASELINE)
    assert scen.regulator.apr_cap == 0.24
    assert scen.name == "tight_cap"
    assert scen.with_overrides({"regulator.apr_cap": baseline.regulator.apr_cap},
                               name="baseline") == baseline


def test_local_file_beats_shipped_one_of_the_same_name(tmp_path):
    write(tmp_path / "baseline.toml", "[borrowers]\nn = 321\n")
    child = write(tmp_path / "child.toml", '[meta]\nextends = "baseline.toml"\n')
    assert load_scenario(child).borrowers.n == 321


def test_params_table_dotted_keys(tmp_path):
    path = write(tmp_path / "p.toml", """
[params]
"regulator.apr_cap" = 0.24
"network.social.kind" = "erdos_renyi"
regulator.data_sharing = 0.75
macro.unemployment_rate = 0.07
""")
    scen = load_scenario(path)
    assert scen.regulator.apr_cap == 0.24
    assert scen.network.social.kind == "erdos_renyi"
    assert scen.regulator.data_sharing == 0.75
    assert scen.macro.unemployment_rate == 0.07


def test_child_params_override_parent_sections(tmp_path):
    write(tmp_path / "parent.toml", "[regulator]\napr_cap = 0.3\n")
    child = write(tmp_path / "child.toml",
                  '[meta]\nextends = "parent.toml"\n[params]\n"regulator.apr_cap" = 0.15\n')
    assert load_scenario(child).regulator.apr_cap == 0.15


def test_overrides_apply_after_the_file(tmp_path):
    path = write(tmp_path / "s.toml", "[borrowers]\nn = 500\n[banks]\nn = 3\n")
    scen = load_scenario(path, {"borrowers.n": 800})
    assert (scen.borrowers.n, scen.banks.n) == (800, 3)


def test_extends_cycle_is_a_clear_error(tmp_path):
    write(tmp_path / "a.toml", '[meta]\nextends = "b.toml"\n')
    write(tmp_path / "b.toml", '[meta]\nextends = "a.toml"\n')
    with pytest.raises(ScenarioError, match="cycle") as info:
        load_scenario(tmp_path / "a.toml")
    assert "extends" in str(info.value)


def test_extends_itself_is_a_cycle(tmp_path):
    path = write(tmp_path / "self.toml", '[meta]\nextends = "self.toml"\n')
    with pytest.raises(ScenarioError, match="cycle"):
        load_scenario(path)


def test_extends_missing_file(tmp_path):
    path = write(tmp_path / "child.toml", '[meta]\nextends = "no_such_parent.toml"\n')
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    msg = str(info.value)
    assert "no_such_parent.toml" in msg and "child.toml" in msg


def test_extends_not_a_string(tmp_path):
    path = write(tmp_path / "child.toml", "[meta]\nextends = 3\n")
    with pytest.raises(ScenarioError, match="meta.extends"):
        load_scenario(path)


# ----------------------------------------------------------------- file errors


def test_unknown_section(tmp_path):
    path = write(tmp_path / "s.toml", "[regulater]\napr_cap = 0.2\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    msg = str(info.value)
    assert "regulater" in msg and "unknown section" in msg and "'regulator'" in msg
    assert str(path) in msg


def test_unknown_meta_key(tmp_path):
    path = write(tmp_path / "s.toml", '[meta]\nnmae = "x"\n')
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    msg = str(info.value)
    assert "meta.nmae" in msg and "name" in msg and str(path) in msg


def test_unknown_key_inside_a_section_names_file_and_suggestion(tmp_path):
    path = write(tmp_path / "s.toml", "[regulator]\napr_capp = 0.2\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    msg = str(info.value)
    assert "regulator.apr_capp" in msg and "'regulator.apr_cap'" in msg and str(path) in msg


@pytest.mark.parametrize("body,key,value", [
    ('[borrowers]\nn = "many"\n', "borrowers.n", "'many'"),
    ("[borrowers]\nn = 1.5\n", "borrowers.n", "1.5"),
    ("[regulator]\ndata_sharing = 1.5\n", "regulator.data_sharing", "1.5"),
    ('[network.social]\nkind = "small_world"\n', "network.social.kind", "'small_world'"),
])
def test_bad_value_in_file_names_field_value_and_file(tmp_path, body, key, value):
    path = write(tmp_path / "bad.toml", body)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    msg = str(info.value)
    assert msg.startswith(f"{key} = {value}")
    assert str(path) in msg and "must be" in msg


def test_bad_value_in_parent_names_the_file(tmp_path):
    write(tmp_path / "parent.toml", "[borrowers]\nn = -5\n")
    child = write(tmp_path / "child.toml", '[meta]\nextends = "parent.toml"\n')
    with pytest.raises(ScenarioError, match=r"borrowers\.n = -5"):
        load_scenario(child)


def test_bad_value_overridden_by_child_is_fine(tmp_path):
    """Values are validated after merging: a parent value the child replaces never counts."""
    write(tmp_path / "parent.toml", "[borrowers]\nn = 5\n")
    child = write(tmp_path / "child.toml", '[meta]\nextends = "parent.toml"\n[borrowers]\nn = 50\n')
    assert load_scenario(child).borrowers.n == 50


def test_invalid_toml(tmp_path):
    path = write(tmp_path / "broken.toml", "[borrowers\nn = = 3\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    msg = str(info.value)
    assert str(path) in msg and "TOML" in msg


def test_missing_file(tmp_path):
    path = tmp_path / "nope.toml"
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert str(path) in str(info.value)


def test_params_not_a_table(tmp_path):
    path = write(tmp_path / "s.toml", "params = 3\n")
    with pytest.raises(ScenarioError, match="params"):
        load_scenario(path)


def test_edge_list_path_is_relative_to_the_file(tmp_path):
    path = write(tmp_path / "net" / "s.toml",
                 '[network.social]\nkind = "edge_list"\nedge_list = "ties.csv"\n')
    write(tmp_path / "net" / "ties.csv", "0 1\n")  # files are read when the scenario loads
    scen = load_scenario(path)
    assert Path(scen.network.social.edge_list) == (tmp_path / "net" / "ties.csv").resolve()


# ----------------------------------------------------------------- parse_overrides


def test_parse_overrides_types():
    got = parse_overrides([
        "regulator.apr_cap=0.24", "borrowers.n=5000", "simulation.check_invariants=true",
        "output.charts=false", 'network.social.kind="erdos_renyi"',
        "network.social.kind2=watts_strogatz", "macro.seasonality=[1, 2.5, 3]",
        " banks.n = 7 ", "regulator.max_debt_income=inf", "x.neg=-1", "x.sci=1e3",
        "x.text=hello world",
    ])
    assert got["regulator.apr_cap"] == 0.24 and isinstance(got["regulator.apr_cap"], float)
    assert got["borrowers.n"] == 5000 and isinstance(got["borrowers.n"], int)
    assert got["simulation.check_invariants"] is True
    assert got["output.charts"] is False
    assert got["network.social.kind"] == "erdos_renyi"
    assert got["network.social.kind2"] == "watts_strogatz"  # not TOML: a plain string
    assert got["macro.seasonality"] == [1, 2.5, 3]
    assert got["banks.n"] == 7
    assert got["regulator.max_debt_income"] == math.inf
    assert got["x.neg"] == -1 and got["x.sci"] == 1000.0
    assert got["x.text"] == "hello world"


def test_parse_overrides_later_wins_and_none():
    assert parse_overrides(["a.b=1", "a.b=2"]) == {"a.b": 2}
    assert parse_overrides(None) == {}
    assert parse_overrides([]) == {}


@pytest.mark.parametrize("item", ["borrowers.n", "=5", "  =5", ""])
def test_parse_overrides_rejects_item_without_key_value(item):
    with pytest.raises(ScenarioError) as info:
        parse_overrides([item])
    assert repr(item) in str(info.value) and "key=value" in str(info.value)


def test_parsed_overrides_feed_the_scenario():
    scen = Scenario().with_overrides(parse_overrides(
        ["regulator.apr_cap=0.24", "borrowers.n=5000", "network.social.kind=erdos_renyi",
         "regulator.max_debt_income=0.5"]))
    assert (scen.regulator.apr_cap, scen.borrowers.n) == (0.24, 5000)
    assert scen.network.social.kind == "erdos_renyi"
    assert scen.regulator.max_debt_income == 0.5


def test_extends_missing_file_in_a_folder_is_not_replaced_by_the_shipped_one(tmp_path):
    """``extends = "configs/baseline.toml"`` names the user's own file; when it is missing that
    is an error, not a silent switch to the shipped baseline.toml of the same base name."""
    path = write(tmp_path / "child.toml", '[meta]\nextends = "configs/baseline.toml"\n')
    with pytest.raises(ScenarioError, match="configs/baseline.toml"):
        load_scenario(path)
