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
    p.add_argument("prefix", nargs="?", default="",
                   help="only keys starting with this, e.g. regulator or borrowers.n")
    p.add_argument("--markdown", action="store_true", help="as a Markdown table")
    p.set_defaults(handler=_params)


def _run(args) -> int:
    from lendsim.api import resolve_scenario, run
    from lendsim.fmt import plural
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
    if not args.quiet:
        print(f"lendsim: scenario '{scen.name}', {plural(n, 'borrower')}, "
              f"{plural(steps, 'month')}, seed {scen.simulation.seed}", file=sys.stderr)
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
    from lendsim.fmt import plural
    from lendsim.simulation.params import parameter_reference

    rows = [r for r in parameter_reference() if r[0].startswith(args.prefix)]
    if not rows:
        import difflib

        sections = sorted({r[0].split(".")[0] for r in parameter_reference()})
        close = difflib.get_close_matches(args.prefix.split(".")[0], sections, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"sections: {', '.join(sections)}"
        raise LendsimError(f"params {args.prefix!r}: no parameter starts with it; {hint}")
    if args.markdown:
        print("| key | default | allowed | meaning |\n| --- | --- | --- | --- |")
        for key, default, allowed, doc in rows:
            print(f"| `{key}` | `{default}` | {allowed} | {doc} |")
        return 0
    import shutil
    import textwrap

    # key and default on the first line, then the allowed range and the meaning, wrapped and
    # indented, so that no line is wider than the terminal (at most 100 characters)
    width = min(100, shutil.get_terminal_size((100, 24)).columns)
    print(f"{'parameter':44s} default\n    allowed values; meaning\n")
    for key, default, allowed, doc in rows:
        text = f"{key:44s} {default}" if len(key) < 44 else f"{key} {default}"
        print(textwrap.shorten(text, width, placeholder=" ...") if len(text) > width else text)
        rest = f"{allowed}; {doc}" if allowed else doc
        for line in textwrap.wrap(rest, width - 4):
            print("    " + line)
    if any("CAL:" in doc for *_, doc in rows):  # the abbreviation, spelled out once
        print('\n"CAL:" names the real-world figure behind a default; its source is in '
              "docs/calibration.md")
    print(f"\n{plural(len(rows), 'parameter')}" + (f" starting with {args.prefix!r}"
                                                   if args.prefix else ""))
    return 0
