#!/usr/bin/env python3
"""Where a month of the full model goes: time per phase of ``MarketModel.step``.

The phases are ``MarketModel.PHASES`` (docs/ODD.md section 3), the tuple ``step`` runs, so
the list follows the code. Each is timed with ``time.perf_counter`` over ``--steps`` months after ``--warmup`` months, on the
scenario ``bench_model.py`` measures (10 platforms, 20 banks, social network of mean degree 10).

Usage (from the repository root):

  python benchmarks/bench_phases.py                    # 10^5 borrowers, months 13-36
  python benchmarks/bench_phases.py --n 10000 --set borrowers.convenience_credit=0
  python benchmarks/bench_phases.py --json
  python benchmarks/bench_phases.py --n 1000000 --warmup 83 --steps 1 --memory

A script, not a test: it prints what it measured. Phase times add up to the step's time less
the bookkeeping between phases (the row "outside the phases").

``--memory`` (Linux) adds each phase's peak resident memory: before a phase the process's
peak is reset to its resident memory then (``/proc/self/clear_refs``), and after it the peak
is read (``VmHWM``). Reported: the highest peak over the timed months, and the most a phase
rose above the memory it started with. A phase that only reuses memory the allocator kept
from earlier phases rises by nothing, so the second figure shows the phases that set the
process's peak. ``--trim`` (glibc) hands the heap's free pages back before each phase, so
that every phase's rise is the memory it touches itself: which phase's temporaries the
heap is sized for.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_model import (bench_overrides, checked_overrides,  # noqa: E402
                         one_blas_thread, thread_env)


def phase_names(model_class) -> list[str]:
    """Names of the phases ``model_class.step`` runs (its ``PHASES``), in order."""
    return [getattr(ph, "__name__", type(ph).__name__).rsplit(".", 1)[-1]
            for ph in model_class.PHASES]


class _Timed:
    """A phase that runs ``phase`` and adds its time to ``spent[name]``; with ``memory`` (a
    dict), also its peak resident memory and its rise above the memory at its start, MB
    (the highest over the months, ``memory[name]``)."""

    def __init__(self, name, phase, spent, memory=None, trim=False):
        self.name, self.phase, self.spent, self.memory = name, phase, spent, memory
        self.trim = trim

    def step(self, model):
        if self.memory is not None:
            if self.trim:
                _malloc_trim()
            start = _reset_peak()
        t = time.perf_counter()
        try:
            self.phase.step(model)
        finally:
            self.spent[self.name] += time.perf_counter() - t
        if self.memory is not None:
            peak = status_mb("VmHWM")
            old = self.memory.get(self.name, (0.0, 0.0))
            self.memory[self.name] = (max(old[0], peak), max(old[1], peak - start))


def status_mb(field: str) -> float:
    """A figure of /proc/self/status (``VmRSS``, ``VmHWM``: kB there), MB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def _malloc_trim() -> None:
    """Hand the C heap's free pages back to the system (glibc's ``malloc_trim(0)``)."""
    import ctypes

    ctypes.CDLL("libc.so.6").malloc_trim(0)


def _reset_peak() -> float:
    """Reset this process's peak resident memory to what it holds now; returns that, MB."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    return status_mb("VmRSS")


def measure(n: int, warmup: int, steps: int, seed: int, sets: dict,
            memory: bool = False, trim: bool = False) -> dict:
    """Run ``warmup`` months untimed, then ``steps`` months with every phase timed (and,
    with ``memory``, its peak memory; with ``trim`` too, after handing the heap's free pages
    back before each phase)."""
    from lendsim import MarketModel, load_scenario

    scen = load_scenario(None, {**bench_overrides(n, warmup + steps, seed), **sets})
    m = MarketModel(scen)
    m.run(warmup)
    phases = phase_names(MarketModel)
    spent = dict.fromkeys(phases, 0.0)
    mem = {} if memory else None
    # an instance attribute shadows the class's tuple for this model only
    m.PHASES = tuple(_Timed(name, ph, spent, mem, trim)
                     for name, ph in zip(phases, MarketModel.PHASES))
    r0 = _usage()
    t0 = time.perf_counter()
    m.run(steps)
    total = time.perf_counter() - t0
    r1 = _usage()
    m.close()
    per_month = {k: v / steps for k, v in spent.items()}
    # the process's CPU time (user, system) and minor page faults over the timed months
    usage = ({k: (r1[k] - r0[k]) / steps for k in r0} if r0 else {})
    return {"n": n, "warmup": warmup, "steps": steps, "seed": seed, "sets": sets,
            "phases": phases, "ms_per_month": {k: v * 1e3 for k, v in per_month.items()},
            "step_ms": total / steps * 1e3,
            "outside_ms": (total - sum(spent.values())) / steps * 1e3,
            "ns_per_bstep": total / steps / n * 1e9, "thread_env": thread_env(),
            "usage_per_month": usage,
            **({"memory_mb": {k: {"peak": v[0], "rise": v[1]} for k, v in mem.items()}}
               if memory else {})}


def _usage() -> dict:
    """User and system CPU time (ms) and minor page faults of this process so far; empty
    where the ``resource`` module is missing (Windows)."""
    try:
        import resource
    except ImportError:
        return {}
    u = resource.getrusage(resource.RUSAGE_SELF)
    return {"user_ms": u.ru_utime * 1e3, "sys_ms": u.ru_stime * 1e3,
            "minor_faults": float(u.ru_minflt)}


def print_report(r: dict) -> None:
    n = r["n"]
    sets = " ".join(f"--set {k}={v}" for k, v in r["sets"].items())
    threads = r["thread_env"].get("OPENBLAS_NUM_THREADS") or "library default"
    print(f"{n} borrowers, months {r['warmup'] + 1}-{r['warmup'] + r['steps']}, seed "
          f"{r['seed']} {sets}".rstrip() + f"; BLAS threads: {threads}")
    mem = r.get("memory_mb")
    print(f"{'phase':<20}{'ms/month':>10}{'ns/b-step':>11}{'share':>8}"
          + (f"{'peak MB':>10}{'rise MB':>9}" if mem else ""))
    rows = list(r["ms_per_month"].items()) + [("(outside the phases)", r["outside_ms"])]
    for name, ms in rows:
        m = mem.get(name) if mem else None
        print(f"{name:<20}{ms:>10.2f}{ms * 1e6 / n:>11.0f}{ms / r['step_ms']:>8.1%}"
              + (f"{m['peak']:>10.0f}{m['rise']:>9.0f}" if m else ""))
    print(f"{'step':<20}{r['step_ms']:>10.2f}{r['ns_per_bstep']:>11.0f}{1:>8.0%}")
    u = r.get("usage_per_month")
    if u:
        print(f"a month's CPU: user {u['user_ms']:.0f} ms, system {u['sys_ms']:.0f} ms; "
              f"minor page faults: {u['minor_faults']:,.0f}")


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=100_000, help="borrowers (default 100000)")
    ap.add_argument("--warmup", type=int, default=12, help="untimed months first (default 12)")
    ap.add_argument("--steps", type=int, default=24, help="timed months (default 24)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                    help="override a parameter, as in lendsim run (repeatable)")
    ap.add_argument("--json", action="store_true", help="print one JSON document instead")
    ap.add_argument("--memory", action="store_true",
                    help="also each phase's peak memory and its rise above its start (Linux)")
    ap.add_argument("--trim", action="store_true",
                    help="with --memory: hand the heap's free pages back before each phase "
                         "(glibc), so that a phase's rise is the memory it touches itself "
                         "(its times then include faulting those pages in again)")
    args = ap.parse_args(argv)
    if args.trim and not args.memory:
        ap.error("--trim goes with --memory")
    if args.memory and not Path("/proc/self/clear_refs").exists():
        ap.error("--memory needs Linux's /proc/self/clear_refs, which this system lacks")
    for name in ("n", "steps"):
        if getattr(args, name) < 1:
            ap.error(f"--{name} must be at least 1, got {getattr(args, name)}")
    if args.warmup < 0:
        ap.error(f"--warmup must be 0 or more, got {args.warmup}")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    one_blas_thread()  # as bench_model.py's children: numpy is not imported yet
    from lendsim.errors import ScenarioError

    try:
        sets = checked_overrides(args.sets, [(args.n, args.warmup + args.steps)], args.seed,
                                 flags=("--n", "--steps", "--seed"))
        r = measure(args.n, args.warmup, args.steps, args.seed, sets, args.memory, args.trim)
    except ScenarioError as e:
        print(f"bench_phases: {e}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(r))
    else:
        print_report(r)
    return 0


if __name__ == "__main__":
    sys.exit(main())
