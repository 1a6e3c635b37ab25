#!/usr/bin/env python3
"""Would the loan book's passes run faster with the book in order of borrower?

The book keeps its loans in order of origination, so the passes that read borrowers' arrays
(billing, paying in full, settlement, the debt state, the early warning) reach them at
random. This script runs ``bench_model.py``'s scenario for ``--warmup`` months, then steps
one more month with the book's passes (``KERNELS``) wrapped so that each call's arguments
are copied, and times every call twice on those copies: as the book had them, and with
every per-loan array put in order of borrower (a stable sort: each borrower's loans keep
their order). The caches are flushed before each call (a sum over ``--flush-mb`` of memory),
and each time is the best of ``--repeat``.

Usage (from the repository root):

  python benchmarks/bench_book_order.py                       # 10^5 borrowers, month 41
  python benchmarks/bench_book_order.py --n 1000000 --warmup 40
  python benchmarks/bench_book_order.py --n 2000 --warmup 6 --json

A script, not a test: it prints what it measured. The model's numbers are not changed (the
passes in borrower order run on copies, and their results are dropped: in another order
every sum by pool or platform would add in another order).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_model import bench_overrides, one_blas_thread  # noqa: E402

#: the kernels that pass over the whole loan book in a month
KERNELS = ("expected_due", "bill_loans", "pay_in_full", "settle_loans",
           "balances_by_pool_status", "book_by_platform", "flagged_loans", "debt_by_cell",
           "open_balances", "grouped_sum")


def per_loan(args: list, n_loans: int) -> list[int]:
    """Positions of the per-loan arguments of a call: the 1-D arrays of ``n_loans`` items."""
    import numpy as np

    return [i for i, a in enumerate(args)
            if isinstance(a, np.ndarray) and a.ndim == 1 and len(a) == n_loans]


def in_borrower_order(args: list, borrower_idx: np.ndarray) -> list:
    """``args`` with every per-loan array (1-D, ``len(borrower_idx)`` items) put in order of
    borrower, each borrower's loans in their order in the book; the rest as they are.

    Examples:
        >>> import numpy as np
        >>> b = np.array([2, 0, 2, 1, 0])
        >>> out = in_borrower_order([np.arange(5) * 10, 7, np.ones(3)], b)
        >>> out[0].tolist(), out[1], out[2].tolist()
        ([10, 40, 30, 0, 20], 7, [1.0, 1.0, 1.0])
    """
    import numpy as np

    order = np.argsort(borrower_idx, kind="stable")
    at = set(per_loan(args, len(borrower_idx)))
    return [a[order] if i in at else a for i, a in enumerate(args)]


def capture(n: int, warmup: int, seed: int, names: tuple[str, ...] = KERNELS
            ) -> tuple[list, int]:
    """Run the benchmark scenario ``warmup`` months, then one more with the kernels ``names``
    wrapped; returns each call's ``(kernel, copied arguments, the book's borrower column
    then)`` (the column for the book's passes, ``KERNELS``; None for other kernels) and the
    number of borrowers."""
    import numpy as np

    from lendsim import MarketModel, kernels, load_scenario

    model = MarketModel(load_scenario(None, bench_overrides(n, warmup + 1, seed)))
    model.run(warmup)
    calls, original = [], {k: getattr(kernels, k) for k in names}
    last = {}  # id of an argument -> its latest copy

    def kept(a):
        """A copy of ``a``, shared with the call before when ``a`` is the same array with
        the same contents (the per-borrower arrays that underwriting's many calls a month
        read: at 10^6 borrowers, separate copies would fill the memory)."""
        if not isinstance(a, np.ndarray):
            return a
        c = last.get(id(a))
        if (c is None or c.dtype != a.dtype or c.shape != a.shape
                or not np.array_equal(c, a, equal_nan=a.dtype.kind in "fc")):
            c = last[id(a)] = a.copy()
        return c

    def wrapped(name):
        def call(*args):
            calls.append((name, [kept(a) for a in args],
                          model.loans.borrower_idx.copy() if name in KERNELS else None))
            return original[name](*args)
        return call

    try:
        for k in names:
            setattr(kernels, k, wrapped(k))
        model.step()
    finally:
        for k, f in original.items():
            setattr(kernels, k, f)
    n_borrowers = model.n_borrowers
    model.close()
    return calls, n_borrowers


def best_ms(fn, args: list, repeat: int, flush: np.ndarray) -> float:
    """The best of ``repeat`` calls of ``fn`` on fresh copies of ``args`` (the passes write
    into some of them), the caches flushed before each, ms."""
    import numpy as np

    best = float("inf")
    for _ in range(repeat):
        fresh = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
        flush.sum()
        t = time.perf_counter()
        fn(*fresh)
        best = min(best, time.perf_counter() - t)
    return best * 1e3


def measure(n: int, warmup: int, seed: int, repeat: int, flush_mb: int) -> dict:
    import numpy as np

    from lendsim import kernels

    calls, n_borrowers = capture(n, warmup, seed)
    flush = np.ones(flush_mb * 2**20 // 8)
    rows = []
    for name, args, borrower_idx in calls:
        n_loans = len(borrower_idx)
        # a per-borrower array as long as the book would be taken for a per-loan one
        if n_loans == n_borrowers or not per_loan(args, n_loans):
            continue
        fn = getattr(kernels, name)
        rows.append({"kernel": name, "loans": n_loans,
                     "book_order_ms": round(best_ms(fn, args, repeat, flush), 2),
                     "borrower_order_ms": round(best_ms(
                         fn, in_borrower_order(args, borrower_idx), repeat, flush), 2)})
    return {"n": n, "month": warmup + 1, "seed": seed, "repeat": repeat, "calls": rows,
            "book_order_ms": round(sum(r["book_order_ms"] for r in rows), 1),
            "borrower_order_ms": round(sum(r["borrower_order_ms"] for r in rows), 1)}


def month_parser(doc: str) -> argparse.ArgumentParser:
    """The options of a script that times the calls of one month (this one and
    ``bench_kernel_ab.py``): ``--n``, ``--warmup``, ``--seed``, ``--flush-mb``, ``--json``."""
    ap = argparse.ArgumentParser(description=doc,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000, help="borrowers (default 100000)")
    ap.add_argument("--warmup", type=int, default=40,
                    help="months run before the month measured (default 40)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--flush-mb", type=int, default=256,
                    help="memory summed before each call to flush the caches (default 256)")
    ap.add_argument("--json", action="store_true", help="machine-readable output only")
    return ap


def first_not_positive(prog: str, flags: dict) -> str | None:
    """The one-line complaint about the first of ``flags`` (option: value) below 1, or None."""
    for flag, value in flags.items():
        if value < 1:
            return f"{prog}: {flag} = {value}: must be a whole number >= 1"
    return None


def parse_args(argv=None):
    ap = month_parser(__doc__)
    ap.add_argument("--repeat", type=int, default=3, help="calls timed, best kept")
    return ap.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    bad = first_not_positive("bench_book_order", {"--warmup": args.warmup, "--repeat":
                                                  args.repeat, "--flush-mb": args.flush_mb})
    if bad:
        print(bad, file=sys.stderr)
        return 2
    # one BLAS thread, set before numpy's import, as in bench_model.py's children. Without
    # it the passes timed here at 10^6 took 460-480 ms in all instead of about 360, for a
    # reason not found (bench_phases.py's months were no slower with two threads)
    one_blas_thread()
    from lendsim.errors import ScenarioError

    try:
        r = measure(args.n, args.warmup, args.seed, args.repeat, args.flush_mb)
    except ScenarioError as e:  # the scenario's own checks: borrowers.n
        print(f"bench_book_order: {e}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(r))
        return 0
    print(f"{r['n']} borrowers, month {r['month']}, seed {r['seed']}; best of {r['repeat']}, "
          "caches flushed before each call")
    print(f"{'kernel':26s} {'loans':>10s} {'book order ms':>14s} {'borrower order ms':>18s}")
    for c in r["calls"]:
        print(f"{c['kernel']:26s} {c['loans']:10,d} {c['book_order_ms']:14.1f} "
              f"{c['borrower_order_ms']:18.1f}")
    print(f"{'all':26s} {'':10s} {r['book_order_ms']:14.1f} {r['borrower_order_ms']:18.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
