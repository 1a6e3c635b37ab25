"""One platform type's parameters (``platforms.<type>.*``): data, funding, costs, products and
risk appetite.

Kept apart from :mod:`lendsim.simulation.params`, which bundles it into
:class:`~lendsim.simulation.params.PlatformParams`, one field per type.

References:
    docs/ODD.md, section 2 (Platforms) and 7.4-7.7, 7.12; real-world figures in
    docs/calibration.md, section 2 (cited per field as "CAL: <figure>").
"""

from __future__ import annotations

from dataclasses import dataclass

from lendsim.simulation import registry
from lendsim.simulation.features import ALT_FEATURES
from lendsim.simulation.param_checks import _f


@dataclass(frozen=True)
class PlatformTypeParams:
    """One platform type: data, funding and risk appetite (docs/ODD.md: section 2, Platforms)."""

    tech_level: float = _f(0.6, "technology level 0..1; scoring noise falls with it", lo=0, hi=1)
    pd_cutoff: float = _f(0.12, "largest estimated lifetime default probability approved",
                          lo=0, hi=1)
    margin: float = _f(0.05, "initial profit margin in the APR", lo=-0.5, hi=2, unit="annual")
    operating_cost: float = _f(0.04, "operating cost per RMB of loans", lo=0, hi=1,
                               unit="annual")
    funding_spread: float = _f(0.03, "own funding cost over the benchmark rate", lo=0, hi=1,
                               unit="annual")
    term_months: int = _f(12, "loan term", lo=1, hi=60, unit="months")
    own_share: float = _f(0.02, "share of each loan the platform funds itself, before the "
                          "regulator's minimum; CAL: ~2 % joint lending", lo=0, hi=1)
    bank_fee: float = _f(0.06, "servicing fee a funding bank pays on the performing balance "
                         "it funds; CAL: ~2.5 % top platform, 6-7 % elsewhere (read here as "
                         "annual rates)", lo=0, hi=1, unit="annual")
    max_leverage: float = _f(10.0, "own loans / equity the platform accepts; CAL: consumer-"
                             "finance up to 10x, micro-lenders 2-3x", lo=0, lo_open=True,
                             hi=1000)
    limit_income_multiple: float = _f(1.5, "credit limit, multiple of monthly income", lo=0,
                                      hi=100)
    convenience: float = _f(0.2, "utility bonus (embedded in a super-app)", lo=-10, hi=10)
    equity_per_borrower: float = _f(100.0, "initial equity per borrower in the market",
                                    lo=0, lo_open=True, unit="RMB")
    delinquency_target: float = _f(0.04, "30+ delinquency the platform tolerates before "
                                   "tightening", lo=0, lo_open=True, hi=1)
    weight: float = _f(1.0, "relative number of platforms of this type at start", lo=0)
    fee_rate: float = _f(0.0, "part of the all-in price booked as fees rather than interest, "
                         "annual rate on the balance; an interest-only cap "
                         "(regulator.apr_cap_all_in = false) lets it come on top of the cap",
                         lo=0, hi=5, unit="annual")
    repayment_priority: float = _f(0.0, "share of borrowers who, short of cash, pay this "
                                   "lender before all others (its credit is how they pay in a "
                                   "super-app); Cohen-Cole & Morse 2010; Andersson et al. 2013",
                                   lo=0, hi=1)
    retail_funding: float = _f(0.0, "money from retail investors (P2P-style), multiple of "
                               "initial equity; they withdraw on bad news (contagion.reputation)",
                               lo=0, hi=100)
    pricing: str = _f("break_even", "pricing strategy: the lowest APR accepted, the APR asked "
                      "and margin adaptation (lendsim.simulation.strategies; "
                      "docs/extending.md)",
                      choices=registry.PRICING)
    funding_split: str = _f("headroom", "funding-split strategy: own share, banks' shares and "
                            "capacity (lendsim.simulation.strategies)",
                            choices=registry.FUNDING_SPLIT)
    scoring: str = _f("logistic", "scoring model, refitted on the platform's own matured loans "
                      "every platforms.retrain_every months: 'logistic' (a scorecard under a "
                      "prior), 'trees' (gradient-boosted trees) or 'neural_net' (a small "
                      "network); the last two need the 'risk' extra "
                      "(lendsim.simulation.scoring_models)", choices=registry.SCORING)
    alt_data: str = _f("", "alternative data the type's scoring model sees besides the base "
                       "features, comma-separated names from the feature registry "
                       "(lendsim.simulation.features.REGISTRY): spending_income (consumption "
                       "behaviour), contacts_in_arrears (the social-network signal); empty = "
                       "none", choices=ALT_FEATURES, many=True)
    partner_multiple: int = _f(1, "partner banks, multiple of banks.partners_per_platform (the "
                               "embedded platform works with more banks: Ant Group's "
                               "prospectus, 2020, about 100 partner banks)", lo=1, hi=100)
    may_enter: bool = _f(False, "new platforms of this type may enter during a run")
    is_p2p: bool = _f(False, "a P2P lender: stops lending while regulator.p2p_lending is false")
    target_roe: float = _f(0.15, "return on equity the platform aims for; break-even pricing "
                           "sets its margin no lower than target_roe x the equity a loan ties "
                           "up (own share / leverage limit)",
                           lo=0, hi=5, unit="annual")
    target_leverage: float = _f(5.0, "own loans / equity the platform aims to hold (below its "
                                "leverage limit): it pays out equity above it and raises "
                                "equity, at platforms.equity_issue_cost, when its own "
                                "capacity rations lending; CAL: the top platform about 1x "
                                "(some RMB 35bn of capital behind about 2 % of 1.7tn)",
                                lo=0, lo_open=True, hi=1000)
    chargeoff_after_missed: int = _f(0, "payments behind after which this type's defaulted "
                                     "loans are charged off (its write-off practice); 0 = "
                                     "platforms.chargeoff_after_missed", lo=0, hi=60)
    products: str = _f("both", "credit needs the type serves: 'purchase' (credit that pays "
                       "for purchases inside its ecosystem), 'cash' (cash loans: needs only "
                       "cash meets, and borrowing to repay) or 'both'",
                       choices=("purchase", "cash", "both"))
    max_apr: float = _f(0.0, "the product's own price ceiling, all-in APR: the lender lends "
                        "only at or below it (the embedded platform's products: 0.02-0.05 % "
                        "a day, at most 18.25 % a year); 0 = none", lo=0, hi=10,
                        unit="annual")
    cost_per_loan: float = _f(0.0, "cost of originating an underwritten loan (acquisition, "
                              "verification, data), priced over the loan's amount and term; "
                              "draws on a credit line do not pay it", lo=0, hi=1e6,
                              unit="RMB")
    application_hassle_share: float = _f(1.0, "share of borrowers.application_hassle an "
                                         "application to this type costs: 0 where credit is "
                                         "offered inside an app the borrower already uses, "
                                         "with nothing to fill in (7.5)", lo=0, hi=10)
    max_debt_income: float = _f(0.4, "largest debt / annual income the lender lets a "
                                "borrower reach, counting the debt it can see (its own; all "
                                "of it through the bureau when covered); 0.4 is a debt service "
                                "of about half of income on loans of 6-12 months", lo=0,
                                lo_open=True, hi=100)
    requires_income: bool = _f(False, "lends only to borrowers with a job (income proof): "
                               "licensed consumer-finance companies did; regulator."
                               "require_income makes every lender do so (the 2017 clean-up)")
    is_licensed: bool = _f(True, "a licensed lender (a financial institution: bank-licensed "
                           "consumer-finance company, microcredit company); with "
                           "regulator.apr_cap_scope = 'private' the private-lending cap does "
                           "not bind it, regulator.licensed_apr_cap does")

    def alt_data_names(self) -> tuple[str, ...]:
        """The alternative features the type sees (``alt_data``), as a tuple of names."""
        return tuple(x for x in self.alt_data.split(",") if x)
