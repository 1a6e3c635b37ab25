"""The month's scratch data: what one phase of a step hands to the next.

A :class:`Month` is made at the start of every step and dropped at its end; nothing in it
outlives the month except through the output tables (data collection reads its counters).
Model state that persists from month to month lives on :class:`MarketModel` itself.
"""

from __future__ import annotations

import numpy as np

from lendsim import kernels
from lendsim.simulation.channels import LOSS_COLUMNS

#: the counters :meth:`Month.tally` adds to, in the order of ``kernels.tally_round``'s sums
_TALLIED = ("apps", "apps_q", "approved", "approved_q", "orig_by_segment", "apr_by_segment",
            "orig_by_quintile", "apr_by_quintile", "orig_by_platform", "apr_by_platform",
            "orig_by_platform_segment", "apr_by_platform_segment", "n_new_by_platform",
            "el_by_platform", "exposure_by_platform")


class ClosingBook:
    """The loan book's tallies at the month's close, taken once and read by the phases
    after compaction (platforms adapt, supervise, data collection), between which no phase
    changes a loan: which loans are open; by platform, :func:`lendsim.kernels.book_by_platform`
    (balances open, 1+ and 3+ payments behind, 1 and 2 behind, RMB; open loans); and, at
    the first call of :meth:`sums`, the sector's open balance and its parts 1+ and 3+
    payments behind (RMB).

    With ``simulation.check_invariants`` on, every month ends by checking these against the
    book (``outputs.check_invariants``)."""

    def __init__(self, loans, n_platforms: int):
        self._loans = loans
        self.n_platforms = n_platforms
        self.is_open = loans.is_open()
        self.by_platform = kernels.book_by_platform(loans.status, loans.n_missed,
                                                    loans.balance, loans.platform_idx,
                                                    n_platforms)
        self._sums: tuple[float, float, float] | None = None

    def sums(self) -> tuple[float, float, float]:
        """Open balance, and its parts 1+ and 3+ payments behind, RMB (numpy's sums of the
        open loans' balances, in book order)."""
        if self._sums is None:
            L = self._loans
            self._sums = tuple(float(a.sum()) for a in kernels.open_balances(
                self.is_open, L.n_missed, L.balance))
        return self._sums


def closing_book(model) -> ClosingBook:
    """The month's :class:`ClosingBook`, taken at the first call (a new one when platforms
    entered since)."""
    m = model.month
    cb = m.closing_book
    if cb is None or cb.n_platforms != len(model.platforms) or cb._loans is not model.loans:
        cb = m.closing_book = ClosingBook(model.loans, len(model.platforms))
    return cb


class Month:
    """Scratch data and counters of one step, written by the phases in schedule order.

    Written by *demand*:
        due_estimate: each borrower's instalments due this month, RMB (n_borrowers,).
        applicants: borrowers asking for purchase credit (indices).
        request: what each applicant asks for, RMB.
        is_convenience: whether each request is convenience credit (one-month, a line draw).
        cash_applicants, cash_request: borrowers asking for a cash loan, and how much, RMB.

    Written by *funding*:
        capacity: each platform's lending capacity left this month, RMB (n_platforms,);
            lending uses it up.
        pool_of: each platform's funding pool of the month (-1: it does not lend).

    Written by *credit lines* and *underwriting*:
        granted: credit each applicant received this month, RMB (aligned with
            ``applicants``).
        matured: loans that matured (repaid or defaulted) and will train their lender's
            scoring model: ``(rows, label)``.

    Written by *repayment*, read by data collection:
        roll_base, rolled: the roll-rate counts by platform (docs/ODD.md 7.10), RMB.

    Written by *underwriting*, read by *accounting*:
        origination_cost_by_platform: what the month's underwritten loans cost each platform
            to originate, RMB (``platforms.<type>.cost_per_loan`` each).

    Written by *platforms adapt*, read by *supervise* and data collection:
        closing_book: the loan book's tallies at the month's close (:class:`ClosingBook`,
            :func:`closing_book`).

    Written by *accounting*, read by *failures*:
        run_cost: the cost each platform paid to meet retail withdrawals, RMB.

    Written by *accounting*, read by *platforms adapt*:
        net_charge_offs_by_platform: balances charged off this month less what was
            recovered, by the platform that originated the loans, RMB (n_platforms,);
        principal_charged_off_by_platform, n_charged_off_by_platform: the original principal
            (RMB) and the number of the loans charged off, by originating platform.

    Counters (read by data collection): applications and approvals by risk segment and by
    income quintile, originations, APRs and priced expected loss by platform
    (``el_by_platform``: sum of exposure x annualised expected-loss rate, and
    ``exposure_by_platform``: sum of exposure, each loan's amount x its expected months on the
    book, ``(term + 1) / 2``, RMB-months), defaults,
    failures and losses by contagion channel (``losses``, RMB).
    """

    def __init__(self, n: int, n_platforms: int):
        # demand
        self.due_estimate = np.zeros(n)
        self.applicants = np.zeros(0, dtype=np.intp)
        self.request = np.zeros(0)
        self.is_convenience = np.zeros(0, dtype=bool)
        self.cash_applicants = np.zeros(0, dtype=np.intp)
        self.cash_request = np.zeros(0)
        # funding
        self.capacity = np.zeros(n_platforms)
        self.pool_of = np.full(n_platforms, -1, dtype=np.int32)
        # credit lines and underwriting
        self.granted = np.zeros(0)
        self.matured: list[tuple] = []
        # accounting -> failures
        self.run_cost = np.zeros(n_platforms)
        self.net_charge_offs_by_platform = np.zeros(n_platforms)
        self.principal_charged_off_by_platform = np.zeros(n_platforms)
        self.n_charged_off_by_platform = np.zeros(n_platforms, dtype=np.int64)
        # counters
        self.rationed = np.zeros(n, dtype=bool)
        self.apps = np.zeros(3)
        self.approved = np.zeros(3)
        self.orig_by_segment = np.zeros(3)
        self.apr_by_segment = np.zeros(3)
        # by income quintile (who is affected)
        self.apps_q = np.zeros(5)
        self.approved_q = np.zeros(5)
        self.orig_by_quintile = np.zeros(5)
        self.apr_by_quintile = np.zeros(5)
        self.defaults_by_segment = np.zeros(3, dtype=np.int64)
        self.defaults_by_quintile = np.zeros(5, dtype=np.int64)
        self.applied = np.zeros(n, dtype=bool)
        self.inquiries = np.zeros(n, dtype=np.int32)  # applications made this month
        self.granted_any = np.zeros(n, dtype=bool)
        # the application rounds' sums not yet added to the counters (kernels.tally_round),
        # and their winners' amounts and amounts x APR (numpy sums them at the tally)
        self._sums: tuple[np.ndarray, ...] | None = None
        self._won: list[tuple[np.ndarray, np.ndarray]] = []
        self.apr_weighted = 0.0
        self.orig_amount = 0.0
        self.refinance_amount = 0.0
        # per platform; entrants join in *platforms adapt*, after the month's lending
        self.orig_by_platform = np.zeros(n_platforms)
        self.apr_by_platform = np.zeros(n_platforms)
        # originations and APR-weighted originations by platform and risk segment
        self.orig_by_platform_segment = np.zeros((n_platforms, 3))
        self.apr_by_platform_segment = np.zeros((n_platforms, 3))
        self.n_new_by_platform = np.zeros(n_platforms)
        self.el_by_platform = np.zeros(n_platforms)
        # funding: platforms whose own capacity (equity x leverage limit), not their banks'
        # lines, set this month's lending capacity
        self.own_limited = np.zeros(n_platforms, dtype=bool)
        self.exposure_by_platform = np.zeros(n_platforms)
        # origination costs of the month's underwritten loans, RMB (charged in accounting)
        self.origination_cost_by_platform = np.zeros(n_platforms)
        self.originations = 0.0
        self.charge_offs = 0.0
        self.collections = 0.0  # paid to debt collectors on charged-off debt (income), RMB
        self.new_defaults = 0
        self.platform_failures = 0
        self.platform_exits = 0
        self.platform_entries = 0
        self.bank_failures = 0
        self.consumption = 0.0
        self.losses_platforms = 0.0
        self.losses_banks = 0.0
        self.bank_joint_losses = np.zeros(0)
        self.losses = {c[len("losses_"):]: 0.0 for c in LOSS_COLUMNS}  # by channel, RMB
        self.refinance_loan_losses = 0.0  # on loans taken to repay (a location, not a cause)
        self.failures: list[tuple[str, int, str, str]] = []  # (type, idx, channel, detail)
        self.n_incidents = 0
        self.shocked_banks: set[int] = set()
        self.breached: set[int] = set()  # platforms with a data breach this month
        self.retail_withdrawals = 0.0
        # repayment: roll-rate counts by platform (phases/repayment.record_rolls), RMB:
        # roll_base[k - 1] = last month's balance of loans k payments behind then,
        # rolled[k - 1] = the part of it now k + 1 behind
        self.roll_base = [np.zeros(n_platforms), np.zeros(n_platforms)]
        self.rolled = [np.zeros(n_platforms), np.zeros(n_platforms)]
        # underwriting: who is behind on a payment as of the end of last month
        # (features.arrears_seen builds it at the month's first use)
        self.arrears: tuple[np.ndarray, np.ndarray] | None = None
        # each borrower's share of contacts behind on a payment (features.contacts_in_arrears)
        self.contacts_in_arrears: np.ndarray | None = None
        # each borrower's log income feature (features.month_log_incomes)
        self.log_income: np.ndarray | None = None
        # guarantee pools (agents/guarantors.py): claims guarantors could not pay, by platform
        # (RMB), and the month's guarantor failures
        self.lost_cover = np.zeros(n_platforms)
        self.guarantor_failures = 0
        # the book's tallies at the month's close (closing_book)
        self.closing_book: ClosingBook | None = None

    def add_credit_losses(self, by_channel: dict[str, float]) -> None:
        for k, v in by_channel.items():
            self.losses[k] += v

    def learn(self, loans: np.ndarray, label: int) -> None:
        """Matured loans (rows of the book) will train their lender's scoring model, with
        label ``label`` (1 = defaulted). Handed over once a month, in *platforms adapt*."""
        if len(loans):
            self.matured.append((loans, label))

    def count_applications(self, seg_applied, seg_won, amount, apr, is_refinance, P, plat,
                           q_applied, q_won, *, el_rate, term):
        """Record one round of applications (segments and income quintiles of applicants and
        winners; winners' amounts, APRs, platforms and the annualised expected-loss rates
        their lenders priced in, ``el_rate``, fractions, and their terms, months; ``P``
        platforms): added to the month's sums at once, so that the round's arrays are not
        held to the end of lending; :meth:`tally` adds the sums to the counters."""
        if self._sums is None:
            self._sums = tuple(np.zeros(getattr(self, name).shape) for name in _TALLIED)
        assert len(self.n_new_by_platform) == P, "a platform entered during lending"
        kernels.tally_round(seg_applied, q_applied, seg_won, q_won, plat, amount, apr,
                            np.broadcast_to(np.asarray(el_rate, dtype=float), amount.shape),
                            np.broadcast_to(np.asarray(term, dtype=float), amount.shape),
                            self._sums)
        self._won.append((amount, amount * apr))
        if is_refinance:
            self.refinance_amount += float(amount.sum())

    def tally(self) -> None:
        """Add the month's application rounds to the counters (once a month, after all
        lending)."""
        if self._sums is None:
            return
        for name, v in zip(_TALLIED, self._sums):
            getattr(self, name)[...] += v
        self._sums = None
        # numpy's pairwise sums over the month's winners, as before the kernels (a sum round
        # by round, or a loop, would round differently)
        amount, w = (np.concatenate(parts) for parts in zip(*self._won))
        self._won = []
        self.apr_weighted += float(w.sum())
        self.orig_amount += float(amount.sum())
