"""``lendsim run [FILE.toml] [--steps N] [--seed S] [--set k=v ...] [--out DIR]`` and
``lendsim params``.

``lendsim run EXPERIMENT.toml`` says to use ``lendsim sweep`` instead of failing on the
experiment tables.
"""

from __future__ import annotations

import sys
from pathlib import Path

from lendsim.errors import LendsimError


def add_parser(sub) -> None:
    """Add ``run`` and ``params`` to the ``lendsim`` subcommands."""
    r = sub.add_parser("run", help="run one scenario (default: the baseline scenario)")
    r.add_argument("scenario", nargs="?", help="scenario file (.toml); default: baseline")
    r.add_argument("--steps", type=int, help="months to simulate")
    r.add_argument("--seed", type=int, help="root seed")
    r.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                   help="override a parameter, e.g. --set regulator.apr_cap=0.24 (repeatable)")
    r.add_argument("--out", help="run folder to write (default: results/<name>-<time>)")
    r.add_argument("--no-charts", action="store_true", help="skip the PNG charts")
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    r.add_argument("--allow-outside-paths", action="store_true",
                   help="let paths in the file (extends, data files) leave its folder")
    r.set_defaults(handler=_run)
    p = sub.add_parser("params", help="list every parameter with its default and range")
    p.add_argument("--markdown", action="store_true", help="as a Markdown table")
    p.set_defaults(handler=_params)


def _run(args) -> int:
    from lendsim.api import resolve_scenario, run
    from lendsim.experiments.spec import is_experiment_file
    from lendsim.progress import ProgressBar
    from lendsim.results.folders import check_writable
    from lendsim.results.store import default_run_dir
    from lendsim.results.summary import summary_table
    from lendsim.simulation.scenario import parse_overrides

    if args.scenario and is_experiment_file(args.scenario):
        raise LendsimError(f"{args.scenario} is an experiment file ([run]/[sweep]/"
                           f"[sample]); run it with: lendsim sweep {args.scenario}")
    overrides = parse_overrides(args.sets)
    if args.steps is not None:
        overrides["simulation.steps"] = args.steps
    if args.seed is not None:
        overrides["simulation.seed"] = args.seed
    scen = resolve_scenario(args.scenario, overrides,  # validates before anything runs
                            allow_outside=args.allow_outside_paths)
    out = Path(args.out) if args.out else default_run_dir("results", scen.name)
    if out.exists():
        raise LendsimError(f"--out {out}: already exists; choose a new folder")
    check_writable(out)
    n, steps = scen.borrowers.n, scen.simulation.steps
    print(f"lendsim: scenario '{scen.name}', {n:,} borrowers, {steps} months, "
          f"seed {scen.simulation.seed}", file=sys.stderr)
    with ProgressBar(steps, label="months", enabled=not args.quiet) as bar:
        res = run(scen, out=out, charts=False if args.no_charts else None,
                  progress=lambda m: bar.update(1, info=_info(m)))
    print(summary_table(res.model))
    ev = res.events
    if len(ev):
        counts = ev["kind"].value_counts().to_dict()
        print("events: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    print(f"results: {res.path}")
    return 0


def _info(model) -> str:
    rec = model.records["model"][-1]
    return (f"credit {rec['credit_outstanding'] / 1e6:,.1f}M  "
            f"30+ {100 * rec['delinquency_30']:.2f}%")


def _params(args) -> int:
    from lendsim.simulation.params import parameter_reference

    rows = parameter_reference()
    if args.markdown:
        print("| key | default | allowed | meaning |\n| --- | --- | --- | --- |")
        for key, default, allowed, doc in rows:
            print(f"| `{key}` | `{default}` | {allowed} | {doc} |")
    else:
        for key, default, allowed, doc in rows:
            print(f"{key:45s} {str(default):22s} {allowed:22s} {doc}")
    return 0
