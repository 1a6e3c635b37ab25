#!/usr/bin/env python3
"""Clearing at scale: ``eisenberg_noe`` and ``rogers_veraart`` on sparse random networks.

Each network has n banks and 5 interbank liabilities per bank (to distinct random creditors,
amounts exponential with mean 1); external assets are exponential with mean ``--assets``
(default 2.5, about half the interbank obligations, so that a large share of the banks
default and the defaulted banks' linear systems are large), external liabilities
exponential with mean 1. One seeded generator per size. For each size the script prints the
wall time of ``eisenberg_noe`` (pari passu and external senior) and of ``rogers_veraart``
(alpha = 0.8, beta = 0.9), the number of defaulted banks and default rounds, and the largest
violation of the clearing condition ``p = min(pbar, e + Pi^T p)`` (Eisenberg-Noe, pari
passu), relative to ``pbar``.

Usage (from the repository root):

  python benchmarks/bench_clearing.py                   # n = 10^3, 10^4, 10^5
  python benchmarks/bench_clearing.py --sizes 1000 100000 --repeat 3 --json

A script, not a test: it prints what it measured (the best of ``--repeat`` runs).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from lendsim.simulation.clearing import eisenberg_noe, rogers_veraart  # noqa: E402

EDGES_PER_NODE = 5


def network(n: int, assets: float, seed: int) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """A sparse random liability matrix with ``EDGES_PER_NODE`` creditors per bank, external
    assets and external liabilities."""
    rng = np.random.default_rng(seed)
    rows = np.repeat(np.arange(n), EDGES_PER_NODE)
    # creditors: distinct and never the debtor itself (offsets 1..n-1 without repetition)
    offsets = np.concatenate([rng.choice(np.arange(1, n), EDGES_PER_NODE, replace=False)
                              for _ in range(n)]) if n <= 2000 else \
        (rng.integers(1, n, (n, EDGES_PER_NODE)).ravel())
    cols = (rows + offsets) % n
    L = sp.csr_matrix((rng.exponential(1.0, rows.size), (rows, cols)), shape=(n, n))
    L.sum_duplicates()
    e = rng.exponential(assets, n)
    ext = rng.exponential(1.0, n)
    return L, e, ext


def violation(L: sp.csr_matrix, e: np.ndarray, ext: np.ndarray, p: np.ndarray) -> float:
    """max |p - min(pbar, e + Pi^T p)| / max(pbar, 1): 0 for an exact clearing vector."""
    lbar = np.asarray(L.sum(axis=1)).ravel()
    pbar = lbar + ext
    Pi = sp.diags(np.divide(1.0, pbar, out=np.zeros_like(pbar), where=pbar > 0)) @ L
    return float(np.max(np.abs(p - np.minimum(pbar, e + Pi.T @ p)) / np.maximum(pbar, 1.0)))


def best_of(repeat: int, fn):
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    ap.add_argument("--assets", type=float, default=2.5, help="mean external assets")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = ap.parse_args(argv)
    rows = []
    for n in args.sizes:
        L, e, ext = network(n, args.assets, args.seed)
        t_en, en = best_of(args.repeat, lambda: eisenberg_noe(L, e, external_liabilities=ext))
        t_sen, sen = best_of(args.repeat, lambda: eisenberg_noe(
            L, e, external_liabilities=ext, seniority="external_senior"))
        t_rv, rv = best_of(args.repeat, lambda: rogers_veraart(
            L, e, alpha=0.8, beta=0.9, external_liabilities=ext))
        rows.append({"n": n, "edges": int(L.nnz), "en_s": round(t_en, 3),
                     "en_senior_s": round(t_sen, 3), "rv_s": round(t_rv, 3),
                     "defaulted_en": int(en.defaulted.sum()), "rounds_en": len(en.rounds),
                     "defaulted_senior": int(sen.defaulted.sum()),
                     "defaulted_rv": int(rv.defaulted.sum()), "rounds_rv": len(rv.rounds),
                     "en_violation": violation(L, e, ext, en.payments)})
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print(f"{'n':>8} {'edges':>8} {'EN s':>8} {'EN senior s':>12} {'RV s':>8} "
              f"{'EN defaults':>12} {'rounds':>6} {'RV defaults':>12} {'EN violation':>13}")
        for r in rows:
            print(f"{r['n']:>8,} {r['edges']:>8,} {r['en_s']:>8.3f} {r['en_senior_s']:>12.3f} "
                  f"{r['rv_s']:>8.3f} {r['defaulted_en']:>12,} {r['rounds_en']:>6} "
                  f"{r['defaulted_rv']:>12,} {r['en_violation']:>13.1e}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
