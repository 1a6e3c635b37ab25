"""Scenario files: TOML with ``extends``, and ``--set key=value`` overrides.

A scenario file holds section tables named like the parameter sections (``[borrowers]``,
``[regulator]``, ``[network.social]``, ...), an optional ``[params]`` table of dotted keys
(``"regulator.apr_cap" = 0.24``) and an optional ``[meta]`` table (``name``, ``description``,
``extends``). ``extends`` names another file, relative to this one or one shipped with lendsim
(``baseline.toml``); the child's values win. Everything is validated before anything runs.
"""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from lendsim.errors import ScenarioError
from lendsim.simulation.params import SECTIONS, Scenario, flatten
from lendsim.simulation.policy import with_policy

META_KEYS = ("name", "description", "extends")
DEFAULT_SCENARIO = "baseline.toml"


def packaged_scenario(name: str) -> Path | None:
    """Path of a scenario file shipped inside the package, or None."""
    ref = resources.files("lendsim") / "scenarios" / name
    return Path(str(ref)) if ref.is_file() else None


def load_scenario(path: str | Path | None = None,
                  overrides: dict[str, Any] | None = None) -> Scenario:
    """Load and validate a scenario file (None: the default scenario), then apply overrides.

    Raises:
        ScenarioError: naming the field, the value and what is allowed.
    """
    if path is None:
        path = packaged_scenario(DEFAULT_SCENARIO)
    return load_scenario_data(read_toml(Path(path)), path, overrides)


def load_scenario_data(data: dict, path: str | Path,
                       overrides: dict[str, Any] | None = None) -> Scenario:
    """Build a scenario from TOML data already read from ``path`` (e.g. an experiment file
    with its experiment-only tables removed), with the same rules as :func:`load_scenario`:
    ``[meta]`` keys, known section tables, the ``extends`` chain (relative to ``path``),
    ``[params]``, ``[[policy]]`` and ``[[trigger]]`` arrays, and file paths relative to
    ``path``.

    Args:
        data: the file's top-level tables (not modified).
        path: the file the data came from; names errors and anchors relative paths.
        overrides: dotted keys applied last.

    Raises:
        ScenarioError: naming the field, the value and what is allowed.
    """
    path = Path(path)
    flat, meta, arrays = _read_chain(path, seen=(), data=data)
    scen = Scenario().with_overrides(flat, source=str(path), name=meta.get("name", path.stem))
    if arrays:
        scen = with_policy(scen, arrays.get("policy", ()), arrays.get("trigger", ()),
                           source=arrays["source"])
    if overrides:
        scen = scen.with_overrides(overrides, source="overrides")
    return scen


#: Arrays of tables a scenario may hold; a child's array replaces its parent's.
ARRAY_TABLES = ("policy", "trigger")


def _read_chain(path: Path, seen: tuple[Path, ...], data: dict | None = None
                ) -> tuple[dict[str, Any], dict, dict]:
    data = dict(read_toml(path) if data is None else data)
    meta = data.pop("meta", {})
    if not isinstance(meta, dict):
        raise ScenarioError(f"meta = {meta!r} (in {path}): must be a table")
    for key in meta:
        if key not in META_KEYS:
            raise ScenarioError(f"meta.{key} (in {path}): unknown key; allowed: "
                                f"{', '.join(META_KEYS)}")
    params = data.pop("params", {})
    own_arrays = {k: data.pop(k) for k in ARRAY_TABLES if k in data}
    for key in data:
        if key not in SECTIONS:
            import difflib
            close = difflib.get_close_matches(
                key, list(SECTIONS) + ["params", "meta", *ARRAY_TABLES], n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ScenarioError(f"[{key}] (in {path}): unknown section{hint}")
    flat: dict[str, Any] = {}
    arrays: dict[str, Any] = {}
    if "extends" in meta:
        parent = resolve_extends(meta["extends"], path)
        if parent.resolve() in seen + (path.resolve(),):
            raise ScenarioError(f"meta.extends = {meta['extends']!r} (in {path}): "
                                "files extend each other in a cycle")
        flat, _, arrays = _read_chain(parent, seen + (path.resolve(),))
    flat.update(flatten(data))
    if not isinstance(params, dict):
        raise ScenarioError(f"params = {params!r} (in {path}): must be a table of "
                            "dotted keys")
    flat.update(flatten(params))
    for key in ("network.social.edge_list", "network.interbank.file"):
        file = flat.get(key)  # a file named in a scenario is relative to that scenario
        if file and not Path(file).is_absolute():
            flat[key] = str((path.parent / file).resolve())
    if own_arrays:
        arrays = {**arrays, **own_arrays, "source": str(path)}
    return flat, meta, arrays


def read_toml(path: Path) -> dict:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ScenarioError(f"{path}: no such scenario file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path}: not valid TOML ({exc})") from None


def resolve_extends(name: str, child: Path) -> Path:
    if not isinstance(name, str):
        raise ScenarioError(f"meta.extends = {name!r} (in {child}): must be a file name")
    local = child.parent / name
    if local.is_file():
        return local
    shipped = packaged_scenario(name) if Path(name).name == name else None
    if shipped is not None:  # only a bare file name may mean a file shipped with lendsim
        return shipped
    raise ScenarioError(f"meta.extends = {name!r} (in {child}): no such file next to it or "
                        "shipped with lendsim")


def parse_overrides(items: list[str] | None) -> dict[str, Any]:
    """Parse ``key=value`` strings; the value is read as TOML (``0.24``, ``true``,
    ``"ws"``, ``[1, 2]``), and as a plain string when it is not valid TOML."""
    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ScenarioError(f"--set {item!r}: must look like key=value, e.g. "
                                "regulator.apr_cap=0.24")
        try:
            value = tomllib.loads(f"v = {raw.strip()}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw.strip()
        out[key] = value
    return out

