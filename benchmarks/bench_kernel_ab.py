#!/usr/bin/env python3
"""Is a change to the loan book's kernels faster? This checkout's kernels against another's,
in one process, call by call.

Two runs of ``bench_phases.py`` (one for each checkout) compare months measured minutes apart,
and this machine's speed moves by a tenth or more in that time. This script runs
``bench_model.py``'s scenario for ``--warmup`` months, captures the next month's calls of
the book's passes (``bench_book_order.KERNELS``) and of underwriting's kernels that read
borrowers' arrays at the applicants (``UNDERWRITING``) with their arguments, and then times
each kernel's calls with this checkout's kernel (A) and the other's (B, ``--against``: its
``src/lendsim/kernels.py``, loaded as a module of its own) in rounds of four calls, A B B A,
each on fresh copies of the arguments with the caches flushed before (after one untimed
call of each, which compiles it). A call's place in its pair can tilt a ratio (what the
call before left in the caches and the allocator), so each round's ratio is the geometric
mean of its two pairs', ``sqrt(A1 A2 / (B1 B2))``, in which the place cancels; the report's
"1st/2nd" shows how much the place weighed. The median of the rounds' ratios, and its
quartiles, are what to quote; a copy of the same ``kernels.py`` against itself shows how
finely they tell two kernels apart (0.91-1.08 for one pass at 10^6 borrowers, 2026-12-07).

What a kernel takes alone, its caches flushed, is not what it takes inside the month,
where the phases before it leave some of its data in the caches. ``--months R`` times that
instead: one model of the scenario runs ``--warmup`` months, then ``4 R`` months, in rounds
of A B B A months, every kernel of ``lendsim.kernels`` swapped for the other checkout's in
the B months (the model calls them through the module, so the swap reaches every call);
each phase of each month is timed (``bench_phases.py``'s phases), and a round's ratio is
again the geometric mean of its two pairs. Months differ from each other (a book that grows,
a market that moves), which the order A B B A balances within each round. The two kernels
must give the same numbers for this to compare like with like, which the call-by-call
comparison checks.

Both checkouts' kernels are compiled afresh into a numba cache of the run's own, removed at
the end, so that B's checkout's cache is left as it was.

It also checks that A and B give the same results to the last bit (what they return, and
what they write into their arguments): a change to a kernel that is meant to move no number
must show "same".

Usage (from the repository root; ``git worktree add /tmp/before HEAD~1`` makes the other
checkout):

  python benchmarks/bench_kernel_ab.py --against /tmp/before
  python benchmarks/bench_kernel_ab.py --against /tmp/before --n 1000000 --warmup 45
  python benchmarks/bench_kernel_ab.py --against /tmp/before --kernels debt_by_cell --rounds 16
  python benchmarks/bench_kernel_ab.py --against /tmp/before --n 1000000 --warmup 40 --months 3

A script, not a test: it prints what it measured.
"""
from __future__ import annotations

import importlib.util
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_book_order import (KERNELS, capture, first_not_positive,  # noqa: E402
                              month_parser)
from bench_model import bench_overrides, one_blas_thread  # noqa: E402

#: underwriting's kernels that read borrowers' arrays at the applicants, each with the
#: position of its argument that holds one item per applicant (or new loan)
UNDERWRITING = {"applicant_features": 0, "owes_at": 1, "add_debt": 3}
ALL_KERNELS = KERNELS + tuple(UNDERWRITING)


def kernels_file(path: str) -> Path | None:
    """The ``kernels.py`` that ``path`` names: the file itself, or the one under a checkout
    (``src/lendsim/kernels.py``) or a package directory (``lendsim/kernels.py``); None when
    there is none."""
    p = Path(path)
    for f in (p, p / "src" / "lendsim" / "kernels.py", p / "lendsim" / "kernels.py",
              p / "kernels.py"):
        if f.is_file() and f.name == "kernels.py":
            return f
    return None


def load_kernels(path: Path, name: str = "lendsim_kernels_b"):
    """``path`` (a ``kernels.py``) imported as the module ``name``; it imports nothing from
    lendsim, so it loads on its own."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    # in sys.modules before it runs: numba finds a cached kernel's module there by name
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def same(x, y) -> bool:
    """Whether two results are equal to the last bit: arrays of one type, shape and bytes
    (NaN equal to NaN), tuples item by item, anything else by ``==``."""
    import numpy as np

    if isinstance(x, tuple) or isinstance(y, tuple):
        return (isinstance(x, tuple) and isinstance(y, tuple) and len(x) == len(y)
                and all(same(a, b) for a, b in zip(x, y)))
    if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
        return (isinstance(x, np.ndarray) and isinstance(y, np.ndarray)
                and x.dtype == y.dtype and x.shape == y.shape
                and np.ascontiguousarray(x).tobytes() == np.ascontiguousarray(y).tobytes())
    return x == y


def timed(fn, group: list, flush) -> tuple[float, list, list]:
    """Each call of ``fn`` on fresh copies of its arguments (``group``: a list of argument
    lists), the caches flushed before each: the calls' time in all (s), what each returned
    and its copies (which it may have written into)."""
    import numpy as np

    spent, outs, copies = 0.0, [], []
    for args in group:
        fresh = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
        flush.sum()
        t = time.perf_counter()
        out = fn(*fresh)
        spent += time.perf_counter() - t
        outs.append(out)
        copies.append(tuple(fresh))
    return spent, outs, copies


def by_kernel(calls: list) -> list[tuple[str, list, int]]:
    """The captured calls ``(kernel, args, the book's borrower column or None)`` grouped by
    kernel, in the order of their first call: ``(kernel, argument lists, items)``, items
    being the loans of the book (its passes) or the applicants of every call (underwriting's
    kernels, ``UNDERWRITING``)."""
    groups: dict[str, list] = {}
    for name, args, borrower_idx in calls:
        g = groups.setdefault(name, [[], 0])
        g[0].append(args)
        g[1] += (len(borrower_idx) if borrower_idx is not None
                 else len(args[UNDERWRITING[name]]))
    return [(name, g[0], g[1]) for name, g in groups.items()]


def compare(calls: list, a, b, rounds: int, flush) -> list[dict]:
    """Each kernel's captured calls (``by_kernel``) timed together in ``rounds`` rounds of
    module ``a``'s kernel, ``b``'s, ``b``'s and ``a``'s."""
    import numpy as np

    rows = []
    for name, args, items in by_kernel(calls):
        fa, fb = getattr(a, name), getattr(b, name, None)
        row = {"kernel": name, "items": items, "calls": len(args)}
        if fb is None:
            rows.append({**row, "error": "not in the other kernels.py"})
            continue
        ta, tb = [], []
        try:
            for fn in (fa, fb):  # compiled, or loaded from numba's cache, before timing
                timed(fn, args, flush)
            for k in range(rounds):
                res = []
                for fn, times in ((fa, ta), (fb, tb), (fb, tb), (fa, ta)):
                    t, out, fresh = timed(fn, args, flush)
                    times.append(t)
                    res.append((tuple(out), tuple(fresh)))
                if k == 0:
                    row["same"] = same(res[0][0], res[1][0]) and same(res[0][1], res[1][1])
        except Exception as e:  # noqa: BLE001 (another signature, say: reported, not fatal)
            rows.append({**row, "error": f"{type(e).__name__}: {e}".splitlines()[0]})
            continue
        ta_, tb_ = np.array(ta).reshape(rounds, 2), np.array(tb).reshape(rounds, 2)
        ratio = np.sqrt(ta_.prod(axis=1) / tb_.prod(axis=1))
        # the first call of a pair against the second, A or B alike: A1 B2 / (B1 A2)
        place = np.sqrt(ta_[:, 0] * tb_[:, 1] / (tb_[:, 0] * ta_[:, 1]))
        rows.append({**row, "a_ms": round(float(np.median(ta)) * 1e3, 2),
                     "b_ms": round(float(np.median(tb)) * 1e3, 2),
                     "ratio": round(float(np.median(ratio)), 3),
                     "ratio_q1": round(float(np.percentile(ratio, 25)), 3),
                     "ratio_q3": round(float(np.percentile(ratio, 75)), 3),
                     "first_over_second": round(float(np.median(place)), 3)})
    return rows


def measure(against: Path, n: int, warmup: int, seed: int, rounds: int, flush_mb: int,
            names: tuple[str, ...]) -> dict:
    import numpy as np

    from lendsim import kernels

    other = load_kernels(against)
    calls, n_borrowers = capture(n, warmup, seed, names)
    flush = np.ones(flush_mb * 2**20 // 8)
    rows = compare(calls, kernels, other, rounds, flush)
    ok = [r for r in rows if "error" not in r]
    return {"n": n, "month": warmup + 1, "seed": seed, "rounds": rounds,
            "a": str(Path(kernels.__file__).resolve()), "b": str(against.resolve()),
            "calls": rows, "a_ms": round(sum(r["a_ms"] for r in ok), 1),
            "b_ms": round(sum(r["b_ms"] for r in ok), 1),
            "all_same": all(r["same"] for r in ok)}


def measure_months(against: Path, n: int, warmup: int, seed: int, rounds: int) -> dict:
    """One model: ``warmup`` months, one month with each side's kernels (each compiled or
    loaded before timing), then ``rounds`` rounds of months with this checkout's kernels (A)
    and ``against``'s (B), A B B A; each month's phases timed."""
    import numba
    import numpy as np

    import bench_phases
    from lendsim import MarketModel, kernels, load_scenario

    other = load_kernels(against)
    names = [k for k, v in vars(kernels).items()
             if isinstance(v, numba.core.registry.CPUDispatcher)]
    sides = {"A": {k: getattr(kernels, k) for k in names},
             "B": {k: getattr(other, k) for k in names if hasattr(other, k)}}
    missing = sorted(set(names) - set(sides["B"]))

    def use(side):
        for k, f in sides[side].items():
            setattr(kernels, k, f)

    model = MarketModel(load_scenario(None, bench_overrides(n, warmup + 2 + 4 * rounds,
                                                            seed)))
    phases = bench_phases.phase_names(MarketModel)
    spent = dict.fromkeys(phases, 0.0)
    times = {"A": [], "B": []}
    by_phase = {"A": {k: [] for k in phases}, "B": {k: [] for k in phases}}
    try:
        model.run(warmup)
        for side in "BA":
            use(side)
            model.step()
        # an instance attribute shadows the class's tuple for this model only
        model.PHASES = tuple(bench_phases._Timed(name, ph, spent)
                             for name, ph in zip(phases, MarketModel.PHASES))
        for _ in range(rounds):
            for side in "ABBA":
                use(side)
                spent.update(dict.fromkeys(phases, 0.0))
                t = time.perf_counter()
                model.step()
                times[side].append(time.perf_counter() - t)
                for k in phases:
                    by_phase[side][k].append(spent[k])
    finally:
        use("A")
        model.close()
    ta = np.array(times["A"]).reshape(rounds, 2)
    tb = np.array(times["B"]).reshape(rounds, 2)
    ratio = np.sqrt(ta.prod(axis=1) / tb.prod(axis=1))
    return {"n": n, "months": [warmup + 3, warmup + 2 + 4 * rounds], "seed": seed,
            "rounds": rounds, "a": str(Path(kernels.__file__).resolve()),
            "b": str(against.resolve()), "not_in_b": missing,
            "a_ms": round(float(ta.mean()) * 1e3, 1), "b_ms": round(float(tb.mean()) * 1e3, 1),
            "ratios": [round(float(r), 3) for r in ratio],
            "ratio": round(float(np.median(ratio)), 3),
            "phases": [{"phase": k,
                        "a_ms": round(float(np.mean(by_phase["A"][k])) * 1e3, 1),
                        "b_ms": round(float(np.mean(by_phase["B"][k])) * 1e3, 1)}
                       for k in phases]}


def print_months(r: dict) -> None:
    print(f"{r['n']} borrowers, months {r['months'][0]}-{r['months'][1]} in one model, seed "
          f"{r['seed']}; {r['rounds']} rounds of months A B B A")
    print(f"A: {r['a']}\nB: {r['b']}")
    if r["not_in_b"]:
        print(f"kernels B has not (A's used in both): {', '.join(r['not_in_b'])}")
    print(f"{'phase':18s} {'A ms':>8s} {'B ms':>8s}   (means a month)")
    for p in r["phases"]:
        print(f"{p['phase']:18s} {p['a_ms']:8.1f} {p['b_ms']:8.1f}")
    print(f"{'month':18s} {r['a_ms']:8.1f} {r['b_ms']:8.1f}")
    print(f"A/B by round: {', '.join(f'{x:.3f}' for x in r['ratios'])}; median "
          f"{r['ratio']:.3f}")


def parse_args(argv=None):
    ap = month_parser(__doc__)
    ap.add_argument("--against", required=True, metavar="PATH",
                    help="the other checkout (or its kernels.py): B")
    ap.add_argument("--rounds", type=int, default=8,
                    help="rounds of A B B A timed a call (default 8)")
    ap.add_argument("--kernels", default=",".join(ALL_KERNELS),
                    help="comma-separated kernels to time (default: every book pass and "
                         "underwriting's gathers)")
    ap.add_argument("--months", type=int, default=0, metavar="R",
                    help="time R rounds of whole months A B B A in one model instead")
    return ap.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    bad = first_not_positive("bench_kernel_ab", {"--warmup": args.warmup, "--rounds":
                                                 args.rounds, "--flush-mb": args.flush_mb})
    if not bad and args.months < 0:
        bad = (f"bench_kernel_ab: --months = {args.months}: must be a whole number >= 0 "
               "(0: time the calls, not the months)")
    if bad:
        print(bad, file=sys.stderr)
        return 2
    names = tuple(k for k in args.kernels.split(",") if k)
    unknown = [k for k in names if k not in ALL_KERNELS]
    if unknown or not names:
        print(f"bench_kernel_ab: --kernels = {args.kernels!r}: allowed, comma-separated: "
              f"{', '.join(ALL_KERNELS)}", file=sys.stderr)
        return 2
    against = kernels_file(args.against)
    if against is None:
        print(f"bench_kernel_ab: --against = {args.against!r}: no kernels.py there (give a "
              "checkout, its src/lendsim, or the file)", file=sys.stderr)
        return 2
    one_blas_thread()  # as bench_book_order.py, before numpy's import
    # numba's cache in a folder of this run's, set before numba's import: a kernel of B's
    # cached under this script's module name would otherwise be found by B's own checkout
    # later, and fail to load there
    cache = tempfile.mkdtemp(prefix="bench_kernel_ab-")
    os.environ["NUMBA_CACHE_DIR"] = cache
    from lendsim.errors import ScenarioError

    try:
        if args.months:
            r = measure_months(against, args.n, args.warmup, args.seed, args.months)
        else:
            r = measure(against, args.n, args.warmup, args.seed, args.rounds,
                        args.flush_mb, names)
    except ScenarioError as e:  # the scenario's own checks: borrowers.n
        print(f"bench_kernel_ab: {e}", file=sys.stderr)
        return 2
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    if args.json:
        print(json.dumps(r))
        return 0
    if args.months:
        print_months(r)
        return 0
    print(f"{r['n']} borrowers, month {r['month']}, seed {r['seed']}; {r['rounds']} rounds "
          "of A B B A a call, caches flushed before each; A/B: the median round's")
    print(f"A: {r['a']}\nB: {r['b']}")
    print("items: the book's loans for its passes, the applicants of every call for "
          "underwriting's kernels")
    print(f"{'kernel':24s} {'calls':>5s} {'items':>10s} {'A ms':>8s} {'B ms':>8s} {'A/B':>6s} "
          f"{'quartiles':>13s} {'1st/2nd':>7s}  results")
    for c in r["calls"]:
        if "error" in c:
            print(f"{c['kernel']:24s} {c['calls']:5d} {c['items']:10,d}  not compared: "
                  f"{c['error']}")
            continue
        print(f"{c['kernel']:24s} {c['calls']:5d} {c['items']:10,d} {c['a_ms']:8.1f} "
              f"{c['b_ms']:8.1f} "
              f"{c['ratio']:6.3f} {c['ratio_q1']:6.3f}-{c['ratio_q3']:.3f} "
              f"{c['first_over_second']:7.3f}  "
              f"{'same' if c['same'] else 'DIFFER'}")
    print(f"{'all (medians)':24s} {'':5s} {'':10s} {r['a_ms']:8.1f} {r['b_ms']:8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
