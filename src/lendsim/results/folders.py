"""The layout of an experiment folder (``lendsim sweep``), defined once, and how to read it.

Folder layout (one experiment)::

    OUT/
      experiment.json     the resolved experiment (design, arms, seeds, fingerprint)
      experiment.toml     the experiment file as it was read
      runs.parquet        the runs table: run_id, arm, replication, seed, factors, status,
                          duration_s, error, worker, finished (rewritten atomically)
      runs/<run_id>/      one run: model.parquet (+ platforms, banks, events, borrowers),
                          manifest.json; written atomically by the worker (temp dir, rename)
      failures/<run_id>.json   traceback of a run that raised (removed when it succeeds)
      .sweep.lock         held by the sweep writing the folder

A run's folder exists only when complete (its ``manifest.json`` is the completion marker), so
the folders are the truth; the runs table is derived from them. The executor that fills the
folder is :mod:`lendsim.experiments.runner`; readers (``lendsim status``, ``lendsim report``,
:func:`lendsim.results.load`) use this module only.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import socket
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd
from filelock import FileLock, Timeout

from lendsim.errors import LendsimError

__all__ = ["EXPERIMENT_FILE", "FAILURES_DIR", "LOCK_FILE", "MANIFEST_FILE", "RUNS_DIR",
           "RUNS_FILE", "SOURCE_FILE", "WALL_CLOCK_COLUMNS", "folder_status", "is_locked",
           "check_run_dir", "check_writable", "lock_folder", "make_run_id", "read_info", "runs_table", "scan_records",
           "write_atomic", "write_runs_table"]

EXPERIMENT_FILE = "experiment.json"
SOURCE_FILE = "experiment.toml"
RUNS_FILE = "runs.parquet"
RUNS_DIR = "runs"
FAILURES_DIR = "failures"
LOCK_FILE = ".sweep.lock"
#: A run folder's completion marker (also written by ``lendsim run``, lendsim.results.store).
MANIFEST_FILE = "manifest.json"
#: Runs-table columns that hold wall-clock facts (differ between identical sweeps).
WALL_CLOCK_COLUMNS = ("duration_s", "worker", "finished")


def make_run_id(arm: int, replication: int, n_arms: int, n_replications: int) -> str:
    """``a<arm>-r<replication>``, zero-padded so that names sort in run order.

    Examples:
        >>> make_run_id(3, 1, 12, 2)
        'a003-r01'
    """
    wa = max(3, len(str(n_arms - 1)))
    wr = max(2, len(str(n_replications - 1)))
    return f"a{arm:0{wa}d}-r{replication:0{wr}d}"


def worker_name() -> str:
    """``host:pid`` of this process (who wrote a run, who holds a lock)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def now() -> str:
    """The time now, UTC, ISO 8601 to the second."""
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temp file and a rename: readers see the old file or
    the new one, never half of it."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


class _FolderLock(FileLock):
    """A FileLock that ``close()`` releases (the sweep closes it like a file)."""

    def close(self) -> None:
        self.release(force=True)


def check_writable(out: Path) -> None:
    """Refuse, before any work, an output folder that could not be created: its nearest
    existing ancestor must be a folder in which a folder can be made (tried with an empty
    temp folder, removed at once).

    Raises:
        LendsimError: one line naming ``--out``.
    """
    import tempfile

    out = Path(out)
    parent = next((p for p in (out.absolute(), *out.absolute().parents) if p.exists()), None)
    if parent is not None and parent.is_dir():
        try:
            os.rmdir(tempfile.mkdtemp(prefix=".lendsim-probe-", dir=parent))
            return
        except OSError:
            pass
    raise LendsimError(f"--out {out}: cannot create it ({parent} is not a folder lendsim may "
                       "write to); choose another")


def lock_folder(out: Path) -> _FolderLock:
    """Hold an exclusive lock on OUT/.sweep.lock for the sweep (``filelock``: an OS lock, so it
    is dropped when the process dies, even on kill -9, and a killed sweep never blocks its
    resumption). OUT must exist.

    Returns:
        The held lock; ``.close()`` (or ``.release()``) releases it.

    Raises:
        LendsimError: another sweep holds the lock.
    """
    lock = _FolderLock(str(Path(out) / LOCK_FILE), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise LendsimError(f"--out {out}: another lendsim sweep is writing this folder; "
                           "wait for it to finish (lendsim status shows its progress)") from None
    return lock


def is_locked(out: Path) -> bool:
    """True while a sweep holds OUT's lock (i.e. is running)."""
    path = Path(out) / LOCK_FILE
    if not path.is_file():
        return False
    probe = FileLock(str(path), timeout=0)
    try:
        probe.acquire()
    except Timeout:
        return True
    except OSError:  # a folder we may not write to: no sweep of ours runs there
        return False
    probe.release(force=True)
    return False


def read_info(out: str | os.PathLike[str]) -> dict[str, Any]:
    """The resolved experiment of folder ``out`` (its ``experiment.json``).

    Raises:
        LendsimError: ``out`` is not an experiment folder, or its ``experiment.json`` cannot
            be read (one line; the folder cannot be resumed or read then).
    """
    info_path = Path(out) / EXPERIMENT_FILE
    if not info_path.is_file():
        raise LendsimError(f"{out}: not a lendsim experiment folder (no {EXPERIMENT_FILE})")
    info = _read_json(info_path)
    if not isinstance(info, dict) or not all(k in info for k in _INFO_KEYS):
        raise LendsimError(f"{info_path}: damaged (not the JSON lendsim sweep writes); the "
                           "folder cannot be read or resumed: start the sweep in a new folder")
    return info


_INFO_KEYS = ("name", "seeds", "arms", "factors", "fingerprint")


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise LendsimError(f"{path}: damaged, cannot be read ({type(exc).__name__}); the "
                           "folder cannot be read or resumed: start the sweep in a new "
                           "folder") from None


def check_run_dir(run_dir: Path) -> str:
    """Why a finished run's folder is unusable, or "" when it is sound: its manifest must be
    JSON listing the run's files, and every Parquet file listed must exist and have a
    readable footer (a truncated or overwritten file fails here)."""
    import pyarrow.parquet as pq

    try:
        manifest = json.loads((run_dir / MANIFEST_FILE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return f"{MANIFEST_FILE} cannot be read"
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(files, list):
        return f"{MANIFEST_FILE} does not list the run's files"
    for name in files:
        if not isinstance(name, str) or not name.endswith(".parquet"):
            continue
        try:
            pq.read_metadata(run_dir / name)
        except Exception:  # noqa: BLE001 - any reader error means the file is unusable
            return f"{name} is missing or cannot be read"
    return ""


def scan_records(exp_runs: Iterable[tuple[str, Any]], out: Path) -> dict[str, dict[str, Any]]:
    """Status of every run from the folders: ``done`` (a sound run folder), ``damaged`` (a
    run folder whose manifest or tables are missing or unreadable: rerun by ``lendsim
    sweep``), ``failed`` (a failure record) or ``pending``; a finished folder wins over a
    failure record, and an unreadable failure record counts as pending."""
    records = {}
    for run_id, _ in exp_runs:
        run_dir = out / RUNS_DIR / run_id
        failure = out / FAILURES_DIR / f"{run_id}.json"
        pending = {"status": "pending", "duration_s": float("nan"), "error": "",
                   "worker": "", "finished": ""}
        if run_dir.is_dir() or run_dir.is_symlink():
            why = (check_run_dir(run_dir) if (run_dir / MANIFEST_FILE).is_file()
                   else f"{MANIFEST_FILE} is missing")
            if why:
                records[run_id] = {**pending, "status": "damaged",
                                   "error": f"damaged run folder: {why}"}
                continue
            m = json.loads((run_dir / MANIFEST_FILE).read_text(encoding="utf-8"))
            records[run_id] = {"status": "done",
                               "duration_s": m.get("timings", {}).get("total_s", float("nan")),
                               "error": "", "worker": m.get("worker", ""),
                               "finished": m.get("created", "")}
        elif failure.is_file():
            try:
                f = json.loads(failure.read_text(encoding="utf-8"))
                records[run_id] = {k: f.get(k, "") for k in ("status", "duration_s", "error",
                                                              "worker", "finished")}
                if records[run_id]["status"] != "failed":
                    records[run_id] = pending
            except (OSError, UnicodeDecodeError, ValueError, RecursionError, AttributeError):
                records[run_id] = pending
        else:
            records[run_id] = pending
    return records


def _cell(value: Any) -> Any:
    """Factor values as runs-table cells: scalars as they are, lists as JSON text."""
    return json.dumps(value) if isinstance(value, (list, tuple, dict)) else value


def runs_table(exp_info: dict[str, Any], records: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """The runs table: one row per run in run order, the factors as columns named by their
    dotted keys, then status, duration_s, error, worker, finished."""
    rows = []
    seeds = exp_info["seeds"]
    for a, arm in enumerate(exp_info["arms"]):
        for r, seed in enumerate(seeds):
            run_id = make_run_id(a, r, len(exp_info["arms"]), len(seeds))
            rec = records.get(run_id, {"status": "pending"})
            row = {"run_id": run_id, "arm": a, "replication": r, "seed": seed}
            row.update({k: _cell(arm[k]) for k in exp_info["factors"]})
            row.update({"status": rec.get("status", "pending"),
                        "duration_s": float(rec.get("duration_s") or float("nan")),
                        "error": rec.get("error", ""), "worker": rec.get("worker", ""),
                        "finished": rec.get("finished", "")})
            rows.append(row)
    df = pd.DataFrame(rows)
    return df.astype({"arm": "int64", "replication": "int64", "seed": "int64"})


def write_runs_table(out: Path, df: pd.DataFrame) -> None:
    """Write OUT/runs.parquet atomically."""
    tmp = out / f".{RUNS_FILE}.tmp-{os.getpid()}"
    df.to_parquet(tmp, engine="pyarrow", index=False)
    os.replace(tmp, out / RUNS_FILE)


def folder_status(out: str | os.PathLike[str]) -> dict[str, Any]:
    """State of an experiment folder, from its run folders (works while a sweep runs).

    Returns:
        ``name``, ``info`` (the resolved experiment), ``n_runs``, ``done``, ``failed``,
        ``pending``, ``damaged`` (run folders whose files are missing or unreadable; the
        next ``lendsim sweep`` reruns them), ``is_running``, ``runs`` (the runs table as of
        now).

    Raises:
        LendsimError: ``out`` is not an experiment folder.
    """
    out = Path(out)
    info = read_info(out)
    ids = runs_table(info, {})["run_id"]
    records = scan_records(((i, None) for i in ids), out)
    df = runs_table(info, records)
    counts = df["status"].value_counts()
    return {"name": info["name"], "info": info, "n_runs": len(df),
            "done": int(counts.get("done", 0)), "failed": int(counts.get("failed", 0)),
            "pending": int(counts.get("pending", 0)), "damaged": int(counts.get("damaged", 0)),
            "is_running": is_locked(out), "runs": df}
