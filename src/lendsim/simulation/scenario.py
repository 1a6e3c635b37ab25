"""Scenario files: TOML with ``extends``, and ``--set key=value`` overrides.

A scenario file holds section tables named like the parameter sections (``[borrowers]``,
``[regulator]``, ``[network.social]``, ...), an optional ``[params]`` table of dotted keys
(``"regulator.apr_cap" = 0.24``) and an optional ``[meta]`` table (``name``, ``description``,
``extends``). ``extends`` names another file, relative to this one or one shipped with lendsim
(``baseline.toml``); the child's values win. Everything is validated before anything runs.

Paths inside scenario files (``extends``, ``network.social.edge_list``,
``network.interbank.file``) resolve relative to the file that names them and must stay inside
the folder of the file the user gave (its folder tree); ``allow_outside=True`` (the command
line's ``--allow-outside-paths``) lifts that. A file named in a scenario is read and checked
when the scenario is loaded, before anything runs; messages about it never quote its contents.
"""

from __future__ import annotations

import functools
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from lendsim.errors import ScenarioError
from lendsim.simulation.params import SECTIONS, Scenario, flatten
from lendsim.simulation.policy import with_policy

META_KEYS = ("name", "description", "extends")
DEFAULT_SCENARIO = "baseline.toml"
#: Largest scenario file read (bytes): a scenario is a few kB; this refuses /dev/zero-like input.
MAX_FILE_BYTES = 10_000_000
#: Top-level tables of experiment files, offered as "did you mean" for unknown sections.
EXPERIMENT_SECTIONS = ("run", "sweep", "sample", "outputs")
#: Parameters that name files.
FILE_KEYS = ("network.social.edge_list", "network.interbank.file")


#: The package folder of the scenario and experiment files shipped with lendsim.
EXAMPLES = "examples"


def packaged_scenario(name: str) -> Path | None:
    """Path of a scenario or experiment file shipped with lendsim (``income_shock`` or
    ``income_shock.toml``), or None."""
    if Path(name).name != name or not name:
        return None
    ref = resources.files("lendsim") / EXAMPLES / (name if name.endswith(".toml")
                                                   else f"{name}.toml")
    return Path(str(ref)) if ref.is_file() else None


def locate(path: str | Path) -> Path:
    """The file a scenario argument names: the path itself when it exists, else, for a bare
    name (``income_shock`` or ``income_shock.toml``), the example shipped with lendsim of
    that name; else the path (whose reading then reports it missing).

    Examples:
        >>> locate("income_shock").name, locate("income_shock").parent.name
        ('income_shock.toml', 'examples')
    """
    p = Path(path)
    if p.exists():
        return p
    shipped = packaged_scenario(str(path))
    return shipped if shipped is not None else p


def examples() -> list[tuple[str, str]]:
    """The shipped scenario and experiment files: (name, the question it answers), by name.
    The question is the file's opening comment up to its first question mark (or its first
    sentence).

    Examples:
        >>> dict(examples())["income_shock"]
        "how fast does delinquency rise when borrowers' incomes fall, and who is hit first?"
    """
    root = resources.files("lendsim") / EXAMPLES
    out = []
    for ref in sorted(root.iterdir(), key=lambda r: r.name):
        if not ref.name.endswith(".toml"):
            continue
        head = []
        for line in ref.read_text(encoding="utf-8").splitlines():
            if not line.startswith("#"):
                break
            head.append(line.lstrip("#").strip())
        text = " ".join(head).removeprefix("Question:").strip()
        end = text.find("?")
        if end < 0:
            end = text.find(". ")
        out.append((ref.name.removesuffix(".toml"), text[:end + 1] if end >= 0 else text))
    return out


def load_scenario(path: str | Path | None = None,
                  overrides: dict[str, Any] | None = None, *,
                  allow_outside: bool = False) -> Scenario:
    """Load and validate a scenario file (None: the default scenario), then apply overrides.

    Raises:
        ScenarioError: naming the field, the value and what is allowed.
    """
    path = packaged_scenario(DEFAULT_SCENARIO) if path is None else locate(path)
    return load_scenario_data(read_toml(path), path, overrides, allow_outside=allow_outside)


def load_scenario_data(data: dict, path: str | Path,
                       overrides: dict[str, Any] | None = None, *,
                       allow_outside: bool = False) -> Scenario:
    """Build a scenario from TOML data already read from ``path`` (e.g. an experiment file
    with its experiment-only tables removed), with the same rules as :func:`load_scenario`:
    ``[meta]`` keys, known section tables, the ``extends`` chain (relative to ``path``),
    ``[params]``, ``[[policy]]`` and ``[[trigger]]`` arrays, and file paths relative to
    ``path``.

    Args:
        data: the file's top-level tables (not modified).
        path: the file the data came from; names errors and anchors relative paths.
        overrides: dotted keys applied last.
        allow_outside: let paths in the files leave the folder of ``path``.

    Raises:
        ScenarioError: naming the field, the value and what is allowed.
    """
    path = Path(path)
    root = None if allow_outside else path.resolve().parent
    flat, meta, arrays = _read_chain(path, seen=(), data=data, root=root)
    name = meta.get("name", path.stem)
    check_name(name, f"meta.name (in {path})")
    scen = Scenario().with_overrides(flat, source=str(path), name=name)
    if arrays:
        scen = with_policy(scen, arrays.get("policy", ()), arrays.get("trigger", ()),
                           source=arrays["source"])
    if overrides:
        scen = scen.with_overrides(overrides, source="overrides")
    check_files(scen)
    return scen


def check_name(name: Any, where: str) -> None:
    """A scenario or experiment name becomes a folder name (``results/<name>``): it must be a
    plain name, not a path.

    Raises:
        ScenarioError: naming ``where``, the value and what is allowed.
    """
    if (not isinstance(name, str) or not name or len(name) > 100 or name in (".", "..")
            or any(c in name for c in "/\\:") or not name.isprintable()
            or name.startswith(".")):
        raise ScenarioError(f"{where} = {name!r}: must be a plain name (1-100 printable "
                            "characters, no '/', '\\' or ':', not starting with '.'); it names "
                            "the results folder")


def check_files(scen: Scenario) -> None:
    """Read every file the scenario uses (the social edge list, the interbank exposure file)
    as the model will, so that a missing, unreadable or malformed file is one line before
    anything runs; the messages name the file and the line, never its contents.

    Raises:
        ScenarioError: naming the parameter and what is wrong with its file.
    """
    check_extras(scen)
    social, interbank = scen.network.social, scen.network.interbank
    if social.kind == "edge_list":
        _check_file("network.social.edge_list", social.edge_list, scen.borrowers.n)
    if interbank.kind == "file":
        _check_file("network.interbank.file", interbank.file, scen.banks.n)


def check_extras(scen: Scenario) -> None:
    """A scoring model that needs an optional package (``platforms.<type>.scoring =
    'trees'``) stops the scenario, before anything runs, with one line naming the extra.

    Raises:
        lendsim.extras.MissingExtraError: naming the setting and the extra to install.
    """
    from lendsim.simulation import strategies
    from lendsim.simulation.params import PLATFORM_TYPES

    for kind in PLATFORM_TYPES:
        name = scen.platforms.type_params(kind).scoring
        if name != "logistic":
            strategies.create("scoring", name).check_available(
                f"platforms.{kind}.scoring = {name!r}")


def _check_file(key: str, file: str, n: int) -> None:
    path = Path(file)
    if not path.is_file():
        raise ScenarioError(f"{key} = {file!r}: no such file (allowed: a regular file)")
    st = path.stat()
    _parse_file(key, str(path.resolve()), n, st.st_mtime_ns, st.st_size)


@functools.lru_cache(maxsize=32)
def _parse_file(key: str, path: str, n: int, mtime_ns: int, size: int) -> None:
    """Parse a file once per (path, n, version): a sweep checks each arm's scenario."""
    from lendsim.errors import LendsimError

    try:
        if key == "network.social.edge_list":
            from lendsim.simulation.networks import from_edge_list

            from_edge_list(path, n)
        else:
            from lendsim.simulation.interbank import from_file

            from_file(path, n)
    except (ValueError, LendsimError) as exc:
        raise ScenarioError(f"{key}: {exc}") from None


def _inside(path: Path, root: Path | None) -> bool:
    return root is None or path.resolve().is_relative_to(root)


_OUTSIDE_HINT = ("allowed: files inside the folder of the file you gave ({root}); "
                 "--allow-outside-paths (allow_outside=True) lifts this")


#: Arrays of tables a scenario may hold; a child's array replaces its parent's.
ARRAY_TABLES = ("policy", "trigger")


def _read_chain(path: Path, seen: tuple[Path, ...], data: dict | None = None,
                root: Path | None = None) -> tuple[dict[str, Any], dict, dict]:
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
                key, list(SECTIONS) + ["params", "meta", *ARRAY_TABLES, *EXPERIMENT_SECTIONS],
                n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ScenarioError(f"[{key}] (in {path}): unknown section{hint}")
    flat: dict[str, Any] = {}
    arrays: dict[str, Any] = {}
    if "extends" in meta:
        parent = resolve_extends(meta["extends"], path)
        shipped = packaged_scenario(parent.name)
        if not (shipped is not None and parent == shipped) and not _inside(parent, root):
            raise ScenarioError(f"meta.extends = {meta['extends']!r} (in {path}): leaves the "
                                "folder tree; " + _OUTSIDE_HINT.format(root=root))
        if parent.resolve() in seen + (path.resolve(),):
            raise ScenarioError(f"meta.extends = {meta['extends']!r} (in {path}): "
                                "files extend each other in a cycle")
        flat, _, arrays = _read_chain(parent, seen + (path.resolve(),), root=root)
    if not isinstance(params, dict):
        raise ScenarioError(f"params = {params!r} (in {path}): must be a table of "
                            "dotted keys")
    own = {**flatten(data), **flatten(params)}  # this file's own values
    flat.update(own)
    for key in FILE_KEYS:
        file = own.get(key)  # a file named in a scenario is relative to that scenario
        if not file or not isinstance(file, str):
            continue
        full = Path(file) if Path(file).is_absolute() else path.parent / file
        if not _inside(full, root):
            raise ScenarioError(f"{key} = {file!r} (in {path}): leaves the folder tree; "
                                + _OUTSIDE_HINT.format(root=root))
        flat[key] = str(full.resolve())
    if own_arrays:
        arrays = {**arrays, **own_arrays, "source": str(path)}
    return flat, meta, arrays


def read_toml(path: Path) -> dict:
    """The TOML file at ``path``, or one line saying why it cannot be a scenario file (not a
    regular file, too large, not UTF-8, not TOML, nested too deeply); never its contents."""
    path = Path(path)
    if not path.exists():
        hint = ("; `lendsim examples` lists the files shipped with lendsim"
                if path.name == str(path) else "")
        raise ScenarioError(f"{path}: no such scenario file{hint}")
    if not path.is_file():
        raise ScenarioError(f"{path}: not a regular file (a scenario is a .toml file)")
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ScenarioError(f"{path}: {size:,} bytes; a scenario file must be at most "
                                f"{MAX_FILE_BYTES:,} bytes")
        with open(path, "rb") as fh:
            raw = fh.read(MAX_FILE_BYTES + 1)
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ScenarioError(f"{path}: not UTF-8 text (a scenario is a UTF-8 .toml file)") \
            from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path}: not valid TOML ({exc})") from None
    except RecursionError:
        raise ScenarioError(f"{path}: nested too deeply to be a scenario file") from None
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read it ({type(exc).__name__})") from None


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

