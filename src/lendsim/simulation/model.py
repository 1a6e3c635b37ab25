"""MarketModel: the state of an internet consumer-finance market and its monthly schedule.

The model holds the state (borrowers, the loan book, platforms, banks, the regulator, the
networks) and runs the month as an ordered tuple of phases, one module each under
:mod:`lendsim.simulation.phases`; agents and their strategies make the decisions, pure array
functions in :mod:`lendsim.agents.rules` compute.

References:
    docs/ODD.md (the ODD protocol description of the model): section 3 lists the phases in
    this order; section 7 describes each rule with its source.
"""

from __future__ import annotations

import time
from typing import Any

import mesa
import numpy as np
import pandas as pd
import scipy.sparse as sp

from lendsim.agents import guarantors
from lendsim.agents.borrowers import RISK_SEGMENTS, Borrower, BorrowerPopulation
from lendsim.agents.platforms import Platform
from lendsim.agents.regulators import Regulator
from lendsim.agents.rules import marketing
from lendsim.simulation import allocator, setup, shocks
from lendsim.simulation.channels import Cascade
from lendsim.simulation.credit_lines import CreditLines
from lendsim.simulation.debt import DebtState
from lendsim.simulation.early_warning import EarlyWarning
from lendsim.simulation.layers import to_networkx, write_layer
from lendsim.simulation.ledger import FundingPools, LoanBook, LoanStatus
from lendsim.simulation.macro import IncomeShockWindow, macro_state
from lendsim.simulation.month import Month
from lendsim.simulation.networks import social_network
from lendsim.simulation.outputs import (MODEL_COLUMNS, TableCollector, build_tables,
                                       check_invariants)
from lendsim.simulation.features import feature_names
from lendsim.simulation.params import PLATFORM_TYPES, Scenario
from lendsim.simulation.phases import (accounting, banks_adapt, collect, credit_lines, demand,
                                       environment, failures, funding, income,
                                       platforms_adapt, repayment, supervise, underwriting)
from lendsim.simulation.scenario import load_scenario

#: Loan-book rows reserved per borrower (virtual memory; see ``MarketModel.__init__``)
BOOK_ROWS_PER_BORROWER = 16


def _wide(column: np.ndarray) -> np.ndarray:
    """A loan-book column as a user handles it: integers as int64, the rest as they are."""
    return column.astype(np.int64) if column.dtype.kind in "iu" else column


class MarketModel(mesa.Model):
    """An internet consumer-finance market: borrowers, platforms, banks and a regulator.

    Args:
        scenario: validated parameters (default: the shipped baseline scenario).
        seed: overrides ``scenario.simulation.seed``; the model's only source of randomness is
            ``self.rng``, seeded with it.
        check_invariants: overrides ``scenario.simulation.check_invariants``; when true every
            step asserts that balance sheets add up (raises :class:`InvariantError`).
        rng: a synonym of ``seed`` (an int), for Mesa tools that pass ``rng``.
        **overrides: parameters by dotted key, for tools that pass keyword arguments (Mesa's
            ``batch_run``): ``MarketModel(**{"regulator.apr_cap": 0.24})``.

    Use ``model.step()`` for one month or ``model.run(steps)``; ``model.burn_in()`` runs the
    burn-in alone (to change parameters from month 1 on); ``model.tables()`` returns the
    outputs as pandas DataFrames; ``model.schedule(shock, step)`` schedules a shock
    (:mod:`lendsim.simulation.shocks`).

    Time: ``model.t`` is the month, 1 for the first recorded one. With
    ``simulation.burn_in = B`` the first call of ``step`` first simulates months ``1 - B`` to
    0 unrecorded (the market settles), so the tables, policy changes, triggers and shocks all
    count from month 1 after them. Mesa's ``model.steps`` counts calls of ``step``, equal to
    ``model.t`` after the burn-in.
    """

    #: The month, in order (docs/ODD.md, section 3): each phase is a module with ``step(model)``.
    PHASES = (environment, income, demand, funding, credit_lines, underwriting, repayment,
              accounting, failures, platforms_adapt, banks_adapt, supervise, collect)
    LAYERS = ("social", "lending", "funding", "interbank")

    def __init__(self, scenario: Scenario | None = None, *, seed: int | None = None,
                 check_invariants: bool | None = None, rng: int | None = None,
                 **overrides: Any):
        if scenario is None:
            scenario = load_scenario()
        if overrides:
            scenario = scenario.with_overrides(overrides, source="MarketModel arguments")
        if seed is None and rng is not None:
            if isinstance(rng, bool) or not isinstance(rng, (int, np.integer)):
                raise TypeError(f"rng = {rng!r}: lendsim takes an integer seed (its one "
                                "numpy Generator is made from it)")
            seed = rng
        seed = scenario.simulation.seed if seed is None else int(seed)
        super().__init__(rng=seed)
        allocator.tune()  # the same page-fault cost in every run (lendsim.simulation.allocator)
        self.params = scenario  # (Mesa 3.5 reserves Model.scenario for its own scenarios)
        self.seed = seed
        self.check = (scenario.simulation.check_invariants if check_invariants is None
                      else check_invariants)
        p = scenario
        n = p.borrowers.n
        self.n_borrowers = n
        self.first_t = 1 - p.simulation.burn_in  # the first simulated month
        self.t = self.first_t - 1  # the month (1 = the first recorded one); none run yet
        self._burn_in_left = p.simulation.burn_in
        s = p.network.social
        self.social = social_network(n, s.kind, s.mean_degree, self.rng, rewire_p=s.rewire_p,
                                     edge_list=s.edge_list or None)
        self.population = BorrowerPopulation(p.borrowers, p.macro, self.rng)
        # what lenders see: the base features and the alternative data any type sees
        self.features = feature_names({f for k in PLATFORM_TYPES
                                       for f in p.platforms.type_params(k).alt_data_names()})
        # room for the book without regrowing: a regrowth copies each column, so for a moment
        # it is held twice. Pages never written cost no memory, so reserving far more rows
        # than are used is free; the default market peaks near 11 loans a borrower
        self.loans = LoanBook(capacity=max(1024, BOOK_ROWS_PER_BORROWER * n),
                              n_features=len(self.features))
        self.pools = FundingPools(p.banks.n)
        self.regulator = Regulator(self, p.regulator, p.policy, p.triggers)
        self.banks = setup.create_banks(self)
        self.interbank = setup.create_interbank(self)  # dense (n_banks, n_banks), RMB
        self.platforms: list[Platform] = []
        self.lines = np.zeros((p.banks.n, p.platforms.max_n))  # bank x platform, RMB
        self.target_weight = np.zeros(p.platforms.max_n)  # exp(convenience) of each platform
        self.credit_lines = CreditLines(n, n_features=len(self.features))
        self.early_warning = EarlyWarning(n, p.platforms)  # platforms' early warning (7.21)
        self.lines_policy = None  # the rules in force last month (a change reviews lines)
        self.guarantors = guarantors.create(self)  # guarantee.n (default none)
        for kind in setup.initial_types(self):
            setup.add_platform(self, kind, initial=True)
        self.borrower_agents: dict[int, Borrower] = {}
        if n <= p.simulation.agent_threshold:
            for i in range(n):
                self.borrower_agents[i] = Borrower(self, i)
        # borrower * platforms.max_n + platform of every default, sorted: a platform refuses
        # a borrower who defaulted with it
        self.default_keys = np.zeros(0, dtype=np.int64)
        # the same keys of the borrowers who walked away from a failed lender (7.17.3)
        self.walked_keys = np.zeros(0, dtype=np.int64)
        # outputs: one dict per step (model), per platform and bank and step, events, snapshots
        self.records: dict[str, list] = {"model": [], "platforms": [], "banks": [],
                                         "events": [], "borrowers": [], "validation": []}
        self.cascade: Cascade | None = None  # institution failures still spreading
        self.cascades: list[dict] = []  # rows of the cascades table, closed cascades
        self.prev_equity = self.platform_values("equity")  # for platforms' trailing ROE
        self.market_share: np.ndarray | None = None  # last month's, of live platforms' books
        # debt as lenders see it: the end of last month plus this month's new loans
        self.debt: DebtState | None = None
        # open balances by funding pool, valid from accounting to the next month's funding
        self.pool_balances: np.ndarray | None = None
        self.macro = macro_state(p.macro, 1)
        self.apr_cap = self.regulator.apr_cap(self.macro.benchmark_rate)
        self.is_covered = np.zeros(n, dtype=bool)  # visible through the credit bureau
        self.arrears_covered = self.is_covered  # ... with their arrears
        self.defaults_covered = self.is_covered  # ... with their defaults
        # applications each borrower made last month, as the bureau recorded them
        self.inquiries = np.zeros(n, dtype=np.int32)
        # recent applications and approvals by platform, risk segment and whether the
        # applicant owed the platform (decaying counts): borrowers' approval beliefs (7.5)
        self.approval_counts = np.zeros((2, p.platforms.max_n, 6))
        self.income_shock: IncomeShockWindow | None = None
        self.scheduled: dict[int, list[shocks.Shock]] = {}
        for shock, step in shocks.from_scenario(p):
            self.schedule(shock, step)
        self.month = Month(n, len(self.platforms))
        self.timings = {"setup_s": 0.0, "run_s": 0.0}
        self.datacollector = TableCollector(self)  # Mesa's interface (mesa.batch_run)
        self._view_cache = None

    # ============================================================== the monthly cycle
    def step(self) -> None:
        """One month: the phases of ``PHASES``, in order (docs/ODD.md, section 3).

        1. environment: shocks due, macro state, the regulator's schedule and triggered rules,
           the cap and data sharing in force, operational incidents;
        2. income: employment transitions, income;
        3. demand: spending needs and credit requests;
        4. funding: each platform's capacity and funding split with its partner banks;
        5. credit lines: convenience requests drawn on credit lines (reviews first);
        6. underwriting: the other applicants apply in order of preference; platforms score,
           price, cap and limit; borrowers spend;
        7. repayment: interest, instalments due; shortfalls met by borrowing elsewhere (loan
           stacking) or missed; strategic non-payment; delinquency and default;
        8. accounting: charge-offs, loss sharing, fees, provisions, costs, dividends;
        9. failures: platforms and banks whose equity is gone; interbank contagion;
        10. platforms adapt: training, prices, cut-offs, refits; exit and entry;
        11. banks adapt funding lines;
        12. supervise: the month's debt state; the regulator's indicators;
        13. collect: cascades and the output tables.
        """
        self.burn_in()  # the first call runs the burn-in months first, unrecorded
        self._run_month()

    def burn_in(self) -> MarketModel:
        """Simulate the burn-in months (``1 - simulation.burn_in`` to 0, unrecorded) if they
        have not run; the first ``step`` calls it. Called on its own, it leaves the model at
        the start of month 1, where parameters can still be changed for the recorded months
        (``lendsim.experiments.channel_attribution`` switches a channel off there, so that
        the paired runs share their history)."""
        if self._burn_in_left:
            months, self._burn_in_left = self._burn_in_left, 0
            for _ in range(months):
                self._run_month()
            self._start_recording()
        return self

    def _run_month(self) -> None:
        self.t += 1
        self.month = Month(self.n_borrowers, len(self.platforms))
        guarantors.start_month(self)
        for pl in self.platforms:
            pl.start_month()
        for phase in self.PHASES:
            phase.step(self)
        if self.check:
            self.check_invariants()

    def _start_recording(self) -> None:
        """After the burn-in: the output tables start empty (the regulator keeps its
        indicators' history for its early warnings)."""
        for rows in self.records.values():
            rows.clear()
        self.cascades.clear()
        self.cascade = None

    def run(self, steps: int | None = None, progress=None) -> MarketModel:
        """Run ``steps`` recorded months (default: ``scenario.simulation.steps``), after the
        burn-in if it has not run yet."""
        steps = self.params.simulation.steps if steps is None else steps
        t0 = time.perf_counter()
        for _ in range(steps):
            self.step()
            if progress is not None:
                progress(self)
        self.timings["run_s"] += time.perf_counter() - t0
        return self

    def schedule(self, shock: shocks.Shock, step: int) -> None:
        """Make ``shock`` happen in month ``step`` (later than the current month)."""
        if not isinstance(shock, shocks.Shock):
            raise TypeError(f"{shock!r}: schedule takes a Shock (lendsim.simulation.shocks)")
        if int(step) <= self.t:
            raise ValueError(f"schedule: step {step} has passed (the model is at step "
                             f"{self.t}); shocks need a later month")
        self.scheduled.setdefault(int(step), []).append(shock)

    def log_event(self, kind: str, agent_type: str, agent_id: int, size: float,
                  detail: str) -> None:
        """Append a row to the events table (at the current step)."""
        self.records["events"].append({"step": self.t, "kind": kind,
                                       "agent_type": agent_type, "agent_id": int(agent_id),
                                       "size": float(size), "detail": detail})

    # ============================================================== queries
    def platform_values(self, attr: str, dtype=float) -> np.ndarray:
        """An attribute of every platform, as an array indexed by platform."""
        return np.array([getattr(pl, attr) for pl in self.platforms], dtype=dtype)

    def debt_now(self) -> DebtState:
        """This month's debt state, with a column for every platform (entrants included)."""
        self.debt.widen(len(self.platforms))
        return self.debt

    def market_share_or_prior(self) -> np.ndarray:
        """Last month's market shares; before the first month (or with no live book) each
        platform's share of exp(convenience)."""
        P = len(self.platforms)
        share = self.market_share
        if share is None or len(share) < P or share.sum() <= 0:
            w = self.target_weight[:P]
            return w / w.sum()
        return np.r_[share, np.zeros(P - len(share))]

    def brand_share(self) -> np.ndarray:
        """What each platform's brand in borrowers' choice is a share of (docs/ODD.md 7.5):
        its share of live platforms' marketing goodwill (``platforms.brand_source =
        'marketing'``), or its market share (``'share'``); before any platform has goodwill
        or a book, the prior of :meth:`market_share_or_prior`."""
        if self.params.platforms.brand_source == "share":
            return self.market_share_or_prior()
        voice = marketing.voice_share(self.platform_values("goodwill"),
                                      self.platform_values("is_active", bool))
        return voice if voice.sum() > 0 else self.market_share_or_prior()

    def bank_outstanding(self) -> np.ndarray:
        """Banks' open joint loans by platform, array (n_platforms, n_banks), RMB."""
        bal = self.pool_balances
        if bal is None or len(bal) != self.pools.n:
            bal = accounting.pool_balances(self)[0].sum(axis=1)
        return self.pools.bank_by_platform(bal, len(self.platforms))

    def borrower_debt(self) -> np.ndarray:
        """Total open debt of every borrower, RMB."""
        L = self.loans
        m = L.is_open()
        return np.bincount(L.borrower_idx[m], weights=L.balance[m], minlength=self.n_borrowers)

    def borrower_lenders(self) -> np.ndarray:
        """Number of distinct lenders each borrower owes."""
        return self.debt_between_steps().n_lenders

    def debt_between_steps(self) -> DebtState:
        """The debt state as of the last completed step, computed once per step:
        ``Borrower.debt`` over thousands of agents must not redo it per agent."""
        key = (self.t, self.loans.n)
        if self._view_cache is None or self._view_cache[0] != key:
            self._view_cache = (key, DebtState.from_book(self.loans, self.n_borrowers,
                                                         len(self.platforms)))
        return self._view_cache[1]

    def layer(self, name: str):
        """One network layer as a scipy CSR matrix:

        - ``social``: borrowers x borrowers, symmetric 0/1 ties;
        - ``lending``: borrowers x platforms, open balance owed, RMB (from the loan book);
        - ``funding``: banks x platforms, open joint loans the bank funds, RMB (contracts);
        - ``interbank``: banks x banks, ``[i, j]`` what bank i is owed by bank j, RMB.
        """
        if name == "social":
            return sp.csr_matrix(self.social)
        if name == "lending":
            L = self.loans
            m = L.is_open()
            return sp.csr_matrix((L.balance[m], (L.borrower_idx[m], L.platform_idx[m])),
                                 shape=(self.n_borrowers, len(self.platforms)))
        if name == "funding":
            return sp.csr_matrix(self.bank_outstanding().T)
        if name == "interbank":
            return sp.csr_matrix(self.interbank)
        raise ValueError(f"layer {name!r}: allowed: {', '.join(self.LAYERS)}")

    def layer_graph(self, name: str):
        """A layer as a networkx graph (bipartite layers with a ``bipartite`` node flag)."""
        return to_networkx(self.layer(name), directed=name != "social")

    def export_layer(self, name: str, path) -> None:
        """Write a layer as an edge list (``.csv``) or GraphML (``.graphml``) for other
        tools."""
        write_layer(self.layer(name), path, directed=name != "social")

    def borrower(self, idx: int) -> Borrower:
        """The Mesa agent of borrower ``idx`` (made on demand above the agent threshold)."""
        if not 0 <= idx < self.n_borrowers:
            raise IndexError(f"borrower {idx} out of range 0..{self.n_borrowers - 1}")
        if idx not in self.borrower_agents:
            self.borrower_agents[idx] = Borrower(self, idx)
        return self.borrower_agents[idx]

    def loans_frame(self, borrower_idx: int | None = None) -> pd.DataFrame:
        """Open loans as a DataFrame (optionally of one borrower)."""
        L = self.loans
        m = L.is_open()
        if borrower_idx is not None:
            m &= L.borrower_idx == borrower_idx
        cols = ("borrower_idx", "platform_idx", "principal", "balance", "apr", "instalment",
                "term", "months_left", "n_missed", "status", "origination_step",
                "is_refinance")
        # the book's narrow integers widened: a user's ``term * 30`` must not wrap around
        df = pd.DataFrame({c: _wide(getattr(L, c)[m]) for c in cols})
        df["status"] = [LoanStatus(s).name for s in df["status"]]
        return df

    def tables(self) -> dict[str, pd.DataFrame]:
        """Outputs so far: model, platforms, banks, events, cascades (and borrowers
        snapshots)."""
        return build_tables(self)

    def check_invariants(self) -> None:
        """Assert the balance-sheet identities now (see ``outputs.check_invariants``)."""
        check_invariants(self)

    def close(self) -> None:
        """Free the model's memory: Mesa 3.3 keeps every model alive through ``Agent._ids``."""
        self.remove_all_agents()
        ids = getattr(mesa.Agent, "_ids", None)
        if isinstance(ids, dict):
            ids.pop(self, None)
        self.borrower_agents.clear()


__all__ = ["MarketModel", "MODEL_COLUMNS", "RISK_SEGMENTS"]
