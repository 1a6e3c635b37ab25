"""Balance-sheet postings shared by platforms and banks.

Every change to an institution's balance sheet goes through :meth:`Institution.post` (or
:meth:`Institution.provision`), so a reader finds each posting where the agent is, and each
posting names both sides: a cost is ``post(cash=-c, equity=-c)``.
"""

from __future__ import annotations

from typing import ClassVar


class Institution:
    """Mixin: ``post`` adds deltas to balance-sheet fields; ``provision`` sets the allowance.

    Subclasses list their balance-sheet fields in ``BALANCE_FIELDS`` and name the field that
    holds their share of the loan book in ``LOANS``.
    """

    BALANCE_FIELDS: ClassVar[tuple[str, ...]] = ()
    LOANS: ClassVar[str] = ""

    def post(self, **deltas: float) -> None:
        """Add each delta (RMB) to its balance-sheet field, e.g. ``post(cash=-c, equity=-c)``
        for a cost paid in cash."""
        for field, delta in deltas.items():
            if field not in self.BALANCE_FIELDS:
                raise AttributeError(f"{type(self).__name__} has no balance-sheet field "
                                     f"{field!r}: {', '.join(self.BALANCE_FIELDS)}")
            setattr(self, field, getattr(self, field) + delta)

    def provision(self, target: float) -> None:
        """Set the loan-loss allowance to ``target`` (RMB); the change is charged to
        equity."""
        delta = target - self.allowance
        self.allowance = target
        self.equity -= delta
