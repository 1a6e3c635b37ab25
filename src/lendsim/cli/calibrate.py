"""``lendsim calibrate [FILE.toml | RUN_DIR | EXPERIMENT_DIR]``: the figures of
``lendsim.results.calibration`` for a scenario run on a few seeds, a run folder, or the runs of
an experiment folder (several arms are ranked)."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from lendsim.errors import LendsimError
from lendsim.results.calibration import (DEFAULT_WINDOW, TARGETS, calibration_figures,
                                         calibration_table, format_calibration,
                                         format_lenders, format_misses, format_ranking,
                                         lender_figures,
                                         rank_arms, run_dir_figures, set_option)

if TYPE_CHECKING:  # pandas is imported where used: `lendsim --help` stays fast
    import pandas as pd

DEFAULT_SEEDS = (1, 2, 3)
DEFAULT_TOP = 10  # arms shown by a ranking
_SPLIT_HINT = ("(the split of multi-lenders needs borrower snapshots in the window: "
               "output.borrower_snapshot_every, or borrower_snapshot_every in a sweep's "
               "[outputs]; snapshots written before 2026-12-04 lack its count of lending "
               "apps, n_app_lenders: run again)")


def add_parser(sub) -> None:
    """Register ``lendsim calibrate [FILE.toml | RUN_DIR | EXPERIMENT_DIR] [--seeds 1,2,3]
    [--window 24] [--set k=v ...] [--csv PATH] [--arm N] [--top 10]``."""
    p = sub.add_parser("calibrate",
                       help="compare a run with the published figures of "
                            "docs/calibration.md")
    p.add_argument("source", nargs="?",
                   help="scenario file (.toml; default: baseline), or a run folder or an "
                        "experiment folder (lendsim sweep) to read; one of several arms is "
                        "ranked")
    p.add_argument("--seeds",
                   help="seeds to run, comma-separated (default 1,2,3); not with a run folder")
    p.add_argument("--window", type=int, default=DEFAULT_WINDOW,
                   help=f"last months to average over (default {DEFAULT_WINDOW})")
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                   help="override a parameter (repeatable); not with a run folder")
    p.add_argument("--csv", help="also write the table (or the ranking) to this CSV file")
    p.add_argument("--arm", type=int,
                   help="with an experiment folder of several arms: show this arm's table "
                        "instead of the ranking")
    p.add_argument("--top", type=int, default=DEFAULT_TOP,
                   help=f"with several arms: how many of the ranking to show (default "
                        f"{DEFAULT_TOP}; --csv writes all)")
    p.add_argument("--allow-outside-paths", action="store_true",
                   help="let paths in the file (extends, data files) leave its folder")
    p.set_defaults(handler=_calibrate)


def _parse_seeds(text: str) -> list[int]:
    try:
        seeds = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        seeds = []
    if not seeds or any(s < 0 for s in seeds):
        raise LendsimError(f"--seeds = {text!r}: allowed values are integers >= 0, "
                           "comma-separated, e.g. 1,2,3")
    return seeds


def _calibrate(args) -> int:
    if args.window < 1:
        raise LendsimError(f"--window = {args.window}: allowed values are integers >= 1")
    if args.csv and (Path(args.csv).is_dir() or not Path(args.csv).parent.is_dir()):
        raise LendsimError(f"--csv = {args.csv!r}: allowed values are file names in an "
                           "existing folder")
    if args.top < 1:
        raise LendsimError(f"--top = {args.top}: allowed values are integers >= 1")
    start = time.perf_counter()
    lenders: list[dict[str, float]] = []
    source = Path(args.source) if args.source else None
    from lendsim.results.folders import EXPERIMENT_FILE

    if source is not None and (source / EXPERIMENT_FILE).is_file():
        arm_runs, factors, what = _figures_of_experiment(source, args)
        if len(arm_runs) > 1 and args.arm is None:
            return _report_ranking(source, arm_runs, factors, what, args, start)
        arm = next(iter(arm_runs)) if args.arm is None else args.arm
        runs = arm_runs[arm]
        if len(factors.columns):
            what += f", arm {arm}"
    else:
        if args.arm is not None or args.top != DEFAULT_TOP:
            raise LendsimError("--arm and --top apply only to an experiment folder "
                               "(lendsim sweep)")
        if source is not None and source.is_dir():
            runs, what = [_figures_of_folder(source, args)], f"run folder {source}"
        else:
            runs, what, lenders = _figures_of_runs(args)
    table = calibration_table(runs)
    print(format_calibration(table))
    if (table.set_index("figure").loc["multi_lenders_2", "verdict"]) == "n/a":
        print(_SPLIT_HINT)
    n_in = int((table["verdict"] == "in band").sum())
    print(f"{n_in} of {len(table)} figures in band ({what}; means over the last {args.window} "
          f"months; {time.perf_counter() - start:.1f} s)")
    if args.source in (None, "baseline") and not args.sets and (misses := format_misses(table)):
        print(misses)  # the reasons on record are the default market's
    if lenders:
        print("\nby lender type (documented ranges: docs/calibration.md, 2.2)")
        print(format_lenders(lenders))
    if args.csv:
        table.to_csv(args.csv, index=False)
        print(f"table: {args.csv}")
    return 0


def _check_window(steps: int, window: int) -> None:
    if window > steps:
        raise LendsimError(f"--window = {window}: allowed values are 1 to the run's {steps} "
                           "months")


def _refuse_run_options(folder: Path, args, kind: str) -> None:
    if args.sets or args.seeds is not None:
        raise LendsimError(f"{folder} is {kind}: --set and --seeds apply only when running a "
                           "scenario")


def _figures_of_experiment(folder: Path, args
                           ) -> tuple[dict[int, list[dict[str, float]]], pd.DataFrame, str]:
    """The figures of every finished run of an experiment folder, by arm (only ``args.arm``
    when given); the factor values of each arm (one row per arm, indexed by arm, as the
    experiment file resolved them); and what was read, in words. Runs of one arm differ only
    in their seeds."""
    import pandas as pd

    from lendsim.errors import LendsimError
    from lendsim.results.folders import RUNS_DIR, folder_status

    _refuse_run_options(folder, args, "an experiment folder")
    st = folder_status(folder)
    info, done = st["info"], st["runs"][st["runs"]["status"] == "done"]
    if args.arm is not None and args.arm not in set(done["arm"]):
        have = sorted(set(done["arm"]))
        raise LendsimError(f"--arm = {args.arm}: allowed values are the arms of {folder} with "
                           f"finished runs ({_span(have) if have else 'none yet'})")
    if args.arm is not None:
        done = done[done["arm"] == args.arm]
    if not len(done):
        raise LendsimError(f"{folder}: no finished runs yet")
    out: dict[int, list[dict[str, float]]] = {}
    for rid, arm in zip(done["run_id"], done["arm"]):
        out.setdefault(int(arm), []).append(
            run_dir_figures(folder / RUNS_DIR / rid, args.window))
    factors = pd.DataFrame([{k: arm[k] for k in info["factors"]} for arm in info["arms"]],
                           index=pd.RangeIndex(len(info["arms"]), name="arm"),
                           columns=list(info["factors"]), dtype=object)  # ints stay ints
    return out, factors, f"experiment folder {folder}, {len(done)} runs"


def _span(values: list[int]) -> str:
    """``0-63`` for a run of consecutive integers, else the list."""
    if values == list(range(values[0], values[-1] + 1)):
        return f"{values[0]}-{values[-1]}" if len(values) > 1 else str(values[0])
    return ", ".join(map(str, values))


def _report_ranking(folder: Path, arm_runs: dict[int, list[dict[str, float]]],
                    factors: pd.DataFrame, what: str, args, start: float) -> int:
    """Print the ranking of an experiment's arms (and write it with ``--csv``)."""
    ranking = rank_arms(arm_runs)
    print(format_ranking(ranking, args.top))
    best = ranking.iloc[0]
    sets = " ".join(set_option(k, v) for k, v in factors.loc[int(best["arm"])].items())
    print(f"best: arm {int(best['arm'])}, {int(best['in_band'])} of {len(TARGETS)} figures in "
          f"band: {sets}")
    print(f"(lendsim calibrate {folder} --arm {int(best['arm'])} shows its table)")
    if ranking["multi_lenders_2"].isna().all():
        print(_SPLIT_HINT)
    print(f"{len(ranking)} arms ranked ({what}; means over the last {args.window} months; "
          f"{time.perf_counter() - start:.1f} s)")
    if args.csv:
        out = ranking.merge(factors, left_on="arm", right_index=True, how="left")
        out.to_csv(args.csv, index=False)
        print(f"ranking: {args.csv}")
    return 0


def _figures_of_folder(folder: Path, args) -> dict[str, float]:
    from lendsim.errors import LendsimError
    from lendsim.results.folders import MANIFEST_FILE, check_run_dir

    _refuse_run_options(folder, args, "a run folder")
    if not (folder / MANIFEST_FILE).is_file():
        raise LendsimError(f"{folder} has no {MANIFEST_FILE}; it is not a complete lendsim "
                           "run directory")
    why = check_run_dir(folder)
    if why:
        raise LendsimError(f"{folder}: damaged run folder ({why}); run it again")
    return run_dir_figures(folder, args.window)


def seed_run(scen, seed: int, window: int):
    """The run ``lendsim calibrate`` makes of scenario ``scen`` for one seed: with borrower
    snapshots for the multi-lender split (a few inside the ``window`` are enough: a stock)
    and no charts. Returns the run's result (``lendsim.api.run``)."""
    from lendsim.api import run

    return run(scen, seed=seed, overrides={"output.borrower_snapshot_every":
                                           max(1, min(12, window // 2)),
                                           "output.charts": False})


def _figures_of_runs(args) -> tuple[list[dict[str, float]], str]:
    from lendsim.api import resolve_scenario
    from lendsim.simulation.scenario import parse_overrides

    seeds = list(DEFAULT_SEEDS) if args.seeds is None else _parse_seeds(args.seeds)
    overrides = parse_overrides(args.sets)
    scen = resolve_scenario(args.source, overrides,  # validates before anything runs
                            allow_outside=args.allow_outside_paths)
    _check_window(scen.simulation.steps, args.window)
    out, lenders = [], []
    for s in seeds:
        print(f"lendsim calibrate: scenario '{scen.name}', seed {s} ...", file=sys.stderr)
        res = seed_run(scen, s, args.window)
        out.append(calibration_figures(res.model, res.platforms, res.extra.get("borrowers"),
                                       window=args.window))
        lenders.append(lender_figures(res.model, res.platforms, window=args.window))
    return out, f"scenario '{scen.name}', seeds {','.join(map(str, seeds))}", lenders
