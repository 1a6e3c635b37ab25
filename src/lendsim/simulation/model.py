"""MarketModel: the monthly cycle of an internet consumer-finance market.

References:
    DESIGN.md, "The monthly cycle"; CALIBRATION.md for the defaults.
"""

from __future__ import annotations

import time

import mesa
import numpy as np
import pandas as pd
from scipy.special import expit

from lendsim.agents.banks import Bank
from lendsim.agents.borrowers import RISK_SEGMENTS, Borrower, BorrowerPopulation
from lendsim.agents.platforms import Platform
from lendsim.agents.regulators import Regulator
from lendsim.agents.rules import choice, repayment, underwriting
from lendsim.simulation.ledger import (N_FEATURES, FundingPools, LoanBook, LoanStatus, MissCause,
                                     put_rows)
from lendsim.simulation.macro import macro_state
from lendsim.simulation.channels import LOSS_COLUMNS, Cascade, credit_loss_channels
from lendsim.simulation.credit_lines import LINE_RULES, CreditLines
from lendsim.simulation.networks import neighbour_share, social_network
from lendsim.simulation.outputs import build_tables, check_invariants, collect_step, pad_platforms
from lendsim.simulation.params import PLATFORM_TYPES, Scenario

PROVISION_DELINQUENT = 0.3  # allowance on 30+ loans, fraction of balance
PROVISION_DEFAULTED = 0.8  # allowance on defaulted loans awaiting charge-off

MODEL_COLUMNS = (
    "step", "credit_outstanding", "originations", "approval_rate", "avg_apr", "delinquency_30",
    "delinquency_90", "default_rate", "charge_offs", "n_platforms_active", "platform_failures",
    "hhi", "bank_capital_ratio_min", "bank_failures", "borrowers_rationed",
    "multi_lender_share", "lenders_per_borrower", "overindebted_share", "unemployment_rate",
)


def _cells(m: np.ndarray, b: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A flat view of a (borrowers x platforms) array and the flat index of cells
    ``(b, p)``: ``view[cell]`` is ``m[b, p]`` (read or write), several times faster than
    indexing with a pair of index arrays."""
    if not m.flags.c_contiguous:  # a reshaped copy would swallow writes
        raise ValueError("_cells needs a C-contiguous array")
    return m.reshape(-1), _cell_key(b, p, m.shape[1])


def _cell_key(b: np.ndarray, p: np.ndarray, n_platforms: int) -> np.ndarray:
    """Flat index ``b * n_platforms + p``, as ``np.intp``: numpy gathers and scatters with
    narrower index arrays about half as fast (it casts them on every use)."""
    return b.astype(np.intp, copy=False) * n_platforms + p.astype(np.intp, copy=False)


class MarketModel(mesa.Model):
    """An internet consumer-finance market: borrowers, platforms, banks and a regulator.

    Args:
        scenario: validated parameters (default: the shipped baseline scenario).
        seed: overrides ``scenario.simulation.seed``; the model's only source of randomness is
            ``self.rng``, seeded with it.
        check_invariants: overrides ``scenario.simulation.check_invariants``; when true every
            step asserts that balance sheets add up (raises :class:`InvariantError`).

    Use ``model.step()`` for one month or ``model.run(steps)``; ``model.tables()`` returns the
    outputs as pandas DataFrames.
    """

    def __init__(self, scenario: Scenario | None = None, *, seed: int | None = None,
                 check_invariants: bool | None = None):
        if scenario is None:
            from lendsim.simulation.scenario import load_scenario
            scenario = load_scenario()
        seed = scenario.simulation.seed if seed is None else int(seed)
        super().__init__(rng=seed)
        self.params = scenario  # (Mesa 3.5 reserves Model.scenario for its own scenarios)
        self.seed = seed
        self.check = (scenario.simulation.check_invariants if check_invariants is None
                      else check_invariants)
        p = scenario
        n = p.borrowers.n
        self.n_borrowers = n
        s = p.network.social
        self.social = social_network(n, s.kind, s.mean_degree, self.rng, rewire_p=s.rewire_p,
                                     edge_list=s.edge_list or None)
        self.population = BorrowerPopulation(p.borrowers, p.macro, self.rng)
        # room for the steady-state book without regrowing (untouched pages cost no memory)
        self.loans = LoanBook(capacity=max(1024, 2 * n))
        self.pools = FundingPools(p.banks.n)
        self.regulator = Regulator(self, p.regulator, p.policy, p.triggers)
        self.banks = self._create_banks()
        self.interbank = self._create_interbank()  # dense (n_banks, n_banks), RMB
        self.platforms: list[Platform] = []
        self.lines = np.zeros((p.banks.n, p.platforms.max_n))  # bank x platform, RMB
        self._target_weight = np.zeros(p.platforms.max_n)
        # row of each borrower's open, current instalment loan at each platform (-1: none):
        # a new instalment loan there tops up that account instead of adding a row
        self._account = np.full((n, 0), -1, dtype=np.int32)
        self.credit_lines = CreditLines(n)
        self._lines_policy = None  # the rules in force last month
        for kind in self._initial_types():
            self._add_platform(kind, initial=True)
        self.borrower_agents: dict[int, Borrower] = {}
        if n <= p.simulation.agent_threshold:
            for i in range(n):
                self.borrower_agents[i] = Borrower(self, i)
        self._default_keys = np.zeros(0, dtype=np.int64)  # borrower * max_n + platform
        self._matured: list = []  # (rows, label, features or None) to train on this month
        self._records: dict[str, list] = {"model": [], "platforms": [], "banks": [],
                                          "events": [], "borrowers": []}
        self._prev_equity = np.array([pl.equity for pl in self.platforms])
        self._debt_state = None
        self._book_cache = None
        self.macro = macro_state(p.macro, 1)
        self.cascade: Cascade | None = None  # institution failures still spreading
        self._cascades: list[dict] = []
        self.timings = {"setup_s": 0.0, "run_s": 0.0}

    # ============================================================== the monthly cycle
    def step(self) -> None:
        """One month, in the order of DESIGN.md:

        1. environment: macro state, benchmark rate, the regulator's cap in force;
        2. income: employment transitions, income;
        3. demand: spending needs and credit requests;
        4. underwriting: borrowers apply in order of preference; platforms score, price, cap
           and limit; funding is split with partner banks within lines and leverage; borrowers
           spend;
        5. repayment: interest, instalments due; shortfalls met by borrowing elsewhere (loan
           stacking) or missed; strategic non-payment; delinquency and default;
        6. accounting: charge-offs, loss sharing, fees, provisions, costs; failures;
        7. platforms adapt: prices, cut-offs, retraining; exit and entry;
        8. banks adapt funding lines;
        9. the regulator supervises;
        10. data collection.
        """
        self._month = _MonthStats(self.n_borrowers, len(self.platforms))
        self._environment()
        self._income()
        self._demand()
        self._underwriting()
        self._repayment()
        self._accounting()
        self._platforms_adapt()
        self._banks_adapt()
        self._supervise()
        self._collect()
        if self.check:
            self.check_invariants()

    def run(self, steps: int | None = None, progress=None) -> MarketModel:
        """Run ``steps`` months (default: ``scenario.simulation.steps``)."""
        steps = self.params.simulation.steps if steps is None else steps
        t0 = time.perf_counter()
        for _ in range(steps):
            self.step()
            if progress is not None:
                progress(self)
        self.timings["run_s"] += time.perf_counter() - t0
        return self

    # ------------------------------------------------------------------ 1. environment
    def _environment(self) -> None:
        self.macro = macro_state(self.params.macro, self.steps)
        self._policy_changes()
        self.apr_cap = self.regulator.apr_cap(self.macro.benchmark_rate)
        pol = self.regulator.policy
        old, self._lines_policy = self._lines_policy, pol
        if old is not None and any(getattr(old, k) != getattr(pol, k) for k in LINE_RULES):
            self.credit_lines.review_all(self.steps)  # lenders re-underwrite under new rules
        self.is_covered = self.population.bureau_u < pol.data_sharing
        self._incidents()
        self._scheduled_shocks()

    def _scheduled_shocks(self) -> None:
        """Shocks that start a contagion study (``[shocks]``): a bank loses part of its other
        loans (it fails in this month's accounting if its equity is gone), or the largest live
        platform of a type is closed."""
        sh = self.params.shocks
        if sh.bank_loss_step and self.steps == sh.bank_loss_step:
            bk = self.banks[sh.bank_loss_bank]
            loss = sh.bank_loss_share * bk.other_loans
            bk.other_loans -= loss
            bk.equity -= loss
            self._month.shocked_banks.add(bk.idx)
            self._event("shock", "bank", bk.idx, loss, "loss on other loans")
        if sh.platform_failure_step and self.steps == sh.platform_failure_step:
            live = [pl for pl in self.platforms
                    if pl.is_active and pl.kind == sh.platform_failure_type]
            if live:
                L = self.loans
                managed = L.balance_by(L.platform_idx, len(self.platforms), L.is_open())
                pl = max(live, key=lambda q: managed[q.idx])
                self._platform_failed(pl, "platform_failure", "shock",
                                      f"{pl.kind}: closed (shock)")
                self._month.platform_failures += 1

    def _policy_changes(self) -> None:
        """The regulator applies its schedule for this month, then acts on last month's
        indicators (triggered rules); both are logged as events."""
        reg = self.regulator
        for c in reg.schedule if reg.policy.apply_schedule else ():
            if self.steps == c.announce and c.announce < c.step:
                self._event("policy_announced", "regulator", -1, np.nan,
                            f"{c.key} = {c.value!r} from month {c.step}")
            if self.steps == c.step:
                self._event("policy_change", "regulator", -1, np.nan,
                            f"{c.key} = {c.value!r}"
                            + (f", phased in over {c.phase_in} months" if c.phase_in else ""))
        reg.apply_schedule(self.steps)
        last = self._records["model"][-1] if self._records["model"] else {}
        for _, rule, who in reg.check_triggers(self.steps, last, self.platforms, self.banks):
            self._act(rule, who)

    def _act(self, rule, who) -> None:
        """Carry out a triggered rule (see ``lendsim.simulation.policy.TriggerRule``)."""
        thr = f"{'>' if rule.above is not None else '<'} {rule.above if rule.above is not None else rule.below}"
        why = f"{rule.indicator} {thr}"
        if rule.action == "set":
            self.regulator.set_policy(**{rule.key.split(".", 1)[1]: rule.value})
            self._event("regulator_action", "regulator", -1, np.nan,
                        f"{why}: {rule.key} = {rule.value!r}")
            return
        for pl in who:
            if rule.action == "deleverage":  # to the rule's threshold
                pl.deleverage_order = rule.above if rule.above is not None else rule.below
            elif rule.action == "stop_lending":
                pl.suspended_until = self.steps + rule.months - 1
            else:  # resolve
                pl.is_resolved = True
            self._event("regulator_action", "platform", pl.idx, np.nan,
                        f"{why}: {rule.action}")

    def _incidents(self) -> None:
        """Operational incidents (channel 7): an outage stops a platform lending this month; a
        data breach costs ``breach_cost`` of its equity. Both cost reputation, the platform's
        own and (a third as much) its type's."""
        cp = self.params.contagion
        if not cp.operational or cp.incident_rate <= 0:
            return
        P = len(self.platforms)
        hit = (self.rng.random(P) < cp.incident_rate) & self._platform_array("is_active", bool)
        is_breach = self.rng.random(P) < cp.breach_share
        for i in np.flatnonzero(hit):
            pl = self.platforms[i]
            if is_breach[i]:
                self._month.breached.add(pl.idx)
                cost = cp.breach_cost * max(pl.equity, 0.0)
                pl.cash -= cost
                pl.equity -= cost
                self._month.losses["operational"] += cost
                what = "data breach"
            else:
                pl.outage_step = self.steps
                cost, what = 0.0, "outage"
            self._month.n_incidents += 1
            loss = min(1.0, cp.incident_reputation_hit * (2.0 if is_breach[i] else 1.0))
            pl.reputation *= 1.0 - loss
            self._reputation_shock(pl, loss / 3.0)
            self._event("incident", "platform", pl.idx, cost, f"{pl.kind}: {what}")

    def _reputation_shock(self, source: Platform, loss: float) -> None:
        """Bad news at ``source`` costs every other live platform of its type ``loss`` of its
        reputation (channel 6; CALIBRATION.md: runs spread between platforms through news)."""
        if not self.params.contagion.reputation:
            return
        for pl in self.platforms:
            if pl is not source and pl.is_active and pl.kind == source.kind:
                pl.reputation *= 1.0 - loss

    # ------------------------------------------------------------------ 2. income
    def _income(self) -> None:
        pop = self.population
        pop.months_since_default = np.minimum(pop.months_since_default + 1, pop.NEVER)
        if self.steps > 1:  # incomes grow month by month
            pop.base_income *= (1.0 + self.params.macro.income_growth) ** (1.0 / 12.0)
        pop.update_employment(self.macro.unemployment_target,
                              self.params.macro.job_finding_rate, self.rng)
        pop.receive_income(self.macro.income_loss, self.rng)

    # ------------------------------------------------------------------ 3. demand
    def _demand(self) -> None:
        pop = self.population
        pop.spending_needs(self.macro.demand_level, self.rng)
        self._due_estimate = self._borrower_due_estimate()
        if self._debt_state is None:
            self._debt_state = self._compute_debt_state()
        request, is_conv = pop.credit_requests(self._due_estimate, self._debt_state[1])
        self._applicants = np.flatnonzero(request > 0)
        self._request = request[self._applicants]
        self._is_convenience = is_conv[self._applicants]

    # ------------------------------------------------------------------ 4. underwriting
    def _underwriting(self) -> None:
        self._open_funding()
        self._book_cache = None  # balances change from here to accounting
        b, amount, conv = self._applicants, self._request, self._is_convenience
        granted = self._draw_lines(b, amount, conv)
        rest = np.flatnonzero(granted == 0)
        granted[rest] = self._apply(b[rest], amount[rest], self.params.borrowers.max_applications,
                                    is_refinance=False, one_month=conv[rest])
        self.population.cash[b] += granted
        self._month.consumption = float(self.population.spend(self._due_estimate).sum())

    # ------------------------------------------------------------------ 5. repayment
    def _repayment(self) -> None:
        bp = self.params.borrowers
        pop, L = self.population, self.loans
        L.n_missed[L.status == LoanStatus.DEFAULTED] += 1  # defaulted loans pay nothing
        # the first instalment falls due the month after origination
        idx = np.flatnonzero((L.status <= LoanStatus.DELINQUENT)
                            & (L.origination_step < self.steps))
        b = L.borrower_idx[idx]
        interest = L.balance[idx] * L.apr[idx] / 12.0
        L.balance[idx] += interest
        self.pools.record("interest", L.pool_idx[idx], interest)
        due = repayment.amount_due(L.balance[idx], L.instalment[idx], L.n_missed[idx],
                                   L.months_left[idx])
        # willingness: strategic non-payment and walking away from failed lenders
        strategic, social = self._strategic_nonpayment()
        walk = np.zeros(len(idx), dtype=bool)
        # borrowers walk away from failed lenders, unless a resolver took the book over
        failed_plat = ~self._platform_array("is_active", bool) & ~self._platform_array(
            "is_resolved", bool)
        if failed_plat.any() and self.params.contagion.platform_failure:
            at_failed = np.flatnonzero(failed_plat[L.platform_idx[idx]])
            walk[at_failed] = self.rng.random(len(at_failed)) < bp.failed_lender_nonpayment
        payable = ~strategic[b] & ~walk
        owed = np.bincount(b[payable], weights=due[payable], minlength=self.n_borrowers)
        # ability: a shortfall is met by borrowing elsewhere if anyone lends (debt spiral)
        short = owed - pop.cash
        refi = np.flatnonzero(short > 0)
        if len(refi) and self.params.contagion.debt_spiral:
            # lenders see debt as of the start of the month plus its new loans
            ask = np.maximum(short[refi], bp.min_loan)
            got = self._apply(refi, ask, bp.max_applications_distressed, is_refinance=True)
            pop.cash[refi] += got
        full = (pop.cash >= owed * (1 - 1e-12))[b]
        paid = payable & full
        part = np.flatnonzero(payable & ~full)
        if len(part):
            prio = self._platform_params()["repayment_priority"][L.platform_idx[idx[part]]]
            paid[part] = repayment.pay_in_order(b[part], due[part], pop.cash,
                                                first=pop.pay_first_u[b[part]] < prio)
        pop.cash -= np.bincount(b[paid], weights=due[paid], minlength=self.n_borrowers)
        np.maximum(pop.cash, 0.0, out=pop.cash)  # rounding only: payments never exceed cash
        cause = np.where(walk, MissCause.PLATFORM_FAILURE,
                         np.where(social[b], MissCause.SOCIAL, MissCause.FUNDAMENTAL))
        self._settle_loans(idx, paid, due, cause.astype(np.int8))

    def _strategic_nonpayment(self) -> tuple[np.ndarray, np.ndarray]:
        """Borrowers who choose not to pay this month, and those among them who would have
        paid but for their defaulted contacts (the social channel).

        The counterfactual uses the same uniform draw with the peer term removed (common random
        numbers), so a borrower counts as social only if the peer term alone tipped them.
        """
        bp, cp, pop = self.params.borrowers, self.params.contagion, self.population
        dti = self._debt_state[1] / (12.0 * pop.base_income)  # debt as lenders last saw it
        peer = (neighbour_share(self.social, pop.is_in_default()) if cp.social
                else np.zeros(self.n_borrowers))
        kw = dict(base=bp.strategic_base, risk_coef=bp.strategic_risk, dti_coef=bp.strategic_dti,
                  trust_coef=bp.strategic_trust)
        u = self.rng.random(self.n_borrowers)
        if cp.social and cp.social_mode == "threshold":  # Watts (2002) threshold rule
            alone = u < repayment.strategic_default_prob(
                pop.risk, dti, np.zeros(self.n_borrowers), pop.trust, peer_coef=0.0, **kw)
            strategic = alone | (peer >= cp.social_threshold)
            return strategic, strategic & ~alone
        strategic = u < repayment.strategic_default_prob(pop.risk, dti, peer, pop.trust,
                                                         peer_coef=bp.peer_effect, **kw)
        social = np.zeros(self.n_borrowers, dtype=bool)
        s = np.flatnonzero(strategic & (peer > 0))  # only these can owe it to their contacts
        if len(s) and bp.peer_effect > 0:
            social[s] = u[s] >= repayment.strategic_default_prob(
                pop.risk[s], dti[s], np.zeros(len(s)), pop.trust[s], peer_coef=0.0, **kw)
        return strategic, social

    def _settle_loans(self, idx: np.ndarray, paid: np.ndarray, due: np.ndarray,
                      cause: np.ndarray) -> None:
        """Apply this month's payments and misses (with their ``MissCause``) to the loans
        ``idx``."""
        L, pp = self.loans, self.params.platforms
        pi, mi = idx[paid], idx[~paid]
        L.cause[mi] = cause[~paid]
        self.credit_lines.revoke(L.borrower_idx[mi])  # a missed payment closes the line
        cured = pi[(L.status[pi] == LoanStatus.DELINQUENT) & (L.term[pi] > 1)]
        L.balance[pi] -= due[paid]
        L.balance[pi[np.abs(L.balance[pi]) < 1e-9]] = 0.0
        self.pools.record("paid", L.pool_idx[pi], due[paid])
        L.n_missed[pi] = 0
        L.status[pi] = LoanStatus.CURRENT
        L.n_missed[mi] += 1
        L.status[mi] = LoanStatus.DELINQUENT
        L.months_left[idx] = np.maximum(L.months_left[idx] - 1, 0)
        repaid = pi[L.balance[pi] <= 0.0]
        L.status[repaid] = LoanStatus.REPAID
        defaulted = mi[L.n_missed[mi] >= pp.default_after_missed]
        L.status[defaulted] = LoanStatus.DEFAULTED
        closed = np.concatenate([mi, repaid])
        self._unlink_accounts(closed[L.term[closed] > 1])  # only instalment loans are accounts
        cured = cured[L.status[cured] == LoanStatus.CURRENT]
        acct, cell = _cells(self._account, L.borrower_idx[cured], L.platform_idx[cured])
        free = acct[cell] < 0
        acct[cell[free]] = cured[free]
        self._learn(repaid, 0)
        self._learn(defaulted, 1)
        db = L.borrower_idx[defaulted]
        newly = np.unique(db[self.population.months_since_default[db] > 0])
        self.population.months_since_default[db] = 0
        self._month.new_defaults = len(newly)
        pop = self.population
        self._month.defaults_by_segment = np.bincount(pop.risk_segment[newly], minlength=3)
        self._month.defaults_by_quintile = np.bincount(pop.income_quintile[newly], minlength=5)
        keys = db.astype(np.int64) * self.params.platforms.max_n + L.platform_idx[defaulted]
        self._default_keys = np.union1d(self._default_keys, keys)

    def _learn(self, loans: np.ndarray, label: int, features: np.ndarray | None = None
               ) -> None:
        """Matured loans (rows of the book) will train their lender's scoring model, with
        label ``label`` (1 = defaulted); ``features`` replaces the book's when the row is about
        to be overwritten (a top-up). Queued, and handed over once a month by
        :meth:`_train_on_matured`."""
        if len(loans):
            self._matured.append((loans, label, features))

    def _train_on_matured(self) -> None:
        """Hand this month's matured loans to their platforms' training windows.

        Platforms keep only their last ``platforms.training_window`` matured loans, so when far
        more mature in one month a systematic sample of every k-th stands for all of them, with
        frequency weight k (the fitted default rate stays unbiased); of each platform's share
        only the last window's worth can stay, so only that much is copied.
        """
        queue, self._matured = self._matured, []
        n = sum(len(rows) for rows, _, _ in queue)
        if not n:
            return
        L, pp = self.loans, self.params.platforms
        stride = max(1, -(-n // (pp.training_window * len(self.platforms))))
        plat, y, rows, cpos, copies, offset, n_copied = [], [], [], [], [], 0, 0
        for r, label, X in queue:
            pick = np.arange((-offset) % stride, len(r), stride)  # every stride-th of the month
            offset += len(r)
            plat.append(L.platform_idx[r[pick]])
            y.append(np.full(len(pick), label, dtype=np.int8))
            if X is None:  # features still in the book
                rows.append(r[pick])
                cpos.append(np.full(len(pick), -1))
            else:  # a top-up's copy
                rows.append(np.full(len(pick), -1))
                cpos.append(n_copied + np.arange(len(pick)))
                copies.append(np.take(X, pick, axis=0))
                n_copied += len(pick)
        plat, y = np.concatenate(plat), np.concatenate(y)
        rows, cpos = np.concatenate(rows), np.concatenate(cpos)
        copies = np.concatenate(copies) if copies else None
        order = np.argsort(plat.astype(np.int16), kind="stable")  # radix sort: small ints
        cuts = np.r_[0, np.flatnonzero(np.diff(plat[order])) + 1, len(order)]
        for a, b in zip(cuts[:-1], cuts[1:]):
            idx = order[max(a, b - pp.training_window):b]  # the rest would be overwritten
            X = np.empty((len(idx), N_FEATURES), dtype=np.float32)
            in_book = rows[idx] >= 0
            X[in_book] = np.take(L.features, rows[idx[in_book]], axis=0)
            if copies is not None:
                X[~in_book] = np.take(copies, cpos[idx[~in_book]], axis=0)
            self.platforms[plat[idx[0]]].learn(X, y[idx], weight=float(stride))

    # ------------------------------------------------------------------ 6. accounting
    def _accounting(self) -> None:
        self._charge_off()
        self._post_flows()
        by_status = self._pool_balances()
        self._servicing_fees(by_status[:, 0] + by_status[:, 1])
        self._provisions(by_status)
        self._book_cache = by_status.sum(axis=1)  # valid until next month's underwriting
        self._costs_and_bank_income()
        run_cost = np.zeros(len(self.platforms))
        for pl in self.platforms:
            net, run_cost[pl.idx] = pl.retail_flows(self.params.contagion)
            self._month.retail_withdrawals += net
        self._month.losses["reputation"] += float(run_cost.sum())
        for pl in self.platforms:
            pl.settle_cash()
            if pl.is_active and pl.equity <= 0:
                channel = ("reputation" if run_cost[pl.idx] > 0 else
                           "operational" if pl.idx in self._month.breached else "credit")
                self._platform_failed(pl, "platform_failure", channel,
                                      f"{pl.kind}: equity exhausted")
                self._month.platform_failures += 1
        for bk in self.banks:
            bk.settle_cash()
        self._bank_failures()

    def _platform_failed(self, pl: Platform, kind: str, channel: str, detail: str) -> None:
        pl.fail(self.steps)
        self._reputation_shock(pl, self.params.contagion.reputation_hit)
        self._month.failures.append(("platform", pl.idx, channel, detail))
        self._event(kind, "platform", pl.idx, pl.loans_held, detail)

    def _bank_failures(self) -> None:
        """Banks whose equity is gone fail, and their interbank creditors take losses that can
        fail them in turn (channel 5). ``network.interbank.clearing``:

        - ``cascade``: a claim on a failed bank recovers ``network.interbank.recovery``; a bank
          fails when its losses exceed its equity (Furfine 2003; Gai & Kapadia 2010);
        - ``eisenberg_noe``: all banks clear at once at the greatest clearing vector, deposits
          senior to interbank debt (Eisenberg & Noe 2001); a claim on a defaulting bank
          recovers that bank's payment ratio.

        Claims on failed banks are settled at resolution: the recovered part in cash, the rest
        written off. With ``contagion.interbank`` off they are paid in full.
        """
        was_failed = np.array([bk.is_failed for bk in self.banks])
        equity = np.array([bk.equity for bk in self.banks])
        first = ~was_failed & (equity <= 0)
        if not first.any():
            return
        ib = self.params.network.interbank
        on = self.params.contagion.interbank
        recovery = np.full(len(self.banks), ib.recovery if on else 1.0)
        failed = first.copy()
        if on and self.interbank.any():
            if ib.clearing == "eisenberg_noe":
                from lendsim.simulation.clearing import eisenberg_noe

                ext = np.array([bk.cash + bk.joint_loans + bk.other_loans - bk.allowance
                                for bk in self.banks])
                dep = np.array([bk.deposits for bk in self.banks])
                res = eisenberg_noe(self.interbank.T, np.maximum(ext, 0.0),
                                    external_liabilities=np.maximum(dep, 0.0),
                                    seniority="external_senior")
                owed = self.interbank.sum(axis=0)  # each bank's interbank debt
                recovery = np.divide(res.interbank_payments, owed, out=np.ones_like(owed),
                                     where=owed > 0)
                failed |= np.asarray(res.defaulted, dtype=bool) & ~was_failed
            else:
                from lendsim.simulation.contagion import interbank_cascade

                res = interbank_cascade(self.interbank, np.where(was_failed, np.inf,
                                                                 np.maximum(equity, 0.0)),
                                        np.flatnonzero(first), recovery=ib.recovery)
                failed |= np.asarray(res.failed, dtype=bool) & ~was_failed
        rec = np.where(failed, recovery, 0.0)  # per debtor
        claims = self.interbank[:, failed]  # creditors' claims on the failed banks
        owed_by = claims.sum(axis=0)
        held = claims.sum(axis=1)
        got = claims @ rec[failed]  # what each creditor recovers in cash
        for bk in self.banks:  # settle every claim on a failed bank
            bk.interbank_assets -= held[bk.idx]
            bk.cash += got[bk.idx]
            bk.equity -= held[bk.idx] - got[bk.idx]
        for j, debt in zip(np.flatnonzero(failed), owed_by):
            bk = self.banks[j]
            bk.interbank_liabilities -= debt
            bk.cash -= rec[j] * debt
            bk.equity += (1.0 - rec[j]) * debt
            bk.settle_cash()
        self.interbank[:, failed] = 0.0
        self._month.losses["interbank"] += float((held - got).sum())
        joint_loss = self._month.bank_joint_losses
        for j in np.flatnonzero(failed):
            bk = self.banks[j]
            bk.fail(self.steps)
            self._month.bank_failures += 1
            if not first[j]:
                channel, detail = "interbank", "interbank contagion"
            elif j in self._month.shocked_banks:
                channel, detail = "shock", "equity exhausted (shock)"
            else:
                channel = "common_funder" if joint_loss[j] > 0 else "credit"
                detail = "equity exhausted"
            self._month.failures.append(("bank", bk.idx, channel, detail))
            self._event("bank_failure", "bank", bk.idx, bk.joint_loans + bk.other_loans,
                        detail)
        if any(not bk.is_failed and bk.equity <= 0 for bk in self.banks):
            self._bank_failures()  # write-offs at the failed banks' recovery can fail more

    def _charge_off(self) -> None:
        L, pp = self.loans, self.params.platforms
        old = np.flatnonzero(L.status == LoanStatus.DEFAULTED)
        co = old[L.n_missed[old] >= pp.chargeoff_after_missed]
        bal = L.balance[co].copy()
        live = (self._platform_array("is_active", bool)
                | self._platform_array("is_resolved", bool))[L.platform_idx[co]]
        resolver = pp.resolver_recovery if self.params.contagion.platform_failure else 1.0
        full_rec = bal * pp.recovery_rate
        rec = full_rec * np.where(live, 1.0, resolver)
        self.pools.record("charged_off", L.pool_idx[co], bal)
        self.pools.record("recovered", L.pool_idx[co], rec)
        L.balance[co] = 0.0
        L.status[co] = LoanStatus.CHARGED_OFF
        self._month.charge_offs = float(bal.sum())
        self._month.add_credit_losses(credit_loss_channels(
            bal - full_rec, full_rec - rec, L.cause[co], L.is_refinance[co]))

    def _post_flows(self) -> None:
        """Post the month's per-pool flows to each funder's balance sheet, in proportion."""
        flows = self.pools.take_flows()
        P = len(self.platforms)
        per = {k: self.pools.split(v, P) for k, v in flows.items()}
        self._month.originations = float(flows["originated"].sum())
        self._month.net_income_plat = np.zeros(P)
        for side, agents in ((0, self.platforms), (1, self.banks)):
            o, i, pd_, co, rc = (per[k][side] for k in ("originated", "interest", "paid",
                                                       "charged_off", "recovered"))
            o = o + per["rolled_in"][side]  # funding an account's rolled-over balance
            pd_ = pd_ + per["rolled_out"][side]  # repaid by the account's new pool
            for a in agents:
                j = a.idx
                loans = a.loans_held if side == 0 else a.joint_loans
                loans += o[j] + i[j] - pd_[j] - co[j]
                if side == 0:
                    a.loans_held = loans
                else:
                    a.joint_loans = loans
                a.cash += pd_[j] + rc[j] - o[j]
                a.equity += i[j] - (co[j] - rc[j])
        self._month.losses_platforms = float((per["charged_off"][0]
                                              - per["recovered"][0]).sum())
        bank_loss = per["charged_off"][1] - per["recovered"][1]
        self._month.losses_banks = float(bank_loss.sum())
        # platform-originated credit losses passing to banks (channel 4, common funder)
        self._month.bank_joint_losses = bank_loss
        self._month.losses["common_funder"] += float(bank_loss.sum())

    def _pool_balances(self) -> np.ndarray:
        """Open balances by funding pool and status: array (n_pools, 3) for CURRENT,
        DELINQUENT, DEFAULTED, in one pass over the book."""
        L = self.loans
        m = L.status <= LoanStatus.DEFAULTED
        key = L.pool_idx[m].astype(np.int64) * 3 + L.status[m]
        return np.bincount(key, weights=L.balance[m],
                           minlength=3 * self.pools.n).reshape(self.pools.n, 3)

    def _servicing_fees(self, perf: np.ndarray) -> None:
        """Banks pay each platform a servicing fee on the performing balance they fund."""
        by_pb = self.pools.bank_by_platform(perf, len(self.platforms))  # P x B
        fee_rate = np.array([pl.tp.bank_fee for pl in self.platforms]) / 12.0
        fees = by_pb * fee_rate[:, None]
        for pl in self.platforms:
            f = fees[pl.idx].sum()
            pl.cash += f
            pl.equity += f
        for bk in self.banks:
            f = fees[:, bk.idx].sum()
            bk.cash -= f
            bk.equity -= f

    def _provisions(self, by_status: np.ndarray) -> None:
        """Allowance for losses: a share of each open balance by status."""
        reg = self.regulator.policy
        rates = np.array([reg.provision_rate, PROVISION_DELINQUENT, PROVISION_DEFAULTED])
        target = by_status @ rates
        plat, bank = self.pools.split(target, len(self.platforms))
        for agents, tgt in ((self.platforms, plat), (self.banks, bank)):
            for a in agents:
                delta = tgt[a.idx] - a.allowance
                a.allowance = tgt[a.idx]
                a.equity -= delta

    def _costs_and_bank_income(self) -> None:
        pp, bp = self.params.platforms, self.params.banks
        managed = self.loans.balance_by(self.loans.platform_idx, len(self.platforms))
        bench = self.macro.benchmark_rate
        for pl in self.platforms:
            cost = (pl.tp.operating_cost / 12.0 * managed[pl.idx]
                    + (pp.fixed_cost_share * pl.initial_equity if pl.is_active else 0.0)
                    + (bench + pl.tp.funding_spread) / 12.0 * pl.debt)
            pl.cash -= cost
            pl.equity -= cost
        for bk in self.banks:
            income = (bp.other_loan_yield - bp.other_loan_loss) / 12.0 * bk.other_loans
            cost = (bp.deposit_rate / 12.0 * bk.deposits
                    + bp.operating_cost / 12.0 * (bk.other_loans + bk.joint_loans))
            bk.cash += income - cost
            bk.equity += income - cost
            profit = bk.equity - bk._equity_start if hasattr(bk, "_equity_start") else 0.0
            if profit > 0 and not bk.is_failed:
                div = bp.payout_ratio * profit
                bk.cash -= div
                bk.equity -= div
            bk._equity_start = bk.equity

    # ------------------------------------------------------------------ 7. platforms adapt
    def _platforms_adapt(self) -> None:
        self._month.tally()
        self._train_on_matured()
        self._drop_closed_loans()
        pp, reg = self.params.platforms, self.regulator.policy
        P = len(self.platforms)
        L = self.loans
        is_open = L.is_open()
        managed = L.balance_by(L.platform_idx, P, is_open)
        d30 = L.balance_by(L.platform_idx, P, is_open & (L.n_missed >= 1))
        n_open = np.bincount(L.platform_idx[is_open], minlength=P)
        active = self._platform_array("is_active", bool)
        share = np.where(active, managed, 0.0)
        share = share / share.sum() if share.sum() > 0 else share
        tw = np.where(active, self._target_weight[:P], 0.0)
        target = tw / tw.sum() if tw.sum() > 0 else tw
        # a rate measured on a handful of loans is noise: nobody reacts to it
        self._platform_delinquency = np.divide(d30, managed, out=np.zeros(P),
                                               where=(managed > 0) & (n_open >= pp.min_book))
        for pl in self.platforms:
            pl.last_delinquency_30 = float(self._platform_delinquency[pl.idx])
        self._market_share = share
        equity_now = np.array([pl.equity for pl in self.platforms])
        prev = np.r_[self._prev_equity, equity_now[len(self._prev_equity):]]
        for pl in self.platforms:
            if not pl.is_active:
                continue
            pl.roe_history.append(12.0 * (equity_now[pl.idx] - prev[pl.idx])
                                  / max(prev[pl.idx], 1e-9))
            pl.adapt(share[pl.idx], target[pl.idx], self._platform_delinquency[pl.idx], pp)
            if (self.steps + pl.idx) % pp.retrain_every == 0:
                pl.retrain(pp)
            pl.reputation += self.params.contagion.reputation_recovery * (1.0 - pl.reputation)
            if pl.months_unfunded >= pp.funding_exit_months:
                self._platform_failed(pl, "platform_exit", "common_funder",
                                      f"{pl.kind}: no funding for {pl.months_unfunded} months")
                self._month.platform_exits += 1
        self._prev_equity = equity_now
        orig, apr_w = self._month.orig_by_platform, self._month.apr_by_platform
        for i in np.flatnonzero(orig > 0):
            self.platforms[i].posted_apr = float(apr_w[i] / orig[i])  # the price borrowers see
        self._maybe_enter(reg)

    def _drop_closed_loans(self) -> None:
        """Compact the book once this month's closed loans have trained their lenders: every
        later pass this month (adaptation, supervision, data collection) then reads only open
        loans. By then about a third of the rows are closed, most of them last month's
        credit-line draws, repaid."""
        L = self.loans
        if not L.n or (L.status > LoanStatus.DEFAULTED).mean() <= 0.25:
            return
        new_row = L.compact()
        # accounts point to open instalment loans, which all stay: remap through their cells
        # rather than a pass over the whole (borrowers x platforms) matrix
        inst = np.flatnonzero(L.term > 1)
        acct_of, cell = _cells(self._account, L.borrower_idx[inst], L.platform_idx[inst])
        acct = acct_of[cell]
        linked = acct >= 0
        acct_of[cell[linked]] = new_row[acct[linked]]

    def _maybe_enter(self, reg) -> None:
        pp = self.params.platforms
        active = [pl for pl in self.platforms if pl.is_active]
        if len(self.platforms) >= pp.max_n or not active:
            return
        roe = np.mean([np.mean(pl.roe_history) for pl in active if pl.roe_history] or [0.0])
        if roe <= pp.entry_roe or self.rng.random() >= pp.entry_prob:
            return
        kinds = [k for k in ("micro_lender", "consumer_finance") if pp.type_params(k).weight > 0]
        kinds = kinds or list(PLATFORM_TYPES)
        kind = kinds[int(self.rng.integers(len(kinds)))]
        capital = pp.type_params(kind).equity_per_borrower
        if capital < reg.entry_capital:
            self._event("entry_blocked", "platform", -1, capital * self.n_borrowers,
                        f"{kind}: capital below the regulator's entry capital")
            return
        pl = self._add_platform(kind, initial=False)
        self._month.platform_entries += 1
        self._event("platform_entry", "platform", pl.idx, pl.equity, kind)

    # ------------------------------------------------------------------ 8. banks adapt
    def _banks_adapt(self) -> None:
        reg, bp = self.regulator.policy, self.params.banks
        P = len(self.platforms)
        out = self._bank_outstanding()  # P x B
        active = self._platform_array("is_active", bool)
        delinquency = pad_platforms(self._platform_delinquency, P)  # an entrant has no book yet
        for bk in self.banks:
            self.lines[bk.idx, :P] = bk.adapt_lines(
                self.lines[bk.idx, :P], out[:, bk.idx], delinquency, active, reg, bp,
                common_funder=self.params.contagion.common_funder)

    # ------------------------------------------------------------------ 9. regulator
    def _supervise(self) -> None:
        L = self.loans
        is_open = L.is_open()
        total = L.balance[is_open].sum()
        d90 = L.balance[is_open & (L.n_missed >= 3)].sum() / total if total > 0 else 0.0
        self.regulator.supervise(self.platforms, self.banks, d90)

    # ------------------------------------------------------------------ 10. data collection
    def _collect(self) -> None:
        self._track_cascade()
        collect_step(self)

    def _track_cascade(self) -> None:
        """Failures in consecutive months make one cascade; a quiet month closes it and logs
        it (event ``cascade`` and the ``cascades`` table)."""
        fails = self._month.failures
        if fails:
            if self.cascade is None:
                kind, idx, channel, detail = fails[0]
                self.cascade = Cascade(self.steps, f"{kind} {idx} ({detail})")
            for kind, idx, channel, _ in fails:
                self.cascade.add(self.steps, kind, idx, channel)
        elif self.cascade is not None:
            self._records["events"].append(self.cascade.event())
            self._cascades.append(self._cascade_row(self.cascade, ongoing=False))
            self.cascade = None

    @staticmethod
    def _cascade_row(c: Cascade, ongoing: bool) -> dict:
        n_plat = sum(1 for f in c.failures if f[1] == "platform")
        return {"start_step": c.start_step, "trigger": c.trigger, "size": c.size,
                "n_platforms": n_plat, "n_banks": c.size - n_plat, "duration": c.duration,
                "channels": ",".join(c.channels()), "is_ongoing": ongoing}

    # ============================================================== underwriting detail
    def _open_funding(self) -> None:
        """Each platform's lending capacity this month and its funding pool (the split of
        new loans between itself and its partner banks, in proportion to their headroom)."""
        reg = self.regulator.policy
        P = len(self.platforms)
        out = self._bank_outstanding()  # P x B
        lines = self.lines[:, :P].T  # P x B
        can = np.array([bk.can_lend(reg) for bk in self.banks])
        head = np.where(can[None, :], np.maximum(lines - out, 0.0), 0.0)
        room = np.array([bk.joint_room(reg) for bk in self.banks])
        tot = head.sum(axis=0)
        scale = np.divide(room, tot, out=np.ones_like(tot), where=tot > room)
        head *= np.minimum(scale, 1.0)[None, :]
        self._capacity = np.zeros(P)
        self._pool_of = np.full(P, -1, dtype=np.int32)
        for pl in self.platforms:
            if (not pl.is_active or pl.outage_step == self.steps
                    or self.steps <= pl.suspended_until
                    or (pl.kind == "p2p" and not reg.p2p_lending)):
                continue
            s = pl.own_share(reg)
            h = head[pl.idx].sum()
            own_cap = pl.own_capacity(reg)
            cap = min(own_cap / s if s > 0 else np.inf, h / (1 - s) if s < 1 else np.inf)
            pl.months_unfunded = pl.months_unfunded + 1 if cap <= 0 else 0
            if cap > 0:
                shares = (1 - s) * head[pl.idx] / h if s < 1 else np.zeros(len(self.banks))
                self._pool_of[pl.idx] = self.pools.add(pl.idx, s, shares)
                self._capacity[pl.idx] = cap

    def _apply(self, b_idx: np.ndarray, amount: np.ndarray, n_choices: int,
               is_refinance: bool, one_month: np.ndarray | None = None) -> np.ndarray:
        """Applicants ``b_idx`` ask for ``amount`` each; they apply to platforms in order of
        preference until served or out of choices. Returns the amount granted to each."""
        granted = np.zeros(len(b_idx))
        if not len(b_idx):
            return granted
        bp = self.params.borrowers
        pop, P = self.population, len(self.platforms)
        own_m = self._debt_matrices()[0]
        g = self._platform_params()
        is_open = g["is_active"] & (self._capacity > 0)
        has_account = np.take(own_m, b_idx, axis=0) > 0
        util = choice.platform_utility(
            g["posted_apr"], g["reputation"], self._market_share_or_prior(),
            g["convenience"], pop.trust[b_idx], has_account,
            price_sensitivity=bp.price_sensitivity, trust_weight=bp.trust_weight,
            brand_weight=bp.brand_weight, loyalty=bp.loyalty)
        # noisy utilities; Gumbel(0, 1) noise = -log(Exp(1)); closed platforms never chosen
        noise = self.rng.standard_exponential(size=util.shape, dtype=np.float32)
        np.log(np.maximum(noise, np.float32(1e-30), out=noise), out=noise)  # draws can be 0
        util -= bp.choice_noise * noise
        util[:, ~is_open] = -np.inf
        remaining = amount.astype(float).copy()
        looking = np.arange(len(b_idx))
        for k in range(min(n_choices, P)):
            # the next choice only for those still looking (most are served at the first);
            # ``util`` keeps only their rows, in the order of ``looking``
            still = np.flatnonzero(remaining[looking] >= bp.min_loan)
            if not len(still):
                break
            if len(still) < len(looking):
                looking, util = looking[still], np.take(util, still, axis=0)
            choice_k = choice.next_choice(util)  # in place
            has = np.flatnonzero(choice_k >= 0)
            if len(has) < len(looking):
                looking, util, choice_k = looking[has], np.take(util, has, axis=0), choice_k[has]
            sel, p = looking, choice_k
            if not len(sel):
                break
            b = b_idx[sel]
            ok, pd_life, apr, limit, X, own, visible_debt = self._assess(b, p, remaining[sel], g)
            okk = np.flatnonzero(ok)
            fits = underwriting.allocate_capacity(p[okk], pd_life[okk], limit[okk],
                                                  self._capacity)
            win = okk[fits]
            amt, pw = limit[win], p[win]
            self._use_capacity(pw, amt)
            term = g["term"][pw]
            if one_month is not None:
                term = np.where(one_month[sel[win]], 1, term)
                self._grant_lines(win[term == 1], b, p, own, visible_debt, pd_life, apr, X, g)
            self._book(b[win], pw, amt, apr[win], term, np.take(X, win, axis=0), is_refinance)
            granted[sel[win]] += amt
            remaining[sel[win]] -= amt
            self._add_debt(b[win], pw, amt, own[win])
            self._month.count_applications(pop.risk_segment[b], pop.risk_segment[b[win]], amt,
                                           apr[win], is_refinance, P, pw,
                                           pop.income_quintile[b],
                                           pop.income_quintile[b[win]])
            self._month.granted_any[b[win]] = True
        self._month.rationed[b_idx[remaining >= bp.min_loan]] = True
        self._month.applied[b_idx] = True
        return granted

    def _assess(self, b: np.ndarray, p: np.ndarray, request: np.ndarray, g: dict):
        """Platforms ``p`` underwrite borrowers ``b`` asking for ``request`` (RMB): score,
        price, check the cap and the regulator's rules, set the amount they would lend.

        Returns ``(ok, pd_life, apr, limit, X, own, visible_debt)``, one entry per borrower:
        approved, estimated lifetime PD, required all-in APR, amount granted if approved (RMB),
        features seen, the platform's own exposure and the debt it can see (RMB).
        """
        pop, pp, reg = self.population, self.params.platforms, self.regulator.policy
        own_m, total_debt, n_lenders = self._debt_state
        own_of, cell = _cells(own_m, b, p)
        own = own_of[cell]
        X = self._features(b, p, own, total_debt, n_lenders, g)
        # float64 operands and ``take``: einsum with a float32 operand and a fancy row
        # gather are each about twice as slow, for the same numbers
        pd_life = expit(np.einsum("ij,ij->i", X.astype(np.float64),
                                  np.take(g["coef"], p, axis=0)))
        apr = underwriting.required_apr(
            pd_life, funding_cost=g["funding_cost"][p], operating_cost=g["operating_cost"][p],
            margin=g["margin"][p], lgd=pp.lgd, term_months=g["term"][p])
        ok = underwriting.underwrite(pd_life, apr, g["pd_cutoff"][p], self._price_cap(g)[p])
        if reg.require_income:
            ok &= pop.is_employed[b]
        ok &= ~self._is_blacklisted(b, p)
        visible_debt, other_lenders = self._seen_by_lender(b, own)
        if reg.max_lenders > 0:  # a new lender counts itself too
            ok &= (own > 0) | (other_lenders < reg.max_lenders)
        limit = underwriting.credit_limit(
            request, pop.income[b], own, visible_debt,
            limit_income_multiple=g["limit_income_multiple"][p], max_loan=reg.max_loan,
            max_debt_income=reg.max_debt_income)
        ok &= limit >= self.params.borrowers.min_loan
        return ok, pd_life, apr, limit, X, own, visible_debt

    def _review_lines(self, b: np.ndarray, g: dict) -> None:
        """Lines of borrowers ``b`` due for review: the platform underwrites the borrower
        again, on today's data and prices; it renews the line (new APR, PD, limit) or closes
        it. The borrower does not shop around for this."""
        CL = self.credit_lines
        p = CL.platform[b].astype(np.intp)
        ok, pd_life, apr, limit, X, own, visible = self._assess(b, p, np.full(len(b), np.inf), g)
        CL.revoke(b[~ok])
        w = np.flatnonzero(ok)
        self._grant_lines(w, b, p, own, visible, pd_life, apr, X, g, limit=limit[w])

    def _draw_lines(self, b: np.ndarray, amount: np.ndarray, conv: np.ndarray) -> np.ndarray:
        """Convenience requests drawn on the borrower's credit line, without shopping or
        scoring (see ``lendsim.simulation.credit_lines``). Returns the amount drawn by each
        applicant (0 = not drawn: the request goes through full underwriting)."""
        drawn = np.zeros(len(b))
        CL = self.credit_lines
        if self.params.platforms.line_review_months <= 0 or not len(b):
            return drawn
        cand = np.flatnonzero(conv & (CL.platform[b] >= 0))
        if not len(cand):
            return drawn
        own_m = self._debt_matrices()[0]
        P, reg, pop = len(self.platforms), self.regulator.policy, self.population
        g = self._platform_params()
        is_open = g["is_active"] & (self._capacity > 0)
        bb = b[cand]
        own_of, cell = _cells(own_m, bb, CL.platform[bb])
        own = own_of[cell]
        due = bb[CL.due_for_review(bb, self.steps, pop.is_employed[bb],
                                   *self._seen_by_lender(bb, own),
                                   pop.income[bb] / self.params.borrowers.income_median)]
        if len(due):
            self._review_lines(due, g)
        ok = CL.usable(bb, amount[cand], self.steps, is_open, self._price_cap(g),
                       pop.is_employed[bb] if reg.require_income else None)
        k, own = cand[ok], own[ok]  # reviews keep a line's platform: exposures still hold
        bk, pk, amt = b[k], CL.platform[b[k]].astype(np.intp), amount[k]
        fits = underwriting.allocate_capacity(pk, CL.pd[bk], amt, self._capacity)
        k, bk, pk, amt, own = k[fits], bk[fits], pk[fits], amt[fits], own[fits]
        if not len(k):
            return drawn
        self._use_capacity(pk, amt)
        apr = CL.apr[bk].astype(float)
        self._book(bk, pk, amt, apr, np.ones(len(k), dtype=np.int64),
                   np.take(CL.features, bk, axis=0),
                   is_refinance=False)
        drawn[k] = amt
        self._add_debt(bk, pk, amt, own)
        seg, q = pop.risk_segment[bk], pop.income_quintile[bk]
        self._month.count_applications(seg, seg, amt, apr, False, P, pk, q, q)
        self._month.granted_any[bk] = True
        self._month.applied[bk] = True
        return drawn

    def _price_cap(self, g: dict) -> np.ndarray:
        """The APR cap each platform's price must meet: fees outside an interest-only cap let
        the all-in price exceed it."""
        fees = g["fee_rate"]
        return self.apr_cap + (np.zeros(len(fees)) if self.regulator.policy.apr_cap_all_in
                               else fees)

    def _seen_by_lender(self, b: np.ndarray, own: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """What a lender holding ``own`` (RMB) of borrowers ``b`` sees of their other credit:
        their total debt and other lenders through the bureau when covered; else only its own
        exposure and no other lenders."""
        covered = self.is_covered[b]
        _, total_debt, n_lenders = self._debt_state
        return (np.where(covered, total_debt[b], own),
                np.where(covered, n_lenders[b] - (own > 0), 0))

    def _use_capacity(self, p: np.ndarray, amount: np.ndarray) -> None:
        """Loans of ``amount`` (RMB) made by platforms ``p`` use up their capacity."""
        self._capacity -= np.bincount(p, weights=amount, minlength=len(self._capacity))
        np.maximum(self._capacity, 0.0, out=self._capacity)

    def _add_debt(self, b: np.ndarray, p: np.ndarray, amount: np.ndarray,
                  own_before: np.ndarray) -> None:
        """New loans join this month's debt state, so later applications see them.
        (Borrower, platform) pairs are unique within a call: a borrower wins at most once per
        round."""
        own_m, total_debt, n_lenders = self._debt_state
        own_of, cell = _cells(own_m, b, p)
        own_of[cell] += amount
        total_debt[b] += amount
        n_lenders[b[own_before <= 0]] += 1

    def _grant_lines(self, w, b, p, own, visible_debt, pd_life, apr, X, g, limit=None) -> None:
        """Approved convenience requests (positions ``w`` in this round's arrays) open a
        credit line at the lender, with its limit as the platform and the regulator allow
        (``limit``, RMB, when already known)."""
        review = self.params.platforms.line_review_months
        if review <= 0 or not len(w):
            return
        reg, bw, pw = self.regulator.policy, b[w], p[w]
        if limit is None:
            limit = underwriting.credit_limit(
                np.full(len(w), np.inf), self.population.income[bw], own[w], visible_debt[w],
                limit_income_multiple=g["limit_income_multiple"][pw], max_loan=reg.max_loan,
                max_debt_income=reg.max_debt_income)
        # each borrower's review falls in a month of its own (b mod review), so reviews are
        # spread evenly over the months instead of coming in waves
        until = self.steps + review - (self.steps + bw) % review
        lenders = self._seen_by_lender(bw, own[w])[1]
        self.credit_lines.grant(bw, pw, apr[w], pd_life[w], limit, np.take(X, w, axis=0),
                                until=until, debt_seen=visible_debt[w], lenders_seen=lenders)

    def _book(self, b, p, amount, apr, term, X, is_refinance: bool) -> None:
        """Book granted credit. An instalment loan at a platform where the borrower already has
        a current instalment loan tops up that account: its balance moves to this month's
        funding pool (the old pool's funders are repaid, the new pool's fund it), it is
        repriced at today's APR and re-amortised over the term, and billed as before."""
        L, pools = self.loans, self.pools
        pool = self._pool_of[p]
        inst = term > 1
        if inst.any():
            acct_of, cell = _cells(self._account, b, p)
            row = acct_of[cell]
            top = np.flatnonzero((row >= 0) & inst)
            r = row[top].astype(np.intp)  # (stored as int32) rows of the book
        else:  # only one-month loans (credit-line draws): no account to top up
            r = ()
        if len(r):
            self._learn(r, 0, np.take(L.features, r, axis=0))  # it has performed until now
            old = L.balance[r]
            pools.record("rolled_out", L.pool_idx[r], old)
            pools.record("rolled_in", pool[top], old)
            bal = old + amount[top]
            L.principal[r] = bal
            L.balance[r] = bal
            L.apr[r] = apr[top]
            L.term[r] = term[top]
            L.months_left[r] = term[top]
            L.instalment[r] = underwriting.annuity_payment(bal, apr[top], term[top])
            L.pool_idx[r] = pool[top]
            put_rows(L.features, r, np.take(X, top, axis=0))
            L.is_refinance[r] |= is_refinance
            # the rest are new loans
            new = np.ones(len(b), dtype=bool)
            new[top] = False
            new = np.flatnonzero(new)
            b, p, amount_new, apr, term, X, pool_new = (
                b[new], p[new], amount[new], apr[new], term[new], np.take(X, new, axis=0),
                pool[new])
        else:
            amount_new, pool_new = amount, pool
        rows = L.add(borrower_idx=b, platform_idx=p, pool_idx=pool_new, principal=amount_new,
                     apr=apr, instalment=underwriting.annuity_payment(amount_new, apr, term),
                     term=term, step=self.steps, is_refinance=is_refinance, features=X)
        inst = np.flatnonzero(term > 1)
        if len(inst):
            acct_of, cell = _cells(self._account, b[inst], p[inst])
            acct_of[cell] = rows[inst]
        pools.record("originated", pool, amount)

    def _unlink_accounts(self, rows: np.ndarray) -> None:
        """Loans that stop being current instalment accounts (missed, repaid)."""
        L = self.loans
        b, p = L.borrower_idx[rows], L.platform_idx[rows]
        acct_of, cell = _cells(self._account, b, p)
        mine = acct_of[cell] == rows
        acct_of[cell[mine]] = -1

    def _features(self, b, p, own, total_debt, n_lenders, g) -> np.ndarray:
        """What platform p sees of borrower b (see ``platforms.FEATURES``)."""
        pop = self.population
        inc = np.maximum(pop.income[b], 1.0)
        covered = self.is_covered[b].astype(float)
        X = np.empty((len(b), N_FEATURES), dtype=np.float32)  # stored as float32 anyway
        X[:, 0] = 1.0
        X[:, 1] = pop.risk[b] + g["noise_sd"][p] * self.rng.standard_normal(len(b))
        X[:, 2] = np.log(inc / self.params.borrowers.income_median)
        X[:, 3] = pop.is_employed[b]
        X[:, 4] = own / (12.0 * inc)
        X[:, 5] = covered * total_debt[b] / (12.0 * inc)
        X[:, 6] = covered * n_lenders[b]
        X[:, 7] = covered
        return X

    def _is_blacklisted(self, b: np.ndarray, p: np.ndarray) -> np.ndarray:
        """A platform refuses a borrower who defaulted with it, or (through the bureau, for
        covered borrowers) with anyone in the last 24 months."""
        since = self.population.months_since_default[b]
        refused = self.is_covered[b] & (since < 24)  # through the bureau
        dk = self._default_keys  # sorted (np.union1d)
        # only borrowers who ever defaulted can be in ``dk`` (the count stays below NEVER for
        # 10,000 months, longer than any run)
        ever = np.flatnonzero(since < self.population.NEVER)
        if not len(dk) or not len(ever):
            return refused
        keys = b[ever].astype(np.int64) * self.params.platforms.max_n + p[ever]  # as stored
        pos = np.minimum(np.searchsorted(dk, keys), len(dk) - 1)
        refused[ever] |= dk[pos] == keys  # with this platform
        return refused

    def _platform_params(self) -> dict[str, np.ndarray]:
        pp, bench = self.params.platforms, self.macro.benchmark_rate
        pls = self.platforms
        return {
            "is_active": np.array([pl.is_active for pl in pls]),
            "posted_apr": np.array([pl.posted_apr for pl in pls]),
            "reputation": np.array([pl.reputation for pl in pls]),
            "convenience": np.array([pl.tp.convenience for pl in pls]),
            "coef": np.array([pl.coef for pl in pls]),
            "funding_cost": np.array([bench + pl.tp.funding_spread for pl in pls]),
            "operating_cost": np.array([pl.tp.operating_cost for pl in pls]),
            "margin": np.array([pl.margin for pl in pls]),
            "term": np.array([pl.tp.term_months for pl in pls], dtype=np.int64),
            "pd_cutoff": np.array([pl.pd_cutoff for pl in pls]),
            "limit_income_multiple": np.array([pl.tp.limit_income_multiple for pl in pls]),
            "noise_sd": np.array([pl.noise_sd(pp) for pl in pls]),
            "fee_rate": np.array([pl.tp.fee_rate for pl in pls]),
            "repayment_priority": np.array([pl.tp.repayment_priority for pl in pls]),
        }

    def _market_share_or_prior(self) -> np.ndarray:
        P = len(self.platforms)
        share = getattr(self, "_market_share", None)
        if share is None or len(share) < P or share.sum() <= 0:
            w = self._target_weight[:P]
            return w / w.sum()
        return np.r_[share, np.zeros(P - len(share))]

    # ============================================================== construction helpers
    def _initial_types(self) -> list[str]:
        """Platform types by largest remainder of their weights (embedded first)."""
        pp = self.params.platforms
        w = np.array([pp.type_params(t).weight for t in PLATFORM_TYPES], dtype=float)
        quota = pp.n * w / w.sum()
        counts = np.floor(quota).astype(int)
        for i in np.argsort(-(quota - counts), kind="stable")[: pp.n - counts.sum()]:
            counts[i] += 1
        return [t for t, c in zip(PLATFORM_TYPES, counts) for _ in range(c)]

    def _add_platform(self, kind: str, initial: bool) -> Platform:
        p = self.params
        tp = p.platforms.type_params(kind)
        idx = len(self.platforms)
        pl = Platform(self, idx, kind, tp, tp.equity_per_borrower * self.n_borrowers,
                      p.platforms)
        self.platforms.append(pl)
        self._account = np.pad(self._account, ((0, 0), (0, 1)), constant_values=-1)
        self._target_weight[idx] = np.exp(tp.convenience)
        B = p.banks.n
        k = min(B, p.banks.partners_per_platform * (3 if kind == "embedded" else 1))
        partners = self.rng.choice(B, size=k, replace=False)
        if initial:
            total_w = sum(np.exp(p.platforms.type_params(t).convenience)
                          for t in self._initial_types())
            line = p.banks.initial_line_per_borrower * self.n_borrowers * np.exp(
                tp.convenience) / total_w
        else:
            line = 0.02 * p.banks.initial_line_per_borrower * self.n_borrowers
        lim = self.regulator.policy.bank_platform_exposure_limit
        for b in partners:
            self.lines[b, idx] = min(line / k, lim * max(self.banks[b].equity, 0.0))
        return pl

    def _create_interbank(self) -> np.ndarray:
        """Interbank exposures ``E[i, j]`` = what bank i is owed by bank j, RMB, put on both
        banks' balance sheets (deposits adjust so each balance sheet adds up)."""
        E = _interbank_exposures(self.params.network.interbank,
                                 np.array([bk.other_loans for bk in self.banks]), self.rng)
        for bk in self.banks:
            bk.interbank_assets = float(E[bk.idx].sum())
            bk.interbank_liabilities = float(E[:, bk.idx].sum())
            bk.deposits += bk.interbank_assets - bk.interbank_liabilities
        return E

    def _create_banks(self) -> list[Bank]:
        bp = self.params.banks
        size = (np.arange(1, bp.n + 1, dtype=float)) ** (-bp.size_exponent)
        other = bp.assets_per_borrower * self.n_borrowers * size / size.sum()
        return [Bank(self, i, other[i], bp) for i in range(bp.n)]

    # ============================================================== queries
    def _platform_array(self, attr: str, dtype=float) -> np.ndarray:
        return np.array([getattr(pl, attr) for pl in self.platforms], dtype=dtype)

    def _bank_outstanding(self) -> np.ndarray:
        """Banks' open joint loans by platform, array (n_platforms, n_banks), RMB."""
        bal = self._book_cache
        if bal is None or len(bal) != self.pools.n:
            bal = self._pool_balances().sum(axis=1)
        return self.pools.bank_by_platform(bal, len(self.platforms))

    def _borrower_due_estimate(self) -> np.ndarray:
        L = self.loans
        idx = np.flatnonzero(L.status <= LoanStatus.DELINQUENT)
        bal = L.balance[idx] * (1.0 + L.apr[idx] / 12.0)
        due = repayment.amount_due(bal, L.instalment[idx], L.n_missed[idx], L.months_left[idx])
        return np.bincount(L.borrower_idx[idx], weights=due, minlength=self.n_borrowers)

    def _debt_matrices(self):
        """This month's debt state (see ``_compute_debt_state``), updated as loans are made;
        a platform that entered since it was built gets a column of zeros."""
        if self._debt_state is None:
            self._debt_state = self._compute_debt_state()
        own_m, total_debt, n_lenders = self._debt_state
        P = len(self.platforms)
        if own_m.shape[1] < P:
            own_m = np.pad(own_m, ((0, 0), (0, P - own_m.shape[1])))
            self._debt_state = (own_m, total_debt, n_lenders)
        return self._debt_state

    def _compute_debt_state(self):
        """(debt of each borrower at each platform: dense array (n_borrowers, n_platforms),
        total debt, number of lenders) from the open loans."""
        L = self.loans
        m = L.is_open()
        P = len(self.platforms)
        b, bal = L.borrower_idx[m], L.balance[m]
        own = np.bincount(_cell_key(b, L.platform_idx[m], P), weights=bal,
                          minlength=self.n_borrowers * P)
        # totals and lender counts from the loans and the non-empty cells, not from passes over
        # the whole dense matrix
        lenders = np.bincount(np.flatnonzero(own > 0) // P, minlength=self.n_borrowers)
        total = np.bincount(b, weights=bal, minlength=self.n_borrowers)
        # (bincount of no loans at all is an integer array)
        return (own.astype(np.float64, copy=False).reshape(self.n_borrowers, P),
                total.astype(np.float64, copy=False), lenders)

    def borrower_debt(self) -> np.ndarray:
        """Total open debt of every borrower, RMB."""
        L = self.loans
        m = L.is_open()
        return np.bincount(L.borrower_idx[m], weights=L.balance[m], minlength=self.n_borrowers)

    def borrower_lenders(self) -> np.ndarray:
        """Number of distinct lenders each borrower owes."""
        return self._between_steps_debt()[2]

    def _between_steps_debt(self):
        """(own debt matrix, total debt, lenders) as of the last completed step, computed once
        per step: ``Borrower.debt`` over thousands of agents must not redo it per agent."""
        cache = getattr(self, "_view_cache", None)
        if cache is None or cache[0] != (self.steps, self.loans.n):
            self._view_cache = cache = ((self.steps, self.loans.n),
                                        self._compute_debt_state())
        return cache[1]

    LAYERS = ("social", "lending", "funding", "interbank")

    def layer(self, name: str):
        """One network layer as a scipy CSR matrix (DESIGN.md: networks):

        - ``social``: borrowers x borrowers, symmetric 0/1 ties;
        - ``lending``: borrowers x platforms, open balance owed, RMB (from the loan book);
        - ``funding``: banks x platforms, open joint loans the bank funds, RMB (contracts);
        - ``interbank``: banks x banks, ``[i, j]`` what bank i is owed by bank j, RMB.
        """
        import scipy.sparse as sp

        if name == "social":
            return sp.csr_matrix(self.social)
        if name == "lending":
            L = self.loans
            m = L.is_open()
            return sp.csr_matrix((L.balance[m], (L.borrower_idx[m], L.platform_idx[m])),
                                 shape=(self.n_borrowers, len(self.platforms)))
        if name == "funding":
            return sp.csr_matrix(self._bank_outstanding().T)
        if name == "interbank":
            return sp.csr_matrix(self.interbank)
        raise ValueError(f"layer {name!r}: allowed: {', '.join(self.LAYERS)}")

    def layer_graph(self, name: str):
        """A layer as a networkx graph (bipartite layers with a ``bipartite`` node flag)."""
        from lendsim.simulation.layers import to_networkx

        return to_networkx(self.layer(name), directed=name != "social")

    def export_layer(self, name: str, path) -> None:
        """Write a layer as an edge list (``.csv``) or GraphML (``.graphml``) for other
        tools."""
        from lendsim.simulation.layers import write_layer

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
        df = pd.DataFrame({c: getattr(L, c)[m] for c in cols})
        df["status"] = [LoanStatus(s).name for s in df["status"]]
        return df

    def tables(self) -> dict[str, pd.DataFrame]:
        """Outputs so far: model, platforms, banks, events (and borrowers snapshots)."""
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

    def _event(self, kind: str, agent_type: str, agent_id: int, size: float,
               detail: str) -> None:
        self._records["events"].append({"step": self.steps, "kind": kind,
                                        "agent_type": agent_type, "agent_id": int(agent_id),
                                        "size": float(size), "detail": detail})


def _interbank_exposures(ib, size: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Dense exposures (n_banks, n_banks), RMB, ``E[i, j]`` = what bank i is owed by bank j.

    Each bank lends ``exposure_share`` of its other loans, split evenly over the banks it lends
    to (Gai & Kapadia 2010). ``random``: directed Erdos-Renyi with ``mean_degree``;
    ``core_periphery``: the ``n_core`` largest banks lend to each other, and each core /
    periphery pair is linked each way with probability ``mean_degree / (2 n_core)`` (Craig &
    von Peter 2014); ``file``: the user's matrix, as given.
    """
    from lendsim.simulation import interbank

    B = len(size)
    if ib.kind == "none" or B < 2:
        return np.zeros((B, B))
    if ib.kind == "file":
        return interbank.from_file(ib.file, B).toarray()
    assets = ib.exposure_share * size
    if ib.kind == "random":
        E = interbank.random_directed(B, mean_degree=min(ib.mean_degree, B - 1), sizes=assets,
                                      rng=rng)
    else:
        n_core = min(ib.n_core, B)
        p = min(1.0, ib.mean_degree / (2.0 * n_core))
        E = interbank.core_periphery(B, n_core, 1.0, p, p, 0.0, rng, sizes=assets)
    return E.toarray()


class _MonthStats:
    """Counters filled during a step and read by data collection."""

    def __init__(self, n: int, n_platforms: int):
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
        self.granted_any = np.zeros(n, dtype=bool)
        self._rounds: list[tuple] = []  # application rounds not yet tallied
        self._n_platforms = n_platforms
        self.apr_weighted = 0.0
        self.orig_amount = 0.0
        self.refinance_amount = 0.0
        # per platform; entrants join in phase 7, after the month's lending
        self.orig_by_platform = np.zeros(n_platforms)
        self.apr_by_platform = np.zeros(n_platforms)
        self.n_new_by_platform = np.zeros(n_platforms)
        self.originations = 0.0
        self.charge_offs = 0.0
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
        self.failures: list[tuple[str, int, str, str]] = []  # (type, idx, channel, detail)
        self.n_incidents = 0
        self.shocked_banks: set[int] = set()
        self.breached = set()  # platforms with a data breach this month
        self.retail_withdrawals = 0.0

    def add_credit_losses(self, by_channel: dict[str, float]) -> None:
        for k, v in by_channel.items():
            self.losses[k] += v

    def count_applications(self, seg_applied, seg_won, amount, apr, is_refinance, P, plat,
                           q_applied, q_won):
        """Record one round of applications (segments and income quintiles of applicants and
        winners; winners' amounts, APRs and platforms); :meth:`tally` sums them."""
        self._rounds.append((seg_applied, seg_won, amount, apr, plat, q_applied, q_won))
        self._n_platforms = P
        if is_refinance:
            self.refinance_amount += float(amount.sum())

    def tally(self) -> None:
        """Sum the month's application rounds into the counters (once a month, after all
        lending: one pass instead of one per round)."""
        if not self._rounds:
            return
        seg_a, seg_w, amount, apr, plat, q_a, q_w = (np.concatenate(parts)
                                                     for parts in zip(*self._rounds))
        self._rounds = []
        P, w = self._n_platforms, amount * apr
        self.apps += np.bincount(seg_a, minlength=3)
        self.approved += np.bincount(seg_w, minlength=3)
        self.orig_by_segment += np.bincount(seg_w, weights=amount, minlength=3)
        self.apr_by_segment += np.bincount(seg_w, weights=w, minlength=3)
        self.apps_q += np.bincount(q_a, minlength=5)
        self.approved_q += np.bincount(q_w, minlength=5)
        self.orig_by_quintile += np.bincount(q_w, weights=amount, minlength=5)
        self.apr_by_quintile += np.bincount(q_w, weights=w, minlength=5)
        self.apr_weighted += float(w.sum())
        self.orig_amount += float(amount.sum())
        self.orig_by_platform += np.bincount(plat, weights=amount, minlength=P)
        self.apr_by_platform += np.bincount(plat, weights=w, minlength=P)
        self.n_new_by_platform += np.bincount(plat, minlength=P)


__all__ = ["MarketModel", "MODEL_COLUMNS", "RISK_SEGMENTS"]
