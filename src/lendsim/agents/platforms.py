"""Lending platforms: balance sheet, scoring model, pricing and funding strategies, failure.

References:
    docs/ODD.md, 2. Entities ("Platform") and 7. Submodels ("Scoring", "Pricing", "Funding",
    "Entry and exit").
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import mesa
import numpy as np

from lendsim.agents.guarantors import perceived_loss
from lendsim.agents.institutions import Institution
from lendsim.agents.rules import scoring, underwriting
from lendsim.simulation import strategies
from lendsim.simulation.features import FEATURES, N_FEATURES, prior_coef
from lendsim.simulation.params import PlatformParams, PlatformTypeParams, RegulatorParams

#: A refit scores the loans matured since the last one (out-of-sample AUC and KS) only when
#: at least this many have matured: fewer give no stable estimate.
MIN_NEW_FOR_VALIDATION = 50
#: Edges of the bands of predicted lifetime PD in which a refit's held-out validation compares
#: predicted and realised default rates (the validation table).
CALIBRATION_BANDS = (0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 1.0)
#: Weight of ``platforms.lgd`` in a platform's estimate of its loss severity, in charged-off
#: loans: with fewer of its own the lender leans on the assumption.
SEVERITY_PRIOR_LOANS = 5
#: A platform pays out equity above ``(1 + PAYOUT_BAND)`` times its target (a band, so that
#: it does not pay out and raise in turn).
PAYOUT_BAND = 0.25
#: A platform rationed by its own capacity raises at most this share of its equity in a
#: month (an offering takes time; four months of raises double it).
RAISE_SHARE = 0.2
#: The least equity a platform keeps however small its book, share of its initial equity.
MIN_EQUITY_SHARE = 0.1
#: A platform's monthly income statement, RMB (columns of the platforms table; docs/ODD.md
#: 7.11, *Income statement*): what it earns ...
INCOME_LINES = ("interest_income", "fee_income", "guarantee_claims")
#: ... and what it spends or loses; ``profit`` is the first less the second, and equals the
#: month's change in equity plus dividends less new equity (gross of its cost).
EXPENSE_LINES = ("credit_losses", "provision_charge", "operating_cost", "origination_cost",
                 "fixed_cost", "funding_cost", "guarantee_premiums", "marketing", "issue_cost",
                 "run_cost", "incident_cost")


@dataclass(frozen=True)
class PlatformArrays:
    """What underwriting reads of every platform, one array entry per platform.

    Attributes:
        is_active, posted_apr, reputation, convenience: what borrowers see when they choose.
        coef: scoring coefficients, (n_platforms, n_features).
        funding_cost: the cost of funding a loan, annual: the platform's own share at its
            own cost, the partner banks' share at their hurdle rate (``PlatformArrays.of``).
        own_funding_cost: the platform's own cost of funds, benchmark rate + its funding
            spread, annual.
        operating_cost, margin, fee_rate: annual fractions of the balance.
        loss_severity: what a default costs, share of the loan's principal: each platform's
            estimate from its own charge-offs (:meth:`Platform.loss_severity`), the loss
            given default of its pricing.
        term: instalment-loan term, months.
        pd_cutoff: largest lifetime PD approved.
        limit_income_multiple: credit limit, multiple of monthly income.
        noise_sd: sd of the noise on the platform's risk signal.
        repayment_priority: share of short borrowers who pay this platform first.
        is_licensed: licensed lenders (outside a cap that binds private lending only).
        serves_purchase, serves_cash: whether it lends for purchases in its ecosystem, and
            cash loans (the type's ``products``).
        cost_per_loan: cost of originating an underwritten loan, RMB.
        hassle_share: share of borrowers' application hassle an application to it costs.
        max_apr: the product's own price ceiling, all-in APR (0: none).
        requires_income: lends only to borrowers with a job.
        max_debt_income: largest visible debt / annual income it lends up to.
        pricing: each platform's pricing strategy.
        cover_share: share of a new loan's loss a live guarantor will pay back to the
            lender's funders (0 without cover; docs/ODD.md, 7.17.10), None when no platform
            is insured (the default market).
        premium_rate: the guarantee premium on a new loan's balance, annual (0 without
            cover), None when no platform is insured.
        scorers: ``(platform index, scoring model, fitted state)`` of every platform whose
            score is not the logistic ``coef`` (a fitted tree or network model); empty when
            every platform scores with its coefficients.
        sees: which of the run's alternative features each platform's type sees,
            (n_platforms, n_alternative) booleans (no columns without alternative data).
    """

    is_active: np.ndarray
    posted_apr: np.ndarray
    reputation: np.ndarray
    convenience: np.ndarray
    coef: np.ndarray
    funding_cost: np.ndarray
    own_funding_cost: np.ndarray
    operating_cost: np.ndarray
    loss_severity: np.ndarray
    margin: np.ndarray
    term: np.ndarray
    pd_cutoff: np.ndarray
    limit_income_multiple: np.ndarray
    noise_sd: np.ndarray
    fee_rate: np.ndarray
    repayment_priority: np.ndarray
    is_licensed: np.ndarray
    serves_purchase: np.ndarray
    serves_cash: np.ndarray
    cost_per_loan: np.ndarray
    hassle_share: np.ndarray
    max_apr: np.ndarray
    requires_income: np.ndarray
    max_debt_income: np.ndarray
    pricing: tuple
    cover_share: np.ndarray | None = None
    premium_rate: np.ndarray | None = None
    scorers: tuple = ()
    sees: np.ndarray | None = None

    @classmethod
    def of(cls, platforms: list[Platform], benchmark_rate: float, pp: PlatformParams,
           reg: RegulatorParams, bank_hurdle: float,
           cover: tuple[np.ndarray, np.ndarray] | None = None) -> PlatformArrays:
        """The arrays of ``platforms``; ``bank_hurdle`` is the partner banks' hurdle rate on
        their share of a loan, annual (:meth:`lendsim.agents.banks.Bank.hurdle_rate`);
        ``cover`` each platform's ``(cover_share, premium_rate)`` on new loans, None when no
        platform is insured (:func:`lendsim.agents.guarantors.pricing_terms`)."""
        pls = platforms
        own_cost = np.array([benchmark_rate + pl.tp.funding_spread for pl in pls])
        own_share = np.array([pl.own_share(reg) for pl in pls])
        return cls(
            is_active=np.array([pl.is_active for pl in pls]),
            posted_apr=np.array([pl.posted_apr for pl in pls]),
            reputation=np.array([pl.reputation for pl in pls]),
            convenience=np.array([pl.tp.convenience for pl in pls]),
            coef=np.array([pl.coef for pl in pls]),
            funding_cost=own_share * own_cost + (1.0 - own_share) * bank_hurdle,
            own_funding_cost=own_cost,
            operating_cost=np.array([pl.tp.operating_cost for pl in pls]),
            loss_severity=np.array([pl.loss_severity(pp) for pl in pls]),
            margin=np.array([pl.margin for pl in pls]),
            term=np.array([pl.tp.term_months for pl in pls], dtype=np.int64),
            pd_cutoff=np.array([pl.pd_cutoff for pl in pls]),
            limit_income_multiple=np.array([pl.tp.limit_income_multiple for pl in pls]),
            noise_sd=np.array([pl.noise_sd(pp) for pl in pls]),
            fee_rate=np.array([pl.tp.fee_rate for pl in pls]),
            repayment_priority=np.array([pl.tp.repayment_priority for pl in pls]),
            is_licensed=np.array([pl.tp.is_licensed for pl in pls], dtype=bool),
            serves_purchase=np.array([pl.tp.products != "cash" for pl in pls], dtype=bool),
            serves_cash=np.array([pl.tp.products != "purchase" for pl in pls], dtype=bool),
            cost_per_loan=np.array([pl.tp.cost_per_loan for pl in pls]),
            hassle_share=np.array([pl.tp.application_hassle_share for pl in pls]),
            max_apr=np.array([pl.tp.max_apr for pl in pls]),
            requires_income=np.array([pl.tp.requires_income for pl in pls], dtype=bool),
            max_debt_income=np.array([pl.tp.max_debt_income for pl in pls]),
            pricing=tuple(pl.pricing for pl in pls),
            cover_share=None if cover is None else cover[0],
            premium_rate=None if cover is None else cover[1],
            scorers=tuple((pl.idx, pl.scoring, pl.scorer) for pl in pls
                          if pl.scorer is not None),
            sees=np.array([pl.sees for pl in pls], dtype=bool).reshape(len(pls), -1),
        )

    def retained_loss_rate(self, el: np.ndarray, p: np.ndarray) -> np.ndarray:
        """What a loss of ``el`` (annual rate on the balance) costs the lenders of platforms
        ``p`` net of their guarantee: ``(1 - cover_share) x el + premium_rate`` where a live
        guarantor covers the platform's new loans, ``el`` elsewhere (and everywhere when no
        platform is insured). An insured lender keeps only the uncovered part of the loss
        and pays the premium instead (docs/ODD.md, 7.17.10)."""
        if self.cover_share is None:
            return el
        return underwriting.retained_loss_rate(el, self.cover_share[p], self.premium_rate[p])

    def cost_per_loan_of(self, p: np.ndarray, term: np.ndarray) -> np.ndarray:
        """The origination cost of loans of ``term`` months at platforms ``p``, RMB each:
        instalment loans pay their platform's ``cost_per_loan``; one-month credit (credit
        lines, opened and drawn inside the app) pays none."""
        return np.where(np.asarray(term) > 1, self.cost_per_loan[p], 0.0)

    def pricing_groups(self) -> list[tuple[strategies.Pricing, np.ndarray]]:
        """Each distinct pricing strategy with the platforms that use it (a boolean mask)."""
        names = [s.name for s in self.pricing]
        return [(self.pricing[names.index(n)], np.array([m == n for m in names]))
                for n in dict.fromkeys(names)]


def leverage_limit(tp, reg: RegulatorParams) -> float:
    """Own loans / equity a platform of type params ``tp`` is allowed: the type's appetite,
    the regulator's overall limit, and equity plus the borrowing and bond/ABS limits (each a
    multiple of net assets)."""
    funded = 1.0 + reg.platform_borrowing_limit + reg.platform_abs_limit
    return min(tp.max_leverage, reg.platform_leverage_limit, funded)


def target_leverage(tp, reg: RegulatorParams) -> float:
    """Own loans / equity a platform of type params ``tp`` aims for: its type's target,
    within its limit (:func:`leverage_limit`)."""
    return min(tp.target_leverage, leverage_limit(tp, reg))


def spread_order(n: int) -> np.ndarray:
    """The positions ``0 .. n-1`` in an order in which every run of consecutive entries
    (the first ones, the last ones) takes an even share of any block of the original order:
    ascending by ``(i x phi) mod 1``, ``phi`` the golden ratio's fractional part (Weyl's
    sequence, the most evenly spread of its kind: Kuipers & Niederreiter 1974, *Uniform
    Distribution of Sequences*, ch. 1). Deterministic: it draws no random numbers.

    Examples:
        >>> spread_order(10).tolist()  # the last three, 6, 3 and 8, spread over 0-9
        [0, 5, 2, 7, 4, 9, 1, 6, 3, 8]
    """
    return np.argsort((np.arange(n) * _PHI) % 1.0, kind="stable")


_PHI = (np.sqrt(5.0) - 1.0) / 2.0


class TrainingWindow:
    """The matured loans a platform keeps for its next refit: the last ``size // 2`` one-month
    draws of credit lines and, apart, the last ``size // 2`` instalment loans, each with its
    features at origination, its label (1 = defaulted) and its frequency weight.

    One ring for both would fill with draws, which mature every month and by the thousand,
    and hold a few hundred instalment loans with a handful of defaults: the PD of the loans
    that carry most of the balance would rest on noise. With ``log_term`` among the features
    the fit tells the two products apart, so keeping them in equal numbers costs no bias.

    A month's matured loans arrive repaid first, defaulted last, and a ring keeps what was
    written last: so each batch is written in an order that spreads it evenly
    (:func:`spread_order`), and the part of an older batch a ring still holds when the next
    arrives is a fair sample of it. Written as it came, that part was the batch's tail: every
    default of the previous month was kept beside the new month's, and a lender whose month
    of matured loans filled most of its ring counted its defaults up to twice (the top
    platform's six-month loans, originated in months 61-100 of the default market, had a
    mean PD 1.8 times their default rate on seeds 4 and 5; docs/ODD.md 7.10).
    """

    TERM = FEATURES.index("log_term")
    #: a row is a draw when its log term is below this (terms of 1 month; loans have 3+)
    DRAW_BELOW = float(np.log(1.5 / 6.0))

    def __init__(self, size: int, n_features: int = N_FEATURES):
        half = max(size // 2, 1)
        self.X = np.zeros((2, half, n_features), dtype=np.float32)
        self.y = np.zeros((2, half), dtype=np.int8)
        self.w = np.ones((2, half), dtype=np.float32)
        self.n_seen = np.zeros(2, dtype=np.int64)  # per ring: loans seen (write position)
        self.n_at_fit = np.zeros(2, dtype=np.int64)

    def add(self, X: np.ndarray, y: np.ndarray, weight: float | np.ndarray = 1.0) -> None:
        """Keep matured loans; each stands for ``weight`` matured loans (one number, or one
        per loan)."""
        is_loan = X[:, self.TERM] >= self.DRAW_BELOW
        half = self.y.shape[1]
        weight = np.broadcast_to(np.asarray(weight, dtype=float), y.shape)
        for r, sel in enumerate((~is_loan, is_loan)):
            # more than a ring's worth: every k-th stands for k. The last ones would be a
            # biased sample: a month's defaulted loans come after its repaid ones.
            k = max(-(-int(sel.sum()) // half), 1)
            keep = np.flatnonzero(sel)[::k]
            keep = keep[spread_order(len(keep))]  # what the ring drops first is a fair share
            xs, ys, ws = X[keep], y[keep], weight[keep]
            pos = (self.n_seen[r] + np.arange(len(ys))) % half
            self.X[r, pos], self.y[r, pos], self.w[r, pos] = xs, ys, ws * k
            self.n_seen[r] += len(ys)

    def size(self) -> int:
        """Loans held now."""
        return int(np.minimum(self.n_seen, self.y.shape[1]).sum())

    def rows(self, newest_only: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(X, y, weight)`` of every loan held (float64), or only of those added since the
        last :meth:`mark_fit` (newest first within each ring)."""
        half, parts = self.y.shape[1], []
        for r in range(2):
            k = min(self.n_seen[r] - (self.n_at_fit[r] if newest_only else 0), half)
            pos = (self.n_seen[r] - 1 - np.arange(k)) % half
            parts.append((self.X[r, pos], self.y[r, pos], self.w[r, pos]))
        return tuple(np.concatenate(a).astype(np.float64) for a in zip(*parts))

    def split(self, test_share: float) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
        """``((X, y, weight) of the training part, (X, y, weight) of the test part)``
        (float64): in each ring, a systematic sample of ``floor(test_share x loans held)``
        loans spread evenly over the ring (every fifth at 0.2) is the test window, the rest
        the training window; no loan is in both.

        Spread, not the newest ones: within a month's matured loans the defaulted come after
        the repaid (:func:`lendsim.simulation.phases.platforms_adapt.train_on_matured`), so the
        newest rows of a ring that holds one month would over-count defaults."""
        half, train, test = self.y.shape[1], [], []
        for r in range(2):
            k = int(min(self.n_seen[r], half))
            pos = (self.n_seen[r] - 1 - np.arange(k)) % half  # newest first
            i = np.arange(k)
            held = np.floor((i + 1) * test_share) > np.floor(i * test_share)
            for part, sel in ((test, pos[held]), (train, pos[~held])):
                part.append((self.X[r, sel], self.y[r, sel], self.w[r, sel]))
        return tuple(tuple(np.concatenate(a).astype(np.float64) for a in zip(*part))
                     for part in (train, test))

    def mark_fit(self) -> None:
        self.n_at_fit = self.n_seen.copy()


class Platform(Institution, mesa.Agent):
    """A lending platform of one type (embedded, micro_lender, consumer_finance).

    Balance sheet (RMB): assets ``cash + loans_held - allowance``; liabilities ``debt``
    (wholesale funding of its own share) and ``retail_funds`` (P2P-style investors' money,
    withdrawable); ``equity``. Every month's flows are posted to both
    sides, so ``assets = debt + equity`` holds exactly (checked by ``balance_gap``).

    Its pricing (``tp.pricing``) and funding split (``tp.funding_split``) are strategies
    (:mod:`lendsim.simulation.strategies`) chosen by name in the scenario.
    """

    BALANCE_FIELDS = ("cash", "loans_held", "allowance", "debt", "retail_funds", "equity")
    LOANS = "loans_held"

    def __init__(self, model, idx: int, kind: str, tp: PlatformTypeParams, equity: float,
                 pp: PlatformParams):
        super().__init__(model)
        self.idx = idx
        self.kind = kind
        self.tp = tp
        self.is_active = True
        self.entry_step = model.t  # the month it entered (the model's first: before month 1)
        self.failed_step: int | None = None
        self.retail_funds = float(equity) * tp.retail_funding
        self.cash = float(equity) + self.retail_funds
        self.loans_held = 0.0
        self.allowance = 0.0
        self.debt = 0.0
        self.equity = float(equity)
        self.initial_equity = float(equity)
        # paid-in capital, RMB: what shareholders put in (at entry and in later raises); only
        # the equity above it, retained profit, may be paid out (manage_capital)
        self.paid_in = float(equity)
        self.margin = tp.margin
        self.pd_cutoff = tp.pd_cutoff
        self.reputation = 1.0  # 0..1, lowered by failures of its type and incidents
        self.outage_step: int | None = None  # month of an outage: no lending that month
        # regulator: no new lending until leverage is at or below this target (None: no order)
        self.deleverage_order: float | None = None
        # regulator: no lending up to and including this month (None: not suspended)
        self.suspended_until: int | None = None
        self.is_resolved = False  # failed, and handed to a resolver by the regulator
        self.last_delinquency_30 = 0.0
        # the run's features: the base ones and any alternative data a type sees; this
        # type's scoring model gets the alternative ones it sees (``sees``), 0 otherwise
        names = getattr(model, "features", FEATURES)
        self.sees = np.array([f in tp.alt_data_names() for f in names[N_FEATURES:]], dtype=bool)
        self.coef = prior_coef(len(names))
        # the scoring model (a strategy) and, for a tree or network model, its fitted state
        # (None: score with ``coef``, the prior scorecard until a logistic refit)
        self.scoring = strategies.create("scoring", tp.scoring)
        self.scorer = None
        self.window = TrainingWindow(pp.training_window, len(names))
        self.auc = np.nan
        self.ks = np.nan
        # held-out validation at the last refit (``retrain``): AUC and KS on the test window,
        # the refit's month, and its calibration by band of predicted PD
        self.auc_test = np.nan
        self.ks_test = np.nan
        self.validated_step: int | None = None
        self.validation_sizes = (0, 0)  # loans in its training and test windows
        self.calibration: list[dict[str, float]] = []
        self.months_unfunded = 0
        self.roe_history: deque[float] = deque(maxlen=12)
        # the last 12 months' profit before marketing, RMB (what marketing is planned on)
        self.profit_history: deque[float] = deque(maxlen=12)
        self.equity_raised = 0.0  # this month's new equity, gross of its cost, RMB
        self.dividends = 0.0  # this month's payout, RMB
        self.goodwill = 0.0  # brand built by marketing, depreciated, RMB
        self.marketing = 0.0  # this month's marketing, RMB
        self.start_month()
        # the last 12 months' net charge-offs and managed open balance, RMB: the back-test
        # of the expected loss priced in (loss_realised)
        self.net_charge_offs_12: deque[float] = deque(maxlen=12)
        self.managed_12: deque[float] = deque(maxlen=12)
        # the last 24 months' net charge-offs and the principal of the loans charged off, RMB:
        # the loss severity a default has had (Platform.loss_severity)
        self.severity_24: deque[tuple[float, float, int]] = deque(maxlen=24)
        self._severity_sums = (0, 0, 0)  # its three sums, taken when a month is recorded
        # the price borrowers see before the platform has lent: its costs, margin and a
        # guess of 5 % for expected loss
        self.posted_apr = tp.funding_spread + tp.operating_cost + tp.margin + 0.05
        self.pricing = strategies.create("pricing", tp.pricing)
        self.funding_split = strategies.create("funding_split", tp.funding_split)

    # --- limits under the regulator's rules -------------------------------------------------
    # --- income statement ---------------------------------------------------------------
    def start_month(self) -> None:
        """Open the month's income statement (every line at 0) and note the equity it
        starts from."""
        self.income = dict.fromkeys(INCOME_LINES + EXPENSE_LINES, 0.0)
        self.equity_start = self.equity

    def record(self, line: str, amount: float) -> None:
        """Add ``amount`` RMB to this month's income-statement ``line`` (an income line of
        ``INCOME_LINES`` or an expense of ``EXPENSE_LINES``, both as positive amounts); the
        posting to the balance sheet is the caller's."""
        self.income[line] += amount

    def profit(self) -> float:
        """This month's profit so far, RMB: income less expenses."""
        inc = self.income
        return (sum(inc[k] for k in INCOME_LINES) - sum(inc[k] for k in EXPENSE_LINES))

    def own_share(self, reg: RegulatorParams) -> float:
        return max(self.tp.own_share, reg.joint_lending_min_share)

    def leverage_limit(self, reg: RegulatorParams) -> float:
        """Own loans / equity allowed (:func:`leverage_limit`)."""
        return leverage_limit(self.tp, reg)

    def own_capacity(self, reg: RegulatorParams) -> float:
        """New own-share lending allowed this month by the leverage limit, RMB."""
        if not self.is_active or self.equity <= 0:
            return 0.0
        if self.deleverage_order is not None:
            if self.leverage() <= self.deleverage_order:
                self.deleverage_order = None  # back within the target: order lifted
            else:
                return 0.0
        return max(self.leverage_limit(reg) * self.equity - self.loans_held, 0.0)

    def may_lend(self, step: int, reg: RegulatorParams) -> bool:
        """Whether the platform lends this month: live, no outage, not suspended by the
        regulator, and not a P2P lender while P2P lending is banned."""
        return (self.is_active and self.outage_step != step
                and (self.suspended_until is None or step > self.suspended_until)
                and not (self.tp.is_p2p and not reg.p2p_lending))

    # --- capital ------------------------------------------------------------------------------
    def target_leverage(self, reg: RegulatorParams) -> float:
        """Own loans / equity the platform aims for (:func:`target_leverage`)."""
        return target_leverage(self.tp, reg)

    def target_equity(self, reg: RegulatorParams) -> float:
        """Equity the platform aims to hold, RMB: its own loans at its target leverage, and
        at least ``MIN_EQUITY_SHARE`` of its initial equity."""
        return max(self.loans_held / self.target_leverage(reg),
                   MIN_EQUITY_SHARE * self.initial_equity)

    def manage_capital(self, rationed: bool, roe: float, reg: RegulatorParams,
                       pp: PlatformParams, established: bool = True) -> None:
        """Raise equity or pay it out, once a month.

        A platform whose own capacity (equity x leverage limit) rationed this month's
        lending raises ``RAISE_SHARE`` of its equity, paying ``platforms.equity_issue_cost``
        of the amount, if its trailing return on equity is at least its type's
        ``target_roe`` (growth that earns its cost of capital); a platform holding more than
        ``1 + PAYOUT_BAND`` times its target equity pays the excess out of cash, but no more
        than its retained profit (equity above its paid-in capital): company law lets a
        company distribute only profit left after making up past losses, never its
        registered capital, so an entrant does not hand back the capital it entered with.
        A platform not yet ``established`` (less than a year of results) pays nothing out:
        dividends are paid from earnings a firm expects to last (Lintner 1956), and a lender
        building its book keeps what it raised for that book; ``roe`` is then the return of
        its business plan (its type's target).
        Capital is costly to raise and idle capital earns below its cost, so lenders hold a
        buffer over what their loans need and adjust it with the cost in view.

        References:
            Capital buffers with costly issuance: Myers & Majluf (1984), J. Financ. Econ.
            13, 187-221; Flannery & Rangan (2008), Rev. Finance 12, 391-429 (banks move
            toward a target capital ratio); issue costs: Lee, Lochhead, Ritter & Zhao (1996),
            J. Financ. Res. 19, 59-74; distributable profit only: Company Law of the PRC
            (2018 revision), art. 166 (art. 210 of the 2023 revision); dividends follow
            established earnings: Lintner (1956), Am. Econ. Rev. 46(2), 97-113.
        """
        self.equity_raised = self.dividends = 0.0
        if not self.is_active or self.equity <= 0:
            return
        if rationed and roe >= self.tp.target_roe:
            amount = RAISE_SHARE * self.equity
            cost = pp.equity_issue_cost * amount
            self.post(cash=amount - cost, equity=amount - cost)
            self.record("issue_cost", cost)
            self.paid_in += amount  # the issue cost is an expense: it lowers retained profit
            self.equity_raised = amount
            return
        if not established:
            return
        excess = min(self.equity - (1.0 + PAYOUT_BAND) * self.target_equity(reg),
                     max(self.cash, 0.0), self.equity - self.paid_in)
        if excess > 0:
            self.post(cash=-excess, equity=-excess)
            self.dividends = excess

    def spend_on_marketing(self, amount: float, decay: float) -> None:
        """Spend ``amount`` RMB on marketing this month (an expense, paid from cash, any
        shortfall borrowed) and add it to goodwill after this month's fading (``decay``)."""
        self.marketing = float(amount)
        if amount > 0:
            self.post(cash=-amount, equity=-amount)
            self.record("marketing", self.marketing)
            self.settle_cash()  # financed as its other costs are: borrowing covers a shortfall
        self.goodwill = (1.0 - decay) * self.goodwill + self.marketing

    def leverage(self) -> float:
        return self.loans_held / self.equity if self.equity > 0 else np.inf

    # --- scoring ------------------------------------------------------------------------------
    def noise_sd(self, pp: PlatformParams) -> float:
        """Sd of the noise on this platform's risk signal: falls with technology level."""
        return pp.scoring_noise * (1.0 - self.tp.tech_level)

    def learn(self, X: np.ndarray, y: np.ndarray, weight: float | np.ndarray = 1.0) -> None:
        """Keep matured loans (features at origination, 1 = defaulted) for the next refit;
        ``weight`` is how many matured loans each one stands for (:class:`TrainingWindow`)."""
        self.window.add(X, y, weight)

    @property
    def is_logistic(self) -> bool:
        return self.scoring.name == "logistic"

    def score(self, X: np.ndarray) -> np.ndarray:
        """Lifetime PD of each row of ``X`` by the model in use."""
        if self.scorer is None:
            return scoring.predict_pd(X, self.coef)
        return self.scoring.predict(self.scorer, X)

    def retrain(self, pp: PlatformParams, rng: np.random.Generator | None = None,
                step: int | None = None) -> None:
        """Score the loans matured since the last refit with the current model (``auc``,
        ``ks``), validate the model family on a held-out test window (:meth:`validate`), then
        refit the model on the whole window.

        A logistic platform refits its coefficients (:class:`lendsim.simulation.
        scoring_models.Logistic`); a tree or network platform fits its model with a
        ``random_state`` drawn from ``rng`` (the model's generator; logistic platforms draw
        nothing; ``rng`` defaults to the model's) and keeps its current model when the window
        holds a single class. ``step``: the month, for the validation table (default: the
        model's).

        References:
            Thomas, Edelman & Crook (2002), *Credit Scoring and Its Applications*, ch. 7
            (validation on a holdout sample, then the scorecard built on all the data).
        """
        if self.window.size() < pp.min_training:
            return
        Xn, yn, _ = self.window.rows(newest_only=True)
        if len(yn) >= MIN_NEW_FOR_VALIDATION and 0 < yn.sum() < len(yn):
            self.auc, self.ks = scoring.discrimination(self.score(Xn), yn)
        if not self.is_logistic:
            rng = self.model.rng if rng is None else rng
            seed = int(rng.integers(2 ** 31 - 1))
        else:
            seed = None
        if pp.test_share > 0:
            self.validate(pp, seed, self.model.t if step is None else step)
        X, y, weight = self.window.rows()
        if self.is_logistic:
            self.coef = self.scoring.fit(X, y, weight, pp=pp, start=self.coef,
                                         random_state=None)
        else:
            fitted = self.scoring.fit(X, y, weight, pp=pp, start=self.scorer, random_state=seed)
            self.scorer = fitted if fitted is not None else self.scorer
        self.window.mark_fit()

    def validate(self, pp: PlatformParams, seed: int | None, step: int | None) -> None:
        """Out-of-sample validation: fit the platform's model family on the training part of
        the window and score the held-out test part (``platforms.test_share`` of its loans,
        spread evenly over it; :meth:`TrainingWindow.split`): weighted AUC and KS
        (``auc_test``, ``ks_test``) and predicted against realised default rates by band of
        predicted PD (``calibration``; ``CALIBRATION_BANDS``). Left unchanged when the test
        window is too small or holds one class. (``auc`` and ``ks`` are the out-of-time
        check: the model in use on the loans matured since its refit.)"""
        (X, y, w), (Xt, yt, wt) = self.window.split(pp.test_share)
        if len(yt) < MIN_NEW_FOR_VALIDATION or not 0 < yt.sum() < len(yt) or len(y) == 0:
            return
        start = self.coef if self.is_logistic else None
        fitted = self.scoring.fit(X, y, w, pp=pp, start=start, random_state=seed)
        if fitted is None:
            return
        pd_test = self.scoring.predict(fitted, Xt)
        self.auc_test, self.ks_test = scoring.discrimination(pd_test, yt, wt)
        self.calibration = scoring.calibration_by_band(pd_test, yt, wt, CALIBRATION_BANDS)
        self.validation_sizes = (len(y), len(yt))
        self.validated_step = step

    # --- back-testing -------------------------------------------------------------------------
    def record_losses(self, net_charge_offs: float, managed: float,
                      principal_charged_off: float = 0.0, n_charged_off: int = 0) -> None:
        """Keep one month's net charge-offs (charged off less recovered) on the loans this
        platform originated, its managed open balance at the month's end, and the original
        principal and number of the loans charged off, RMB."""
        self.net_charge_offs_12.append(float(net_charge_offs))
        self.managed_12.append(float(managed))
        self.severity_24.append((float(net_charge_offs), float(principal_charged_off),
                                 int(n_charged_off)))
        # summed once a month here, not at every quote that reads the severity
        self._severity_sums = tuple(sum(v[j] for v in self.severity_24) for j in range(3))

    def loss_severity(self, pp: PlatformParams) -> float:
        """What a default costs, share of the loan's original principal: the net charge-offs
        of the last 24 months over the principal of the loans charged off, shrunk toward
        ``platforms.lgd`` as if the prior were ``SEVERITY_PRIOR_LOANS`` loans' worth of
        evidence.

        A loan defaults after some instalments are paid, so the balance lost is less than
        the principal (exposure at default below 1), and interest accrues while it is in
        arrears; ``platforms.lgd`` (the share of a defaulted balance not recovered) alone
        would price the principal as if lost whole. Lenders estimate the two from their own
        workouts; the product of the two is what the expected loss needs.

        References:
            Basel Committee on Banking Supervision (2005), *An Explanatory Note on the Basel
            II IRB Risk Weight Functions* (EL = PD x LGD x EAD); Thomas, Edelman & Crook
            (2002), *Credit Scoring and Its Applications*, ch. 12 (loss given default).
        """
        nco, principal, n = self._severity_sums
        if n == 0 or principal <= 0:  # nothing charged off, or only loans of no principal
            return pp.lgd
        k = SEVERITY_PRIOR_LOANS * principal / n  # the prior, in RMB of principal
        return (pp.lgd * k + nco) / (k + principal)

    def loss_realised(self) -> float:
        """Annualised net charge-off rate of the managed book, trailing 12 months.

        ``12 x sum(net charge-offs) / sum(managed open balance)`` over the last 12 months
        recorded (fewer in the first year): the realised counterpart of the annualised expected
        loss priced into originations (``el_priced``), as a lender back-tests its loss
        estimates. NaN before a month with a managed balance.

        References:
            Net charge-off rate, annualised, over average loans: FFIEC Uniform Bank
            Performance Report, "net loss to average total LN&LS".
        """
        managed = sum(self.managed_12)
        return 12.0 * sum(self.net_charge_offs_12) / managed if managed > 0 else np.nan

    # --- strategy -----------------------------------------------------------------------------
    def adapt(self, signals: strategies.MarketSignals, pp: PlatformParams) -> None:
        """Set next month's margin and cut-off by the platform's pricing strategy, from what
        it reads of its market."""
        self.pricing.adapt(self, signals, pp)

    def fail(self, step: int) -> None:
        self.is_active = False
        self.failed_step = step
        self.reputation = 0.0

    def retail_flows(self, cp, cover: float = 0.0) -> tuple[float, float]:
        """Retail investors' net withdrawal this month and the cost of meeting it, RMB.

        In normal times ``retail_base_withdrawal`` of the funds leave and as much comes back
        (scaled by reputation); on bad news (lost reputation) another
        ``retail_run_sensitivity x (1 - reputation)`` leaves: a run. Investors also bring
        ``retail_refill x reputation`` of the gap between what the platform can take and what
        it holds: the loans it holds beyond the equity it aims for (own loans / its type's
        target leverage; investors fund loans, not idle cash), at most ``retail_funding x
        equity``. Money comes back after a run as trust does, and
        grows with the platform's book. What cash cannot meet is raised at
        ``run_penalty`` per RMB (fire sale, emergency funding). ``cover``: the share of
        losses investors believe a live guarantor pays; they read bad news net of it
        (:func:`lendsim.agents.guarantors.perceived_loss`; 0 without a guarantor).

        References:
            docs/calibration.md, 2.4 (fact 5): runs spread between platforms through news
            (Cheng, Leite & Caldieraro 2022).
        """
        if not self.is_active or (self.retail_funds <= 0 and self.tp.retail_funding <= 0):
            return 0.0, 0.0
        lost = 1.0 - self.reputation if cp.reputation else 0.0
        if cover:  # only an insured platform's investors, while its guarantor is live
            lost = perceived_loss(lost, cover)
        rep = 1.0 - lost
        out = self.retail_funds * min(cp.retail_base_withdrawal + cp.retail_run_sensitivity
                                      * lost, 1.0)
        equity = max(self.equity, 0.0)
        aim = self.loans_held / self.tp.target_leverage
        appetite = min(self.tp.retail_funding * equity, max(self.loans_held - aim, 0.0))
        net = out - rep * (self.retail_funds * cp.retail_base_withdrawal
                           + cp.retail_refill * max(appetite - self.retail_funds, 0.0))
        cost = cp.run_penalty * max(net - max(self.cash, 0.0), 0.0)
        self.post(retail_funds=-net, cash=-(net + cost), equity=-cost)
        self.record("run_cost", cost)
        return net, cost

    # --- accounting ---------------------------------------------------------------------------
    def balance_gap(self) -> float:
        """assets - liabilities - equity; zero up to rounding."""
        return (self.cash + self.loans_held - self.allowance - self.debt - self.retail_funds
                - self.equity)

    def settle_cash(self) -> None:
        """Borrow to cover a cash shortfall; repay debt from surplus cash."""
        if self.cash < 0:
            self.debt -= self.cash
            self.cash = 0.0
        elif self.debt > 0:
            r = min(self.cash, self.debt)
            self.cash -= r
            self.debt -= r
