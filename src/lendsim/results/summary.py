"""Plain-text summaries of a run's model table, for the terminal.

Values are formatted by what the column measures (see ``format_value``): fractions as
percentages, RMB amounts with thousands separators (``M`` = million RMB from 1,000,000 up),
counts as integers, the HHI as an index.

Examples:
    >>> import pandas as pd
    >>> df = pd.DataFrame({"step": [0, 1], "default_rate": [0.01, 0.03]})
    >>> print(summary_table(df))
    model summary: steps 0-1 (2 rows)
    metric        first   last   mean    max
    default_rate  1.00%  3.00%  2.00%  3.00%
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from numbers import Real

import numpy as np
import pandas as pd

__all__ = ["KEY_COLUMNS", "format_value", "pipe_table", "summary_table"]

#: Columns shown by ``summary_table`` by default, in this order.
KEY_COLUMNS: tuple[str, ...] = (
    "credit_outstanding",
    "originations",
    "approval_rate",
    "avg_apr",
    "delinquency_30",
    "delinquency_90",
    "default_rate",
    "multi_lender_share",
    "hhi",
    "n_platforms_active",
    "bank_capital_ratio_min",
)

# Amounts in RMB.
_AMOUNT_COLUMNS = frozenset(
    {
        "credit_outstanding",
        "originations",
        "charge_offs",
        "equity",
        "loans_held",
        "loans_managed",
        "joint_loans",
        "funding_lines",
        "size",
    }
)
# Fractions (0.05 = 5%) that do not follow the naming patterns below.
_FRACTION_COLUMNS = frozenset({"avg_apr", "delinquency_30", "delinquency_90"})
_FRACTION_SUFFIXES = ("_rate", "_share", "_ratio", "_ratio_min", "_apr")
# Counts that do not start with ``n_``.
_COUNT_COLUMNS = frozenset(
    {"step", "platform_failures", "bank_failures", "borrowers_rationed", "entries", "exits"}
)

MISSING = "n/a"


def _kind(name: str) -> str:
    """Classify a column: ``"fraction"``, ``"amount"``, ``"count"``, ``"hhi"`` or ``"number"``."""
    if name == "hhi":
        return "hhi"
    if name in _AMOUNT_COLUMNS:
        return "amount"
    if name in _COUNT_COLUMNS or name.startswith("n_") or name.endswith("_failures"):
        return "count"
    if name in _FRACTION_COLUMNS or name.endswith(_FRACTION_SUFFIXES) or name.startswith(
        "delinquency_"
    ):
        return "fraction"
    return "number"


def _is_missing(value: object) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    try:
        return bool(math.isnan(value))  # type: ignore[arg-type]
    except TypeError:
        return False


def format_value(name: str, value: object) -> str:
    """Format one value of a results column for people to read.

    Rules, by column:

    - fractions (``*_rate``, ``*_share``, ``*_ratio``, ``avg_apr``, ``delinquency_*``): percent
      with two decimals, ``0.0512 -> "5.12%"``;
    - RMB amounts (``credit_outstanding``, ``originations``, ``charge_offs``, ...): thousands
      separators below one million (``"987,654"``), millions with one decimal and an ``M`` suffix
      from one million up (``"12,345.7M"``), so cells of one column compare at a glance;
    - counts (``n_*``, ``*_failures``, ``borrowers_rationed``): whole numbers with separators;
      non-whole values (e.g. a mean) keep one decimal;
    - ``hhi``: three decimals on the 0-1 scale, or a whole number if on the 0-10,000 scale;
    - anything else: millions and thousands as amounts are (``"14.6M"``, ``"12,345"``),
      smaller numbers to four significant digits (``"0.6762"``).

    Missing values (None, NaN, NA) show as ``"n/a"``; non-numeric values are shown as ``str()``.

    Args:
        name: Column name; decides the rule.
        value: The value (a number, or None/NaN).

    Returns:
        The formatted text.

    Examples:
        >>> format_value("default_rate", 0.0512)
        '5.12%'
        >>> format_value("credit_outstanding", 12_345_678)
        '12.3M'
        >>> format_value("originations", 987_654.4)
        '987,654'
        >>> format_value("n_platforms_active", 11.5)
        '11.5'
        >>> format_value("hhi", 0.1234)
        '0.123'
        >>> format_value("debt", 14_630_000.0), format_value("equity", -2_500.4)
        ('14.6M', '-2,500')
        >>> format_value("avg_apr", float("nan"))
        'n/a'
    """
    if _is_missing(value):
        return MISSING
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if not isinstance(value, (Real, np.number)):
        return str(value)
    x = float(value)  # type: ignore[arg-type]
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    kind = _kind(name)
    if kind == "fraction":
        return f"{x * 100:.2f}%"
    if kind == "amount":
        if abs(x) >= 1e6:
            return f"{x / 1e6:,.1f}M"
        return f"{x:,.0f}"
    if kind == "count":
        if float(x).is_integer():
            return f"{x:,.0f}"
        return f"{x:,.1f}"
    if kind == "hhi":
        return f"{x:.3f}" if abs(x) <= 1 else f"{x:,.0f}"
    if abs(x) >= 1e6:  # large figures as amounts are: never 1.463e+07
        return f"{x / 1e6:,.1f}M"
    if abs(x) >= 1e3:
        return f"{x:,.0f}"
    return f"{x:.4g}"


def _truncate(text: str, width: int) -> str:
    if len(text) <= width:
        return text
    if width <= 1:
        return text[:width]
    return text[: width - 1] + "~"


def summary_table(
    model_df: pd.DataFrame,
    *,
    width: int = 80,
    columns: Sequence[str] | None = None,
) -> str:
    """Summarise a run's per-step model table as a short plain-text table.

    For each key column present in ``model_df`` the table shows the value at the first and last
    step, and the mean and maximum over all steps (NaN ignored). Columns that are absent are left
    out; rows are ordered by ``step`` if that column exists.

    Args:
        model_df: The ``model`` table of a run (one row per step).
        width: Maximum line width in characters; metric names are shortened (ending in ``~``) to
            fit. Must be >= 40.
        columns: Columns to show; defaults to ``KEY_COLUMNS``.

    Returns:
        Lines joined by ``"\\n"`` (no trailing newline): a header naming the step range, a column
        header, and one line per metric. For an empty table, a single line saying so.

    Raises:
        ValueError: If ``width`` < 40.
    """
    if width < 40:
        raise ValueError(f"summary_table width must be >= 40 characters, got {width!r}")
    wanted = KEY_COLUMNS if columns is None else tuple(columns)
    if model_df.empty:
        return "model summary: no rows"
    df = model_df.sort_values("step", kind="stable") if "step" in model_df.columns else model_df
    present = [c for c in wanted if c in df.columns]
    if "step" in df.columns:
        steps = pd.to_numeric(df["step"], errors="coerce")
        title = f"model summary: steps {format_value('step', steps.min())}-"
        title += f"{format_value('step', steps.max())} ({len(df)} rows)"
    else:
        title = f"model summary: {len(df)} rows"
    if not present:
        return title + "\n(none of the summary columns are present)"

    header = ("metric", "first", "last", "mean", "max")
    rows: list[tuple[str, ...]] = []
    for name in present:
        values = pd.to_numeric(df[name], errors="coerce")
        rows.append(
            (
                name,
                format_value(name, values.iloc[0]),
                format_value(name, values.iloc[-1]),
                format_value(name, values.mean()),
                format_value(name, values.max()),
            )
        )

    value_widths = [max(len(header[i]), *(len(r[i]) for r in rows)) for i in range(1, 5)]
    gap = 2
    room_for_names = width - sum(value_widths) - gap * 4
    name_width = max(6, min(max(len(header[0]), *(len(r[0]) for r in rows)), room_for_names))

    def line(cells: tuple[str, ...]) -> str:
        parts = [_truncate(cells[0], name_width).ljust(name_width)]
        parts += [cell.rjust(w) for cell, w in zip(cells[1:], value_widths)]
        return (" " * gap).join(parts).rstrip()

    return "\n".join([_truncate(title, width), line(header), *(line(r) for r in rows)])


def pipe_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Cells as a plain-text table with ``|`` between columns, padded to the widest cell.

    Examples:
        >>> print(pipe_table(("check", "result"), [("a", "pass")]))
        check | result
        ----- | ------
        a     | pass
    """
    widths = [max(len(line[k]) for line in [header, *rows]) for k in range(len(header))]

    def fmt(line) -> str:
        return " | ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip()

    return "\n".join([fmt(header), fmt(tuple("-" * w for w in widths)), *(fmt(r) for r in rows)])
