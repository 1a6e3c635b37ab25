"""``lendsim sweep FILE``, ``lendsim status DIR`` and ``lendsim report DIR``.

    lendsim sweep competition --executor processes --workers 2
    lendsim sweep competition            # again: resumes where it stopped
    lendsim sweep FILE --executor dask --scheduler tcp://10.0.0.5:8786
    lendsim status results/competition
    lendsim report results/competition                   # results/competition/report.html

The default output folder is ``results/<experiment name>``, so running the same command again
resumes the same sweep.
"""

from __future__ import annotations

import sys
from pathlib import Path


def add_parser(sub) -> None:
    """Add ``sweep``, ``status`` and ``report`` to the ``lendsim`` subcommands."""
    s = sub.add_parser("sweep", help="run a batch experiment (grid, samples, replications); "
                       "the same command again resumes it")
    s.add_argument("experiment", help="experiment file (.toml)")
    s.add_argument("--executor", choices=("serial", "processes", "dask"),
                   help="where runs execute (default: processes; dask with --scheduler)")
    s.add_argument("--workers", type=int, help="worker processes (default: all cores)")
    s.add_argument("--scheduler", metavar="ADDRESS",
                   help="Dask scheduler to use, e.g. tcp://10.0.0.5:8786 (default: a local "
                   "cluster on 127.0.0.1)")
    s.add_argument("--out", help="experiment folder (default: results/<experiment name>)")
    s.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                   help="override a parameter in every arm (e.g. borrowers.n=2000) or an "
                   "experiment setting (run.replications=2, sample.n=8); repeatable")
    s.add_argument("--retry-failed", action="store_true", help="rerun runs that failed")
    s.add_argument("--recycle-every", type=int, default=None, metavar="N",
                   help="replace each worker process after N runs (processes; default 20)")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.add_argument("--allow-outside-paths", action="store_true",
                   help="let paths in the file (extends, data files) leave its folder")
    s.set_defaults(handler=_sweep)
    st = sub.add_parser("status", help="progress of a sweep (running or finished)")
    st.add_argument("folder", help="experiment folder written by lendsim sweep")
    st.add_argument("--errors", action="store_true", help="print full tracebacks")
    st.set_defaults(handler=_status)
    rp = sub.add_parser("report", help="write a self-contained HTML report of a sweep or a "
                        "run")
    rp.add_argument("folder", help="experiment folder written by lendsim sweep, or a run "
                    "folder written by lendsim run")
    rp.add_argument("--csv", metavar="DIR", help="also write every table as a CSV file into "
                    "DIR (a sweep's tables with its factors joined on)")
    rp.add_argument("--out", help="HTML file to write (default: FOLDER/report.html)")
    rp.add_argument("--outcomes", help="comma-separated model-table columns to analyse "
                    "(default: the experiment's outputs.outcomes)")
    rp.add_argument("--outcome-steps", type=int, metavar="K",
                    help="average each outcome over a run's last K steps (default: the "
                    "experiment's outputs.outcome_steps)")
    rp.set_defaults(handler=_report)


def _sweep(args) -> int:
    from lendsim.experiments.runner import DEFAULT_TASKS_PER_CHILD, run_experiment
    from lendsim.experiments.spec import load_experiment
    from lendsim.fmt import plural
    from lendsim.progress import ProgressBar

    executor = args.executor or ("dask" if args.scheduler else "processes")
    exp = load_experiment(args.experiment, args.sets,  # validates every arm first
                          allow_outside=args.allow_outside_paths)
    out = Path(args.out) if args.out else Path("results") / exp.name
    holder: dict = {}

    def on_start(n_todo: int, n_done: int) -> None:
        if not args.quiet:
            print(f"lendsim: experiment '{exp.name}': {plural(exp.n_arms, 'arm')} x "
                  f"{plural(exp.replications, 'replication')} = {plural(exp.n_runs, 'run')} "
                  f"of {plural(exp.base.borrowers.n, 'borrower')} x "
                  f"{plural(exp.steps, 'month')}; {n_done} already finished, {n_todo} to run "
                  f"({executor}) -> {out}", file=sys.stderr)
        holder["bar"] = ProgressBar(n_todo, label="sweep", enabled=not args.quiet).__enter__()

    def on_result(rec: dict, counts: dict) -> None:
        holder["bar"].update(1, info=f"done {counts['done']} failed {counts['failed']}")

    try:
        summary = run_experiment(
            exp, out, executor=executor, workers=args.workers, scheduler=args.scheduler,
            retry_failed=args.retry_failed,
            tasks_per_child=(DEFAULT_TASKS_PER_CHILD if args.recycle_every is None
                             else args.recycle_every),
            on_start=on_start, on_result=on_result)
    finally:
        if "bar" in holder:
            holder["bar"].close()
    print(summary.text())
    if summary.is_complete:
        print(f"report: lendsim report {out}")
    return 0 if summary.is_complete else 1


def _status(args) -> int:
    from lendsim.fmt import plural
    from lendsim.results.folders import folder_status

    st = folder_status(args.folder)
    info = st["info"]
    state = "running" if st["is_running"] else (
        "finished" if st["pending"] + st["damaged"] == 0 else "stopped")
    print(f"experiment '{st['name']}' ({info.get('file')}): {state}")
    damaged = f", {st['damaged']} damaged" if st["damaged"] else ""
    print(f"{plural(st['n_runs'], 'run')} ({plural(len(info['arms']), 'arm')} x "
          f"{plural(info['replications'], 'replication')}, {plural(info['steps'], 'month')}): "
          f"{st['done']} done, {st['failed']} failed, "
          f"{st['pending']} pending{damaged}")
    runs = st["runs"]
    done = runs[runs["status"] == "done"]
    if len(done):
        print(f"run time: mean {done['duration_s'].mean():.1f} s, total "
              f"{done['duration_s'].sum():.0f} s")
    for _, row in runs[runs["status"] == "damaged"].iterrows():
        print(f"damaged {row['run_id']} (arm {row['arm']}, replication {row['replication']}): "
              f"{row['error']}; lendsim sweep reruns it")
    for _, row in runs[runs["status"] == "failed"].iterrows():
        err = row["error"].strip()
        print(f"failed {row['run_id']} (arm {row['arm']}, replication {row['replication']}, "
              f"seed {row['seed']}): " + (err if args.errors else err.splitlines()[-1]))
    return 0


def _report(args) -> int:
    from lendsim.fmt import plural
    from lendsim.results.report import write_report

    outcomes = [o.strip() for o in args.outcomes.split(",") if o.strip()] \
        if args.outcomes else None
    path = write_report(args.folder, args.out, outcomes=outcomes,
                        outcome_steps=args.outcome_steps)
    print(f"report: {path}")
    if args.csv:
        from lendsim.results.report import export_csv

        files = export_csv(args.folder, args.csv)
        print(f"csv: {plural(len(files), 'table')} in {args.csv}")
    return 0
