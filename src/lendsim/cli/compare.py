"""``lendsim compare BASE [POLICY]``: a policy against a base on the same seeds, effects with
95 % intervals and who is affected (the work is ``lendsim.experiments.compare``)."""

from __future__ import annotations

import sys
from pathlib import Path

from lendsim.errors import ScenarioError


def add_parser(sub) -> None:
    """Register ``lendsim compare``."""
    p = sub.add_parser("compare", help="a policy against a base on the same seeds: effects "
                       "with 95 %% intervals and who is affected")
    p.add_argument("base", help="base scenario/experiment file, or one experiment file with "
                   "exactly two arms (base first)")
    p.add_argument("policy", nargs="?", help="policy scenario/experiment file")
    p.add_argument("--replications", type=int, help="replications (default: the policy "
                   "file's [run], else its own default)")
    p.add_argument("--steps", type=int, help="months per run")
    p.add_argument("--root-seed", type=int, dest="root_seed", help="root seed")
    p.add_argument("--last", type=int, help="months averaged at the end of each run "
                   "(default 12, or the whole run when shorter)")
    p.add_argument("--executor", default="serial", choices=("serial", "processes", "dask"))
    p.add_argument("--workers", type=int)
    p.add_argument("--scheduler", help="Dask scheduler address (default: a local cluster)")
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                   help="override a parameter in both arms (repeatable)")
    p.add_argument("--out", help="folder (default: results/<name>)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--allow-outside-paths", action="store_true",
                   help="let paths in the file (extends, data files) leave its folder")
    p.set_defaults(handler=_compare)


def _readable(df, name_col: str, keys: list[str]):
    """The table as people read it: each figure formatted by the one number formatter for
    its outcome (``225.7M``, ``5.12%``), the p-value to two significant digits."""
    import pandas as pd

    from lendsim.results.summary import format_value

    out = pd.DataFrame({k: df[k] for k in keys})
    for c in ("base", "policy", "difference", "lo", "hi"):
        out[c] = [format_value(name, v) for name, v in zip(df[name_col], df[c])]
    out["p_value"] = [f"{p:.2g}" if p == p else "n/a" for p in df["p_value"]]
    return out


def _compare(args) -> int:
    import pandas as pd

    from lendsim.experiments.compare import (comparison_experiment, comparison_warnings,
                                             write_comparison)
    from lendsim.experiments.runner import run_experiment
    from lendsim.fmt import plural
    from lendsim.progress import ProgressBar
    from lendsim.simulation.scenario import parse_overrides

    for option, value, lo in (("--last", args.last, 1), ("--replications", args.replications, 1),
                              ("--steps", args.steps, 1), ("--root-seed", args.root_seed, 0),
                              ("--workers", args.workers, 1)):
        if value is not None and value < lo:
            raise ScenarioError(f"{option} {value}: must be a whole number >= {lo}")
    exp = comparison_experiment(args.base, args.policy, sets=parse_overrides(args.sets),
                                replications=args.replications, steps=args.steps,
                                root_seed=args.root_seed,
                                allow_outside=args.allow_outside_paths)
    if args.last is not None and args.last > exp.steps:
        raise ScenarioError(f"--last {args.last}: must be <= the runs' {exp.steps} months")
    last = min(12, exp.steps) if args.last is None else args.last
    out = Path(args.out) if args.out else Path("results") / exp.name
    if not args.quiet:
        print(f"lendsim: comparing {plural(exp.n_arms, 'arm')} x "
              f"{plural(exp.replications, 'replication')}, {plural(exp.steps, 'month')} "
              f"-> {out}", file=sys.stderr)
    with ProgressBar(exp.n_runs, label="runs", enabled=not args.quiet) as bar:
        summary = run_experiment(exp, out, executor=args.executor, workers=args.workers,
                                 scheduler=args.scheduler,
                                 on_result=lambda rec, counts: bar.update(1))
    if not summary.is_complete:
        print(summary.text(), file=sys.stderr)
        return 1
    tables, report = write_comparison(out, last)
    eff = tables["effects"]
    with pd.option_context("display.width", 120, "display.max_columns", 20):
        print(_readable(eff, "outcome", ["outcome"]).to_string(index=False))
        who = tables["who"]
        if len(who):
            shown = who[(who["lo"] > 0) | (who["hi"] < 0)]
            if len(shown):
                print("\nwho is affected (95 % intervals excluding 0):")
                print(_readable(shown, "metric", ["group", "metric"]).to_string(index=False))
    for w in comparison_warnings(tables):
        print(f"lendsim: warning: {w}", file=sys.stderr)
    print(f"\nreport: {report}")
    return 0
