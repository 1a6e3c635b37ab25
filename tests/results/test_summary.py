"""Tests for lendsim.results.summary: value formatting and the terminal table."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from lendsim.results.summary import KEY_COLUMNS, format_value, summary_table


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("default_rate", 0.0512, "5.12%"),
        ("avg_apr", 0.2399, "23.99%"),
        ("delinquency_30", 0.1, "10.00%"),
        ("multi_lender_share", 0.0, "0.00%"),
        ("bank_capital_ratio_min", 0.105, "10.50%"),
        ("credit_outstanding", 12_345_678.0, "12.3M"),
        ("credit_outstanding", 1_234_567_890_000.0, "1,234,567.9M"),
        ("originations", 987_654.4, "987,654"),
        ("charge_offs", -1_500_000.0, "-1.5M"),
        ("n_platforms_active", 12, "12"),
        ("n_platforms_active", 11.5, "11.5"),
        ("borrowers_rationed", np.int64(12_345), "12,345"),
        ("hhi", 0.12345, "0.123"),
        ("hhi", 1834.4, "1,834"),
        ("lenders_per_borrower", 1.23456, "1.235"),
        ("avg_apr", float("nan"), "n/a"),
        ("credit_outstanding", None, "n/a"),
        ("hhi", pd.NA, "n/a"),
        ("default_rate", math.inf, "inf"),
        ("detail", "equity exhausted", "equity exhausted"),
    ],
)
def test_format_value(name, value, expected):
    assert format_value(name, value) == expected


def make_model() -> pd.DataFrame:
    """Three steps, deliberately out of order, so 'first'/'last' must follow the step column."""
    return pd.DataFrame(
        {
            "step": [2, 0, 1],
            "credit_outstanding": [3_000_000.0, 1_000_000.0, 2_000_000.0],
            "originations": [500_000.0, 250_000.0, 750_000.0],
            "approval_rate": [0.5, 0.6, 0.7],
            "avg_apr": [0.24, 0.18, 0.21],
            "delinquency_30": [0.04, 0.02, 0.03],
            "delinquency_90": [0.02, 0.01, np.nan],
            "default_rate": [0.012, 0.008, 0.01],
            "multi_lender_share": [0.3, 0.1, 0.2],
            "hhi": [0.25, 0.2, 0.3],
            "n_platforms_active": [9, 10, 10],
            "bank_capital_ratio_min": [0.09, 0.12, 0.1],
            "unemployment_rate": [0.05, 0.05, 0.05],  # not a key column: not shown
        }
    )


def test_summary_table_cells():
    text = summary_table(make_model())
    lines = text.splitlines()
    assert lines[0] == "model summary: steps 0-2 (3 rows)"
    assert lines[1].split() == ["metric", "first", "last", "mean", "max"]
    rows = {line.split()[0]: line.split()[1:] for line in lines[2:]}
    assert list(rows) == list(KEY_COLUMNS)  # all key columns, in order, nothing else
    assert rows["credit_outstanding"] == ["1.0M", "3.0M", "2.0M", "3.0M"]
    assert rows["originations"] == ["250,000", "500,000", "500,000", "750,000"]
    assert rows["avg_apr"] == ["18.00%", "24.00%", "21.00%", "24.00%"]
    assert rows["delinquency_90"] == ["1.00%", "2.00%", "1.50%", "2.00%"]  # NaN skipped
    assert rows["n_platforms_active"] == ["10", "9", "9.7", "10"]
    assert rows["hhi"] == ["0.200", "0.250", "0.250", "0.300"]
    assert "unemployment_rate" not in text


def test_summary_table_alignment_and_width():
    text = summary_table(make_model(), width=80)
    lines = text.splitlines()
    assert all(len(line) <= 80 for line in lines)
    # Value columns are right-aligned: every table line ends at the same column.
    assert len({len(line) for line in lines[1:]}) == 1
    narrow = summary_table(make_model(), width=44)
    assert all(len(line) <= 44 for line in narrow.splitlines())
    assert narrow.splitlines()[2].startswith("credit_~ ")  # long names shortened to fit


def test_summary_table_missing_columns_and_empty():
    df = make_model()[["step", "default_rate"]]
    lines = summary_table(df).splitlines()
    assert len(lines) == 3
    assert lines[2].split() == ["default_rate", "0.80%", "1.20%", "1.00%", "1.20%"]
    assert summary_table(pd.DataFrame(columns=["step", "hhi"])) == "model summary: no rows"
    assert "none of the summary columns" in summary_table(pd.DataFrame({"step": [0], "x": [1]}))
    custom = summary_table(make_model(), columns=["unemployment_rate"])
    assert custom.splitlines()[2].split() == ["unemployment_rate"] + ["5.00%"] * 4
    with pytest.raises(ValueError, match="width"):
        summary_table(make_model(), width=10)
