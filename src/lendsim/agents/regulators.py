"""The regulator: holds the policy instruments, supervises, flags early warnings.

References:
    DESIGN.md, "Agents: Regulator" and "Policy instruments"; CALIBRATION.md, "Policy
    instruments, before -> after".
"""

from __future__ import annotations

import dataclasses

import mesa

from lendsim.simulation.params import RegulatorParams


class Regulator(mesa.Agent):
    """Holds the current policy (a frozen :class:`RegulatorParams`) and supervision results."""

    def __init__(self, model, policy: RegulatorParams):
        super().__init__(model)
        self.policy = policy
        self.indicators: dict[str, float] = {}

    def apr_cap(self, benchmark_rate: float) -> float:
        """All-in annual APR cap in force: fixed, or a multiple of the benchmark rate."""
        p = self.policy
        if p.apr_cap_mode == "indexed":
            return p.apr_cap_multiple * benchmark_rate
        return p.apr_cap

    def set_policy(self, **changes) -> None:
        """Change instruments, e.g. ``set_policy(apr_cap=0.24)`` (validated)."""
        from lendsim.simulation.params import Scenario

        flat = {f"regulator.{k}": v for k, v in changes.items()}
        checked = Scenario(regulator=self.policy).with_overrides(flat, source="set_policy")
        self.policy = dataclasses.replace(checked.regulator)

    def supervise(self, platforms, banks, delinquency_90: float) -> dict[str, float]:
        """Supervision indicators for the month; breaches are counted, an early warning is
        raised when system 90+ delinquency exceeds ``delinquency_alert``."""
        p = self.policy
        active = [pl for pl in platforms if pl.is_active]
        lev_breach = sum(pl.leverage() > pl.leverage_limit(p) * (1 + 1e-9) for pl in active)
        live_banks = [b for b in banks if not b.is_failed]
        cap_breach = sum(b.capital_ratio() < p.bank_capital_requirement for b in live_banks)
        self.indicators = {
            "reg_leverage_breaches": float(lev_breach),
            "reg_capital_breaches": float(cap_breach),
            "reg_delinquency_alert": float(delinquency_90 > p.delinquency_alert),
        }
        return self.indicators
