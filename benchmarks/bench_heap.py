"""Where a run's memory sits: the C heap's use and free space as the months go by (Linux,
glibc 2.33 or later).

Runs ``bench_model.py``'s scenario in this process and prints, every ``--every`` months, the
resident memory and glibc's ``mallinfo2``: the heap's size, what is in use in it, what is
free in it and in how many blocks, and the blocks mapped on their own (32 MB or more, with the
thresholds ``lendsim.simulation.allocator`` sets). At the end: the peak, the wall time, and
the resident memory before and after ``malloc_trim(0)``, which hands the heap's free pages
back (what is left is what the model holds). ``--trim-every M`` hands them back every M
months during the run, to see whether that lowers the peak.

    python benchmarks/bench_heap.py --n 1000000 --steps 120 --every 10
    python benchmarks/bench_heap.py --n 1000000 --steps 120 --every 120 --trim-every 12

One BLAS thread unless the environment says otherwise, as ``bench_model.py``'s children. It
moves no number of the model.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_model import bench_overrides, one_blas_thread  # noqa: E402
from bench_phases import status_mb  # noqa: E402


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks "
                "keepcost".split()]


def probe(n: int, steps: int, every: int, trim_every: int = 0, seed: int = 1) -> dict:
    """Run the benchmark's scenario; returns ``rows`` (one dict per month printed: month,
    resident, heap, in_use, free, MB; free_blocks; mapped, MB) and the run's ``peak_mb``,
    ``wall_s``, ``trim_s``, ``end_mb`` and ``trimmed_mb`` (resident before and after the
    final ``malloc_trim(0)``)."""
    libc = ctypes.CDLL("libc.so.6")
    libc.mallinfo2.restype = _MallInfo2
    from lendsim import MarketModel, load_scenario

    mb = 2 ** 20
    t0 = time.perf_counter()
    model = MarketModel(load_scenario(None, bench_overrides(n, steps, seed)))
    rows, trim_s = [], 0.0
    for t in range(1, steps + 1):
        model.step()
        if trim_every and t % trim_every == 0:
            s = time.perf_counter()
            libc.malloc_trim(0)
            trim_s += time.perf_counter() - s
        if t % every == 0 or t == steps:
            mi = libc.mallinfo2()
            rows.append({"month": t, "resident": status_mb("VmRSS"), "heap": mi.arena / mb,
                         "in_use": mi.uordblks / mb, "free": mi.fordblks / mb,
                         "free_blocks": mi.ordblks, "mapped": mi.hblkhd / mb})
    wall = time.perf_counter() - t0
    end = status_mb("VmRSS")
    libc.malloc_trim(0)
    out = {"rows": rows, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
           "wall_s": wall, "trim_s": trim_s, "end_mb": end, "trimmed_mb": status_mb("VmRSS")}
    model.close()
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=100_000, help="borrowers (default 100000)")
    ap.add_argument("--steps", type=int, default=120, help="months (default 120)")
    ap.add_argument("--every", type=int, default=10, help="print every this many months")
    ap.add_argument("--trim-every", type=int, default=0,
                    help="malloc_trim(0) every this many months (default 0: never)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    for flag, value, low in (("--steps", args.steps, 1), ("--every", args.every, 1),
                             ("--trim-every", args.trim_every, 0)):
        if value < low:
            print(f"bench_heap: {flag} = {value}: must be a whole number >= {low}",
                  file=sys.stderr)
            return 2
    if not sys.platform.startswith("linux"):
        print("bench_heap: needs Linux (glibc's mallinfo2)", file=sys.stderr)
        return 2
    if not hasattr(ctypes.CDLL("libc.so.6"), "mallinfo2"):
        print("bench_heap: needs glibc 2.33 or later (mallinfo2)", file=sys.stderr)
        return 2
    one_blas_thread()  # as bench_model.py's children: numpy is not imported yet
    from lendsim.errors import ScenarioError

    try:
        r = probe(args.n, args.steps, args.every, args.trim_every, args.seed)
    except ScenarioError as e:
        print(f"bench_heap: {e}", file=sys.stderr)
        return 2
    print(f"{args.n} borrowers, {args.steps} months, seed {args.seed}; "
          f"BLAS threads: {os.environ.get('OPENBLAS_NUM_THREADS')}")
    print(f"{'month':>5}{'resident MB':>13}{'heap MB':>9}{'in use MB':>11}{'free MB':>9}"
          f"{'free blocks':>13}{'mapped MB':>11}")
    for row in r["rows"]:
        print(f"{row['month']:>5}{row['resident']:>13.0f}{row['heap']:>9.0f}"
              f"{row['in_use']:>11.0f}{row['free']:>9.0f}{row['free_blocks']:>13}"
              f"{row['mapped']:>11.0f}")
    print(f"peak {r['peak_mb']:.0f} MB; wall {r['wall_s']:.1f} s (setup and run; "
          f"{r['trim_s']:.2f} s in trims during the run); malloc_trim(0) at the end: "
          f"{r['end_mb']:.0f} -> {r['trimmed_mb']:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
