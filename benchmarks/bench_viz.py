#!/usr/bin/env python3
"""Benchmark the dashboard's responsiveness: one month of the model plus everything the
dashboard draws after it (the network picture and the six live charts, as PNG bytes), at
1,000 borrowers (issue 6, item 6: under 200 ms a step on a 2-core machine).

The model and its pictures are built and drawn once first, as the dashboard does on reset;
then every step is timed as step + redraw. The browser's own work (receiving and showing the
PNGs) is not included. Prints the median, p95 and maximum, and the split between the model
step and the drawing; ``--json`` prints one JSON line instead.

Usage (from the repository root):

  python benchmarks/bench_viz.py                    # 30 steps at 1,000 borrowers
  python benchmarks/bench_viz.py --steps 60 --borrowers 2000 --lending-edges
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import time

TARGET_MS = 200.0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--borrowers", type=int, default=1000)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--lending-edges", action="store_true",
                    help="draw the borrower-platform edges too (off by default, as in the "
                         "dashboard)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)

    from lendsim.viz import figures
    from lendsim.viz.model import DashboardModel

    opts = {"show_lending": args.lending_edges, "show_funding": True}
    t0 = time.perf_counter()
    model = DashboardModel(n_borrowers=args.borrowers, seed=args.seed)
    figures.network_png(model, **opts)
    figures.charts_png(model)
    reset_ms = 1e3 * (time.perf_counter() - t0)
    step_ms, draw_ms, total_ms = [], [], []
    for _ in range(args.steps):
        a = time.perf_counter()
        model.step()
        b = time.perf_counter()
        figures.network_png(model, **opts)
        figures.charts_png(model)
        c = time.perf_counter()
        step_ms.append(1e3 * (b - a))
        draw_ms.append(1e3 * (c - b))
        total_ms.append(1e3 * (c - a))
    n_frames = figures.pictures(model)[1].n_full + figures.pictures(model)[0].b.n_full
    model.close()

    def p95(xs):
        return statistics.quantiles(xs, n=20, method="inclusive")[-1]

    res = {
        "borrowers": args.borrowers, "steps": args.steps, "seed": args.seed,
        "lending_edges": args.lending_edges, "reset_ms": round(reset_ms, 1),
        "median_ms": round(statistics.median(total_ms), 1), "p95_ms": round(p95(total_ms), 1),
        "max_ms": round(max(total_ms), 1),
        "median_step_ms": round(statistics.median(step_ms), 1),
        "p95_step_ms": round(p95(step_ms), 1),
        "median_draw_ms": round(statistics.median(draw_ms), 1),
        "p95_draw_ms": round(p95(draw_ms), 1),
        "frame_redraws": n_frames, "target_ms": TARGET_MS,
        "python": platform.python_version(),
    }
    if args.json:
        print(json.dumps(res))
    else:
        print(f"dashboard step + redraw at {args.borrowers:,} borrowers, {args.steps} steps "
              f"(reset and first draw {res['reset_ms']} ms)")
        print(f"  total  median {res['median_ms']:7.1f} ms   p95 {res['p95_ms']:7.1f} ms   "
              f"max {res['max_ms']:7.1f} ms   (target < {TARGET_MS:.0f} ms)")
        print(f"  model  median {res['median_step_ms']:7.1f} ms   p95 {res['p95_step_ms']:7.1f} ms")
        print(f"  draw   median {res['median_draw_ms']:7.1f} ms   p95 {res['p95_draw_ms']:7.1f} ms"
              f"   ({n_frames} chart/network frames drawn in full, the rest blitted)")
        ok = res["median_ms"] < TARGET_MS
        print(f"  median {'meets' if ok else 'misses'} the target; p95 "
              f"{'meets' if res['p95_ms'] < TARGET_MS else 'misses'} it")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
