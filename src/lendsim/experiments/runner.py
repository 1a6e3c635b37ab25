"""Run an experiment's runs on an executor, into a results folder that resumes.

The folder layout and its readers are in :mod:`lendsim.results.folders`.

A run's folder exists only when complete (its ``manifest.json`` is the completion marker), so
the folders are the truth: a sweep killed at any moment (even ``kill -9``) and started again
skips the finished runs, runs the rest and ends with the same tables as an uninterrupted one.
The runs table is derived from the folders and rewritten from them.

Executors (``serial``, ``processes``, ``dask``) all call :func:`execute_run`, which builds the
model, runs it, writes its folder, calls ``model.close()`` and returns a small status record;
a run's numbers depend only on its scenario and seed, never on where it ran.

Failure injection for tests (not a production switch): :func:`execute_run` calls the
module-level :func:`simulate`; a test monkeypatches ``lendsim.experiments.runner.simulate``
and uses the ``serial`` executor (see tests/experiments/test_runner.py).
"""

from __future__ import annotations

import json
import os
import shutil
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from lendsim.errors import LendsimError
from lendsim.experiments.spec import Experiment, RunSpec
from lendsim.extras import require
from lendsim.results.folders import (EXPERIMENT_FILE, FAILURES_DIR, LOCK_FILE, MANIFEST_FILE,
                                     RUNS_DIR, SOURCE_FILE, check_writable, lock_folder, now,
                                     read_info, runs_table, scan_records, worker_name,
                                     write_atomic, write_runs_table)
from lendsim.simulation.params import Scenario

__all__ = ["EXECUTORS", "RunTask", "SweepSummary", "execute_run", "prepare_folder",
           "run_experiment", "simulate"]

EXECUTORS = ("serial", "processes", "dask")
DEFAULT_TASKS_PER_CHILD = 20
_STALE_TMP_S = 3600.0  # a leftover temp folder older than this is from a killed worker
_TABLE_WRITE_EVERY_S = 2.0


@dataclass(frozen=True)
class RunTask:
    """Everything a worker needs for one run (small and picklable): the run and where its
    results go."""

    spec: RunSpec
    run_dir: str
    failure_file: str
    tables: tuple[str, ...]
    experiment: str
    fingerprint: str

    @property
    def run_id(self) -> str:
        return self.spec.run_id


@dataclass
class SweepSummary:
    """What a sweep did. ``n_*`` count runs of the whole experiment after the sweep."""

    path: Path
    n_runs: int
    n_done: int
    n_failed: int
    n_pending: int
    n_ran: int
    n_skipped: int
    wall_s: float
    failed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def is_complete(self) -> bool:
        return self.n_done == self.n_runs

    def text(self) -> str:
        lines = [f"sweep: {self.n_runs} runs: {self.n_done} done, {self.n_failed} failed, "
                 f"{self.n_pending} not run; this time ran {self.n_ran} "
                 f"(skipped {self.n_skipped} already finished) in {self.wall_s:.1f} s"]
        if self.failed:
            shown = ", ".join(self.failed[:10]) + (" ..." if len(self.failed) > 10 else "")
            lines.append(f"failed runs: {shown} (tracebacks: lendsim status {self.path}; "
                         "rerun them with --retry-failed)")
        lines.extend(f"error: {e}" for e in self.errors)
        lines.append(f"results: {self.path}")
        return "\n".join(lines)


# ----------------------------------------------------------------------------- the worker
def simulate(scenario: Scenario) -> tuple[dict[str, pd.DataFrame], dict[str, float]]:
    """Build the model, run ``simulation.steps`` months, return its tables and timings.

    The model is always closed (Mesa 3.3 keeps every model alive through ``Agent._ids``
    otherwise, so memory would grow with the number of runs a worker does).
    """
    from lendsim.simulation.model import MarketModel

    t0 = time.perf_counter()
    model = MarketModel(scenario)
    setup = time.perf_counter() - t0
    try:
        model.run()
        tables = model.tables()
    finally:
        model.close()
    return tables, {"setup_s": setup, "run_s": model.timings["run_s"]}


def execute_run(task: RunTask) -> dict[str, Any]:
    """Run one task and write its folder atomically; never raises for a model error.

    Returns:
        A small status record: ``run_id``, ``status`` (``done`` or ``failed``),
        ``duration_s``, ``error`` (traceback, or ""), ``worker`` (host:pid), ``finished``.
    """
    from lendsim.api import git_commit, versions
    from lendsim.results.store import write_run

    t0 = time.perf_counter()
    run_dir = Path(task.run_dir)
    record = {"run_id": task.run_id, "status": "done", "duration_s": 0.0, "error": "",
              "worker": worker_name(), "finished": now()}
    if (run_dir / MANIFEST_FILE).is_file():  # finished by an earlier (or orphaned) worker
        return record
    try:
        spec = task.spec
        tables, timings = simulate(spec.scenario)
        keep = {name: df for name, df in tables.items()
                if name == "model" or name in task.tables
                or (name == "borrowers" and len(df))}
        duration = time.perf_counter() - t0
        manifest = {
            "experiment": task.experiment, "fingerprint": task.fingerprint,
            "run_id": spec.run_id, "arm": spec.arm, "replication": spec.replication,
            "seed": spec.seed, "factors": spec.factors, "scenario": spec.scenario.name,
            "steps": spec.scenario.simulation.steps,
            "parameters": spec.scenario.to_json_dict(), "versions": versions(),
            "git_commit": git_commit(), "created": now(), "worker": record["worker"],
            "timings": {**{k: round(v, 3) for k, v in timings.items()},
                        "total_s": round(duration, 3)},
        }
        try:
            write_run(run_dir, keep, manifest, charts=False)
        except FileExistsError:
            if not (run_dir / MANIFEST_FILE).is_file():
                raise
        Path(task.failure_file).unlink(missing_ok=True)
        record.update(duration_s=round(duration, 3), finished=now())
    except Exception:  # a failed run is recorded and the sweep goes on
        duration = time.perf_counter() - t0
        record.update(status="failed", duration_s=round(duration, 3),
                      error=traceback.format_exc(), finished=now())
        failure = Path(task.failure_file)
        failure.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(failure, json.dumps(record, indent=2) + "\n")
    return record


# ---------------------------------------------------------------------------- executors
def _run_serial(tasks: list[RunTask], **_: Any) -> Iterator[dict[str, Any]]:
    for task in tasks:
        yield execute_run(task)


def _run_processes(tasks: list[RunTask], workers: int, tasks_per_child: int,
                   **_: Any) -> Iterator[dict[str, Any]]:
    """A local process pool, renewed every ``workers * tasks_per_child`` runs so that each
    worker process serves about ``tasks_per_child`` runs: the memory a long sweep uses does
    not grow with the number of runs.

    (Not ``ProcessPoolExecutor(max_tasks_per_child=...)``: on CPython 3.11.7, 3.12.1 and
    3.13.0 it hangs once workers retire while tasks are still queued; tests hit it.)
    """
    from concurrent.futures import ProcessPoolExecutor, as_completed

    ctx = _mp_context()
    chunk = workers * tasks_per_child
    for start in range(0, len(tasks), chunk):
        part = tasks[start:start + chunk]
        pool = ProcessPoolExecutor(max_workers=min(workers, len(part)), mp_context=ctx,
                                   initializer=watch_parent, initargs=(os.getpid(),))
        try:
            futures = {pool.submit(execute_run, t): t for t in part}
            for fut in as_completed(futures):
                try:
                    rec = fut.result()
                except Exception as exc:  # the pool itself broke (a worker was killed)
                    rec = _lost(futures[fut], exc)
                yield rec
        except BaseException:
            # interrupted (Ctrl-C) or closed early: stop the workers now rather than let the
            # interpreter wait at exit for their current runs (minutes); a run cut short
            # leaves only a temp folder, and the next sweep runs it again
            for proc in list((getattr(pool, "_processes", None) or {}).values()):
                proc.terminate()
            # wait for the pool's manager thread to see them gone: left running, the
            # interpreter's exit hook joins it mid-teardown and can print a traceback
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        pool.shutdown(wait=True)


def watch_parent(pid: int, interval: float = 0.5) -> None:
    """Worker initializer: end this worker when process ``pid`` (the sweep) is gone.

    A worker's parent is the forkserver, not the sweep, and it waits on a queue whose write
    end it holds itself, so without this a sweep killed with ``kill -9`` leaves its workers
    (and, through them, the forkserver and the resource tracker) running forever. A daemon
    thread checks ``pid`` every ``interval`` seconds (:func:`process_gone`) and exits the
    process when it has gone; a run cut short this way leaves only a temp folder, which the
    next sweep cleans.
    """
    import threading

    def watch() -> None:
        while True:
            time.sleep(interval)
            if process_gone(pid):
                os._exit(1)

    threading.Thread(target=watch, name="lendsim-parent-watch", daemon=True).start()


def process_gone(pid: int) -> bool:
    """Whether process ``pid`` has ended, including when it has ended but its own parent has
    not yet collected its exit status (a zombie).

    The zombie case matters: a program that starts a sweep and reads its output to the end
    before waiting for it (``subprocess.run(..., capture_output=True)`` does) keeps the
    ended sweep a zombie until every holder of that output has closed it, and the workers
    share it; counting the zombie as alive (``os.kill(pid, 0)`` succeeds on one), a worker
    would wait for the caller and the caller for the worker, forever. Linux shows the state
    in ``/proc/<pid>/stat``; elsewhere only a reaped process counts as gone.
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # pid reused by another user's process: ours is gone
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # it ended (and was collected) just now, or there is no /proc (macOS)
        return Path("/proc/self/stat").exists()
    # "pid (comm) S ...": comm may hold spaces and parentheses, the state follows the last ")"
    return stat[stat.rindex(")") + 2:][:1] in ("Z", "X")


def _mp_context():
    """forkserver where available, else spawn; never fork (the parent may hold threads,
    e.g. Dask's or the progress bar's, and fork copies their locks mid-state).

    A spawned worker imports lendsim, Mesa, pandas, SciPy afresh: seconds each time, and
    again for each renewed pool. The forkserver imports them once and forks clean workers
    from itself (it never ran a model)."""
    import multiprocessing

    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["lendsim.experiments.runner", "lendsim.simulation.model",
                                    "lendsim.results.store", "lendsim.api"])
        return ctx
    return multiprocessing.get_context("spawn")


def _run_dask(tasks: list[RunTask], workers: int, scheduler: str | None = None,
              client: Any = None, **_: Any) -> Iterator[dict[str, Any]]:
    """Dask: the given client, a scheduler address, or a local cluster on 127.0.0.1."""
    import logging

    from distributed import Client, LocalCluster, as_completed

    own_cluster = own_client = None
    if client is None:
        if scheduler:
            client = own_client = Client(scheduler)
        else:
            import dask

            # Workers forked from the forkserver start with lendsim already imported; spawned
            # ones spend seconds importing it. Never plain fork: the cluster's own threads are
            # running by the time its workers start (Python 3.12+ warns of deadlocks).
            method = _mp_context().get_start_method()
            with dask.config.set({"distributed.worker.multiprocessing-method": method}):
                own_cluster = LocalCluster(n_workers=workers, threads_per_worker=1,
                                           processes=True, host="127.0.0.1",
                                           dashboard_address=None, silence_logs=logging.ERROR)
            client = own_client = Client(own_cluster)
    try:
        keys = [f"lendsim-{t.fingerprint}-{t.run_id}" for t in tasks]
        futures = client.map(execute_run, tasks, key=keys, pure=False)
        by_key = {f.key: t for f, t in zip(futures, tasks)}
        try:
            for fut in as_completed(futures):
                try:
                    yield fut.result()
                except Exception as exc:  # the worker died (e.g. KilledWorker)
                    yield _lost(by_key[fut.key], exc)
        except BaseException:
            client.cancel(futures)
            raise
    finally:
        if own_client is not None:
            own_client.close()
        if own_cluster is not None:
            own_cluster.close()


def _connect(scheduler: str):
    """A client of the Dask scheduler at ``scheduler``, or one line saying it is unreachable
    (asked before the experiment folder is written)."""
    from distributed import Client

    try:
        return Client(scheduler, timeout="10s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise LendsimError(f"--scheduler {scheduler}: cannot connect to a Dask scheduler there "
                           f"({type(exc).__name__}); start one (dask scheduler) or check the "
                           "address") from None


def _lost(task: RunTask, exc: BaseException) -> dict[str, Any]:
    """A run whose worker died: not a model failure, so it stays unfinished (resumable)."""
    return {"run_id": task.run_id, "status": "lost", "duration_s": 0.0,
            "error": f"{type(exc).__name__}: {exc}", "worker": "", "finished": now()}


_EXECUTOR_FUNCS: dict[str, Callable[..., Iterator[dict[str, Any]]]] = {
    "serial": _run_serial, "processes": _run_processes, "dask": _run_dask}


# ------------------------------------------------------------------------------- folder
def check_out(out: Path) -> None:
    """Refuse an ``--out`` that cannot be an experiment folder, reading only (nothing is
    written): a file, or a folder that holds something else.

    Raises:
        LendsimError: one line naming ``--out``.
    """
    if out.exists() and not out.is_dir():
        raise LendsimError(f"--out {out}: exists and is not a folder; choose another")
    if out.is_dir() and not (out / EXPERIMENT_FILE).is_file() \
            and any(p.name != LOCK_FILE for p in out.iterdir()):
        raise LendsimError(f"--out {out}: exists and is not a lendsim experiment folder; "
                           "choose another")
    if not out.exists():
        check_writable(out)


def prepare_folder(exp: Experiment, out: Path) -> None:
    """Make OUT this experiment's folder, or check that it holds the same experiment (to
    resume). Call with OUT's lock held (:func:`lendsim.results.folders.lock_folder`): two
    sweeps started at once into one new folder then cannot both write ``experiment.json``.

    Raises:
        LendsimError: OUT is not this experiment's folder (nothing is written then).
    """
    info = out / EXPERIMENT_FILE
    if info.is_file():
        old = read_info(out)
        if old.get("fingerprint") != exp.fingerprint():
            raise LendsimError(
                f"--out {out}: holds a different experiment ({old.get('name')!r}, "
                f"fingerprint {old.get('fingerprint')}; this one is {exp.fingerprint()}: the "
                "file, its scenario or --set changed); choose another --out to start afresh")
    else:
        check_out(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / RUNS_DIR).mkdir(exist_ok=True)
    (out / FAILURES_DIR).mkdir(exist_ok=True)
    if not info.is_file():
        write_atomic(info, json.dumps(exp.to_json_dict(), indent=2, allow_nan=False) + "\n")
    write_atomic(out / SOURCE_FILE, exp.text)


def _remove_damaged(out: Path, run_ids: Iterable[str]) -> None:
    """Remove the folders of damaged runs (manifest or tables missing or unreadable) so that
    they run again; only the sweep holding the lock calls this."""
    for run_id in run_ids:
        path = out / RUNS_DIR / run_id
        if path.is_symlink() or path.is_file():
            path.unlink()
        else:
            shutil.rmtree(path, ignore_errors=True)


def _clean_stale_temp(out: Path) -> None:
    """Remove temp folders left by workers killed mid-write (older than an hour, so a
    worker still writing is never disturbed)."""
    now = time.time()
    for tmp in (out / RUNS_DIR).glob(".*.tmp-*"):
        try:
            if now - tmp.stat().st_mtime > _STALE_TMP_S:
                shutil.rmtree(tmp, ignore_errors=True)
        except FileNotFoundError:
            pass


def _task(exp: Experiment, spec: RunSpec, out: Path) -> RunTask:
    return RunTask(spec, str(out / RUNS_DIR / spec.run_id),
                   str(out / FAILURES_DIR / f"{spec.run_id}.json"), exp.tables, exp.name,
                   exp.fingerprint())


def _closing(gen: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Iterate and always close the executor's generator (Ctrl-C cancels pending runs and
    shuts the pool or cluster down at once, not when the generator is collected)."""
    try:
        yield from gen
    finally:
        gen.close()


def default_workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def run_experiment(exp: Experiment, out: str | os.PathLike[str], *, executor: str = "serial",
                   workers: int | None = None, scheduler: str | None = None,
                   client: Any = None, retry_failed: bool = False,
                   tasks_per_child: int = DEFAULT_TASKS_PER_CHILD,
                   on_start: Callable[[int, int], None] | None = None,
                   on_result: Callable[[dict[str, Any], dict[str, int]], None] | None = None
                   ) -> SweepSummary:
    """Run every unfinished run of ``exp`` into folder ``out`` and write the runs table.

    Args:
        exp: a validated experiment (:func:`lendsim.experiments.load_experiment`).
        out: the experiment folder; created, or resumed when it holds the same experiment.
        executor: ``serial``, ``processes`` or ``dask``.
        workers: processes (``processes``) or local Dask workers; default: all cores.
        scheduler: Dask scheduler address (``tcp://host:8786``); None starts a local
            cluster on 127.0.0.1.
        client: an existing ``distributed.Client`` (Python API only; overrides scheduler).
        retry_failed: also rerun runs recorded as failed.
        tasks_per_child: runs per worker process before it is replaced (``processes``).
        on_start: called with (runs to do now, runs already finished).
        on_result: called after each run with its status record and running counts
            (``done``, ``failed``).

    Returns:
        A :class:`SweepSummary`.

    Raises:
        LendsimError: bad executor settings, or ``out`` holds another experiment; nothing
            is written then.
    """
    if executor not in EXECUTORS:
        raise LendsimError(f"--executor {executor!r}: must be one of {', '.join(EXECUTORS)}")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int)
                                or workers < 1):
        raise LendsimError(f"--workers {workers!r}: must be a whole number >= 1")
    if scheduler and executor != "dask":
        raise LendsimError(f"--scheduler {scheduler}: only with --executor dask")
    if executor == "dask" and client is None:  # before the folder is written
        require("distributed", "dask", "--executor dask")
    if isinstance(tasks_per_child, bool) or not isinstance(tasks_per_child, int) \
            or tasks_per_child < 1:
        raise LendsimError(f"--recycle-every {tasks_per_child!r}: must be a whole number >= 1")
    workers = workers or default_workers()
    out = Path(out)
    specs = exp.runs()  # builds (and so checks) every run's scenario before writing
    check_out(out)
    if executor == "dask" and client is None and scheduler:
        client = own_client = _connect(scheduler)  # before anything is written
    else:
        own_client = None
    t0 = time.perf_counter()
    try:
        out.mkdir(parents=True, exist_ok=True)
        lock = lock_folder(out)  # before anything in the folder is read or written
    except BaseException:
        if own_client is not None:
            own_client.close()
        raise
    try:
        prepare_folder(exp, out)
        _clean_stale_temp(out)
        info = exp.to_json_dict()
        records = scan_records(((s.run_id, s) for s in specs), out)
        _remove_damaged(out, [k for k, r in records.items() if r["status"] == "damaged"])
        todo = [s for s in specs if records[s.run_id]["status"] in ("pending", "damaged")
                or (retry_failed and records[s.run_id]["status"] == "failed")]
        n_skipped = sum(r["status"] == "done" for r in records.values())
        write_runs_table(out, runs_table(info, records))
        if on_start is not None:
            on_start(len(todo), n_skipped)
        counts = {"done": 0, "failed": 0}
        errors: list[str] = []
        last_write = time.monotonic()
        tasks = [_task(exp, s, out) for s in todo]
        try:
            if tasks:
                results = _EXECUTOR_FUNCS[executor](
                    tasks, workers=workers, scheduler=scheduler, client=client,
                    tasks_per_child=tasks_per_child)
                for rec in _closing(results):
                    if rec["status"] == "lost":
                        errors.append(f"{rec['run_id']}: worker lost ({rec['error']}); "
                                      "run the same command again to resume")
                        continue
                    records[rec["run_id"]] = {k: rec[k] for k in
                                              ("status", "duration_s", "error", "worker",
                                               "finished")}
                    counts[rec["status"]] += 1
                    if on_result is not None:
                        on_result(rec, counts)
                    if time.monotonic() - last_write >= _TABLE_WRITE_EVERY_S:
                        write_runs_table(out, runs_table(info, records))
                        last_write = time.monotonic()
        finally:  # also on Ctrl-C: the table says what finished
            records = scan_records(((s.run_id, s) for s in specs), out)
            write_runs_table(out, runs_table(info, records))
    finally:
        lock.close()
        if own_client is not None:
            own_client.close()
    statuses = [r["status"] for r in records.values()]
    failed = [k for k, r in records.items() if r["status"] == "failed"]
    return SweepSummary(path=out, n_runs=len(specs), n_done=statuses.count("done"),
                        n_failed=len(failed),
                        n_pending=statuses.count("pending") + statuses.count("damaged"),
                        n_ran=counts["done"] + counts["failed"], n_skipped=n_skipped,
                        wall_s=time.perf_counter() - t0, failed=failed, errors=errors)
