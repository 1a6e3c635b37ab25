"""The ``lendsim`` command: ``lendsim run [FILE.toml] [--steps N] [--seed S] [--set k=v ...]
[--out DIR]``, ``lendsim params`` and the subcommands other modules register (see
``SUBCOMMANDS``).

Bad input gets one line naming the field, the value and what is allowed, and exit status 2;
nothing is written.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from lendsim.errors import LendsimError

# Subcommands defined next to the code they drive: "module:function", where the function takes
# the argparse subparsers object, adds its parser and sets ``handler=<callable(args) -> int>``.
# Those modules must import their heavy dependencies inside the handler, not at module level,
# so that `lendsim --help` stays fast.
SUBCOMMANDS: tuple[str, ...] = (
    "lendsim.validation:add_parser",
    "lendsim.experiments.cli:add_parser",
    "lendsim.viz.cli:add_parser",
    "lendsim.experiments.compare:add_parser",
    "lendsim.results.calibration:add_parser",
)


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="lendsim",
        description="Agent-based simulation of an internet consumer-finance market.")
    sub = ap.add_subparsers(dest="command")
    r = sub.add_parser("run", help="run one scenario (default: the baseline scenario)")
    r.add_argument("scenario", nargs="?", help="scenario file (.toml); default: baseline")
    r.add_argument("--steps", type=int, help="months to simulate")
    r.add_argument("--seed", type=int, help="root seed")
    r.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                   help="override a parameter, e.g. --set regulator.apr_cap=0.24 (repeatable)")
    r.add_argument("--out", help="run folder to write (default: results/<name>-<time>)")
    r.add_argument("--no-charts", action="store_true", help="skip the PNG charts")
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    p = sub.add_parser("params", help="list every parameter with its default and range")
    p.add_argument("--markdown", action="store_true", help="as a Markdown table")
    r.set_defaults(handler=_run)
    p.set_defaults(handler=_params)
    for entry in SUBCOMMANDS:
        module, func = entry.split(":")
        getattr(importlib.import_module(module), func)(sub)
    return ap


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command is None:  # `lendsim` alone runs the default experiment
        args = _parser().parse_args(["run"])
    try:
        return int(args.handler(args) or 0)
    except LendsimError as exc:
        print(f"lendsim: error: {exc}", file=sys.stderr)
        return 2
    except FileExistsError as exc:
        print(f"lendsim: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head` and closed early: not an error
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _run(args) -> int:
    from lendsim.api import resolve_scenario, run
    from lendsim.progress import ProgressBar
    from lendsim.results.store import default_run_dir
    from lendsim.results.summary import summary_table
    from lendsim.simulation.scenario import parse_overrides

    overrides = parse_overrides(args.sets)
    if args.steps is not None:
        overrides["simulation.steps"] = args.steps
    if args.seed is not None:
        overrides["simulation.seed"] = args.seed
    scen = resolve_scenario(args.scenario, overrides)  # validates before anything runs
    out = Path(args.out) if args.out else default_run_dir("results", scen.name)
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
    rec = model._records["model"][-1]
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


if __name__ == "__main__":
    raise SystemExit(main())
