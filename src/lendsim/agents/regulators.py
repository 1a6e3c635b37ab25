"""The regulator: holds the policy instruments, applies the policy schedule and triggered rules,
supervises, and reports early warnings.

References:
    docs/ODD.md, section 2 (Regulator) and 7.18 (policy instruments); docs/calibration.md,
    2.5 (policy instruments, before -> after); early warning relative to an indicator's own history:
    Drehmann & Juselius (2014), Int. J. Forecasting 30(3), 759-780.
"""

from __future__ import annotations

import dataclasses
from collections import deque

import mesa
import numpy as np

from lendsim.simulation.params import RegulatorParams, Scenario
from lendsim.simulation.policy import PolicyChange, TriggerRule, value_at

#: Indicators watched by the early-warning system; for those in ``EW_LOW`` a fall is the alarm.
EW_INDICATORS = ("delinquency_30", "delinquency_90", "credit_growth", "multi_lender_share",
                 "hhi", "bank_capital_ratio_min", "early_warning")
EW_LOW = ("bank_capital_ratio_min",)


class Regulator(mesa.Agent):
    """Holds the current policy (a frozen :class:`RegulatorParams`), the schedule of changes,
    the triggered rules, supervision results and early warnings."""

    def __init__(self, model, policy: RegulatorParams, schedule: tuple[PolicyChange, ...] = (),
                 triggers: tuple[TriggerRule, ...] = ()):
        super().__init__(model)
        self.policy = policy
        self.schedule = schedule
        self.triggers = triggers
        self.indicators: dict[str, float] = {}
        self._old: dict[int, object] = {}  # value of each change's instrument when announced
        self._fired: set[int] = set()
        self._history = {k: deque(maxlen=policy.ew_window) for k in EW_INDICATORS}

    def apr_cap(self, benchmark_rate: float) -> float:
        """All-in annual APR cap in force: fixed, or a multiple of the benchmark rate."""
        p = self.policy
        if p.apr_cap_mode == "indexed":
            return p.apr_cap_multiple * benchmark_rate
        return p.apr_cap

    def set_policy(self, **changes) -> None:
        """Change instruments, e.g. ``set_policy(apr_cap=0.24)`` (validated)."""
        flat = {f"regulator.{k}": v for k, v in changes.items()}
        checked = Scenario(regulator=self.policy).with_overrides(flat, source="set_policy")
        self.policy = dataclasses.replace(checked.regulator)

    # --- the schedule --------------------------------------------------------------------
    def apply_schedule(self, step: int) -> None:
        """Set every scheduled instrument to its value for month ``step`` (see
        :func:`lendsim.simulation.policy.value_at`). A change stops
        acting once fully phased in, so a triggered rule can move the instrument later."""
        if not self.policy.apply_schedule:
            return
        changes: dict[str, object] = {}
        for i, c in enumerate(self.schedule):
            if step < c.announce or step > c.step + c.phase_in:
                continue
            if i not in self._old:
                self._old[i] = getattr(self.policy, c.name)
            v = value_at(c, self._old[i], step, self.policy.anticipation)
            if v != getattr(self.policy, c.name):
                changes[c.name] = v
        if changes:  # values lie between two valid values: no new validation needed
            self.policy = dataclasses.replace(self.policy, **changes)

    # --- triggered rules -----------------------------------------------------------------
    def check_triggers(self, step: int, system: dict[str, float], platforms, banks) -> list:
        """Rules whose indicator crossed its threshold, with the institutions concerned:
        ``[(rule_index, rule, [agents])]`` (agents empty for system indicators). ``once``
        rules fire at most once."""
        if not self.policy.apply_schedule:
            return []
        fired = []
        for i, r in enumerate(self.triggers):
            if step < r.after or (r.once and r.scope == "system" and i in self._fired):
                continue
            if r.scope == "system":
                hit = r.crossed(system.get(r.indicator, np.nan))
                who: list = []
            elif r.scope == "platform":
                # "resolve" concerns failed platforms not yet resolved; the rest live ones
                pool = ([pl for pl in platforms if not pl.is_active and not pl.is_resolved]
                        if r.action == "resolve" else [pl for pl in platforms if pl.is_active])
                who = [pl for pl in pool if r.crossed(_platform_indicator(pl, r.indicator))]
            else:
                who = [b for b in banks if not b.is_failed and r.crossed(b.capital_ratio())]
            if r.scope != "system":  # once: once per institution
                kind = r.scope
                who = [a for a in who if not (r.once and (i, kind, a.idx) in self._fired)]
                self._fired.update((i, kind, a.idx) for a in who)
                hit = bool(who)
            if hit:
                self._fired.add(i)
                fired.append((i, r, who))
        return fired

    def enforce(self, rule: TriggerRule, who: list) -> None:
        """Carry out a triggered rule (see :class:`lendsim.simulation.policy.TriggerRule`)
        on the institutions ``who`` concern it, and log it."""
        model = self.model
        thr = rule.above if rule.above is not None else rule.below
        why = f"{rule.indicator} {'>' if rule.above is not None else '<'} {thr}"
        if rule.action == "set":
            self.set_policy(**{rule.key.split(".", 1)[1]: rule.value})
            model.log_event("regulator_action", "regulator", -1, np.nan,
                            f"{why}: {rule.key} = {rule.value!r}")
            return
        for pl in who:
            if rule.action == "deleverage":  # to the rule's threshold
                pl.deleverage_order = thr
            elif rule.action == "stop_lending":
                pl.suspended_until = model.t + rule.months - 1
            else:  # resolve
                pl.is_resolved = True
            model.log_event("regulator_action", "platform", pl.idx, np.nan,
                            f"{why}: {rule.action}")

    # --- supervision -----------------------------------------------------------------------
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

    def early_warnings(self, row: dict[str, float]) -> dict[str, float]:
        """Dynamic thresholds: each indicator's z-score against its own last ``ew_window``
        months, and a warning (1.0) when it lies ``ew_z`` standard deviations beyond the mean
        in the alarming direction. Needs 3 months of history; until then z is NaN.

        Returns ``ew_<indicator>_z`` and ``ew_<indicator>`` for every indicator in
        ``EW_INDICATORS``, and ``ew_count`` (warnings on).
        """
        out: dict[str, float] = {}
        count = 0
        for k in EW_INDICATORS:
            x = row.get(k, np.nan)
            hist = np.array(self._history[k], dtype=float)
            hist = hist[np.isfinite(hist)]
            z = np.nan
            if len(hist) >= 3 and np.isfinite(x):
                sd = hist.std(ddof=1)
                # a flat history gives no scale to judge a move by: no z, no warning
                z = (x - hist.mean()) / sd if sd > 0 else np.nan
            warn = bool(np.isfinite(z)) and (
                (z < -self.policy.ew_z) if k in EW_LOW else (z > self.policy.ew_z))
            out[f"ew_{k}_z"] = float(z)
            out[f"ew_{k}"] = float(warn)
            count += warn
            self._history[k].append(x)
        out["ew_count"] = float(count)
        return out


def _platform_indicator(pl, name: str) -> float:
    if name == "platform_leverage":
        return pl.leverage()
    if name == "platform_delinquency_30":
        return pl.last_delinquency_30
    if name == "platform_equity_ratio":
        assets = pl.cash + pl.loans_held - pl.allowance
        return pl.equity / assets if assets > 0 else np.nan
    if name == "platform_early_warning":  # the platform's own score (docs/ODD.md 7.21)
        return float(pl.model.early_warning.score[pl.idx])
    if name == "platform_on_warning":  # 1.0 while above its dynamic threshold
        return float(pl.model.early_warning.on_warning[pl.idx])
    raise ValueError(name)
