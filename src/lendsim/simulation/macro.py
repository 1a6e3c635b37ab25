"""Macro environment: business cycle, benchmark rate, demand trend, seasonality, income shock.

References:
    docs/ODD.md, 7.1; docs/calibration.md: delinquency under an income shock (2.1: 30+ days
    1.76 % in Jan 2020 -> 3.01 % in May 2020), LPR 3.85 % (2.5).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from lendsim.simulation.params import MacroParams


@dataclass(frozen=True)
class MacroState:
    """The environment in one month."""

    step: int
    calendar_month: int  # 1..12
    unemployment_target: float  # u_t, fraction
    benchmark_rate: float  # annual
    demand_level: float  # seasonality x trend, multiplies discretionary spending
    income_loss: float  # share of income the employed lose this month (shock)
    is_shock: bool


@dataclass(frozen=True)
class IncomeShockWindow:
    """An income shock: from month ``start`` for ``months`` months, the employed lose
    ``income_loss`` of income and unemployment rises by ``unemployment`` (fractions)."""

    start: int
    months: int
    income_loss: float
    unemployment: float

    def covers(self, step: int) -> bool:
        return self.start > 0 and self.start <= step < self.start + self.months


def scenario_shock(p: MacroParams) -> IncomeShockWindow | None:
    """The income shock the parameters schedule (``shock_start`` > 0), or None."""
    if p.shock_start <= 0:
        return None
    return IncomeShockWindow(p.shock_start, p.shock_months, p.shock_income_loss,
                             p.shock_unemployment)


_FROM_PARAMS = object()


def macro_state(p: MacroParams, step: int, income_shock=_FROM_PARAMS,
                first_step: int = 1) -> MacroState:
    """The macro state at ``step`` (1-based), a pure function of the parameters and the
    income shock in force (``income_shock``: an :class:`IncomeShockWindow` or None; by default the
    one the parameters schedule). ``first_step`` is the first simulated month (``1 -
    simulation.burn_in``): the consumption upgrade runs ``demand_trend_months`` from it.

    Examples:
        >>> s = macro_state(MacroParams(cycle_amplitude=0.0), 11)
        >>> s.calendar_month, s.unemployment_target
        (11, 0.05)
    """
    month = (p.start_month - 1 + step - 1) % 12 + 1
    u = p.unemployment_rate + p.cycle_amplitude * math.sin(2 * math.pi * step / p.cycle_months)
    if income_shock is _FROM_PARAMS:
        income_shock = scenario_shock(p)
    shock = income_shock is not None and income_shock.covers(step)
    if shock:
        u += income_shock.unemployment
    trend = (1.0 + p.demand_trend) ** (min(step - first_step, p.demand_trend_months) / 12.0)
    return MacroState(step=step, calendar_month=month,
                      unemployment_target=min(max(u, 0.0), 0.95),
                      benchmark_rate=p.benchmark_rate,
                      demand_level=p.seasonality[month - 1] * trend,
                      income_loss=income_shock.income_loss if shock else 0.0, is_shock=shock)
