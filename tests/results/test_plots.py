"""Tests for lendsim.results.plots: the PNG files exist, are valid and skip missing data."""

from __future__ import annotations

import sys
import threading

import matplotlib
import numpy as np
import pandas as pd
import pytest

from lendsim.results.plots import CHART_FILES, plot_run

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def make_tables(n_steps: int = 18, n_platforms: int = 12, n_banks: int = 4) -> dict:
    """Run tables with more platforms than are named in the legend, and a failed bank."""
    rng = np.random.default_rng(1)
    steps = np.arange(n_steps)
    model = pd.DataFrame(
        {
            "step": steps,
            "credit_outstanding": 2e9 + np.cumsum(rng.uniform(1e7, 5e7, n_steps)),
            "originations": rng.uniform(1e7, 5e7, n_steps),
            "charge_offs": rng.uniform(1e6, 5e6, n_steps),
            "approval_rate": rng.uniform(0.4, 0.7, n_steps),
            "delinquency_30": rng.uniform(0.02, 0.05, n_steps),
            "delinquency_90": rng.uniform(0.01, 0.02, n_steps),
            "default_rate": rng.uniform(0.005, 0.01, n_steps),
            "hhi": rng.uniform(0.1, 0.2, n_steps),
            "bank_capital_ratio_min": rng.uniform(0.08, 0.1, n_steps),
            "multi_lender_share": rng.uniform(0.1, 0.3, n_steps),
            "overindebted_share": rng.uniform(0.02, 0.08, n_steps),
            "unemployment_rate": rng.uniform(0.04, 0.06, n_steps),
            "losses_fundamental": rng.uniform(1e5, 2e5, n_steps),
            "losses_social": rng.uniform(1e5, 2e5, n_steps),
            "losses_common_funder": rng.uniform(1e5, 2e5, n_steps),
        }
    )
    platforms = pd.DataFrame(
        {
            "step": np.repeat(steps, n_platforms),
            "platform_id": np.tile(np.arange(n_platforms), n_steps),
            "platform_type": np.tile(["embedded", "p2p", "cfc"] * (n_platforms // 3), n_steps),
            "market_share": rng.dirichlet(np.ones(n_platforms), n_steps).ravel(),
        }
    )
    banks = pd.DataFrame(
        {
            "step": np.repeat(steps, n_banks),
            "bank_id": np.tile(np.arange(n_banks), n_steps),
            "capital_ratio": rng.uniform(0.08, 0.14, n_steps * n_banks),
            "is_failed": False,
        }
    )
    banks.loc[(banks["bank_id"] == 1) & (banks["step"] >= 12), "is_failed"] = True
    # two refits of two platforms, three bands of predicted PD each
    refits = [(s, p, sc) for s in (6, 12) for p, sc in ((0, "logistic"), (1, "trees"))]
    validation = pd.DataFrame(
        [{"step": s, "platform_id": p, "platform_type": "embedded", "scoring": sc,
          "auc_test": rng.uniform(0.6, 0.8), "band": b, "n": 100.0,
          "defaults": float(rng.integers(0, 10)), "pd_predicted": pd_b}
         for s, p, sc in refits for b, pd_b in enumerate((0.005, 0.03, 0.08))])
    return {"model": model, "platforms": platforms, "banks": banks, "validation": validation}


def assert_valid_png(path, min_bytes: int = 5_000) -> None:
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC, f"{path.name} is not a PNG"
    assert len(data) > min_bytes, f"{path.name} is suspiciously small ({len(data)} bytes)"


def test_all_charts_written_and_valid(tmp_path):
    written = plot_run(make_tables(), tmp_path / "charts")
    assert [p.name for p in written] == list(CHART_FILES)
    for path in written:
        assert path.parent == tmp_path / "charts"
        assert_valid_png(path)


def test_accepts_object_with_table_attributes(tmp_path):
    class Run:
        pass

    run = Run()
    for name, df in make_tables().items():
        setattr(run, name, df)
    assert [p.name for p in plot_run(run, tmp_path)] == list(CHART_FILES)


def test_many_banks_and_min_computed_from_bank_table(tmp_path):
    tables = make_tables(n_banks=20)
    tables["model"] = tables["model"].drop(columns=["bank_capital_ratio_min", "hhi"])
    written = {p.name for p in plot_run(tables, tmp_path)}
    assert {"banks.png", "market.png"} <= written
    assert_valid_png(tmp_path / "banks.png")


def test_empty_tables_write_nothing(tmp_path):
    assert plot_run({}, tmp_path) == []
    empty = {
        "model": pd.DataFrame(columns=["step", "credit_outstanding", "hhi"]),
        "platforms": pd.DataFrame(columns=["step", "platform_id", "market_share"]),
        "banks": pd.DataFrame(columns=["step", "bank_id", "capital_ratio"]),
    }
    assert plot_run(empty, tmp_path) == []
    assert list(tmp_path.iterdir()) == []


def test_skips_only_charts_without_data(tmp_path):
    tables = make_tables()
    only_model = {"model": tables["model"][["step", "default_rate", "approval_rate"]]}
    names = [p.name for p in plot_run(only_model, tmp_path)]
    assert names == ["risk.png", "borrowers.png"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names)

    # Banks table alone still gives a bank chart; all-NaN model columns are "no data".
    nan_model = tables["model"].assign(credit_outstanding=np.nan, originations=np.nan,
                                       charge_offs=np.nan)
    names = [p.name for p in plot_run({"model": nan_model, "banks": tables["banks"]},
                                      tmp_path / "b")]
    assert "credit.png" not in names and "banks.png" in names


def test_rejects_non_dataframe(tmp_path):
    with pytest.raises(TypeError, match="must be a pandas DataFrame"):
        plot_run({"model": [1, 2]}, tmp_path)


def test_does_not_use_pyplot_or_change_backend(tmp_path):
    backend_before = matplotlib.get_backend()
    plot_run(make_tables(), tmp_path)
    assert matplotlib.get_backend() == backend_before
    if "matplotlib.pyplot" in sys.modules:  # imported by something else: no figures left open
        assert sys.modules["matplotlib.pyplot"].get_fignums() == []


def test_safe_in_threads(tmp_path):
    tables = make_tables()
    errors: list[BaseException] = []

    def work(k: int) -> None:
        try:
            plot_run(tables, tmp_path / f"t{k}")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for k in range(2):
        for name in CHART_FILES:
            assert_valid_png(tmp_path / f"t{k}" / name)
