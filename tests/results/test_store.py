"""Tests for lendsim.results.store: round trip, manifest, refusal to overwrite, atomicity."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lendsim.results import store
from lendsim.results.store import (
    TABLE_COLUMNS,
    RunTables,
    default_run_dir,
    load_run,
    write_run,
)

N_STEPS = 12


def make_tables(n_steps: int = N_STEPS, n_platforms: int = 4, n_banks: int = 3) -> dict:
    """Small but realistic run tables, with the documented columns and dtypes."""
    rng = np.random.default_rng(0)
    steps = np.arange(n_steps)
    model = pd.DataFrame(
        {
            "step": steps,
            "credit_outstanding": 1e8 + np.cumsum(rng.uniform(1e6, 5e6, n_steps)),
            "originations": rng.uniform(1e6, 5e6, n_steps),
            "approval_rate": rng.uniform(0.4, 0.7, n_steps),
            "avg_apr": rng.uniform(0.15, 0.24, n_steps),
            "delinquency_30": rng.uniform(0.02, 0.05, n_steps),
            "delinquency_90": rng.uniform(0.01, 0.02, n_steps),
            "default_rate": rng.uniform(0.005, 0.01, n_steps),
            "charge_offs": rng.uniform(1e5, 5e5, n_steps),
            "n_platforms_active": np.full(n_steps, n_platforms),
            "platform_failures": np.zeros(n_steps, dtype=int),
            "hhi": rng.uniform(0.2, 0.3, n_steps),
            "bank_capital_ratio_min": rng.uniform(0.09, 0.12, n_steps),
            "bank_failures": np.zeros(n_steps, dtype=int),
            "borrowers_rationed": rng.integers(0, 100, n_steps),
            "multi_lender_share": rng.uniform(0.1, 0.3, n_steps),
            "lenders_per_borrower": rng.uniform(1.0, 1.5, n_steps),
            "overindebted_share": rng.uniform(0.02, 0.08, n_steps),
            "unemployment_rate": rng.uniform(0.04, 0.06, n_steps),
        }
    )
    shares = rng.dirichlet(np.ones(n_platforms), n_steps)
    platforms = pd.DataFrame(
        {
            "step": np.repeat(steps, n_platforms),
            "platform_id": np.tile(np.arange(n_platforms), n_steps),
            "platform_type": np.tile(
                np.array(["embedded", "microlender", "cfc", "p2p"] * n_platforms)[:n_platforms],
                n_steps,
            ),
            "is_active": True,
            "equity": rng.uniform(1e7, 2e7, n_steps * n_platforms),
            "loans_held": rng.uniform(1e7, 5e7, n_steps * n_platforms),
            "loans_managed": rng.uniform(5e7, 9e7, n_steps * n_platforms),
            "originations": rng.uniform(1e5, 1e6, n_steps * n_platforms),
            "market_share": shares.ravel(),
            "avg_apr": rng.uniform(0.15, 0.24, n_steps * n_platforms),
            "delinquency_30": rng.uniform(0.02, 0.05, n_steps * n_platforms),
            "delinquency_90": rng.uniform(0.01, 0.02, n_steps * n_platforms),
            "auc": rng.uniform(0.6, 0.8, n_steps * n_platforms),
            "ks": rng.uniform(0.2, 0.4, n_steps * n_platforms),
        }
    )
    banks = pd.DataFrame(
        {
            "step": np.repeat(steps, n_banks),
            "bank_id": np.tile(np.arange(n_banks), n_steps),
            "equity": rng.uniform(1e8, 2e8, n_steps * n_banks),
            "capital_ratio": rng.uniform(0.09, 0.14, n_steps * n_banks),
            "joint_loans": rng.uniform(1e8, 3e8, n_steps * n_banks),
            "funding_lines": rng.uniform(3e8, 5e8, n_steps * n_banks),
            "is_failed": False,
        }
    )
    # Bank 0 fails in the last two steps.
    banks.loc[(banks["bank_id"] == 0) & (banks["step"] >= n_steps - 2), "is_failed"] = True
    events = pd.DataFrame(
        {
            "step": [3, 10],
            "kind": ["platform_failure", "bank_failure"],
            "agent_type": ["platform", "bank"],
            "agent_id": [2, 0],
            "size": [1.5e7, 2.0e8],
            "detail": ["equity exhausted", "capital below zero"],
        }
    )
    return {"model": model, "platforms": platforms, "banks": banks, "events": events}


def make_manifest() -> dict:
    return {
        "parameters": {"n_borrowers": 1000, "apr_cap": 0.24},
        "seed": 42,
        "steps": N_STEPS,
        "versions": {"lendsim": "0.1.0"},
        "timings": {"run_seconds": 1.25},
    }


def leftovers(parent: Path) -> list[Path]:
    return [p for p in parent.iterdir() if ".tmp-" in p.name]


def test_round_trip_equals_original(tmp_path):
    tables = make_tables()
    out = write_run(tmp_path / "run1", tables, make_manifest(), charts=False)
    assert out == tmp_path / "run1"
    loaded = load_run(out)
    assert isinstance(loaded, RunTables)
    for name, df in tables.items():
        pd.testing.assert_frame_equal(getattr(loaded, name), df)
    assert loaded.extras == {}
    assert loaded.path == out
    assert leftovers(tmp_path) == []


def test_manifest_content_and_files_list(tmp_path):
    out = write_run(tmp_path / "run", make_tables(), make_manifest())
    text = (out / "manifest.json").read_text(encoding="utf-8")
    manifest = json.loads(text)
    expected_files = sorted(
        [f"{n}.parquet" for n in ("model", "platforms", "banks", "events")]
        + ["credit.png", "risk.png", "market.png", "banks.png", "borrowers.png"]
    )
    assert manifest["files"] == expected_files
    assert sorted(p.name for p in out.iterdir()) == sorted(expected_files + ["manifest.json"])
    assert {k: v for k, v in manifest.items() if k != "files"} == make_manifest()
    # indent=2, sorted keys
    assert text.startswith('{\n  "files": [')
    assert list(manifest) == sorted(manifest)
    assert load_run(out).manifest == manifest


def test_manifest_converts_numpy_and_rejects_unserialisable(tmp_path):
    manifest = {"seed": np.int64(7), "shares": np.array([0.5, 0.5]), "out": tmp_path}
    out = write_run(tmp_path / "ok", {"model": make_tables()["model"]}, manifest, charts=False)
    loaded = load_run(out).manifest
    assert loaded["seed"] == 7 and loaded["shares"] == [0.5, 0.5] and loaded["out"] == str(tmp_path)

    with pytest.raises(TypeError, match="not JSON-serialisable"):
        write_run(tmp_path / "bad", make_tables(), {"x": object()}, charts=False)
    with pytest.raises(ValueError):
        write_run(tmp_path / "nan", make_tables(), {"x": float("nan")}, charts=False)
    assert not (tmp_path / "bad").exists() and not (tmp_path / "nan").exists()
    assert leftovers(tmp_path) == []


def test_refuses_existing_directory(tmp_path):
    existing = tmp_path / "run"
    existing.mkdir()
    (existing / "keep.txt").write_text("old results")
    with pytest.raises(FileExistsError, match="already exists"):
        write_run(existing, make_tables(), make_manifest(), charts=False)
    assert (existing / "keep.txt").read_text() == "old results"
    assert [p.name for p in existing.iterdir()] == ["keep.txt"]
    # An empty existing directory is refused too (a bare rename would replace it).
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileExistsError):
        write_run(empty, make_tables(), make_manifest(), charts=False)
    assert leftovers(tmp_path) == []


def test_failure_mid_write_leaves_nothing(tmp_path, monkeypatch):
    tables = make_tables()
    calls = []
    real_to_parquet = pd.DataFrame.to_parquet

    def flaky_to_parquet(self, path, *args, **kwargs):
        calls.append(Path(path).name)
        if len(calls) == 3:  # two tables already written to the temp dir
            raise OSError("disk full")
        return real_to_parquet(self, path, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_parquet", flaky_to_parquet)
    out = tmp_path / "results" / "run"
    with pytest.raises(OSError, match="disk full"):
        write_run(out, tables, make_manifest())
    assert calls == ["model.parquet", "platforms.parquet", "banks.parquet"]
    assert not out.exists()
    assert list(out.parent.iterdir()) == []  # no temp dir left either


def test_failure_of_one_table_instance_leaves_nothing(tmp_path, monkeypatch):
    tables = make_tables()

    def boom(*args, **kwargs):
        raise RuntimeError("cannot serialise")

    monkeypatch.setattr(tables["banks"], "to_parquet", boom)
    with pytest.raises(RuntimeError, match="cannot serialise"):
        write_run(tmp_path / "run", tables, make_manifest())
    assert list(tmp_path.iterdir()) == []


def test_failure_in_charts_leaves_nothing(tmp_path, monkeypatch):
    def broken_plot(tables, out_dir):
        (Path(out_dir) / "credit.png").write_bytes(b"partial")
        raise ValueError("plot failed")

    monkeypatch.setattr(store, "plot_run", broken_plot)
    with pytest.raises(ValueError, match="plot failed"):
        write_run(tmp_path / "run", make_tables(), make_manifest())
    assert list(tmp_path.iterdir()) == []


def test_creates_parent_and_rejects_bad_input(tmp_path):
    out = write_run(tmp_path / "a" / "b" / "run", make_tables(), {}, charts=False)
    assert (out / "model.parquet").is_file()
    with pytest.raises(ValueError, match="table name"):
        write_run(tmp_path / "x", {"../evil": make_tables()["model"]}, {}, charts=False)
    with pytest.raises(ValueError, match="table name"):
        write_run(tmp_path / "x", {"manifest": make_tables()["model"]}, {}, charts=False)
    with pytest.raises(TypeError, match="must be a pandas DataFrame"):
        write_run(tmp_path / "x", {"model": [1, 2, 3]}, {}, charts=False)
    assert not (tmp_path / "x").exists()


def test_load_missing_tables_are_empty_and_extras_loaded(tmp_path):
    tables = make_tables()
    snapshots = pd.DataFrame({"step": [0, 6], "borrower_idx": [1, 2], "debt": [100.0, 250.0]})
    out = write_run(
        tmp_path / "run",
        {"model": tables["model"], "borrower_snapshots": snapshots},
        {"seed": 1},
        charts=False,
    )
    loaded = load_run(out)
    pd.testing.assert_frame_equal(loaded.model, tables["model"])
    for name in ("platforms", "banks", "events"):
        df = getattr(loaded, name)
        assert df.empty
        assert list(df.columns) == list(TABLE_COLUMNS[name])
    pd.testing.assert_frame_equal(loaded.extras["borrower_snapshots"], snapshots)
    assert list(loaded.extras) == ["borrower_snapshots"]


def test_empty_events_round_trip(tmp_path):
    tables = make_tables()
    tables["events"] = pd.DataFrame(columns=list(TABLE_COLUMNS["events"]))
    out = write_run(tmp_path / "run", tables, {}, charts=True)
    pd.testing.assert_frame_equal(load_run(out).events, tables["events"])


def test_load_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_run(tmp_path / "missing")
    (tmp_path / "incomplete").mkdir()
    with pytest.raises(FileNotFoundError, match="manifest.json"):
        load_run(tmp_path / "incomplete")


def test_run_tables_is_frozen(tmp_path):
    loaded = load_run(write_run(tmp_path / "run", make_tables(), {}, charts=False))
    with pytest.raises(AttributeError):
        loaded.model = pd.DataFrame()  # type: ignore[misc]


def test_default_run_dir(tmp_path):
    path = default_run_dir(tmp_path, "sweep")
    assert path.parent == tmp_path
    assert re.fullmatch(r"sweep-\d{8}-\d{6}-[0-9a-f]{4}", path.name)
    assert not path.exists()
    assert default_run_dir().parent == Path("results")
    assert default_run_dir().name.startswith("run-")
    for _ in range(50):  # a returned path never exists yet, so creating it never collides
        default_run_dir(tmp_path).mkdir()
    assert len(list(tmp_path.iterdir())) == 50
    with pytest.raises(ValueError):
        default_run_dir(tmp_path, "a/b")


def test_default_run_dir_skips_existing(tmp_path, monkeypatch):
    tokens = iter(["aaaa", "aaaa", "bbbb"])
    monkeypatch.setattr(store.secrets, "token_hex", lambda n: next(tokens))
    first = default_run_dir(tmp_path)
    first.mkdir()
    second = default_run_dir(tmp_path)
    assert second.name.endswith("-bbbb")
