"""Phase 1, environment: shocks due this month, the macro state, the regulator's schedule and
triggered rules, the rate cap and data sharing in force, operational incidents.

References:
    docs/ODD.md, 3. Process overview, phase 1; operational incidents (channel 7) and reputation
    news (channel 6) in 7. Submodels, "Contagion channels".
"""

from __future__ import annotations

import numpy as np

from lendsim.simulation.credit_lines import LINE_RULES
from lendsim.simulation.macro import macro_state
from lendsim.simulation.phases import failures

#: A data breach costs a platform this many times the reputation an outage costs: customers'
#: data, not only a day's service, is lost (an assumption of the model, not a calibrated figure).
BREACH_REPUTATION_MULTIPLE = 2.0
#: Platforms of the same type lose reputation over another's incident, by this divisor of what
#: the platform itself loses (news about one lender colours its kind; an assumption).
TYPE_NEWS_DIVISOR = 3.0


def step(model) -> None:
    due = model.scheduled.pop(model.t, [])
    for shock in due:
        shock.before_month(model)
    model.macro = macro_state(model.params.macro, model.t, model.income_shock,
                              first_step=model.first_t)
    policy_changes(model)
    model.apr_cap = model.regulator.apr_cap(model.macro.benchmark_rate)
    pol = model.regulator.policy
    old, model.lines_policy = model.lines_policy, pol
    if old is not None and any(getattr(old, k) != getattr(pol, k) for k in LINE_RULES):
        model.credit_lines.review_all(model.t)  # lenders re-underwrite under new rules
    model.is_covered = model.population.bureau_u < pol.data_sharing
    # whose arrears and whose defaults the bureau reports (negative data)
    none = np.zeros_like(model.is_covered)
    model.arrears_covered = model.is_covered if pol.share_arrears else none
    model.defaults_covered = model.is_covered if pol.share_defaults else none
    incidents(model)
    for shock in due:
        shock.apply(model)


def policy_changes(model) -> None:
    """The regulator applies its schedule for this month, then acts on last month's
    indicators (triggered rules); both are logged as events."""
    reg = model.regulator
    for c in reg.schedule if reg.policy.apply_schedule else ():
        if model.t == c.announce and c.announce < c.step:
            model.log_event("policy_announced", "regulator", -1, np.nan,
                            f"{c.key} = {c.value!r} from month {c.step}")
        if model.t == c.step:
            model.log_event("policy_change", "regulator", -1, np.nan,
                            f"{c.key} = {c.value!r}"
                            + (f", phased in over {c.phase_in} months" if c.phase_in else ""))
    reg.apply_schedule(model.t)
    last = model.records["model"][-1] if model.records["model"] else {}
    for _, rule, who in reg.check_triggers(model.t, last, model.platforms, model.banks):
        reg.enforce(rule, who)


def incidents(model) -> None:
    """Operational incidents (channel 7): an outage stops a platform lending this month; a
    data breach costs ``breach_cost`` of its equity. Both cost reputation, the platform's
    own and (a third as much) its type's."""
    cp = model.params.contagion
    if not cp.operational or cp.incident_rate <= 0:
        return
    P = len(model.platforms)
    hit = (model.rng.random(P) < cp.incident_rate) & model.platform_values("is_active", bool)
    is_breach = model.rng.random(P) < cp.breach_share
    month = model.month
    for i in np.flatnonzero(hit):
        pl = model.platforms[i]
        if is_breach[i]:
            month.breached.add(pl.idx)
            cost = cp.breach_cost * max(pl.equity, 0.0)
            pl.post(cash=-cost, equity=-cost)
            pl.record("incident_cost", cost)
            month.losses["operational"] += cost
            what = "data breach"
        else:
            pl.outage_step = model.t
            cost, what = 0.0, "outage"
        month.n_incidents += 1
        loss = min(1.0, cp.incident_reputation_hit
                   * (BREACH_REPUTATION_MULTIPLE if is_breach[i] else 1.0))
        pl.reputation *= 1.0 - loss
        failures.reputation_shock(model, pl, loss / TYPE_NEWS_DIVISOR)
        model.log_event("incident", "platform", pl.idx, cost, f"{pl.kind}: {what}")
