"""Write and read one run's results directory.

A run directory holds one Parquet file per table (``model.parquet``, ``platforms.parquet``,
``banks.parquet``, ``events.parquet``, and any extra tables), ``manifest.json`` (parameters, seed,
versions, steps, timings, plus the list of files) and the standard PNG charts::

    results/run-20250101-120000-a1b2/
        manifest.json  model.parquet  platforms.parquet  banks.parquet  events.parquet
        credit.png  risk.png  market.png  banks.png  borrowers.png

Writing is atomic: everything is built in a hidden sibling directory and renamed into place at
the end, so a run directory either is complete or does not exist (nothing is half-written;
docs/reliability.md).
"""

from __future__ import annotations

import datetime as _dt
import errno
import json
import os
import re
import secrets
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lendsim.errors import LendsimError
from lendsim.results.folders import MANIFEST_FILE, check_run_dir
from lendsim.results.plots import plot_run

__all__ = [
    "MANIFEST_FILE",
    "TABLE_COLUMNS",
    "RunTables",
    "default_run_dir",
    "load_run",
    "write_run",
]

#: The standard tables and the columns each is guaranteed to have. ``load_run`` returns an empty
#: frame with these columns for a table whose file is missing.
TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "model": (
        "step", "credit_outstanding", "originations", "approval_rate", "avg_apr",
        "delinquency_30", "delinquency_90", "default_rate", "charge_offs", "n_platforms_active",
        "platform_failures", "hhi", "bank_capital_ratio_min", "bank_failures",
        "borrowers_rationed", "multi_lender_share", "lenders_per_borrower", "overindebted_share",
        "unemployment_rate",
    ),
    "platforms": (
        "step", "platform_id", "platform_type", "is_active", "equity", "loans_held",
        "loans_managed", "originations", "market_share", "avg_apr", "delinquency_30",
        "delinquency_90", "auc", "ks",
    ),
    "banks": (
        "step", "bank_id", "equity", "capital_ratio", "joint_loans", "funding_lines", "is_failed",
    ),
    "events": ("step", "kind", "agent_type", "agent_id", "size", "detail"),
}  # fmt: skip

_TABLE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class RunTables:
    """The tables and manifest of one run, as loaded by ``load_run``.

    Attributes:
        model: One row per step (market aggregates).
        platforms: One row per (step, platform_id).
        banks: One row per (step, bank_id).
        events: The event log (failures, cascades, ...); may have no rows.
        manifest: The run's manifest (parameters, seed, versions, steps, timings, files).
        extras: Any other tables found in the directory (e.g. borrower snapshots), by name.
        path: The directory the run was loaded from, if any.
    """

    model: pd.DataFrame
    platforms: pd.DataFrame
    banks: pd.DataFrame
    events: pd.DataFrame
    manifest: dict[str, Any]
    extras: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    path: Path | None = None


def _json_default(obj: Any) -> Any:
    """Convert the non-JSON types a manifest commonly holds (numpy scalars, paths, dates)."""
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if isinstance(obj, (_dt.datetime, _dt.date)):
        return obj.isoformat()
    if isinstance(obj, (set, frozenset)):
        return sorted(obj, key=repr)
    raise TypeError(
        f"manifest value {obj!r} of type {type(obj).__name__} is not JSON-serialisable; "
        "allowed: dict, list, str, int, float, bool, None (and numpy scalars/arrays, paths, dates)"
    )


def _manifest_text(manifest: Mapping[str, Any], files: list[str]) -> str:
    if not isinstance(manifest, Mapping):
        raise TypeError(f"manifest must be a dict, got {type(manifest).__name__}")
    content = {**manifest, "files": sorted(files)}
    text = json.dumps(content, indent=2, sort_keys=True, allow_nan=False, default=_json_default)
    return text + "\n"


def _check_tables(tables: Mapping[str, pd.DataFrame]) -> None:
    if not isinstance(tables, Mapping):
        raise TypeError(f"tables must be a dict of name -> DataFrame, got {type(tables).__name__}")
    for name, df in tables.items():
        if not isinstance(name, str) or not _TABLE_NAME.match(name) or name == "manifest":
            raise ValueError(
                f"table name {name!r} is not allowed: use letters, digits, '_', '.', '-' "
                "(not starting with '.' or '-'), and not 'manifest'"
            )
        if not isinstance(df, pd.DataFrame):
            raise TypeError(f"table {name!r} must be a pandas DataFrame, got {type(df).__name__}")


def _make_temp_dir(out_dir: Path) -> Path:
    """Create ``.<name>.tmp-<hex>`` beside ``out_dir``; ``os.mkdir`` fails on collision, so retry.

    ``tempfile.mkdtemp`` would also avoid collisions, but creates the directory with mode 0o700,
    which the final rename would carry over to the results directory; ``os.mkdir`` honours the
    user's umask like any directory they create.
    """
    for _ in range(100):
        candidate = out_dir.parent / f".{out_dir.name}.tmp-{secrets.token_hex(4)}"
        try:
            os.mkdir(candidate)
        except FileExistsError:
            continue
        return candidate
    raise FileExistsError(f"could not create a unique temporary directory beside {out_dir}")


def write_run(
    out_dir: str | os.PathLike[str],
    tables: Mapping[str, pd.DataFrame],
    manifest: Mapping[str, Any],
    *,
    charts: bool = True,
) -> Path:
    """Write a run's tables, manifest and charts to a new directory, atomically.

    Everything is built in a sibling temporary directory ``.<name>.tmp-<hex>`` and renamed to
    ``out_dir`` only once complete. On any error the temporary directory is removed and the
    error re-raised, so no half-written run remains.

    Args:
        out_dir: The run directory to create. It must not exist; its parent is created if needed.
        tables: Table name -> DataFrame, normally ``model``, ``platforms``, ``banks``, ``events``;
            each is written to ``<name>.parquet`` (pyarrow, without the index).
        manifest: JSON-serialisable run description (parameters, seed, versions, steps,
            timings). Numpy scalars/arrays, paths and dates are converted. Written to
            ``manifest.json`` (indent 2, sorted keys) with a ``files`` list of the data and chart
            files added (replacing any ``files`` entry given).
        charts: Also draw the standard PNG charts (see ``lendsim.results.plots.plot_run``).

    Returns:
        The run directory, ``Path(out_dir)``.

    Raises:
        FileExistsError: If ``out_dir`` already exists.
        TypeError: If a table is not a DataFrame or the manifest is not JSON-serialisable.
        ValueError: If a table name is not a safe file name, or the manifest holds NaN/inf.
    """
    out = Path(out_dir)
    _check_tables(tables)
    _manifest_text(manifest, [])  # fail on a bad manifest before any slow work
    if out.exists() or out.is_symlink():
        raise FileExistsError(
            f"run directory {out} already exists; choose a new directory "
            "(e.g. lendsim.results.store.default_run_dir()) or remove the old one"
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = _make_temp_dir(out)
    try:
        files: list[str] = []
        for name, df in tables.items():
            filename = f"{name}.parquet"
            df.to_parquet(tmp / filename, engine="pyarrow", index=False)
            files.append(filename)
        if charts:
            files.extend(p.name for p in plot_run(tables, tmp))
        (tmp / MANIFEST_FILE).write_text(_manifest_text(manifest, files), encoding="utf-8")
        # Re-check just before the rename: on POSIX, rename silently replaces an *empty* dir.
        if out.exists() or out.is_symlink():
            raise FileExistsError(f"run directory {out} appeared while the run was being written")
        try:
            os.rename(tmp, out)
        except OSError as exc:
            if exc.errno in (errno.EEXIST, errno.ENOTEMPTY) or isinstance(exc, FileExistsError):
                raise FileExistsError(
                    f"run directory {out} appeared while the run was being written"
                ) from exc
            raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def default_run_dir(base: str | os.PathLike[str] = "results", name: str = "run") -> Path:
    """A fresh run directory path: ``<base>/<name>-<YYYYmmdd-HHMMSS>-<4 hex>``.

    The directory is not created; a path that already exists is never returned (a new random
    suffix is drawn). The random suffix uses the operating system's entropy, not any model
    random stream, so it does not disturb reproducibility.

    Args:
        base: Parent directory of runs.
        name: Prefix naming the run or experiment; must not contain path separators.

    Returns:
        The path, e.g. ``results/run-20250101-120000-a1b2``.

    Raises:
        ValueError: If ``name`` is empty or contains a path separator.
    """
    if not name or "/" in name or "\\" in name or name in (".", ".."):
        raise ValueError(f"run name must be a plain file name without '/' or '\\', got {name!r}")
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    while True:
        candidate = Path(base) / f"{name}-{stamp}-{secrets.token_hex(2)}"
        if not candidate.exists():
            return candidate


class DamagedRunError(LendsimError, ValueError):
    """A run folder whose manifest or tables are missing or unreadable."""


def load_run(path: str | os.PathLike[str]) -> RunTables:
    """Load a run directory written by ``write_run``.

    Args:
        path: The run directory.

    Returns:
        The run's tables and manifest. A standard table whose file is missing is returned as an
        empty DataFrame with that table's standard columns (``TABLE_COLUMNS``); other
        ``*.parquet`` files are returned in ``extras``.

    Raises:
        FileNotFoundError: If ``path`` is not a directory or has no ``manifest.json``.
        DamagedRunError: If the manifest or a table it lists cannot be read.
    """
    run_dir = Path(path)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"run directory {run_dir} does not exist or is not a directory")
    manifest_path = run_dir / MANIFEST_FILE
    if not manifest_path.is_file():
        raise FileNotFoundError(
            f"{run_dir} has no {MANIFEST_FILE}; it is not a complete lendsim run directory"
        )
    why = check_run_dir(run_dir)
    if why:
        raise DamagedRunError(f"{run_dir}: damaged run folder ({why})")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))

    standard: dict[str, pd.DataFrame] = {}
    for name, columns in TABLE_COLUMNS.items():
        file = run_dir / f"{name}.parquet"
        if file.is_file():
            standard[name] = pd.read_parquet(file, engine="pyarrow")
        else:
            standard[name] = pd.DataFrame(columns=list(columns))
    extras = {
        file.stem: pd.read_parquet(file, engine="pyarrow")
        for file in sorted(run_dir.glob("*.parquet"))
        if file.stem not in TABLE_COLUMNS
    }
    return RunTables(**standard, manifest=manifest, extras=extras, path=run_dir)
