"""Where a run's memory sits: the C heap's use and free space as the months go by (Linux,
glibc 2.33 or later).

Runs ``bench_model.py``'s scenario in this process and prints, every ``--every`` months, the
resident memory and glibc's ``mallinfo2``: the heap's size, what is in use in it, what is
free in it and in how many blocks, and the blocks mapped on their own (32 MB or more, with the
thresholds ``lendsim.simulation.allocator`` sets). At the end: the peak, the wall time, and
the resident memory before and after ``malloc_trim(0)``, which hands the heap's free pages
back (what is left is what the model holds). ``--trim-every M`` hands them back every M
months during the run, to see whether that lowers the peak. ``--arrays K`` then lists the K
model arrays with the most memory resident (pages written and not handed back, read with
``mincore``), next to what each reserves: what the model holds, array by array.

    python benchmarks/bench_heap.py --n 1000000 --steps 120 --every 10
    python benchmarks/bench_heap.py --n 1000000 --steps 120 --every 120 --trim-every 12
    python benchmarks/bench_heap.py --n 1000000 --steps 84 --every 84 --arrays 30

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


PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def resident_bytes(a) -> int:
    """Bytes of array ``a``'s buffer resident in memory (whole pages, counted by
    ``mincore``; a page the buffer shares with its neighbours counts whole)."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    addr = a.__array_interface__["data"][0]
    if a.nbytes == 0:
        return 0
    start = addr - addr % PAGE
    length = addr + a.nbytes - start
    pages = -(-length // PAGE)
    vec = (ctypes.c_ubyte * pages)()
    if libc.mincore(ctypes.c_void_p(start), ctypes.c_size_t(length), vec) != 0:
        raise OSError(ctypes.get_errno(), "mincore")
    import numpy as np  # after one_blas_thread: see main

    return int((np.frombuffer(vec, dtype=np.uint8) & 1).sum()) * PAGE


def model_arrays(model, depth: int = 6) -> dict[str, tuple[int, int]]:
    """The numpy arrays reachable from ``model``'s attributes (through objects, dicts,
    lists and tuples, ``depth`` levels down), each buffer once, named by the first path
    that reaches it (``loans._balance``; a list's or tuple's elements as ``*``, so that
    ``platforms.*.window.X`` sums every platform's):
    ``{path: (resident bytes, reserved bytes)}``, the paths of the same name summed."""
    import numpy as np

    seen: set[int] = set()
    out: dict[str, list[int]] = {}

    def walk(o, path: str, level: int) -> None:
        if id(o) in seen or level > depth:
            return
        seen.add(id(o))
        if isinstance(o, np.ndarray):
            base = o
            while isinstance(base.base, np.ndarray):
                base = base.base
            if base is not o and id(base) in seen:
                return
            seen.add(id(base))
            r = out.setdefault(path, [0, 0])
            r[0] += resident_bytes(base)
            r[1] += base.nbytes
            return
        if isinstance(o, (str, bytes, int, float, bool, type(None), type)):
            return
        if isinstance(o, dict):
            items = o.items()
        elif isinstance(o, (list, tuple)):
            items = (("*", v) for v in o)
        elif hasattr(o, "__dict__") and not callable(o):
            items = vars(o).items()
        else:
            return
        for k, v in items:
            walk(v, f"{path}.{k}" if path else str(k), level + 1)

    walk(model, "", 0)
    return {k: (v[0], v[1]) for k, v in out.items()}


def probe(n: int, steps: int, every: int, trim_every: int = 0, seed: int = 1,
          arrays: int = 0) -> dict:
    """Run the benchmark's scenario; returns ``rows`` (one dict per month printed: month,
    resident, heap, in_use, free, MB; free_blocks; mapped, MB) and the run's ``peak_mb``,
    ``wall_s``, ``trim_s``, ``end_mb`` and ``trimmed_mb`` (resident before and after the
    final ``malloc_trim(0)``); with ``arrays``, ``arrays`` (the ``arrays`` model arrays with
    the most resident after the trim, as ``(path, resident MB, reserved MB)``) and
    ``arrays_mb`` (the resident memory of all the model's arrays, MB)."""
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
    if arrays:
        held = model_arrays(model)
        top = sorted(held.items(), key=lambda kv: -kv[1][0])[:arrays]
        out["arrays"] = [(k, r / mb, v / mb) for k, (r, v) in top]
        out["arrays_mb"] = sum(r for r, _ in held.values()) / mb
    model.close()
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=100_000, help="borrowers (default 100000)")
    ap.add_argument("--steps", type=int, default=120, help="months (default 120)")
    ap.add_argument("--every", type=int, default=10, help="print every this many months")
    ap.add_argument("--trim-every", type=int, default=0,
                    help="malloc_trim(0) every this many months (default 0: never)")
    ap.add_argument("--arrays", type=int, default=0,
                    help="at the end, list this many model arrays by memory resident")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    for flag, value, low in (("--steps", args.steps, 1), ("--every", args.every, 1),
                             ("--trim-every", args.trim_every, 0),
                             ("--arrays", args.arrays, 0)):
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
        r = probe(args.n, args.steps, args.every, args.trim_every, args.seed, args.arrays)
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
    if args.arrays:
        print(f"the model's arrays after the trim: {r['arrays_mb']:.0f} MB resident; "
              f"the {len(r['arrays'])} with most:")
        print(f"{'resident MB':>12}{'reserved MB':>13}  array")
        for path, res, reserved in r["arrays"]:
            print(f"{res:>12.1f}{reserved:>13.1f}  {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
