"""The benchmark scripts: the phases bench_phases.py times are the model's and its sums add
up; bench_model.py and bench_heap.py read what they report correctly, and refuse bad input.

Nothing here checks a speed (benchmarks print speeds; tests do not time them).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from lendsim import MarketModel

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import bench_phases  # noqa: E402  (a script folder, not a package)


def test_phases_are_the_schedule_docs_odd_lists():
    """docs/ODD.md section 3 lists the module of every phase, in order; the benchmark times
    ``MarketModel.PHASES``."""
    odd = (ROOT / "docs" / "ODD.md").read_text()
    section = odd.split("## 3 Process overview and scheduling")[1].split("\n## ")[0]
    documented = re.findall(r"^\| \d+ [a-z ]+ \| `phases/(\w+)\.py` \|", section, flags=re.M)
    assert len(documented) == len(MarketModel.PHASES) == 13
    assert bench_phases.phase_names(MarketModel) == documented


def test_phase_times_and_the_rest_add_up_to_the_step():
    r = bench_phases.measure(300, 1, 2, 5, {"borrowers.convenience_credit": 0.0})
    ms = r["ms_per_month"]
    assert list(ms) == r["phases"] and all(v > 0 for v in ms.values())
    assert sum(ms.values()) + r["outside_ms"] == pytest.approx(r["step_ms"], rel=1e-9)
    assert r["ns_per_bstep"] == pytest.approx(r["step_ms"] * 1e6 / 300, rel=1e-9)
    # the process's own accounting of the timed months (getrusage)
    u = r["usage_per_month"]
    assert set(u) == {"user_ms", "sys_ms", "minor_faults"} and min(u.values()) >= 0
    assert u["user_ms"] + u["sys_ms"] > 0


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="Linux's /proc only")
def test_memory_by_phase_sees_the_phase_that_touches_new_memory():
    """A phase that writes 64 MB of fresh pages rises by about that much above its start,
    and a phase after it that allocates nothing by almost nothing, although the process's
    peak is still the first phase's (that is what resetting the peak before each phase is
    for).

    The pages come from a mapping of their own: a 64 MB array from malloc may be served from
    heap memory that earlier tests freed and the allocator kept resident (its trim threshold
    is 128 MB once a model has tuned it), and then the phase rises by nothing; that failed
    once in a whole suite's process (2026-12-06)."""
    import mmap

    size, page = 64 << 20, mmap.PAGESIZE

    class Grow:
        @staticmethod
        def step(model):
            with mmap.mmap(-1, size) as m:  # anonymous: fresh pages, unmapped on close
                for off in range(0, size, page):
                    m[off] = 1  # write every page
                assert m[size - page] == 1

    class Idle:
        @staticmethod
        def step(model):
            pass

    spent, mem = {"grow": 0.0, "idle": 0.0}, {}
    bench_phases._Timed("grow", Grow, spent, mem).step(None)
    bench_phases._Timed("idle", Idle, spent, mem).step(None)
    assert 60 <= mem["grow"][1] <= 80, mem
    assert mem["idle"][1] < 5, mem
    assert mem["idle"][0] < mem["grow"][0] - 55, mem
    r = bench_phases.measure(300, 1, 1, 5, {}, memory=True)
    assert set(r["memory_mb"]) == set(r["phases"])
    assert all(v["peak"] > 0 and v["rise"] >= 0 for v in r["memory_mb"].values())


def test_trim_makes_a_phase_that_reuses_the_heap_rise_by_what_it_touches():
    """A phase that writes a 16 MB array and frees it: its second run reuses the heap's
    pages and rises by nothing; after ``--trim`` hands them back, it rises by the 16 MB
    again (glibc: the thresholds keep such a block in the heap)."""
    from lendsim.simulation import allocator

    if not allocator.tune() or not Path("/proc/self/clear_refs").exists():
        pytest.skip("needs glibc's mallopt and Linux's clear_refs")
    import numpy as np

    class Heap:
        @staticmethod
        def step(model):
            a = np.ones(2 << 20)  # 16 MB, every page written
            assert a[-1] == 1.0

    rises = {}
    for trim in (False, True):
        spent, mem = {"heap": 0.0}, {}
        for _ in range(2):  # the first run may grow the heap: the most rise is kept
            mem.pop("heap", None)
            bench_phases._Timed("heap", Heap, spent, mem, trim).step(None)
        rises[trim] = mem["heap"][1]
    assert rises[False] < 4, rises
    assert 14 <= rises[True] <= 20, rises


def test_bad_override_is_one_line_and_exit_2():
    p = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_phases.py"),
                        "--n", "100", "--set", "borrowers.nn=5"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 2
    assert p.stdout == ""
    assert p.stderr.count("\n") == 1 and "borrowers.nn" in p.stderr
    assert "did you mean 'borrowers.n'" in p.stderr


BENCH_MODEL = str(ROOT / "benchmarks" / "bench_model.py")


def test_bench_model_runs_a_variant_given_by_set():
    """``--set`` reaches the lendsim child (seen in the child's own record of its scenario)
    and the report says a variant was measured."""
    import json

    p = subprocess.run([sys.executable, BENCH_MODEL, "--quick", "--no-reference", "--sizes",
                        "300", "--steps", "2", "--json",
                        "--set", "simulation.check_invariants=true"],
                       capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert p.returncode == 0, p.stderr
    s = json.loads(p.stdout)
    (row,) = s["results"]
    assert row["check_invariants"] is True  # off in the benchmark's own scenario
    assert row["sets"] == s["sets"] == {"simulation.check_invariants": True}
    assert any("variant" in n for n in s["notes"])


@pytest.mark.parametrize("script, size, option, message", [
    ("bench_model.py", "--quick", "borrowers.nn=5", "did you mean 'borrowers.n'"),
    ("bench_model.py", "--quick", "regulator.apr_cap=-1", "regulator.apr_cap"),
    ("bench_model.py", "--quick", "borrowers.n=500", "use --sizes"),
    ("bench_phases.py", "--n=100", "borrowers.n=500", "use --n"),
    ("bench_phases.py", "--n=100", "simulation.seed=3", "use --seed"),
])
def test_bad_or_clashing_set_is_one_line_and_exit_2_before_any_run(script, size, option,
                                                                    message):
    """One line on stderr, so no child started (each prints a progress line)."""
    p = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), size, "--set", option],
                       capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert p.returncode == 2
    assert p.stdout == ""
    assert p.stderr.count("\n") == 1 and message in p.stderr


def test_compare_numbers_by_hand(tmp_path):
    """benchmarks/compare_numbers.py on model tables made by hand, 3 seeds x 4 months,
    compared over the last 2: an unchanged column, one moved by 0.5 %, one moved by +10 on
    every seed (interval [10, 10], p = 0: fails), and one whose differences (+1, -1, +3 on
    seeds 1-3) have mean 1 and a 95 % interval 1 +- t(0.975, 2) x 2 / sqrt(3), covering 0."""
    import numpy as np
    import pandas as pd
    from scipy import stats

    import compare_numbers

    before, after = tmp_path / "b", tmp_path / "a"
    before.mkdir()
    after.mkdir()
    for s, noise in zip((1, 2, 3), (1.0, -1.0, 3.0)):
        steps = np.arange(1, 5)
        base = pd.DataFrame({"step": steps, "same": 5.0 * s, "small": 100.0 * s,
                             "shifted": 1.0 * s, "noisy": 50.0 + s})
        base.to_parquet(before / f"seed_{s}.parquet")
        moved = base.assign(small=base["small"] * 1.005, shifted=base["shifted"] + 10,
                            noisy=base["noisy"] + noise)
        moved.loc[moved["step"] <= 2, "same"] = 999.0  # months 1-2 are not compared
        moved.to_parquet(after / f"seed_{s}.parquet")
    out = compare_numbers.compare(before, after, last=2)
    assert out.attrs["seeds"] == [1, 2, 3]
    assert out.loc["same", "rel"] == 0 and out.loc["same", "passes"]
    assert out.loc["small", "rel"] == pytest.approx(0.005) and out.loc["small", "passes"]
    assert out.loc["shifted", "lo"] == out.loc["shifted", "hi"] == pytest.approx(10)
    assert out.loc["shifted", "p"] == 0 and not out.loc["shifted", "passes"]
    half = stats.t.ppf(0.975, 2) * 2 / np.sqrt(3)
    assert (out.loc["noisy", "lo"], out.loc["noisy", "hi"]) == pytest.approx((1 - half, 1 + half))
    assert out.loc["noisy", "passes"]
    assert compare_numbers.seeds_of("1-3,7") == [1, 2, 3, 7]


def test_the_reference_is_in_the_repository_unedited():
    """bench_model.py measures against the copy in benchmarks/reference by default (a fresh
    clone has nothing else), and the copy is the one its README's hashes name."""
    import hashlib

    import bench_model

    ref = ROOT / "benchmarks" / "reference"
    assert bench_model.DEFAULT_REFERENCE_DIR == ref
    listed = dict(re.findall(r"^\| `(\w+\.py)` \| `([0-9a-f]{64})` \|$",
                             (ref / "README.md").read_text(), flags=re.M))
    assert sorted(listed) == ["borrower_rules_mesa.py", "borrower_rules_numpy.py"]
    for name, digest in listed.items():
        assert hashlib.sha256((ref / name).read_bytes()).hexdigest() == digest, name


def test_bench_model_runs_the_reference_and_reports_the_ratio():
    """With the default reference folder: the reference runs in its own child, and the ratio
    of its time per borrower-step to lendsim's is reported."""
    import json

    p = subprocess.run([sys.executable, BENCH_MODEL, "--sizes", "2000", "--steps", "2",
                        "--ref-n", "2000", "--ref-steps", "2", "--json"],
                       capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert p.returncode == 0, p.stderr
    s = json.loads(p.stdout)
    assert not s["errors"] and not any("not found" in n for n in s["notes"]), s
    models = {r["impl"] for r in s["results"]}
    assert models == {"lendsim", "reference"}, models
    assert s["ratio"]["wall"] > 0, s["ratio"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallinfo2")
def test_heap_probe_reads_glibc_accounting_that_adds_up():
    """bench_heap.py's heap is what is in use in it plus what is free in it, to the byte
    (glibc's own identity: a field read from the wrong place of ``mallinfo2`` breaks it), and
    handing the free pages back at the end does not raise the resident memory."""
    import bench_heap

    r = bench_heap.probe(300, 3, 1)
    assert [row["month"] for row in r["rows"]] == [1, 2, 3]
    for row in r["rows"]:
        assert row["heap"] * 2**20 == row["in_use"] * 2**20 + row["free"] * 2**20
        assert row["in_use"] > 0 and row["free_blocks"] >= 1
    assert r["trimmed_mb"] <= r["end_mb"] + 1 and r["peak_mb"] >= r["end_mb"] - 1


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="mincore, glibc")
def test_resident_bytes_counts_the_pages_written():
    """bench_heap.py's ``resident_bytes`` against pages written by hand: an anonymous
    mapping of its own (not the heap, whose pages earlier tests may have touched) has none
    resident, then exactly the pages written."""
    import mmap

    import numpy as np

    import bench_heap

    page = bench_heap.PAGE
    buf = mmap.mmap(-1, 64 * page)
    try:
        a = np.frombuffer(buf, dtype=np.uint8)
        assert bench_heap.resident_bytes(a) == 0
        a[: 5 * page] = 1
        a[40 * page] = 1
        assert bench_heap.resident_bytes(a) == 6 * page
        assert bench_heap.resident_bytes(a[40 * page: 41 * page]) == page
        del a
    finally:
        buf.close()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="mincore, glibc")
def test_heap_probe_lists_the_model_arrays_it_holds():
    """``--arrays``: the loan book's columns are found under their names, each counted
    once (the sum of what is reserved equals the columns' bytes), and nothing is more
    resident than the pages it spans."""
    import numpy as np

    import bench_heap
    from lendsim import MarketModel, load_scenario
    from lendsim.simulation.ledger import _FIELDS

    model = MarketModel(load_scenario(None, bench_heap.bench_overrides(300, 2, 1)))
    model.step()
    held = bench_heap.model_arrays(model)
    L = model.loans
    for name in _FIELDS:
        col = L.__dict__["_" + name]
        res, reserved = held["loans._" + name]
        assert reserved == col.nbytes
        assert 0 <= res <= col.nbytes + 2 * bench_heap.PAGE
    assert held["platforms.*.window.X"][1] == sum(
        np.asarray(pl.window.X).nbytes for pl in model.platforms
        if isinstance(getattr(pl.window, "X", None), np.ndarray))
    model.close()
    r = bench_heap.probe(300, 2, 2, arrays=5)
    assert len(r["arrays"]) == 5 and r["arrays_mb"] >= sum(x[1] for x in r["arrays"]) - 1e-9
    assert [x[1] for x in r["arrays"]] == sorted((x[1] for x in r["arrays"]), reverse=True)


@pytest.mark.parametrize("args, message", [
    (["--every", "0"], "--every = 0"),
    (["--arrays", "-2"], "--arrays = -2"),
    (["--n", "0", "--steps", "2"], "borrowers.n = 0"),
])
def test_heap_probe_bad_input_is_one_line_and_exit_2(args, message):
    p = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_heap.py"), *args],
                       capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert p.returncode == 2 and p.stdout == ""
    assert p.stderr.count("\n") == 1 and message in p.stderr


def test_book_order_puts_each_per_loan_array_in_borrower_order_stably():
    """By hand: loans of borrowers 2, 0, 2, 1, 0; borrower order takes rows 1, 4, 3, 0, 2
    (each borrower's loans in book order). Arrays of another length and numbers stay."""
    import bench_book_order
    import numpy as np

    b = np.array([2, 0, 2, 1, 0], dtype=np.int32)
    bal = np.array([10.0, 20.0, 30.0, 40.0, 50.0])
    per_borrower = np.arange(3.0)
    out = bench_book_order.in_borrower_order([bal, b, per_borrower, 7], b)
    assert out[0].tolist() == [20.0, 50.0, 40.0, 10.0, 30.0]
    assert out[1].tolist() == [0, 0, 1, 2, 2]
    assert out[2] is per_borrower and out[3] == 7
    assert bench_book_order.per_loan([bal, per_borrower, 7, b], 5) == [0, 3]


def test_book_order_times_every_pass_of_a_month():
    import json

    p = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_book_order.py"),
                        "--n", "2000", "--warmup", "6", "--repeat", "1", "--flush-mb", "1",
                        "--json"], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    import bench_book_order

    assert {c["kernel"] for c in r["calls"]} == set(bench_book_order.KERNELS)
    assert all(c["loans"] > 0 and c["book_order_ms"] >= 0 and c["borrower_order_ms"] >= 0
               for c in r["calls"])
    assert r["book_order_ms"] == pytest.approx(sum(c["book_order_ms"] for c in r["calls"]),
                                               abs=0.1)


@pytest.mark.parametrize("args, message", [
    (["--repeat", "0"], "--repeat = 0"),
    (["--warmup", "-1"], "--warmup = -1"),
    (["--n", "0"], "borrowers.n = 0"),
])
def test_book_order_bad_input_is_one_line_and_exit_2(args, message):
    p = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_book_order.py"),
                        *args], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert p.returncode == 2 and p.stdout == ""
    assert p.stderr.count("\n") == 1 and message in p.stderr


def test_kernel_ab_finds_the_same_kernels_same_and_a_changed_one_different(tmp_path):
    """A against a copy of its own kernels.py: every pass gives the same results. Against a
    copy whose debt state adds 1 RMB to every borrower's total and whose applicant features
    put 2 in the intercept (a column the kernel writes into its argument, over a month's
    many calls): those two kernels, and only they, differ."""
    import json

    src = (ROOT / "src" / "lendsim" / "kernels.py").read_text()
    line, intercept = "total[b0 + x] = acc_total[x]", "X[i, 0] = 1.0"
    assert src.count(line) == 1 and src.count(intercept) == 1
    changed = src.replace(line, line + " + 1.0").replace(intercept, "X[i, 0] = 2.0")
    runs = {}
    for name, text in (("copy", src), ("changed", changed)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "kernels.py").write_text(text)
        p = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_kernel_ab.py"),
                            "--against", str(tmp_path / name), "--n", "2000", "--warmup",
                            "6", "--rounds", "2", "--flush-mb", "1", "--json"],
                           capture_output=True, text=True, timeout=300, cwd=ROOT)
        assert p.returncode == 0, p.stderr
        runs[name] = json.loads(p.stdout)
    import bench_kernel_ab

    calls = runs["copy"]["calls"]
    assert [c["kernel"] for c in calls] != [] and len({c["kernel"] for c in calls}) == len(calls)
    assert {c["kernel"] for c in calls} == set(bench_kernel_ab.ALL_KERNELS)
    assert all(c["calls"] >= 1 and c["items"] >= 1 for c in calls)
    assert all(c["same"] and c["a_ms"] >= 0 and c["b_ms"] >= 0 and c["ratio"] > 0
               and c["ratio_q1"] <= c["ratio"] <= c["ratio_q3"] for c in calls)
    assert runs["copy"]["all_same"]
    differ = {c["kernel"] for c in runs["changed"]["calls"] if not c["same"]}
    assert differ == {"debt_by_cell", "applicant_features"}
    assert not runs["changed"]["all_same"]


def test_kernel_ab_months_time_every_phase_of_one_model_with_each_sides_kernels(tmp_path):
    """``--months``: whole months of one model, A B B A, against a copy of the checkout's
    own kernels.py: every phase of ``MarketModel.PHASES`` timed for both sides, one ratio a
    round, the phases adding up to no more than the month."""
    import json

    (tmp_path / "copy").mkdir()
    (tmp_path / "copy" / "kernels.py").write_text(
        (ROOT / "src" / "lendsim" / "kernels.py").read_text())
    p = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_kernel_ab.py"),
                        "--against", str(tmp_path / "copy"), "--n", "2000", "--warmup", "4",
                        "--months", "2", "--json"],
                       capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    assert [x["phase"] for x in r["phases"]] == bench_phases.phase_names(MarketModel)
    assert r["months"] == [7, 14] and len(r["ratios"]) == 2 and r["not_in_b"] == []
    assert min(r["ratios"]) <= r["ratio"] <= max(r["ratios"])
    for side in ("a_ms", "b_ms"):
        assert r[side] > 0
        assert sum(x[side] for x in r["phases"]) <= r[side] * 1.001 + 0.1


@pytest.mark.parametrize("args, message", [
    (["--against", "/nonexistent/checkout"], "--against = '/nonexistent/checkout'"),
    (["--against", ".", "--rounds", "0"], "--rounds = 0"),
    (["--against", ".", "--kernels", "debt_by_cel"], "--kernels = 'debt_by_cel'"),
    (["--against", ".", "--n", "0"], "borrowers.n = 0"),
    (["--against", ".", "--months", "-1"], "--months = -1"),
])
def test_kernel_ab_bad_input_is_one_line_and_exit_2(args, message):
    p = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_kernel_ab.py"),
                        *args], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert p.returncode == 2 and p.stdout == ""
    assert p.stderr.count("\n") == 1 and message in p.stderr
