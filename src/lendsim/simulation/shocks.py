"""Shocks: registered classes that a scenario, a script or the dashboard schedules.

``model.schedule(shock, step)`` makes ``shock`` happen in month ``step``. The scenario's
``[shocks]`` table and ``macro.shock_*`` parameters are scheduled this way when the model is
built; the dashboard's buttons schedule the same classes for the next month.

A shock has two hooks, both run in the *environment* phase of its month:

- ``before_month(model)``: changes to this month's environment, before the macro state is
  computed (an income shock);
- ``apply(model)``: losses and closures, after the regulator has acted and operational
  incidents have happened (a bank's loss, a platform's closure).

A new shock is a subclass of :class:`Shock` with a ``name``, registered with :func:`register`.

References:
    Shocks as registered classes, like Starsim's interventions; the built-in
    shocks are described in docs/ODD.md, 7. Submodels, "Scheduled shocks".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from lendsim.simulation import registry
from lendsim.simulation.macro import IncomeShockWindow
from lendsim.simulation.params import Scenario
from lendsim.simulation.phases import failures


class Shock:
    """Base of every shock."""

    name: ClassVar[str] = ""

    def before_month(self, model) -> None:
        """Change this month's environment (called before the macro state is computed)."""

    def apply(self, model) -> None:
        """Hit institutions (called at the end of the environment phase)."""


def register(cls: type) -> type:
    """Register a shock class under its ``name`` (use as a class decorator)."""
    if not (isinstance(cls, type) and issubclass(cls, Shock)):
        raise TypeError(f"{cls!r}: a shock is a subclass of Shock")
    registry.SHOCKS.add(cls.name, cls)
    return cls


@register
@dataclass(frozen=True)
class IncomeShock(Shock):
    """From its month on, for ``months`` months, the employed lose ``income_loss`` of their
    income and unemployment rises by ``unemployment`` (fractions).

    References:
        The early-2020 income shock (docs/calibration.md): a top platform's 30+ delinquency
        went from 1.76 % in January to 3.01 % in May 2020.
    """

    name: ClassVar[str] = "income_shock"
    months: int = 4
    income_loss: float = 0.2
    unemployment: float = 0.04

    def before_month(self, model):
        model.income_shock = IncomeShockWindow(model.t, self.months, self.income_loss,
                                               self.unemployment)


@register
@dataclass(frozen=True)
class BankLoss(Shock):
    """Bank ``bank`` (0 = the largest) loses ``share`` of its other (non-platform) loans; it
    fails in this month's accounting if its equity is gone."""

    name: ClassVar[str] = "bank_loss"
    bank: int = 0
    share: float = 0.2

    def apply(self, model):
        bk = model.banks[self.bank]
        loss = self.share * bk.other_loans
        bk.post(other_loans=-loss, equity=-loss)
        model.month.shocked_banks.add(bk.idx)
        model.log_event("shock", "bank", bk.idx, loss, "loss on other loans")


@register
@dataclass(frozen=True)
class PlatformClosure(Shock):
    """The largest live platform (by open loans managed) of ``platform_type`` is closed, and
    fails as any failure does (events, news to its type, borrowers who walk away)."""

    name: ClassVar[str] = "platform_closure"
    platform_type: str = "consumer_finance"

    def apply(self, model):
        live = [pl for pl in model.platforms
                if pl.is_active and pl.kind == self.platform_type]
        if not live:
            return
        L = model.loans
        managed = L.balance_by(L.platform_idx, len(model.platforms), L.is_open())
        pl = max(live, key=lambda q: managed[q.idx])
        failures.fail_platform(model, pl, "platform_failure", "shock",
                               f"{pl.kind}: closed (shock)")
        model.month.platform_failures += 1


def from_scenario(scenario: Scenario) -> list[tuple[Shock, int]]:
    """The shocks a scenario schedules, with their months: ``macro.shock_*`` and
    ``[shocks]``."""
    out: list[tuple[Shock, int]] = []
    m, sh = scenario.macro, scenario.shocks
    if m.shock_start > 0:
        out.append((IncomeShock(m.shock_months, m.shock_income_loss, m.shock_unemployment),
                    m.shock_start))
    if sh.bank_loss_step:
        out.append((BankLoss(sh.bank_loss_bank, sh.bank_loss_share), sh.bank_loss_step))
    if sh.platform_failure_step:
        out.append((PlatformClosure(sh.platform_failure_type), sh.platform_failure_step))
    return out
