#!/usr/bin/env python3
"""Did a change that moves numbers move the model's results? Two checkouts, the same seeds.

A change that reorders arithmetic or samples differently (a fused loop, a narrower column,
a sample of the loans) cannot keep the golden pins; what it must keep is the model's
results, within sampling noise. This script runs the benchmark's scenario
(``bench_model.bench_overrides``) on several seeds in the checkout it is run from and saves
each run's model table, then compares two such folders column by column over the last
months:

  python benchmarks/compare_numbers.py run --out /tmp/before --n 1000000 --steps 48 --seeds 1-8
  (in the other checkout)  python benchmarks/compare_numbers.py run --out /tmp/after ...
  python benchmarks/compare_numbers.py compare /tmp/before /tmp/after --last 24

For every numeric column of the model table: its mean over the last ``--last`` months in
each run, the paired differences (after - before) across seeds, their mean relative to the
before mean, a 95 % t-interval and a paired t-test's p-value. A column passes when its mean
moved by at most 1 % or its interval covers 0. With a hundred columns some intervals miss
0 by chance (one in twenty); Holm's step-down correction says whether any miss is more than
that (Holm 1979, Scand. J. Statist. 6, 65-70). A script, not a test: it prints what it found.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_model import bench_overrides, one_blas_thread, peak_rss_mb  # noqa: E402


def seeds_of(text: str) -> list[int]:
    """``"1-3,7"`` -> ``[1, 2, 3, 7]``."""
    out = []
    for part in text.split(","):
        a, _, b = part.partition("-")
        out += list(range(int(a), int(b or a) + 1))
    return out


def run_one(n: int, steps: int, seed: int, out: Path) -> dict:
    """One run of the benchmark's scenario; its model table to ``out``/seed_<seed>.parquet."""
    from lendsim import MarketModel, load_scenario

    t = time.perf_counter()
    m = MarketModel(load_scenario(None, bench_overrides(n, steps, seed)))
    m.run(steps)
    m.tables()["model"].to_parquet(out / f"seed_{seed}.parquet")
    m.close()
    return {"seed": seed, "n": n, "steps": steps, "wall_s": time.perf_counter() - t,
            "peak_rss_mb": peak_rss_mb()}


def compare(before: Path, after: Path, last: int):
    """The column-by-column comparison of two folders of runs (the seeds both hold): a
    DataFrame indexed by column with ``before``, ``after`` (means over seeds of each run's
    mean over its last ``last`` months), ``rel`` (mean paired difference over ``before``),
    ``lo``, ``hi`` (95 % t-interval of the paired difference), ``p`` (paired t-test),
    ``p_holm`` and ``passes``."""
    import numpy as np
    import pandas as pd
    from scipy import stats

    seeds = sorted(int(p.stem.split("_")[1]) for p in before.glob("seed_*.parquet")
                   if (after / p.name).exists())
    if len(seeds) < 2:
        raise SystemExit(f"compare_numbers: need at least 2 seeds in both folders, found {seeds}")
    means = {"before": [], "after": []}
    for s in seeds:
        for arm, folder in (("before", before), ("after", after)):
            t = pd.read_parquet(folder / f"seed_{s}.parquet")
            t = t[t["step"] > t["step"].max() - last]
            means[arm].append(t.select_dtypes("number").drop(columns="step").mean())
    a, b = (pd.concat(means[k], axis=1) for k in ("before", "after"))
    cols = a.index.intersection(b.index)
    a, b = a.loc[cols], b.loc[cols]
    d = b - a
    k = len(seeds)
    mean, se = d.mean(axis=1), d.std(axis=1, ddof=1) / np.sqrt(k)
    half = stats.t.ppf(0.975, k - 1) * se
    with np.errstate(invalid="ignore", divide="ignore"):
        p = pd.Series(np.where(se > 0, 2 * stats.t.sf(np.abs(mean / se), k - 1),
                               np.where(mean == 0, 1.0, 0.0)), index=cols)
        rel = mean / a.mean(axis=1).abs()
    out = pd.DataFrame({"before": a.mean(axis=1), "after": b.mean(axis=1), "rel": rel,
                        "lo": mean - half, "hi": mean + half, "p": p})
    out = out.dropna(subset=["before", "after"])
    order = out["p"].sort_values(kind="stable").index
    m = len(out)
    holm = (out.loc[order, "p"] * np.arange(m, 0, -1)).cummax().clip(upper=1.0)
    out["p_holm"] = holm.reindex(out.index)
    out["passes"] = (out["rel"].abs() <= 0.01) | ((out["lo"] <= 0) & (out["hi"] >= 0))
    out.attrs["seeds"] = seeds
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="run the seeds in this checkout")
    r.add_argument("--out", required=True, help="folder for the model tables (created)")
    r.add_argument("--n", type=int, default=1_000_000, help="borrowers (default 10^6)")
    r.add_argument("--steps", type=int, default=48, help="months (default 48)")
    r.add_argument("--seeds", default="1-8", help="seeds, e.g. 1-8 or 1,3,5 (default 1-8)")
    r.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    c = sub.add_parser("compare", help="compare two folders of runs")
    c.add_argument("before")
    c.add_argument("after")
    c.add_argument("--last", type=int, default=24, help="months compared (default 24)")
    args = ap.parse_args(argv)
    if args.cmd == "compare":
        out = compare(Path(args.before), Path(args.after), args.last)
        bad = out[~out["passes"]].sort_values("p")
        print(f"{len(out)} columns, seeds {out.attrs['seeds']}, last {args.last} months: "
              f"{int((out['rel'].abs() <= 0.01).sum())} moved by at most 1 %, "
              f"{int(out['passes'].sum())} pass (that, or an interval covering 0); "
              f"{len(bad)} do not; smallest Holm-corrected p {out['p_holm'].min():.3g}")
        if len(bad):
            print(bad.to_string(float_format=lambda v: f"{v:.4g}"))
        return 0
    if args.n < 1 or args.steps < 1:
        ap.error(f"--n and --steps must be at least 1, got {args.n} and {args.steps}")
    try:
        seeds = seeds_of(args.seeds)
    except ValueError:
        ap.error(f"--seeds must look like 1-8 or 1,3,5, got {args.seeds!r}")
    out = Path(args.out)
    if args.child is not None:
        one_blas_thread()
        print(json.dumps(run_one(args.n, args.steps, args.child, out)))
        return 0
    out.mkdir(parents=True, exist_ok=True)
    for s in seeds:  # each run in its own process: its peak memory is its own
        p = subprocess.run([sys.executable, __file__, "run", "--out", str(out), "--n",
                            str(args.n), "--steps", str(args.steps), "--child", str(s)],
                           capture_output=True, text=True)
        if p.returncode:
            print(p.stderr, file=sys.stderr)
            return p.returncode
        print(p.stdout.strip(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
