"""Borrowers: a struct of numpy arrays, and a Mesa agent that reads and writes one row.

References:
    docs/ODD.md, section 2 (Borrower) and 7.2-7.3, 7.5, 7.9; docs/calibration.md, 2.3.
"""

from __future__ import annotations

import mesa
import numpy as np

from lendsim.agents.rules import demand, income, repayment
from lendsim.simulation.allocator import in_place
from lendsim.simulation.params import BorrowerParams, MacroParams

RISK_SEGMENTS = ("prime", "near_prime", "subprime")
#: Trust in online lenders is Beta(a, b) across borrowers: mean 5/7 (most borrowers trust them
#: more than not) with a long tail of sceptics. An assumption of the model, not a calibrated
#: figure; trust matters through platform choice and strategic non-payment.
TRUST_BETA = (5.0, 2.0)


class BorrowerPopulation:
    """All borrowers' state, one array per attribute (length ``n``).

    Attributes:
        base_income: RMB/month, log-normal across borrowers, scaled by city tier; grows at
            ``macro.income_growth``.
        tier: city tier index (0 = tier 1).
        risk: latent risk type, standard normal (higher = riskier); never observed directly.
        risk_segment: 0 prime, 1 near-prime, 2 subprime (terciles of ``risk``), for reporting.
        is_employed, income (RMB this month), cash (RMB), need (RMB, this month's spending need).
        income_state: persistent log-income component (AR(1), log points; 7.2).
        trust: trust in online lenders, 0..1.
        bureau_u: a borrower is visible to lenders through the credit bureau when
            ``bureau_u < regulator.data_sharing``, so raising coverage only adds borrowers.
        months_since_default: months since the last default (large = never).
        re_employed: found a job this month after a spell of unemployment (7.2, scars).
        collection_debt: charged-off debt still owed to a collector, RMB (7.11).
        months_since_charge_off: months since a loan was last charged off (large = never).
        pay_first_u: short of cash, a borrower pays a lender of type t before all others when
            ``pay_first_u < t.repayment_priority`` (a fixed trait: those who pay through that
            lender's super-app).
    """

    NEVER = 10_000

    def __init__(self, p: BorrowerParams, macro: MacroParams, rng: np.random.Generator,
                 tier: np.ndarray | None = None):
        n = p.n
        self.p = p
        self.n = n
        shares = np.asarray(p.tier_shares)
        self.tier = (tier if tier is not None
                     else rng.choice(len(shares), size=n, p=shares / shares.sum()))
        mult = np.asarray(p.tier_income)[self.tier]
        self.base_income = p.income_median * mult * np.exp(p.income_dispersion
                                                           * rng.standard_normal(n))
        self.risk = rng.standard_normal(n)
        self.risk_segment = np.digitize(self.risk, np.quantile(self.risk, [1 / 3, 2 / 3]))
        # income quintile at the start (0 = poorest), for who-is-affected reports
        self.income_quintile = np.digitize(self.base_income, np.quantile(
            self.base_income, [0.2, 0.4, 0.6, 0.8])).astype(np.int8)
        # job-loss hazard loading with mean one: exp(g z) / E[exp(g z)], z ~ N(0, 1)
        g = p.risk_job_loss
        self.job_loss_loading = np.exp(g * self.risk - 0.5 * g * g)
        self.is_employed = rng.random(n) >= macro.unemployment_rate
        self.re_employed = np.zeros(n, dtype=bool)  # found a job this month after a spell
        self.income = self.base_income.copy()
        self.cash = self.base_income * rng.random(n) * p.initial_cash_months
        self.need = np.zeros(n)
        self.discretionary = np.zeros(n)
        self.debt_tolerance = p.debt_tolerance * np.exp(p.risk_tolerance * self.risk)
        self.trust = rng.beta(*TRUST_BETA, n)
        self.bureau_u = rng.random(n)
        self.months_since_default = np.full(n, self.NEVER, dtype=np.int32)
        self.pay_first_u = rng.random(n)
        # persistent log-income component, from its stationary law (7.2)
        self.income_state = p.income_persistent_sd * rng.standard_normal(n)
        # charged-off debt still owed to collectors, RMB, and months since the last
        # charge-off (the limitation period runs from it; 7.11, Collections)
        self.collection_debt = np.zeros(n)
        self.months_since_charge_off = np.full(n, self.NEVER, dtype=np.int32)

    # -- decisions (vectorised) -------------------------------------------------------------
    def update_employment(self, unemployment_target: float, job_finding_rate: float,
                          rng: np.random.Generator) -> None:
        """Employment transitions for the month (two-state Markov chain)."""
        p_eu = income.job_loss_prob(unemployment_target, job_finding_rate,
                                    self.job_loss_loading)
        was_employed = self.is_employed
        self.is_employed = income.employment_step(self.is_employed, p_eu, job_finding_rate,
                                                  rng.random(self.n))
        self.re_employed = self.is_employed & ~was_employed

    def receive_income(self, income_loss: float, rng: np.random.Generator,
                       scar_drift: float = 0.0) -> None:
        """This month's income: the persistent component moves one AR(1) step and takes the
        scars of those who found a job after unemployment (``scar_drift``: every borrower's
        monthly drift that keeps the component's mean at 0), then the transitory shock and
        the macro income loss apply (7.2)."""
        p = self.p
        # month-lived arrays are written into last month's (allocator.in_place)
        state = income.persistent_step(self.income_state, p.income_persistence,
                                       p.income_persistent_sd, rng.standard_normal(self.n))
        if p.job_loss_scar > 0.0:
            state = income.displacement_scar(state, self.re_employed, p.job_loss_scar,
                                             scar_drift)
        self.income_state = in_place(self.income_state, state)
        self.income = in_place(self.income, income.monthly_income(
            self.base_income, self.is_employed, rng.standard_normal(self.n),
            p.income_volatility, p.benefit_share, income_loss, self.income_state,
            p.income_persistent_sd))
        self.cash += self.income

    def charged_off(self, borrower_idx: np.ndarray, balance: np.ndarray) -> None:
        """Loans of borrowers ``borrower_idx`` (one entry per loan) were charged off with
        ``balance`` (RMB) unpaid: the borrowers still owe it to a collector, and the
        limitation period starts again (7.11, *Collections*)."""
        # a month's charge-offs are few against the population: add them loan by loan
        np.add.at(self.collection_debt, borrower_idx, balance)
        self.months_since_charge_off[borrower_idx] = 0

    def pay_collections(self) -> float:
        """Pay collectors this month's share of income on charged-off debt, out of cash;
        debt past the limitation period is no longer collected (7.11, *Collections*).
        Returns the month's payments, RMB."""
        p = self.p
        self.months_since_charge_off = in_place(
            self.months_since_charge_off, np.minimum(self.months_since_charge_off + 1, self.NEVER))
        self.collection_debt[self.months_since_charge_off > p.collection_months] = 0.0
        if p.collection_share <= 0.0:
            return 0.0
        owed = np.flatnonzero(self.collection_debt > 0.0)
        pay = repayment.collection_payment(self.collection_debt[owed], self.income[owed],
                                           self.cash[owed], p.collection_share)
        self.collection_debt[owed] -= pay
        self.cash[owed] -= pay
        return float(pay.sum())

    def spending_needs(self, demand_level: float, rng: np.random.Generator) -> None:
        p = self.p
        z, u = rng.standard_normal(self.n), rng.random(self.n)
        shock_z = rng.standard_normal(int((u < p.expense_shock_prob).sum()))
        need, disc = demand.spending_need(
            self.base_income, self.risk, self.cash, z, u, shock_z,
            essential_share=p.essential_share,
            discretionary_share=p.discretionary_share, volatility=p.need_volatility,
            risk_spending=p.risk_spending, demand_level=demand_level,
            shock_prob=p.expense_shock_prob, shock_size=p.expense_shock_size,
            buffer_months=p.buffer_months, spend_down=p.spend_down)
        self.need = in_place(self.need, need)
        self.discretionary = in_place(self.discretionary, disc)

    def credit_requests(self, due: np.ndarray, debt: np.ndarray
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """What each borrower asks to borrow this month for purchases and in cash (0 = no
        application), RMB, and whether the purchase credit is convenience credit (repaid next
        month)."""
        p = self.p
        return demand.credit_demand(self.need, self.discretionary, self.cash, due,
                                    self.debt_room(debt),
                                    convenience_credit=p.convenience_credit,
                                    min_loan=p.min_loan)

    def debt_room(self, debt: np.ndarray, idx: np.ndarray | slice = slice(None)
                  ) -> np.ndarray:
        """What borrowers ``idx`` (all by default) owing ``debt`` (RMB, aligned with ``idx``)
        would still borrow: their tolerated debt, ``debt_tolerance x annual base income``,
        minus what they owe, RMB (negative past it)."""
        return self.debt_tolerance[idx] * 12.0 * self.base_income[idx] - debt

    def spend(self, due: np.ndarray) -> np.ndarray:
        """Spend on needs what is left after this month's instalments; returns consumption."""
        consumption = np.minimum(self.need, np.maximum(self.cash - due, 0.0))
        self.cash -= consumption
        return consumption

    def is_in_default(self) -> np.ndarray:
        """Defaulted within the last 12 months (what contacts notice)."""
        return self.months_since_default < 12

    def snapshot(self) -> dict[str, np.ndarray]:
        return {"borrower_id": np.arange(self.n), "tier": self.tier, "risk": self.risk,
                "risk_segment": self.risk_segment, "income_quintile": self.income_quintile,
                "base_income": self.base_income,
                "income": self.income, "cash": self.cash, "is_employed": self.is_employed,
                "trust": self.trust, "months_since_default": self.months_since_default,
                "collection_debt": self.collection_debt}


class Borrower(mesa.Agent):
    """One borrower as a Mesa agent: a view of row ``idx`` of the model's population.

    Reading or setting ``borrower.cash`` reads or writes ``model.population.cash[idx]``, so a
    researcher can inspect or change one borrower, and Mesa's AgentSet tools work
    (``model.agents_by_type[Borrower].select(lambda b: b.debt > 0).agg("cash", np.mean)``).
    The monthly rules run on the whole population at once; ``step`` does nothing.
    """

    def __init__(self, model, idx: int):
        super().__init__(model)
        self.idx = int(idx)

    def _get(name):  # noqa: N805  (property factory)
        def getter(self):
            return getattr(self.model.population, name)[self.idx].item()

        def setter(self, value):
            getattr(self.model.population, name)[self.idx] = value

        return property(getter, setter, doc=f"population.{name}[idx]")

    base_income = _get("base_income")
    income = _get("income")
    cash = _get("cash")
    risk = _get("risk")
    risk_segment = _get("risk_segment")
    trust = _get("trust")
    is_employed = _get("is_employed")
    tier = _get("tier")
    months_since_default = _get("months_since_default")
    collection_debt = _get("collection_debt")
    del _get

    @property
    def debt(self) -> float:
        """Total owed to all lenders, RMB."""
        return float(self.model.debt_between_steps().total[self.idx])

    @property
    def n_lenders(self) -> int:
        return int(self.model.borrower_lenders()[self.idx])

    @property
    def loans(self):
        """This borrower's open loans as a pandas DataFrame."""
        return self.model.loans_frame(borrower_idx=self.idx)

    def step(self) -> None:
        """No-op: borrowers' rules run vectorised in MarketModel.step."""
