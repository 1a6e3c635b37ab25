"""Tests for lendsim.simulation.params: typed, frozen, validated parameters and their errors."""

from __future__ import annotations

import dataclasses
import json
import math
import re

import pytest

from lendsim.errors import ScenarioError
from lendsim.simulation.params import Scenario, flatten, parameter_reference

REQUIRED_KEYS = [
    "borrowers.n", "platforms.n", "banks.n", "network.social.kind",
    "network.social.mean_degree", "regulator.apr_cap", "regulator.joint_lending_min_share",
    "regulator.data_sharing", "regulator.bank_capital_requirement", "macro.unemployment_rate",
]


def error_for(overrides: dict) -> str:
    with pytest.raises(ScenarioError) as info:
        Scenario().with_overrides(overrides)
    return str(info.value)


# ----------------------------------------------------------------- defaults and names


def test_defaults_validate():
    default = Scenario()
    # running every default through the validator (types, ranges, cross-field checks)
    # must accept it unchanged
    assert default.with_overrides({}) == default
    assert Scenario.from_dict(default.to_dict()) == default


@pytest.mark.parametrize("key", REQUIRED_KEYS)
def test_required_key_exists_under_this_name(key):
    flat = Scenario().flat()
    assert key in flat
    assert Scenario().get(key) == flat[key]


@pytest.mark.parametrize("key", REQUIRED_KEYS)
def test_required_key_can_be_overridden(key):
    """Each required key accepts a new valid value and only that key changes."""
    base = Scenario()
    candidates = {
        "borrowers.n": (500, 600), "platforms.n": (3, 4), "banks.n": (4, 5),
        "network.social.kind": ("erdos_renyi", "barabasi_albert"),
        "network.social.mean_degree": (6.0, 8.0), "regulator.apr_cap": (0.24, 0.2),
        "regulator.joint_lending_min_share": (0.3, 0.2), "regulator.data_sharing": (0.5, 0.6),
        "regulator.bank_capital_requirement": (0.105, 0.11),
        "macro.unemployment_rate": (0.08, 0.07),
    }
    value = next(v for v in candidates[key] if v != base.get(key))  # a real change
    changed = base.with_overrides({key: value})
    assert changed.get(key) == value
    before, after = base.flat(), changed.flat()
    assert {k for k in before if before[k] != after[k]} == {key}


def test_flat_keys_match_the_nested_dict():
    d = Scenario().to_dict()
    flat = Scenario().flat()
    for key, value in flat.items():
        node = d
        for part in key.split("."):
            node = node[part]
        assert node == value


# ----------------------------------------------------------------- with_overrides, frozen


def test_with_overrides_returns_new_object_and_leaves_original_alone():
    base = Scenario()
    n_before = base.borrowers.n
    changed = base.with_overrides({"borrowers.n": 1234, "regulator.apr_cap": 0.24,
                                   "network.social.mean_degree": 4})
    assert changed is not base
    assert (changed.borrowers.n, changed.regulator.apr_cap) == (1234, 0.24)
    assert changed.network.social.mean_degree == 4.0
    assert isinstance(changed.network.social.mean_degree, float)  # int accepted for a float
    assert base.borrowers.n == n_before
    assert changed.macro == base.macro  # untouched sections equal
    assert changed != base


def test_scenario_and_sections_are_frozen():
    scen = Scenario().with_overrides({"borrowers.n": 1234})
    with pytest.raises(dataclasses.FrozenInstanceError):
        scen.borrowers = None
    with pytest.raises(dataclasses.FrozenInstanceError):
        scen.borrowers.n = 5
    with pytest.raises(dataclasses.FrozenInstanceError):
        scen.network.social.kind = "none"
    with pytest.raises(dataclasses.FrozenInstanceError):
        scen.platforms.embedded.margin = 0.5
    hash(scen.regulator)  # frozen dataclasses are hashable


def test_whole_float_accepted_for_int():
    scen = Scenario().with_overrides({"borrowers.n": 2000.0})
    assert scen.borrowers.n == 2000 and isinstance(scen.borrowers.n, int)


def test_overrides_chain():
    a = Scenario().with_overrides({"regulator.apr_cap": 0.24})
    b = a.with_overrides({"regulator.data_sharing": 0.5})
    assert (b.regulator.apr_cap, b.regulator.data_sharing) == (0.24, 0.5)
    assert a.regulator.data_sharing == Scenario().regulator.data_sharing


# ----------------------------------------------------------------- unknown keys


@pytest.mark.parametrize("typo,right", [
    ("regulator.apr_capp", "regulator.apr_cap"),
    ("borrower.n", "borrowers.n"),
    ("macro.unemployment", "macro.unemployment_rate"),
    ("regulator.datasharing", "regulator.data_sharing"),
    ("network.social.mean_degre", "network.social.mean_degree"),
])
def test_unknown_key_names_it_and_suggests_the_right_one(typo, right):
    msg = error_for({typo: 1})
    assert typo in msg
    assert "unknown" in msg
    # suggestions are quoted; the key itself opens the message unquoted
    assert f"'{right}'" in msg.split("unknown", 1)[1]


def test_unknown_key_without_close_match():
    msg = error_for({"zzz.qqq": 1})
    assert "zzz.qqq" in msg and "unknown" in msg


def test_section_name_is_not_a_parameter():
    msg = error_for({"regulator": 0.3})
    assert "regulator" in msg and "unknown" in msg


# ----------------------------------------------------------------- bad values


@pytest.mark.parametrize("value", ["many", 1.5, True, None, [10]])
def test_wrong_type_for_int(value):
    msg = error_for({"borrowers.n": value})
    assert msg.count("borrowers.n") >= 1
    assert repr(value) in msg
    assert "whole number" in msg


@pytest.mark.parametrize("value", ["high", True, float("nan"), [0.2]])
def test_wrong_type_for_float(value):
    msg = error_for({"regulator.apr_cap": value})
    assert "regulator.apr_cap" in msg and repr(value) in msg and "number" in msg


@pytest.mark.parametrize("value", [1, "yes", 0.0])
def test_wrong_type_for_bool(value):
    msg = error_for({"simulation.check_invariants": value})
    assert "simulation.check_invariants" in msg and repr(value) in msg
    assert "true or false" in msg


def test_wrong_type_for_string_choice():
    msg = error_for({"network.social.kind": 3})
    assert "network.social.kind" in msg and "3" in msg and "watts_strogatz" in msg


@pytest.mark.parametrize("key,value,allowed", [
    ("regulator.data_sharing", 1.5, r">= 0 and <= 1\b"),
    ("regulator.data_sharing", -0.1, r">= 0 and <= 1\b"),
    ("borrowers.n", -5, r"whole number >= \d"),
    ("borrowers.n", 0, r"whole number >= \d"),
    ("regulator.apr_cap", 0.0, r"> 0\b"),  # open lower bound: zero is not allowed
    ("macro.unemployment_rate", 1.5, r"<= [\d.]+"),
    ("regulator.joint_lending_min_share", 2, r">= 0 and <= 1\b"),
])
def test_out_of_range(key, value, allowed):
    msg = error_for({key: value})
    assert msg.startswith(f"{key} = {value!r}")
    assert re.search(allowed, msg), msg


def test_range_boundaries_are_inclusive():
    for share in (0.0, 1.0):
        scen = Scenario().with_overrides({"regulator.data_sharing": share,
                                          "regulator.joint_lending_min_share": share})
        assert scen.regulator.data_sharing == share
        assert scen.regulator.joint_lending_min_share == share


def test_bad_choice_names_field_value_and_choices():
    msg = error_for({"network.social.kind": "small_world"})
    assert "network.social.kind" in msg and "'small_world'" in msg
    for kind in ("watts_strogatz", "erdos_renyi", "barabasi_albert", "none"):
        assert kind in msg


def test_bad_choice_suggests_close_match():
    msg = error_for({"network.social.kind": "watts_strogats"})
    assert "did you mean 'watts_strogatz'" in msg


def test_only_one_error_for_one_bad_value():
    """One ScenarioError, with one message (not a list of follow-on complaints)."""
    msg = error_for({"borrowers.n": "many"})
    assert "\n" not in msg
    assert msg.count(" must be ") == 1


@pytest.mark.parametrize("overrides,key", [
    ({"platforms.n": 20, "platforms.max_n": 10}, "platforms.max_n"),
    ({"borrowers.tier_shares": [0.5, 0.4, 0.3]}, "borrowers.tier_shares"),
    ({"borrowers.tier_income": [1.0, 1.0]}, "borrowers.tier_income"),
    ({"macro.seasonality": [1.0] * 11}, "macro.seasonality"),
    ({"network.social.kind": "edge_list"}, "network.social.edge_list"),
    ({"borrowers.n": 50, "network.social.mean_degree": 50}, "network.social.mean_degree"),
])
def test_cross_field_checks(overrides, key):
    msg = error_for(overrides)
    assert key in msg and "must be" in msg


def test_source_is_named_in_the_message():
    with pytest.raises(ScenarioError, match=r"\(in my_file\.toml\)"):
        Scenario().with_overrides({"borrowers.n": -1}, source="my_file.toml")


def test_scenario_error_is_a_value_error():
    with pytest.raises(ValueError):
        Scenario().with_overrides({"borrowers.n": -1})


# ----------------------------------------------------------------- JSON and reference


def test_to_json_dict_round_trips():
    scen = Scenario().with_overrides({"regulator.max_debt_income": math.inf,
                                      "regulator.bank_platform_exposure_limit": 0.25,
                                      "borrowers.n": 777, "network.social.kind": "erdos_renyi",
                                      "regulator.apr_cap_mode": "indexed"})
    text = json.dumps(scen.to_json_dict(), allow_nan=False)  # strict JSON: no Infinity
    data = json.loads(text)
    assert data["regulator"]["max_debt_income"] == "inf"
    back = Scenario.from_dict(data)
    assert back == scen
    assert back.regulator.max_debt_income == math.inf


def test_to_json_dict_writes_every_infinity_as_string():
    flat = Scenario().flat()
    json_flat = flatten(Scenario().to_json_dict())
    assert json_flat.keys() == flat.keys()
    for key, value in flat.items():
        if isinstance(value, float) and math.isinf(value):
            assert json_flat[key] == "inf"
        else:
            assert json_flat[key] == value


def test_default_round_trip_through_json():
    data = json.loads(json.dumps(Scenario().to_json_dict(), allow_nan=False))
    assert Scenario.from_dict(data) == Scenario()


def test_parameter_reference_lists_every_flat_key_once():
    rows = parameter_reference()
    keys = [row[0] for row in rows]
    assert len(keys) == len(set(keys))
    assert set(keys) == set(Scenario().flat())


def test_parameter_reference_defaults_and_docs():
    flat = Scenario().flat()
    for key, default, allowed, doc in parameter_reference():
        value = flat[key]
        assert (list(default) if isinstance(default, tuple) else default) == value, key
        assert isinstance(allowed, str)
        assert doc.strip(), f"{key} has no documentation"
