"""Contagion channels: names, attribution of credit losses, and cascade records.

Borrower-layer channels split each month's credit losses (charge-offs net of recoveries) by the
cause of the missed payments that made each loan default, decided within the month on common
random numbers: a miss is social if the same draw would have been paid without defaulted
contacts, a walk-away if it came from the lender's failure; what is left is ``fundamental``.
The debt spiral cannot be attributed that way: a loan taken to repay another lender changes
what the borrower owes and whether it defaults for months afterwards, so its loss is measured
by switching the channel off on common seeds (:func:`lendsim.experiments.channel_attribution`);
the model table only records ``refinance_loan_losses``, the losses on refinancing loans, which
says where losses sit, not what the spiral caused. Institution-layer channels are losses passed
to or caused at banks and platforms. Every channel but the debt spiral has a
``losses_<channel>`` column in the model table, RMB per month.

References:
    docs/ODD.md, 7.17 (contagion channels: each can be switched off; losses are attributed per
    channel).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lendsim.simulation.ledger import MissCause

CREDIT_CHANNELS = ("social", "debt_spiral", "platform_failure")
#: credit channels whose losses the model attributes within the run (the debt spiral's come
#: from paired runs, ``lendsim.experiments.channel_attribution``)
IN_RUN_CREDIT_CHANNELS = ("social", "platform_failure")
INSTITUTION_CHANNELS = ("common_funder", "interbank", "reputation", "operational",
                        "guarantee")
CHANNELS = CREDIT_CHANNELS + INSTITUTION_CHANNELS
#: model-table columns: credit losses split into fundamental + the credit channels attributed
#: within the run, and the institution-layer channels
LOSS_COLUMNS = tuple(f"losses_{c}" for c in ("fundamental",) + IN_RUN_CREDIT_CHANNELS
                     + INSTITUTION_CHANNELS)


def credit_loss_channels(loss: np.ndarray, resolver_loss: np.ndarray, cause: np.ndarray
                         ) -> dict[str, float]:
    """Split charged-off loans' credit losses by the cause of their last missed payment, RMB.

    Args:
        loss: each loan's charge-off net of the recovery a live lender would make.
        resolver_loss: recovery lost because the lender had failed (its resolver collects less).
        cause: ``MissCause`` of each loan's last missed instalment.

    Returns:
        ``{"fundamental", "social", "platform_failure"}`` -> RMB; they add up to
        ``loss.sum() + resolver_loss.sum()``. A walk-away from a failed lender and the
        resolver's shortfall count as platform failure, a peer-tipped miss as social. Both are
        counterfactuals on common random numbers: without the channel the same draw pays
        (social, 7.17.1), the lender does not fail into a walk-away or a resolver (7.17.3).
        Loans taken to repay another lender (the debt spiral) are split like any other: what
        the spiral causes is measured by paired runs (``channel_attribution``).

    Examples:
        >>> out = credit_loss_channels(np.array([10.0, 20, 30, 40]), np.array([0, 0, 0, 5.0]),
        ...     np.array([0, 1, 0, 2]))
        >>> {k: float(v) for k, v in out.items()}
        {'fundamental': 40.0, 'social': 20.0, 'platform_failure': 45.0}
    """
    social = cause == MissCause.SOCIAL
    walk = cause == MissCause.PLATFORM_FAILURE
    return {
        "fundamental": float(loss[~social & ~walk].sum()),
        "social": float(loss[social].sum()),
        "platform_failure": float(loss[walk].sum() + resolver_loss.sum()),
    }


def refinance_loan_losses(loss: np.ndarray, resolver_loss: np.ndarray,
                          is_refinance: np.ndarray) -> float:
    """Credit losses on loans taken to repay another lender, RMB: where losses sit, not what
    the debt spiral caused (part of the other channels' losses, not added to them).

    Examples:
        >>> float(refinance_loan_losses(np.array([10.0, 20]), np.array([1.0, 2]),
        ...                             np.array([False, True])))
        22.0
    """
    m = is_refinance.astype(bool)
    return float(loss[m].sum() + resolver_loss[m].sum())


@dataclass
class Cascade:
    """Institution failures in consecutive months: one cascade.

    A cascade opens with a failure (its trigger) and grows while every following month has at
    least one more failure; the first month without one closes it.
    """

    start_step: int
    trigger: str
    failures: list[tuple[int, str, int, str]] = field(default_factory=list)
    last_step: int = 0

    def add(self, step: int, agent_type: str, agent_id: int, channel: str) -> None:
        self.failures.append((step, agent_type, agent_id, channel))
        self.last_step = step

    @property
    def size(self) -> int:
        return len(self.failures)

    @property
    def duration(self) -> int:
        """Months from the trigger to the last failure, inclusive."""
        return self.last_step - self.start_step + 1

    def channels(self) -> list[str]:
        return sorted({c for *_, c in self.failures})

    def event(self, ongoing: bool = False) -> dict:
        """The cascade as a row of the event log (``size`` = number of failures)."""
        n_plat = sum(1 for f in self.failures if f[1] == "platform")
        n_guar = sum(1 for f in self.failures if f[1] == "guarantor")
        guar = f", {n_guar} guarantors" if n_guar else ""
        detail = (f"trigger: {self.trigger}; duration {self.duration} months; "
                  f"{n_plat} platforms, {self.size - n_plat - n_guar} banks{guar}; channels: "
                  f"{', '.join(self.channels())}" + ("; ongoing" if ongoing else ""))
        return {"step": self.start_step, "kind": "cascade", "agent_type": "system",
                "agent_id": -1, "size": float(self.size), "detail": detail}
