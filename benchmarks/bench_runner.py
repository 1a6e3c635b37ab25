"""Benchmark of the batch runner (lendsim sweep): not a test, nothing in pytest runs it.

Reports (issue 4, item 8):

1. overhead (4 runs of 10^4 x 120 months by default): wall time of
   ``run_experiment(..., executor="serial")`` (scenario building,
   writing Parquet and manifests, the runs table) against building and stepping the same
   models directly (``MarketModel(scen)``, ``run()``, ``tables()``, ``close()``), same seeds;
   target < 5 %.
2. speed-up with 2 workers on 16 runs of 10^4 borrowers x 120 months, for ``processes`` and
   for a local Dask cluster (127.0.0.1), against ``serial``; target >= 1.8x on 2 cores. Wall
   time of the whole ``run_experiment`` call, worker start-up included.
3. memory: the parent process's RSS every 20 runs over 200 small runs with the serial
   executor (every model built in the parent, so a leak would show); target: flat.

Usage, from the repository root:

    .venv/bin/python benchmarks/bench_runner.py            # full: ~8 min on 2 cores
    .venv/bin/python benchmarks/bench_runner.py --quick    # smoke check, ~1 min
    .venv/bin/python benchmarks/bench_runner.py --json-out /tmp/bench_runner.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

FULL = {"overhead": (10_000, 120, 4), "speedup": (10_000, 120, 16), "memory": (300, 6, 200)}
QUICK = {"overhead": (1_000, 6, 2), "speedup": (1_000, 12, 4), "memory": (200, 3, 20)}


def _experiment_file(folder: Path, name: str, n: int, steps: int, reps: int) -> Path:
    path = folder / f"{name}.toml"
    path.write_text(f'# benchmark\n[meta]\nname = "{name}"\nextends = "baseline.toml"\n'
                    f'[run]\nsteps = {steps}\nreplications = {reps}\nroot_seed = 1\n'
                    f'[params]\n"borrowers.n" = {n}\n[outputs]\n'
                    'tables = ["platforms", "banks", "events"]\n')
    return path


def _rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def bench_overhead(tmp: Path, n: int, steps: int, reps: int) -> dict:
    from lendsim.experiments import load_experiment, run_experiment
    from lendsim.simulation.model import MarketModel

    exp = load_experiment(_experiment_file(tmp, "overhead", n, steps, reps))
    specs = exp.runs()
    warm = MarketModel(specs[0].scenario.with_overrides({"simulation.steps": 1}))
    warm.run()
    warm.close()
    direct, runner, bookkeeping = [], [], []
    for i in range(2):  # two rounds, alternating, so drift in machine load hits both
        t0 = time.perf_counter()
        for spec in specs:
            model = MarketModel(spec.scenario)
            model.run()
            model.tables()
            model.close()
        direct.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        run_experiment(exp, tmp / f"overhead-{i}", executor="serial")
        runner.append(time.perf_counter() - t0)
        # the same round's own split: each run's manifest records the time spent building,
        # running and tabulating the model (total_s); the rest of the wall time is the
        # runner's bookkeeping (folders, Parquet, manifests, runs table), free of the noise
        # that separate direct and runner rounds carry on a shared machine
        from lendsim.results.folders import MANIFEST_FILE, RUNS_DIR

        model_s = sum(json.loads((tmp / f"overhead-{i}" / RUNS_DIR / spec.run_id
                                  / MANIFEST_FILE).read_text())["timings"]["total_s"]
                      for spec in specs)
        bookkeeping.append((runner[-1] - model_s, model_s))
    d, r = min(direct), min(runner)
    keep, model_s = min(bookkeeping)
    return {"borrowers": n, "steps": steps, "runs": reps, "direct_s": direct,
            "runner_s": runner, "overhead_pct": 100 * (r - d) / d,
            "per_run_overhead_s": (r - d) / reps,
            "bookkeeping_s_per_run": keep / reps, "bookkeeping_pct": 100 * keep / model_s}


def bench_speedup(tmp: Path, n: int, steps: int, runs: int) -> dict:
    from lendsim.experiments import load_experiment, run_experiment

    exp = load_experiment(_experiment_file(tmp, "speedup", n, steps, runs))
    out = {"borrowers": n, "steps": steps, "runs": runs, "workers": 2}
    for executor in ("serial", "processes", "dask"):
        print(f"  speed-up: {executor} ...", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        s = run_experiment(exp, tmp / f"speedup-{executor}", executor=executor, workers=2)
        out[f"{executor}_s"] = time.perf_counter() - t0
        assert s.is_complete, s.text()
    out["speedup_processes"] = out["serial_s"] / out["processes_s"]
    out["speedup_dask"] = out["serial_s"] / out["dask_s"]
    return out


def bench_memory(tmp: Path, n: int, steps: int, runs: int) -> dict:
    from lendsim.experiments import load_experiment, run_experiment

    exp = load_experiment(_experiment_file(tmp, "memory", n, steps, runs))
    samples = [(0, _rss_mb())]

    def on_result(rec, counts):
        done = counts["done"] + counts["failed"]
        if done % 20 == 0:
            samples.append((done, _rss_mb()))

    run_experiment(exp, tmp / "memory", executor="serial", on_result=on_result)
    after_first = samples[1][1] if len(samples) > 1 else samples[0][1]
    return {"borrowers": n, "steps": steps, "runs": runs, "rss_mb": samples,
            "growth_after_first_20_mb": samples[-1][1] - after_first}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="tiny sizes: check the script works")
    ap.add_argument("--json-out", help="also write the figures as JSON to this file")
    ap.add_argument("--only", choices=("overhead", "speedup", "memory"),
                    help="run one part only")
    ap.add_argument("--overhead-months", type=int,
                    help="months per run in the overhead part (default 120, the size of the "
                         "speed-up runs; 24 shows it on short runs)")
    args = ap.parse_args(argv)
    sizes = dict(QUICK if args.quick else FULL)
    if args.overhead_months:
        n, _, runs = sizes["overhead"]
        sizes["overhead"] = (n, args.overhead_months, runs)
    report = {"machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                          "load_start": os.getloadavg()}, "quick": args.quick}
    parts = {"overhead": bench_overhead, "speedup": bench_speedup, "memory": bench_memory}
    with tempfile.TemporaryDirectory(prefix="bench_runner-") as tmp:
        for name, fn in parts.items():
            if args.only and name != args.only:
                continue
            print(f"{name}: {sizes[name]} (borrowers, months, runs) ...", file=sys.stderr,
                  flush=True)
            report[name] = fn(Path(tmp), *sizes[name])
    report["machine"]["load_end"] = os.getloadavg()
    if "overhead" in report:
        o = report["overhead"]
        print(f"overhead: {o['runs']} runs of {o['borrowers']:,} x {o['steps']} months: "
              f"direct {min(o['direct_s']):.2f} s, runner {min(o['runner_s']):.2f} s -> "
              f"{o['overhead_pct']:+.1f} % ({o['per_run_overhead_s'] * 1000:.0f} ms per run); "
              f"within the runner's own rounds: bookkeeping "
              f"{o['bookkeeping_s_per_run'] * 1000:.0f} ms per run = "
              f"{o['bookkeeping_pct']:.1f} % of the model's time  (target < 5 %)")
    if "speedup" in report:
        s = report["speedup"]
        print(f"speed-up: {s['runs']} runs of {s['borrowers']:,} x {s['steps']} months: "
              f"serial {s['serial_s']:.1f} s, processes(2) {s['processes_s']:.1f} s = "
              f"{s['speedup_processes']:.2f}x, dask(2) {s['dask_s']:.1f} s = "
              f"{s['speedup_dask']:.2f}x  (target >= 1.8x)")
    if "memory" in report:
        m = report["memory"]
        curve = ", ".join(f"{k}:{v:.0f}" for k, v in m["rss_mb"])
        print(f"memory: parent RSS (MB) after runs {curve}; growth after the first 20 runs "
              f"{m['growth_after_first_20_mb']:+.1f} MB  (target: flat)")
    print(f"load average start {report['machine']['load_start']}, end "
          f"{report['machine']['load_end']}")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
