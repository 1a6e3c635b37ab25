"""Policy schedules and triggered rules: how the regulator's instruments change during a run.

A scenario (or experiment) file lists scheduled changes and triggered rules as arrays of tables::

    [[policy]]                       # the rate cap falls to 4 x LPR in month 25 ...
    key = "regulator.apr_cap_mode"
    value = "indexed"
    step = 25
    announce = 19                    # ... announced six months ahead (default: = step)

    [[policy]]
    key = "regulator.joint_lending_min_share"
    value = 0.3
    step = 13
    phase_in = 12                    # reaches 30 % linearly over 12 months

    [[trigger]]                      # system 90+ delinquency above 3 %: cap debt at 1/3 of income
    indicator = "delinquency_90"
    above = 0.03
    action = "set"
    key = "regulator.max_debt_income"
    value = 0.333

``regulator.apply_schedule = false`` switches both lists off, so one file gives a paired
comparison (the same seeds with and without the policy) as a two-value sweep factor.

Announcement: between ``announce`` and ``step`` a numeric instrument moves
``regulator.anticipation`` of the way to its new value, linearly (platforms and banks adjust
ahead); from ``step`` it moves the rest of the way linearly over ``phase_in`` months (at once
when 0). Non-numeric instruments switch at ``step``.

References:
    docs/ODD.md, 7.18 (policy instruments: regulator parameters, each can change on a schedule);
    docs/calibration.md, 2.5 (policy instruments, before -> after); dynamic early-warning
    thresholds as in Drehmann & Juselius (2014), Int. J. Forecasting 30(3) (signals relative to
    history).
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from dataclasses import dataclass
from typing import Any

from lendsim.errors import ScenarioError
from lendsim.simulation.params import RegulatorParams, Scenario

#: What a triggered rule can do.
ACTIONS = ("set", "deleverage", "stop_lending", "resolve")
#: Indicators a rule can watch, by scope. System indicators are model-table columns of the
#: month before; platform and bank indicators are read per institution.
PLATFORM_INDICATORS = ("platform_leverage", "platform_delinquency_30", "platform_equity_ratio",
                       "platform_early_warning", "platform_on_warning")
BANK_INDICATORS = ("bank_capital_ratio",)
SYSTEM_INDICATORS = ("delinquency_30", "delinquency_90", "default_rate", "approval_rate",
                     "credit_growth", "multi_lender_share", "overindebted_share", "hhi",
                     "bank_capital_ratio_min", "platform_failures", "bank_failures",
                     "unemployment_rate", "early_warning", "platforms_on_warning")
POLICY_KEYS = ("key", "value", "step", "announce", "phase_in")
TRIGGER_KEYS = ("indicator", "above", "below", "action", "key", "value", "months", "once",
                "after")


@dataclass(frozen=True)
class PolicyChange:
    """One scheduled change of a regulator instrument.

    Attributes:
        key: the instrument, ``regulator.<name>``.
        value: its new value (validated like the parameter itself).
        step: first month the new value is fully or partly in force.
        announce: month the change is announced (<= step).
        phase_in: months over which a numeric instrument reaches ``value`` from ``step``.
    """

    key: str
    value: Any
    step: int
    announce: int
    phase_in: int = 0

    @property
    def name(self) -> str:
        return self.key.split(".", 1)[1]


@dataclass(frozen=True)
class TriggerRule:
    """The regulator acts when an indicator crosses a threshold.

    Attributes:
        indicator: one of ``SYSTEM_INDICATORS``, ``PLATFORM_INDICATORS`` or
            ``BANK_INDICATORS``.
        above, below: the threshold (exactly one is set); the rule fires when the indicator is
            strictly above / below it.
        action: ``set`` (an instrument to ``value``), ``deleverage`` (the platforms concerned
            may not lend until their leverage is back at or below the threshold),
            ``stop_lending`` (they may not lend at all for ``months``), ``resolve`` (failed
            platforms are handed to a resolver: borrowers keep paying, recoveries as usual).
        key, value: the instrument and value for ``set``.
        months: how long ``stop_lending`` lasts.
        once: fire at most once (default), or every month the condition holds; for platform
            and bank indicators, at most once for each institution.
        after: earliest month the rule is watched.
    """

    indicator: str
    action: str
    above: float | None = None
    below: float | None = None
    key: str = ""
    value: Any = None
    months: int = 6
    once: bool = True
    after: int = 1

    @property
    def scope(self) -> str:
        if self.indicator in PLATFORM_INDICATORS:
            return "platform"
        if self.indicator in BANK_INDICATORS:
            return "bank"
        return "system"

    def crossed(self, x: float) -> bool:
        if x is None or (isinstance(x, float) and math.isnan(x)):
            return False
        return x > self.above if self.above is not None else x < self.below


def _fail(where: str, field: str, value: Any, allowed: str) -> None:
    raise ScenarioError(f"{where}.{field} = {value!r}: must be {allowed}")


def _check_keys(entry: Any, where: str, allowed: tuple[str, ...]) -> dict:
    if not isinstance(entry, dict):
        raise ScenarioError(f"{where} = {entry!r}: must be a table ([[...]] in TOML)")
    for k in entry:
        if k not in allowed:
            close = difflib.get_close_matches(k, allowed, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ScenarioError(f"{where}.{k}: unknown key; allowed: {', '.join(allowed)}{hint}")
    return entry


def _int(entry: dict, where: str, field: str, default: int | None, lo: int) -> int:
    v = entry.get(field, default)
    if v is None:
        raise ScenarioError(f"{where}.{field}: missing; it is required")
    if isinstance(v, bool) or not isinstance(v, int) or v < lo:
        _fail(where, field, v, f"a whole number >= {lo}")
    return v


def _check_instrument(key: Any, value: Any, where: str) -> tuple[str, Any]:
    """Validate ``key = value`` as a regulator instrument; returns the normalised pair."""
    # the switch itself and the early-warning window (fixed when the regulator is made) are
    # not instruments
    names = [f.name for f in dataclasses.fields(RegulatorParams)
             if f.name not in ("apply_schedule", "ew_window")]
    if not isinstance(key, str):
        _fail(where, "key", key, "a regulator instrument such as 'regulator.apr_cap'")
    full = key if key.startswith("regulator.") else f"regulator.{key}"
    name = full.split(".", 1)[1]
    if name not in names:
        close = difflib.get_close_matches(name, names, n=1)
        hint = f"; did you mean 'regulator.{close[0]}'?" if close else ""
        raise ScenarioError(f"{where}.key = {key!r}: not a regulator instrument{hint}")
    try:
        checked = Scenario().with_overrides({full: value}, source=where)
    except ScenarioError as exc:
        raise ScenarioError(f"{where}.value: {exc}") from None
    return full, getattr(checked.regulator, name)


def parse_policy(entries: Any, source: str = "") -> tuple[PolicyChange, ...]:
    """Validate a ``[[policy]]`` array; one clear message on the first problem."""
    where0 = f"policy (in {source})" if source else "policy"
    if not isinstance(entries, list):
        raise ScenarioError(f"{where0} = {entries!r}: must be an array of tables ([[policy]])")
    out = []
    for i, e in enumerate(entries):
        where = f"policy[{i}]" + (f" (in {source})" if source else "")
        e = _check_keys(e, where, POLICY_KEYS)
        if "value" not in e:
            raise ScenarioError(f"{where}.value: missing; it is required")
        key, value = _check_instrument(e.get("key"), e["value"], where)
        step = _int(e, where, "step", None, 1)
        announce = _int(e, where, "announce", step, 1)
        if announce > step:
            _fail(where, "announce", announce, f"a month <= step ({step})")
        out.append(PolicyChange(key, value, step, announce, _int(e, where, "phase_in", 0, 0)))
    return tuple(out)


def parse_triggers(entries: Any, source: str = "") -> tuple[TriggerRule, ...]:
    """Validate a ``[[trigger]]`` array; one clear message on the first problem."""
    where0 = f"trigger (in {source})" if source else "trigger"
    if not isinstance(entries, list):
        raise ScenarioError(f"{where0} = {entries!r}: must be an array of tables ([[trigger]])")
    indicators = SYSTEM_INDICATORS + PLATFORM_INDICATORS + BANK_INDICATORS
    out = []
    for i, e in enumerate(entries):
        where = f"trigger[{i}]" + (f" (in {source})" if source else "")
        e = _check_keys(e, where, TRIGGER_KEYS)
        ind = e.get("indicator")
        if ind not in indicators:
            close = difflib.get_close_matches(str(ind), indicators, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ScenarioError(f"{where}.indicator = {ind!r}: must be one of "
                                f"{', '.join(indicators)}{hint}")
        if ("above" in e) == ("below" in e):
            raise ScenarioError(f"{where}: give exactly one of 'above' and 'below'")
        thr_key = "above" if "above" in e else "below"
        thr = e[thr_key]
        if isinstance(thr, bool) or not isinstance(thr, (int, float)) or not math.isfinite(thr):
            _fail(where, thr_key, thr, "a finite number")
        action = e.get("action")
        if action not in ACTIONS:
            _fail(where, "action", action, f"one of {', '.join(ACTIONS)}")
        key, value = "", None
        if action == "set":
            if "value" not in e:
                raise ScenarioError(f"{where}.value: missing; action 'set' needs key and value")
            key, value = _check_instrument(e.get("key"), e["value"], where)
        elif action == "deleverage" and ind != "platform_leverage":
            _fail(where, "indicator", ind, "'platform_leverage' for action 'deleverage' (the "
                  "threshold is the leverage to get back to)")
        elif action in ("stop_lending", "resolve") and ind not in PLATFORM_INDICATORS:
            _fail(where, "indicator", ind, f"a platform indicator ({', '.join(PLATFORM_INDICATORS)}) "
                  f"for action '{action}'")
        once = e.get("once", True)
        if not isinstance(once, bool):
            _fail(where, "once", once, "true or false")
        out.append(TriggerRule(
            indicator=ind, action=action, above=float(thr) if thr_key == "above" else None,
            below=float(thr) if thr_key == "below" else None, key=key, value=value,
            months=_int(e, where, "months", 6, 1), once=once, after=_int(e, where, "after", 1, 1)))
    return tuple(out)


def value_at(change: PolicyChange, old: Any, step: int, anticipation: float) -> Any:
    """The instrument's value in month ``step`` under ``change``, from ``old`` (its value when
    the change was announced).

    Examples:
        >>> c = PolicyChange("regulator.apr_cap", 0.24, step=5, announce=3, phase_in=2)
        >>> [round(value_at(c, 0.36, t, anticipation=0.5), 3) for t in range(2, 9)]
        [0.36, 0.36, 0.33, 0.27, 0.24, 0.24, 0.24]
    """
    if step < change.announce:
        return old
    new = change.value
    # only real-valued instruments move gradually; counts (max_lenders, where 0 means no
    # limit), switches and infinite "no limit" values change at ``step``
    numeric = (isinstance(new, float) and isinstance(old, float)
               and math.isfinite(old) and math.isfinite(new))
    if not numeric:
        return new if step >= change.step else old
    window = change.step - change.announce
    ahead = anticipation if window > 0 else 0.0  # nothing to anticipate without notice
    if step < change.step:  # announced, not yet in force: anticipation
        frac = ahead * (step - change.announce) / window
    elif change.phase_in > 0:
        frac = ahead + (1 - ahead) * min(1.0, (step - change.step + 1) / change.phase_in)
    else:
        frac = 1.0
    v = old + frac * (new - old)
    return v


def with_policy(scenario: Scenario, policy: list | tuple = (), triggers: list | tuple = (),
                source: str = "") -> Scenario:
    """A copy of ``scenario`` with a ``[[policy]]`` schedule and ``[[trigger]]`` rules (lists of
    tables as read from TOML, or already parsed), validated; one clear message on the first
    problem."""
    pol = (tuple(policy) if all(isinstance(c, PolicyChange) for c in policy)
           else parse_policy(list(policy), source))
    trg = (tuple(triggers) if all(isinstance(t, TriggerRule) for t in triggers)
           else parse_triggers(list(triggers), source))
    try:
        return scenario.with_policy(pol, trg)
    except ScenarioError as exc:  # outside the run: name the file the rules came from
        raise ScenarioError(f"{exc} (in {source})" if source else str(exc)) from None
