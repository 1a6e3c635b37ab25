#!/usr/bin/env python3
"""Benchmark lendsim's full MarketModel against the plain-Mesa reference model, in one run.

Every configuration runs in its own child process (``sys.executable``), so each peak RSS
(``getrusage(RUSAGE_SELF).ru_maxrss`` inside the child) belongs to that configuration alone.
Each child prints one JSON line; this parent collects them and prints a table, the
speed ratio against the plain-Mesa reference and the targets.

Default configurations (see benchmarks/README.md):

  lendsim   10^5 borrowers x  24 months
  lendsim   10^6 borrowers x 120 months     (target case: < 150 s end to end, < 1536 MB; aim 1024 MB)
  reference 10^5 borrowers x  24 months     benchmarks/reference/borrower_rules_mesa.py --seed 1

  ratio = reference ns per borrower-step / lendsim ns per borrower-step, at the reference's
          size (wall and CPU); target >= 10x, aim 20x.

Usage (from the repository root):

  python benchmarks/bench_model.py                 # full default run (~8 min on 2 cores)
  python benchmarks/bench_model.py --quick         # 10^4 x 12 smoke check (~5-15 s)
  python benchmarks/bench_model.py --sizes 100000 --steps 24 --repeat 3 --json
  python benchmarks/bench_model.py --sizes 100000 --set borrowers.convenience_credit=0

``--set KEY=VALUE`` (as in ``lendsim run``) measures a variant of the scenario against the same
reference; the targets are named for the benchmark's own scenario, so the report says when a
variant was measured.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_REFERENCE_DIR = REPO_ROOT / "benchmarks" / "reference"
REFERENCE_SCRIPT = "borrower_rules_mesa.py"

DEFAULT_STEPS = {100_000: 24, 1_000_000: 120}
QUICK_N, QUICK_STEPS = 10_000, 12

# targets printed beside the measured figures
TARGET_RATIO_MIN = 10.0
TARGET_RATIO_AIM = 20.0
TARGET_BIG_N, TARGET_BIG_STEPS = 1_000_000, 120
TARGET_BIG_SECONDS = 150.0  # end to end, one core
TARGET_RSS_MB = 1536.0  # 1.5 GB (aim 1 GB)

THREAD_ENV_VARS = ("OPENBLAS_NUM_THREADS", "OPENBLAS_MAIN_FREE", "OMP_NUM_THREADS",
                   "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")

# fields that are medians over repeats (the rest are taken from the first repeat)
MEDIAN_FIELDS = ("other_load_cores", "setup_s", "run_s", "run_cpu_s", "close_s", "process_wall_s", "first_step_s",
                 "median_step_s", "ns_per_bstep", "ns_per_bstep_cpu", "peak_rss_mb",
                 "peak_rss_setup_mb", "model_total_s")


def thread_env() -> dict:
    """The BLAS/OpenMP thread settings in force (None = unset, i.e. library default)."""
    env = {k: os.environ.get(k) for k in THREAD_ENV_VARS}
    env.update({k: v for k, v in os.environ.items() if k.startswith("OPENBLAS")})
    return env


def one_blas_thread() -> None:
    """One BLAS/OpenMP thread unless the environment says otherwise: the targets are per core.
    Child processes inherit it; in this process it takes effect only before numpy's import."""
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")


def bench_overrides(n: int, steps: int, seed: int) -> dict:
    """The benchmark's scenario: the baseline with the sizes the targets name (10 platforms,
    20 banks, a social network of mean degree 10), no charts and no burn-in: the months timed
    are the ``steps`` months simulated, from an empty market as the reference starts (the
    baseline's 120-month burn-in would run inside the first timed month and be counted as
    one; ``--set simulation.burn_in=120`` measures it)."""
    return {"borrowers.n": n, "platforms.n": 10, "banks.n": 20,
            "network.social.mean_degree": 10, "simulation.steps": steps,
            "simulation.seed": seed, "output.charts": False, "simulation.burn_in": 0}


def peak_rss_mb() -> float:
    # Linux reports ru_maxrss in KiB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def machine_info() -> dict:
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        mem_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**20
    except (ValueError, OSError, AttributeError):
        mem_mb = None
    return {"cpu": cpu, "cpu_count": os.cpu_count(), "mem_total_mb": round(mem_mb) if mem_mb
            else None, "platform": platform.platform(), "python": platform.python_version(),
            "executable": sys.executable}


# ==================================================================== child: one lendsim run
def child_main(n: int, steps: int, seed: int, sets: dict) -> None:
    t_import = time.perf_counter()
    import mesa
    import numpy as np

    import lendsim
    from lendsim import MarketModel, load_scenario

    import_s = time.perf_counter() - t_import
    load_start = os.getloadavg()

    t0 = time.perf_counter()
    c0 = time.process_time()
    scen = load_scenario(None, {**bench_overrides(n, steps, seed), **sets})
    m = MarketModel(scen)
    t1 = time.perf_counter()
    c1 = time.process_time()
    rss_setup = peak_rss_mb()
    faults0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt

    step_times = []
    for _ in range(steps):
        s = time.perf_counter()
        m.step()
        step_times.append(time.perf_counter() - s)
    t2 = time.perf_counter()
    c2 = time.process_time()
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults0
    steps_done = int(m.steps)

    m.close()
    t3 = time.perf_counter()

    bsteps = n * steps
    run_s = t2 - t1
    run_cpu = c2 - c1
    sim = scen.simulation
    out = {
        "impl": "lendsim", "lendsim": lendsim.__version__, "mesa": mesa.__version__,
        "numpy": np.__version__, "n": n, "steps": steps, "steps_done": steps_done, "seed": seed,
        "sets": sets,
        "agent_threshold": getattr(sim, "agent_threshold", None),
        "check_invariants": getattr(sim, "check_invariants", None),
        "import_s": round(import_s, 3),
        "setup_s": round(t1 - t0, 3), "setup_cpu_s": round(c1 - c0, 3),
        "run_s": round(run_s, 3), "run_cpu_s": round(run_cpu, 3),
        "close_s": round(t3 - t2, 3),
        "model_total_s": round(t3 - t0, 3),
        "first_step_s": round(step_times[0], 4) if step_times else None,
        "median_step_s": round(statistics.median(step_times), 4) if step_times else None,
        "max_step_s": round(max(step_times), 4) if step_times else None,
        "ns_per_bstep": round(run_s / bsteps * 1e9, 2),
        "ns_per_bstep_cpu": round(run_cpu / bsteps * 1e9, 2),
        "borrower_steps_per_s": round(bsteps / run_s, 1),
        "borrower_steps_per_cpu_s": round(bsteps / max(run_cpu, 1e-9), 1),
        "peak_rss_setup_mb": round(rss_setup, 1),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        # pages first written during the months (4 kB each): fresh memory from the system
        "minor_faults_run": faults,
        "loadavg_start": [round(x, 2) for x in load_start],
        "loadavg_end": [round(x, 2) for x in os.getloadavg()],
        "thread_env": thread_env(),
    }
    print(json.dumps(out), flush=True)


# ==================================================================== parent
def _busy_cpu_s() -> float | None:
    """Machine-wide busy CPU seconds so far (all cores), from /proc/stat; None off Linux."""
    try:
        with open("/proc/stat") as f:
            parts = f.readline().split()
        vals = [int(x) for x in parts[1:]]
        idle = vals[3] + (vals[4] if len(vals) > 4 else 0)  # idle + iowait
        busy = sum(vals[:8]) - idle  # user..steal; guest is already inside user
        return busy / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def _children_cpu_s() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def run_child(cmd: list[str], timeout: float | None) -> tuple[dict | None, str]:
    """Run one child; return (its last JSON line, error text)."""
    busy0, kids0 = _busy_cpu_s(), _children_cpu_s()
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                              cwd=REPO_ROOT)
    except subprocess.TimeoutExpired as e:
        return None, f"timed out after {timeout:.0f} s: {' '.join(cmd)}; stderr tail:\n" + \
            _tail((e.stderr or b"").decode() if isinstance(e.stderr, bytes) else e.stderr)
    wall = time.perf_counter() - t0
    rec = None
    for line in proc.stdout.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                pass
    if proc.returncode != 0 or rec is None:
        return None, (f"exit code {proc.returncode}: {' '.join(cmd)}\n"
                      f"stderr tail:\n{_tail(proc.stderr)}\nstdout tail:\n{_tail(proc.stdout)}")
    rec["process_wall_s"] = round(wall, 3)
    busy1, kids1 = _busy_cpu_s(), _children_cpu_s()
    if busy0 is not None and busy1 is not None and wall > 0:
        # cores kept busy by everything else on the machine while this child ran
        rec["other_load_cores"] = round(max(0.0, (busy1 - busy0) - (kids1 - kids0)) / wall, 2)
    return rec, ""


def _tail(text: str | None, n: int = 25) -> str:
    if not text:
        return "(empty)"
    return "\n".join(text.rstrip().splitlines()[-n:])


def normalise_reference(rec: dict) -> dict:
    """Give the reference's JSON line the same ns-per-borrower-step fields as lendsim's."""
    rec = dict(rec)
    rec["reference_impl"] = rec.get("impl")  # e.g. "mesa-list"
    rec["impl"] = "reference"
    rec["ns_per_bstep"] = round(1e9 / rec["borrower_steps_per_s"], 2)
    rec["ns_per_bstep_cpu"] = round(1e9 / rec["borrower_steps_per_cpu_s"], 2)
    la = rec.get("loadavg_1m")
    if la is not None:
        rec["loadavg_end"] = [round(la, 2), None, None]
    return rec


def combine(runs: list[dict]) -> dict:
    """Median over repeats of the timing/memory fields; also keep the per-repeat values."""
    out = dict(runs[0])
    if len(runs) > 1:
        for k in MEDIAN_FIELDS:
            vals = [r[k] for r in runs if r.get(k) is not None]
            if vals:
                out[k] = round(statistics.median(vals), 3)
                out[k + "_all"] = vals
        out["peak_rss_mb_max"] = max(r["peak_rss_mb"] for r in runs)
    out["repeats"] = len(runs)
    return out


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default=None,
                    help="comma-separated borrower counts for lendsim (default 100000,1000000)")
    ap.add_argument("--steps", default=None,
                    help="months: one value for all sizes, or comma-separated, one per size "
                         "(default 24 for 1e5, 120 for 1e6, 24 otherwise)")
    ap.add_argument("--seed", type=int, default=1, help="simulation.seed for lendsim (default 1)")
    ap.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                    help="override a parameter of lendsim's scenario, as in lendsim run "
                         "(repeatable); the reference is unchanged")
    ap.add_argument("--quick", action="store_true",
                    help=f"smoke check: lendsim and reference at {QUICK_N} x {QUICK_STEPS}")
    ap.add_argument("--repeat", type=int, default=1,
                    help="runs per configuration (each in a fresh process); medians reported")
    ap.add_argument("--json", action="store_true", help="machine-readable output only")
    ap.add_argument("--json-out", default=None, metavar="FILE",
                    help="also write the machine-readable summary to FILE")
    ap.add_argument("--reference-dir", default=str(DEFAULT_REFERENCE_DIR),
                    help=f"folder holding {REFERENCE_SCRIPT} (default benchmarks/reference, "
                         "the copy kept in the repository)")
    ap.add_argument("--ref-n", type=int, default=None,
                    help="reference borrowers (default 100000; --quick 10000)")
    ap.add_argument("--ref-steps", type=int, default=None,
                    help="reference months (default 24; --quick 12)")
    ap.add_argument("--no-reference", action="store_true", help="skip the reference model")
    ap.add_argument("--timeout", type=float, default=3600.0,
                    help="seconds before a child process is killed (default 3600)")
    # hidden: one lendsim run in this process
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--n", type=int, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--child-steps", type=int, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--child-sets", default="{}", help=argparse.SUPPRESS)  # JSON
    return ap.parse_args(argv)


def checked_overrides(items: list[str], sizes: list[tuple[int, int]], seed: int,
                      flags: tuple[str, str, str] = ("--sizes", "--steps", "--seed")) -> dict:
    """The ``--set`` overrides, validated against every configuration's scenario before any
    child starts (a bad key or value stops the benchmark with lendsim's own message). The
    size, length and seed of a run are the script's own options (``flags``), not overrides,
    so that the figures are divided by the borrowers and months actually run."""
    from lendsim import load_scenario
    from lendsim.errors import ScenarioError
    from lendsim.simulation.scenario import parse_overrides

    sets = parse_overrides(items)
    own = dict(zip(("borrowers.n", "simulation.steps", "simulation.seed"), flags))
    for key in sets:
        if key in own:
            raise ScenarioError(f"--set {key}: the benchmark sets this itself; use {own[key]}")
    for n, steps in sizes:
        load_scenario(None, {**bench_overrides(n, steps, seed), **sets})
    return sets


def plan(args) -> tuple[list[tuple[int, int]], tuple[int, int] | None]:
    if args.quick:
        sizes = [QUICK_N] if args.sizes is None else [int(float(s)) for s in args.sizes.split(",")]
    else:
        sizes = ([100_000, 1_000_000] if args.sizes is None
                 else [int(float(s)) for s in args.sizes.split(",")])
    if args.steps is None:
        steps = [QUICK_STEPS if args.quick else DEFAULT_STEPS.get(n, 24) for n in sizes]
    else:
        st = [int(s) for s in args.steps.split(",")]
        if len(st) == 1:
            st = st * len(sizes)
        if len(st) != len(sizes):
            raise SystemExit(f"--steps has {len(st)} values for {len(sizes)} sizes")
        steps = st
    if any(n < 1 for n in sizes) or any(t < 1 for t in steps):
        raise SystemExit("--sizes and --steps must be >= 1")
    ref = None
    if not args.no_reference:
        ref = (args.ref_n or (QUICK_N if args.quick else 100_000),
               args.ref_steps or (QUICK_STEPS if args.quick else 24))
    return list(zip(sizes, steps)), ref


def fmt(x, spec="{:.1f}", none="-"):
    return none if x is None else spec.format(x)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.child:
        child_main(args.n, args.child_steps, args.seed, json.loads(args.child_sets))
        return 0

    configs, ref = plan(args)
    from lendsim.errors import ScenarioError

    try:
        sets = checked_overrides(args.sets, configs, args.seed)
    except ScenarioError as e:
        print(f"bench_model: {e}", file=sys.stderr)
        return 2
    one_blas_thread()  # for the children; the report records the setting
    ref_script = Path(args.reference_dir).expanduser().resolve() / REFERENCE_SCRIPT
    notes: list[str] = []
    errors: list[str] = []
    if ref is not None and not ref_script.is_file():
        notes.append(f"reference model not found at {ref_script}: reference run and ratio "
                     "skipped (use --reference-dir)")
        ref = None

    def log(msg):
        if not args.json:
            print(msg, file=sys.stderr, flush=True)

    # the job list; repeats are interleaved so that load drift hits every configuration
    jobs = []
    if ref is not None:
        jobs.append(("reference", ref, [sys.executable, str(ref_script), "--n", str(ref[0]),
                                        "--steps", str(ref[1]), "--seed", "1"]))
    for n, steps in configs:
        jobs.append(("lendsim", (n, steps),
                     [sys.executable, str(Path(__file__).resolve()), "--child", "--n", str(n),
                      "--child-steps", str(steps), "--seed", str(args.seed),
                      "--child-sets", json.dumps(sets)]))

    started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    load_before = [round(x, 2) for x in os.getloadavg()]
    results: dict[tuple, list[dict]] = {}
    for r in range(args.repeat):
        for impl, (n, steps), cmd in jobs:
            log(f"[{time.strftime('%H:%M:%S')}] run {r + 1}/{args.repeat}: {impl} "
                f"n={n} steps={steps} (loadavg {os.getloadavg()[0]:.2f})")
            rec, err = run_child(cmd, args.timeout)
            if rec is None:
                errors.append(f"{impl} n={n} steps={steps} repeat {r + 1}: {err}")
                log("  FAILED: " + err.splitlines()[0])
                continue
            if impl == "reference":
                rec = normalise_reference(rec)
            log(f"  setup {rec['setup_s']:.2f} s, run {rec['run_s']:.2f} s, "
                f"{rec['ns_per_bstep']:.1f} ns/borrower-step, peak RSS {rec['peak_rss_mb']:.0f} MB, "
                f"other load {rec.get('other_load_cores', float('nan')):.2f} cores")
            results.setdefault((impl, n, steps), []).append(rec)
    load_after = [round(x, 2) for x in os.getloadavg()]

    rows = []
    for impl, (n, steps), _ in jobs:
        runs = results.get((impl, n, steps))
        rows.append(combine(runs) if runs else {"impl": impl, "n": n, "steps": steps,
                                                "failed": True})

    # ---- ratio at the reference size
    ratio = None
    ref_row = next((r for r in rows if r["impl"] == "reference" and not r.get("failed")), None)
    if ref is not None and ref_row is None:
        notes.append("reference run failed: ratio skipped")
    if ref_row is not None:
        peer = next((r for r in rows if r["impl"] == "lendsim" and r["n"] == ref_row["n"]
                     and not r.get("failed")), None)
        if peer is None:
            notes.append(f"no successful lendsim run at n={ref_row['n']}: ratio skipped")
        else:
            ratio = {"n": ref_row["n"], "reference_steps": ref_row["steps"],
                     "lendsim_steps": peer["steps"],
                     "wall": round(ref_row["ns_per_bstep"] / peer["ns_per_bstep"], 2),
                     "cpu": round(ref_row["ns_per_bstep_cpu"] / peer["ns_per_bstep_cpu"], 2)}
            if peer["steps"] != ref_row["steps"]:
                notes.append("ratio compares runs of different lengths "
                             f"({ref_row['steps']} vs {peer['steps']} months)")

    # ---- targets
    targets = []
    if ratio is not None:
        for kind in ("wall", "cpu"):
            v = ratio[kind]
            targets.append({"target": f"speed-up vs plain Mesa ({kind}) at n={ratio['n']}",
                            "measured": v, "goal": f">= {TARGET_RATIO_MIN:g}x "
                            f"(aim {TARGET_RATIO_AIM:g}x)", "met": v >= TARGET_RATIO_MIN,
                            "aim_met": v >= TARGET_RATIO_AIM})
    big = next((r for r in rows if r["impl"] == "lendsim" and r["n"] == TARGET_BIG_N
                and r["steps"] == TARGET_BIG_STEPS), None)
    if big is not None:
        if big.get("failed"):
            targets.append({"target": f"lendsim {TARGET_BIG_N:.0e} x {TARGET_BIG_STEPS} months",
                            "measured": None, "goal": "finish", "met": False})
        else:
            targets.append({"target": "1e6 x 120 months end-to-end (process wall)",
                            "measured": big["process_wall_s"],
                            "goal": f"< {TARGET_BIG_SECONDS:g} s",
                            "met": big["process_wall_s"] < TARGET_BIG_SECONDS,
                            "setup_plus_run_s": round(big["setup_s"] + big["run_s"], 3)})
            targets.append({"target": "1e6 x 120 months peak RSS",
                            "measured": big.get("peak_rss_mb_max", big["peak_rss_mb"]),
                            "goal": f"< {TARGET_RSS_MB:g} MB",
                            "met": big.get("peak_rss_mb_max", big["peak_rss_mb"])
                            < TARGET_RSS_MB})
    for r in rows:
        if r["impl"] == "lendsim" and not r.get("failed") and r is not big:
            targets.append({"target": f"peak RSS lendsim n={r['n']} x {r['steps']}",
                            "measured": r.get("peak_rss_mb_max", r["peak_rss_mb"]),
                            "goal": f"< {TARGET_RSS_MB:g} MB",
                            "met": r.get("peak_rss_mb_max", r["peak_rss_mb"]) < TARGET_RSS_MB})

    if sets:
        notes.append("lendsim ran a variant of the benchmark's scenario ("
                     + ", ".join(f"{k}={v!r}" for k, v in sets.items())
                     + "): the targets name the benchmark's own scenario")
    summary = {
        "started": started, "command": " ".join([Path(sys.executable).name] + sys.argv),
        "sets": sets,
        "machine": machine_info(), "loadavg_before": load_before, "loadavg_after": load_after,
        "thread_env": thread_env(), "repeat": args.repeat, "results": rows, "ratio": ratio,
        "targets": targets, "notes": notes, "errors": errors,
    }
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(summary, indent=1) + "\n")
    if args.json:
        print(json.dumps(summary, indent=1))
        return 1 if errors else 0

    print_report(summary)
    return 1 if errors else 0


def print_report(s: dict) -> None:
    m = s["machine"]
    print()
    print(f"lendsim benchmark  {s['started']}  ({s['command']})")
    print(f"machine: {m['cpu']}, {m['cpu_count']} cores, {m['mem_total_mb']} MB RAM; "
          f"python {m['python']}")
    te = {k: v for k, v in s["thread_env"].items() if v is not None}
    print(f"thread env: {te if te else 'OPENBLAS_NUM_THREADS/OMP_NUM_THREADS unset'}")
    print(f"loadavg (1/5/15 min) before {s['loadavg_before']}  after {s['loadavg_after']}"
          f"{'  (medians of ' + str(s['repeat']) + ' runs)' if s['repeat'] > 1 else ''}")
    print()
    hdr = (f"{'model':<10}{'borrowers':>10}{'months':>7}{'setup s':>9}{'run s':>9}"
           f"{'ns/b-step':>11}{'ns/b-step':>11}{'peak RSS':>10}{'process':>9}{'load 1m':>9}"
           f"{'other':>7}")
    hdr2 = (f"{'':<10}{'':>10}{'':>7}{'':>9}{'':>9}{'wall':>11}{'CPU':>11}{'MB':>10}"
            f"{'wall s':>9}{'at end':>9}{'cores':>7}")
    print(hdr)
    print(hdr2)
    print("-" * len(hdr))
    for r in s["results"]:
        if r.get("failed"):
            label = "plain Mesa" if r["impl"] == "reference" else r["impl"]
            print(f"{label:<10}{r['n']:>10}{r['steps']:>7}   FAILED (see errors below)")
            continue
        la = (r.get("loadavg_end") or [None])[0]
        label = "plain Mesa" if r["impl"] == "reference" else r["impl"]
        print(f"{label:<10}{r['n']:>10}{r['steps']:>7}{fmt(r['setup_s'], '{:.2f}'):>9}"
              f"{fmt(r['run_s'], '{:.2f}'):>9}{fmt(r['ns_per_bstep']):>11}"
              f"{fmt(r['ns_per_bstep_cpu']):>11}{fmt(r['peak_rss_mb'], '{:.0f}'):>10}"
              f"{fmt(r.get('process_wall_s'), '{:.1f}'):>9}{fmt(la, '{:.2f}'):>9}"
              f"{fmt(r.get('other_load_cores'), '{:.2f}'):>7}")
    print("(load 1m at end includes the benchmark itself; 'other cores' = CPU cores kept busy by "
          "other processes\n during that run, from /proc/stat)")
    print()
    if s["ratio"] is not None:
        q = s["ratio"]
        print(f"speed-up vs plain Mesa at n={q['n']} (reference ns / lendsim ns per "
              f"borrower-step): wall {q['wall']:.1f}x, CPU {q['cpu']:.1f}x")
    print()
    print("targets:")
    for t in s["targets"]:
        v = t["measured"]
        vs = "-" if v is None else (f"{v:.1f}x" if "speed-up" in t["target"]
                                    else f"{v:.1f} s" if t["goal"].endswith(" s")
                                    else f"{v:.0f} MB" if "MB" in t["goal"] else str(v))
        mark = "MET" if t["met"] else "NOT MET"
        if "aim_met" in t:
            mark += " (aim met)" if t["aim_met"] else " (aim not met)"
        extra = (f"  [setup+run {t['setup_plus_run_s']:.1f} s]"
                 if "setup_plus_run_s" in t else "")
        print(f"  {t['target']:<48} {vs:>10}   goal {t['goal']:<18} {mark}{extra}")
    if not s["targets"]:
        print("  (no target applies to these configurations)")
    for n in s["notes"]:
        print(f"note: {n}")
    for e in s["errors"]:
        print(f"ERROR: {e}")


if __name__ == "__main__":
    sys.exit(main())
