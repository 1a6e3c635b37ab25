#!/usr/bin/env python3
"""What each scoring model costs: time per retraining and per month, by model family.

Every platform type is set to one family (``platforms.<type>.scoring``), the market runs
``--warmup`` months untimed (the training windows fill) and then ``--steps`` months timed, on
the scenario ``bench_model.py`` measures (10 platforms, 20 banks, social network of mean
degree 10), without the burn-in. Reported per family:

- ``ms_per_month``: the whole month, all phases;
- ``retrainings`` and ``ms_per_retraining``: the refits in the timed months and the mean time
  of one (``Platform.retrain``: the held-out validation fit and the refit on the whole window);
- ``ms_predict_per_month``: time spent scoring applicants with a tree or network model
  (logistic platforms score inside underwriting's one vectorised pass: not separable, 0).

Usage (from the repository root; needs the ``risk`` extra for trees and neural_net):

  python benchmarks/bench_scoring.py                     # 10^5 borrowers, months 13-24
  python benchmarks/bench_scoring.py --n 10000 --families logistic,trees --json

A script, not a test: it prints what it measured. One BLAS/OpenMP thread, as bench_model.py.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_model import bench_overrides, machine_info, one_blas_thread  # noqa: E402

FAMILIES = ("logistic", "trees", "neural_net")
TYPES = ("embedded", "micro_lender", "consumer_finance", "p2p")


def measure(family: str, n: int, warmup: int, steps: int, seed: int) -> dict:
    """Run ``warmup`` months, then time ``steps`` months with every platform on ``family``."""
    from lendsim import MarketModel, load_scenario
    from lendsim.agents.platforms import Platform
    from lendsim.simulation import scoring_models

    sets = {f"platforms.{t}.scoring": family for t in TYPES}
    scen = load_scenario(None, {**bench_overrides(n, warmup + steps, seed), **sets,
                                "simulation.burn_in": 0})
    m = MarketModel(scen)
    m.run(warmup)
    spent = {"retrain": 0.0, "predict": 0.0, "n_retrain": 0}
    retrain, predict = Platform.retrain, scoring_models._Learned.predict

    def timed_retrain(self, pp, *a, **k):
        before = self.window.n_at_fit.copy()
        t = time.perf_counter()
        try:
            return retrain(self, pp, *a, **k)
        finally:
            spent["retrain"] += time.perf_counter() - t
            spent["n_retrain"] += int((self.window.n_at_fit != before).any())

    def timed_predict(self, state, X):
        t = time.perf_counter()
        try:
            return predict(self, state, X)
        finally:
            spent["predict"] += time.perf_counter() - t

    Platform.retrain, scoring_models._Learned.predict = timed_retrain, timed_predict
    try:
        t = time.perf_counter()
        m.run(steps)
        total = time.perf_counter() - t
    finally:
        Platform.retrain, scoring_models._Learned.predict = retrain, predict
    k = spent["n_retrain"]
    return {"family": family, "n": n, "months": steps,
            "ms_per_month": 1e3 * total / steps,
            "retrainings": k,
            "ms_per_retraining": 1e3 * spent["retrain"] / k if k else float("nan"),
            "ms_retraining_per_month": 1e3 * spent["retrain"] / steps,
            "ms_predict_per_month": 1e3 * spent["predict"] / steps}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=100_000, help="borrowers (default 10^5)")
    ap.add_argument("--warmup", type=int, default=12, help="untimed months first")
    ap.add_argument("--steps", type=int, default=12, help="timed months")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--families", default=",".join(FAMILIES),
                    help="comma-separated scoring models (default: all three)")
    ap.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = ap.parse_args(argv)
    families = [f.strip() for f in args.families.split(",") if f.strip()]
    bad = [f for f in families if f not in FAMILIES]
    if bad:
        print(f"bench_scoring.py: --families {bad[0]!r}: one of {', '.join(FAMILIES)}",
              file=sys.stderr)
        return 2
    one_blas_thread()
    rows = [measure(f, args.n, args.warmup, args.steps, args.seed) for f in families]
    if args.json:
        print(json.dumps({"machine": machine_info(), "results": rows}, indent=1))
        return 0
    print(f"{args.n:,} borrowers, months {args.warmup + 1}-{args.warmup + args.steps} timed")
    print(f"{'family':<12}{'ms/month':>10}{'refits':>8}{'ms/refit':>10}"
          f"{'refit ms/month':>16}{'predict ms/month':>18}")
    for r in rows:
        print(f"{r['family']:<12}{r['ms_per_month']:>10.0f}{r['retrainings']:>8d}"
              f"{r['ms_per_retraining']:>10.1f}{r['ms_retraining_per_month']:>16.1f}"
              f"{r['ms_predict_per_month']:>18.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
