"""Strategies: the rules researchers vary, as small classes chosen by name in the scenario.

Three kinds of decision are strategies:

- ``pricing`` (per platform type, ``platforms.<type>.pricing``): the lowest APR a platform
  accepts of an applicant and the APR it asks, and how it adapts its margin and cut-off each
  month;
- ``funding_split`` (per platform type, ``platforms.<type>.funding_split``): how a platform
  splits the month's new loans between itself and its partner banks, and how much it can lend;
- ``line_rule`` (``banks.line_rule``): how a bank sets its funding line to each platform;
- ``scoring`` (per platform type, ``platforms.<type>.scoring``): the model that estimates an
  applicant's probability of default, refitted on the platform's matured loans
  (:mod:`lendsim.simulation.scoring_models`).

A new strategy is a subclass of :class:`Pricing`, :class:`FundingSplit` or :class:`LineRule`
with a ``name``, registered with :func:`register`; the scenario then names it. No phase needs
an edit: underwriting calls each distinct pricing strategy once, on the applicants at the
platforms that use it. Strategies hold no state: what they decide lives on the agent.

Example (docs/extending.md has a fuller one, which a test runs)::

    from lendsim.simulation import strategies

    @strategies.register
    class FlatPricing(strategies.BreakEven):
        name = "flat"

        def quote(self, pd_life, p, term, arrays, lgd, amount, markup):
            floor, _ = super().quote(pd_life, p, term, arrays, lgd, amount, markup)
            return floor, np.full(len(pd_life), 0.18)

References:
    Strategy classes picked by name in the configuration, as in the INET Oxford macro
    model's code; the default rules are described in docs/ODD.md, section 7.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from lendsim.agents.rules import underwriting
from lendsim.simulation import registry
from lendsim.simulation.params import BankParams, PlatformParams, RegulatorParams


class Strategy:
    """Base of every strategy: a ``name`` (what the scenario says) and a ``kind``."""

    name: ClassVar[str] = ""
    kind: ClassVar[str] = ""


_REGISTRIES = {"pricing": registry.PRICING, "funding_split": registry.FUNDING_SPLIT,
               "line_rule": registry.LINE_RULE, "scoring": registry.SCORING}


def register(cls: type) -> type:
    """Register a strategy class under its ``name`` (use as a class decorator); the scenario
    can then name it."""
    if not (isinstance(cls, type) and issubclass(cls, Strategy) and cls.kind in _REGISTRIES):
        raise TypeError(f"{cls!r}: a strategy is a subclass of Pricing, FundingSplit, "
                        "LineRule or ScoringModel")
    _REGISTRIES[cls.kind].add(cls.name, cls)
    return cls


def create(kind: str, name: str) -> Strategy:
    """A new instance of the strategy ``name`` of ``kind`` (``pricing``, ``funding_split``,
    ``line_rule``, ``scoring``)."""
    return _REGISTRIES[kind].get(name)()


# ------------------------------------------------------------------------------ pricing
@dataclass(frozen=True)
class MarketSignals:
    """What a platform reads of its market when it adapts its prices (once a month).

    Attributes:
        market_share: its share of live platforms' open books.
        target_share: its share of exp(convenience) among live platforms (cost-plus pricing's
            competitive benchmark).
        delinquency_30: its 30+ delinquency (0 when its book is too small to judge).
        price_sensitivity: how much borrowers' choice moves with price: the logit
            coefficient of APR, ``borrowers.price_sensitivity / borrowers.choice_noise``
            (per unit of annual APR).
        managed: its open managed book, RMB.
        capital_per_loan: the equity a loan ties up, per RMB lent: its own share funded at
            its target leverage (``own_share / target_leverage``, the leverage limit if
            lower).
    """

    market_share: float
    target_share: float
    delinquency_30: float
    price_sensitivity: float
    managed: float
    capital_per_loan: float


class Pricing(Strategy):
    """How a platform prices loans and adapts its terms.

    ``quote`` is called once a round for all the applicants at the platforms that use this
    strategy; ``adapt`` once a month for each live platform that uses it. ``arrays`` is a
    :class:`lendsim.agents.platforms.PlatformArrays`, ``platform`` a
    :class:`lendsim.agents.platforms.Platform` (the agents import this module, so it names
    them only here).
    """

    kind = "pricing"

    def quote(self, pd_life: np.ndarray, p: np.ndarray, term: np.ndarray, arrays,
              lgd: np.ndarray, amount: np.ndarray,
              markup: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(floor, price)``, all-in annual APRs (fees included), fractions, for applicants
        with lifetime default probability ``pd_life`` asking for loans of ``amount`` RMB over
        ``term`` months at platforms ``p`` (``lgd``: each lender's loss given default): the
        lowest price the lender accepts (it approves only if the floor is within the cap and
        the PD within its cut-off) and the price it asks, before the cap (the borrower pays
        ``min(price, cap)``). ``markup`` is how price-sensitive the lender expects each
        applicant to be, as the markup Lerner's rule gives it over a borrower of median risk
        (:func:`lendsim.agents.rules.underwriting.risk_markup`; all 1 when price
        sensitivity does not vary with risk): a strategy may use it or not."""
        raise NotImplementedError

    def adapt(self, platform, signals: MarketSignals, pp: PlatformParams) -> None:
        """Set the platform's ``margin`` and ``pd_cutoff`` for next month."""
        raise NotImplementedError

    @staticmethod
    def adapt_cutoff(platform, delinquency_30: float, pp: PlatformParams) -> None:
        """The cut-off tightens while 30+ delinquency is above the type's tolerance and
        relaxes back toward the type's appetite otherwise."""
        tp = platform.tp
        if delinquency_30 > tp.delinquency_target:
            platform.pd_cutoff *= 1.0 - pp.cutoff_speed
        else:
            platform.pd_cutoff = min(platform.pd_cutoff * (1.0 + pp.cutoff_speed / 2),
                                     tp.pd_cutoff)


@register
class BreakEven(Pricing):
    """Break-even pricing with a markup set by competition (the default).

    *Approval.* The lender's break-even APR is its funding cost (by the funding split: its own
    share at its own cost, the banks' share at their hurdle rate), plus the annualised
    expected loss on the loan's own term, plus operating cost. An insured lender counts the
    loss it keeps and the premium instead of the expected loss
    (:meth:`~lendsim.agents.platforms.PlatformArrays.retained_loss_rate`: ``(1 - cover) x EL
    + premium``; docs/ODD.md, 7.17.10). It approves when the break-even
    price is within the cap and the estimated PD within its cut-off, and charges
    ``min(break-even + margin x markup, cap)``: a cap squeezes its margin before it turns
    borrowers away. ``markup`` scales the margin by the applicant's expected price
    sensitivity: riskier borrowers are less price-sensitive and pay more of it (third-degree
    price discrimination; :func:`lendsim.agents.rules.underwriting.risk_markup`).

    *Margin.* Each month the margin moves ``platforms.margin_reversion`` of the way toward a
    target: the larger of the profit-maximising markup of a seller facing logit demand,
    ``1 / (b (1 - share))`` with ``b`` borrowers' price sensitivity (Lerner's rule; Anderson,
    de Palma & Thisse 1992, ch. 7), and the margin that earns the type's target return on
    equity on its managed book, ``target_roe x equity / managed``; within ``platforms.min_margin``
    and ``platforms.max_margin``. The cut-off follows delinquency (:meth:`Pricing.adapt_cutoff`).

    References:
        Freixas & Rochet (2008), *Microeconomics of Banking*, 2nd ed., ch. 3 (loan pricing:
        funding cost, expected loss, operating cost, markup); Anderson, de Palma & Thisse
        (1992), *Discrete Choice Theory of Product Differentiation*; docs/ODD.md, 7.7.
    """

    name = "break_even"
    #: the markup formula's share is capped here: a monopolist facing logit demand has no
    #: finite markup, and the cap and ``max_margin`` bind long before
    MAX_SHARE = 0.95

    def quote(self, pd_life, p, term, arrays, lgd, amount, markup):
        el = arrays.retained_loss_rate(underwriting.expected_loss_rate(pd_life, lgd, term), p)
        floor = (arrays.funding_cost[p] + el + arrays.operating_cost[p]
                 + underwriting.origination_cost_rate(arrays.cost_per_loan_of(p, term), amount,
                                                      term))
        m = arrays.margin[p]
        # a markup scales with expected price sensitivity; a margin below zero (pricing
        # under cost) is not a markup and is not scaled
        return floor, floor + np.where(m > 0, m * markup, m)

    def adapt(self, platform, signals, pp):
        share = min(signals.market_share, self.MAX_SHARE)
        slope = signals.price_sensitivity * (1.0 - share)
        lerner = 1.0 / slope if slope > 0 else np.inf  # price-blind borrowers: no limit
        roe = platform.tp.target_roe * signals.capital_per_loan
        target = float(np.clip(max(lerner, roe), pp.min_margin, pp.max_margin))
        platform.margin += pp.margin_reversion * (target - platform.margin)
        self.adapt_cutoff(platform, signals.delinquency_30, pp)


@register
class CostPlus(Pricing):
    """Cost-plus pricing with a margin that follows market share and losses (lendsim's rule
    before break-even pricing; kept to reproduce earlier results).

    Required APR = funding cost + annualised expected loss (on the type's term) + operating
    cost + margin, and the lender approves only when that price, margin included, is within
    the cap. Each month the margin rises with market share above the platform's target share
    and with 30+ delinquency above the type's tolerance, and is pulled back toward the type's
    margin; the cut-off follows delinquency (:meth:`Pricing.adapt_cutoff`).

    References:
        docs/ODD.md, 7.7 and 7.12.
    """

    name = "cost_plus"

    def quote(self, pd_life, p, term, arrays, lgd, amount, markup):
        # the earlier rule: one margin for every borrower (``markup`` unused)
        price = underwriting.required_apr(
            pd_life, funding_cost=arrays.own_funding_cost[p],
            operating_cost=arrays.operating_cost[p] + underwriting.origination_cost_rate(
                arrays.cost_per_loan_of(p, term), amount, term),
            margin=arrays.margin[p], lgd=lgd, term_months=arrays.term[p])
        return price, price

    def adapt(self, platform, signals, pp):
        tp = platform.tp
        excess = signals.delinquency_30 - tp.delinquency_target
        dm = (pp.margin_speed * (signals.market_share - signals.target_share)
              + pp.loss_speed * max(excess, 0.0)
              + pp.margin_reversion * (tp.margin - platform.margin))
        platform.margin = float(np.clip(platform.margin + dm, pp.min_margin, pp.max_margin))
        self.adapt_cutoff(platform, signals.delinquency_30, pp)


# ------------------------------------------------------------------------------ funding split
class FundingSplit(Strategy):
    """How a platform funds the month's new loans: its own share, its banks' shares, and how
    much it can lend in all (``platform``: a :class:`lendsim.agents.platforms.Platform`)."""

    kind = "funding_split"

    def split(self, platform, headroom: np.ndarray, reg: RegulatorParams
              ) -> tuple[float, np.ndarray, float]:
        """``(own share, bank shares, capacity)`` for this month.

        Args:
            platform: the lender.
            headroom: room left on each bank's line to it, RMB (n_banks,), already within the
                banks' own limits.
            reg: the rules in force.

        Returns:
            The platform's share of each new loan, each bank's share (own share plus bank
            shares sum to 1), and the most it can lend this month, RMB (0: it cannot lend).
        """
        raise NotImplementedError


@register
class Headroom(FundingSplit):
    """Own share = the larger of the type's share and the regulator's minimum; banks take the
    rest in proportion to the headroom on their lines. Capacity is what both the platform's
    own capacity (leverage) and the banks' headroom allow at that split (the default).

    References:
        Joint lending with partner banks: docs/ODD.md, 7. Submodels, "Funding".
    """

    name = "headroom"

    def split(self, platform, headroom, reg):
        s = platform.own_share(reg)
        h = headroom.sum()
        own_cap = platform.own_capacity(reg)
        cap = min(own_cap / s if s > 0 else np.inf, h / (1 - s) if s < 1 else np.inf)
        shares = ((1 - s) * headroom / h if s < 1 and cap > 0
                  else np.zeros(len(headroom)))
        return s, shares, cap


# ------------------------------------------------------------------------------ bank lines
class LineRule(Strategy):
    """How a bank sets its funding line to each platform (``bank``: a
    :class:`lendsim.agents.banks.Bank`)."""

    kind = "line_rule"

    def new_lines(self, bank, lines: np.ndarray, outstanding: np.ndarray,
                  delinquency: np.ndarray, is_active: np.ndarray, reg: RegulatorParams,
                  bp: BankParams, common_funder: bool = True) -> np.ndarray:
        """The bank's new line to each platform, RMB (n_platforms,).

        Args:
            bank: the lender.
            lines: today's lines, RMB.
            outstanding: the bank's open joint loans with each platform, RMB.
            delinquency: each platform's 30+ delinquency (0 when its book is too small to
                judge).
            is_active: which platforms are live.
            reg, bp: the rules in force and the banks' parameters.
            common_funder: whether the common-funder channel is on (a bank near its capital
                requirement cuts every line).
        """
        raise NotImplementedError


@register
class UseAndQuality(LineRule):
    """A line grows by ``line_growth`` when more than ``line_use_target`` is used; it is cut
    in proportion to the platform's 30+ delinquency above the bank's tolerance (by
    ``line_cut`` at twice the tolerance); all lines shrink when capital is within
    ``capital_buffer`` of the requirement, and together never exceed the joint loans the
    bank's equity carries at the requirement (:meth:`Bank.joint_capacity`); a line never exceeds
    ``bank_platform_exposure_limit x equity``; lines to failed platforms, and all lines of a
    failed bank, are closed (the default).

    References:
        CBIRC 2021 No. 24 (a bank's exposure to one platform <= 25 % of its tier-1 capital);
        docs/ODD.md, 7. Submodels, "Banks".
    """

    name = "use_and_quality"

    def new_lines(self, bank, lines, outstanding, delinquency, is_active, reg, bp,
                  common_funder=True):
        if bank.is_failed:
            return np.zeros_like(lines)
        used = np.divide(outstanding, lines, out=np.ones_like(lines), where=lines > 0)
        growth = np.where(used > bp.line_use_target, bp.line_growth, 0.0)
        excess = np.clip((delinquency - bp.delinquency_tolerance) / bp.delinquency_tolerance,
                         0.0, 1.0)
        new = lines * (1.0 + growth) * (1.0 - bp.line_cut * excess)
        if (common_funder
                and bank.capital_ratio() < reg.bank_capital_requirement + bp.capital_buffer):
            new = np.minimum(new, outstanding) * (1.0 - bp.line_cut)
        # all lines together stay within the joint loans the bank's capital carries at the
        # requirement: lines follow capital, not use alone
        room = bank.joint_capacity(reg)
        if new.sum() > room:
            new = new * (room / new.sum())
        new = np.minimum(new, reg.bank_platform_exposure_limit * max(bank.equity, 0.0))
        return np.where(is_active, new, 0.0)
