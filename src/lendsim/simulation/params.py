"""Typed, frozen, validated scenario parameters.

One frozen dataclass per agent type or model part; a :class:`Scenario` bundles them. Every field
carries its documentation, unit and allowed range in its metadata, so validation, error messages
and the parameter reference in the docs come from one place. A parameter's dotted key
(``"regulator.apr_cap"``) is the same in code, scenario files, ``--set`` and results columns.

Units: amounts in RMB, rates as fractions (0.05 = 5 %), ``annual_`` or ``monthly_`` where it
matters; one model step is one month.

References:
    Real-world defaults come from docs/calibration.md, section 2 (cited per field as
    "CAL: <figure>", the figure as that page gives it with its source).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from lendsim.errors import ScenarioError
from lendsim.simulation import registry
from lendsim.simulation.param_checks import (  # noqa: F401  (flatten, spec are public here)
    _build, _f, _fail, _range_text, _to_dict, _unknown_key_message, flatten, spec)
from lendsim.simulation.platform_types import PlatformTypeParams

PLATFORM_TYPES = ("embedded", "micro_lender", "consumer_finance", "p2p")
SOCIAL_KINDS = ("watts_strogatz", "erdos_renyi", "barabasi_albert", "stochastic_block",
                "edge_list", "none")


# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BorrowerParams:
    """Borrower population (docs/ODD.md: section 2, Borrowers; 7.2-7.3, 7.5, 7.9)."""

    n: int = _f(10_000, "number of borrowers", lo=10, hi=20_000_000)
    income_median: float = _f(6_000.0, "median base income", lo=0, lo_open=True,
                              unit="RMB/month")
    income_dispersion: float = _f(0.6, "sigma of log base income across borrowers", lo=0, hi=3)
    tier_shares: tuple = _f((0.2, 0.35, 0.45), "population shares of city tiers 1..3")
    tier_income: tuple = _f((1.6, 1.0, 0.7), "base-income multipliers of city tiers 1..3")
    income_volatility: float = _f(0.15, "sigma of the transitory monthly log-normal income "
                                  "shock (independent from month to month)", lo=0, hi=2)
    income_persistence: float = _f(0.984, "monthly autocorrelation of the persistent log-income "
                                   "component (AR(1)); 0.821 a year (Guvenen 2009, 'An "
                                   "empirical investigation of labor income processes', RED "
                                   "12(1), HIP estimate) is 0.821^(1/12) a month; 0 makes it "
                                   "independent from month to month", lo=0, hi=1)
    income_persistent_sd: float = _f(0.3, "stationary sd of the persistent log-income component; "
                                     "Guvenen 2009 (HIP): innovation variance 0.029 a year at "
                                     "autocorrelation 0.821, sqrt(0.029 / (1 - 0.821^2)) = 0.30",
                                     lo=0, hi=2)
    benefit_share: float = _f(0.3, "income when unemployed, as a share of base", lo=0, hi=1)
    job_loss_scar: float = _f(0.0, "log points of persistent income lost on finding a job "
                              "after a spell of unemployment (displaced workers earn less "
                              "for years: Jacobson, LaLonde & Sullivan 1993, about 25 % less "
                              "five years on); every borrower's persistent income drifts up "
                              "by scar x u x f a month so that mean income stays the base "
                              "(7.2); 0 = incomes recover fully (the default for now)",
                              lo=0, hi=3)
    essential_share: float = _f(0.45, "essential spending, share of base income", lo=0, hi=5)
    discretionary_share: float = _f(0.35, "mean discretionary spending, share of base income",
                                    lo=0, hi=5)
    need_volatility: float = _f(0.6, "sigma of the log-normal discretionary-spending shock",
                                lo=0, hi=3)
    risk_spending: float = _f(0.25, "log-spending loading on latent risk (impulsive spending)",
                              lo=-2, hi=2)
    risk_job_loss: float = _f(0.4, "log job-loss-hazard loading on latent risk", lo=-2, hi=2)
    expense_shock_prob: float = _f(0.03, "monthly probability of a large expense", lo=0, hi=1)
    expense_shock_size: float = _f(1.5, "size of a large expense, multiple of base income",
                                   lo=0, hi=50)
    initial_cash_months: float = _f(1.5, "initial cash, up to this many months of base income "
                                    "(uniform)", lo=0, hi=120)
    convenience_credit: float = _f(0.3, "share of discretionary spending put on credit even "
                                   "when cash suffices (embedded credit, e.g. Huabei)", lo=0,
                                   hi=1)
    debt_tolerance: float = _f(0.25, "debt / annual income a median borrower takes on for "
                               "spending (riskier borrowers more): an assumption; CAL: monthly "
                               "repayments 41.75 % of monthly income at ages 18-29, 12.52 % "
                               "without credit used only to pay (Nielsen 2019)", lo=0, hi=20)
    risk_tolerance: float = _f(0.3, "log debt-tolerance loading on latent risk", lo=-5, hi=5)
    buffer_months: float = _f(3.0, "cash buffer (months of base income) above which borrowers "
                              "spend down savings (buffer-stock saving, Carroll 1997)", lo=0)
    spend_down: float = _f(0.1, "monthly share of cash above the buffer that is spent", lo=0,
                           hi=1)
    max_applications: int = _f(3, "applications per month before giving up", lo=1, hi=20)
    max_applications_distressed: int = _f(5, "applications when borrowing to repay", lo=1,
                                          hi=20)
    application_hassle: float = _f(0.0, "time and effort of one application; weighs hassle / "
                                   "(amount x (term + 1) / 24) of APR in choice (7.5); 0 = "
                                   "free (the default for now; example search_costs: 20, "
                                   "about half an hour at the median wage)", lo=0,
                                   hi=1e6, unit="RMB")
    outside_apr_purchase: float = _f(math.inf, "reservation APR of purchase credit, above "
                                     "which one does without (7.5); inf = never (the default "
                                     "for now; example search_costs: 0.3, implied discount "
                                     "rates, Hausman 1979: about 25 %)", lo=0, inf_ok=True,
                                     unit="annual")
    outside_apr_cash: float = _f(math.inf, "reservation APR of a cash loan (7.5); inf = never "
                                 "(example search_costs: 1.0, Karlan & Zinman 2008: demand "
                                 "barely falls below about 100 %)",
                                 lo=0, inf_ok=True, unit="annual")
    outside_apr_repay: float = _f(math.inf, "reservation APR of borrowing to repay (7.5); inf = "
                                  "never (example search_costs: 2.0, a missed payment also "
                                  "costs penalty interest and a default record)",
                                  lo=0, inf_ok=True, unit="annual")
    min_loan: float = _f(100.0, "smallest loan anyone asks for or grants", lo=0, unit="RMB")
    price_sensitivity: float = _f(12.0, "utility per unit of annual APR (choice); with "
                                  "choice_noise 0.5 the top platform's own-price elasticity "
                                  "b APR (1 - share) is about 1.8 in the settled default "
                                  "market (Karlan & Zinman 2019: -1.9 over 29 months)",
                                  lo=0, hi=200)
    price_sensitivity_risk: float = _f(0.35, "how price sensitivity falls with latent risk: "
                                       "a borrower's is price_sensitivity x exp(-this x "
                                       "risk); riskier borrowers are more credit-constrained "
                                       "and take dearer offers (Ausubel 1999; Agarwal, "
                                       "Chomsisengphet & Liu 2010); with 0.35 a borrower 2 sd "
                                       "riskier than the median has half the median's: an "
                                       "assumption (docs/ODD.md 7.5)",
                                       lo=0, hi=3)
    trust_weight: float = _f(1.0, "utility weight of trust x platform reputation", lo=0, hi=20)
    brand_weight: float = _f(0.12, "utility weight of the log of the platform's brand share "
                             "(platforms.brand_source); 0.12 makes brand_weight / choice_noise "
                             "a small lender's long-run elasticity of demand to its marketing, "
                             "0.24 (Sethuraman, Tellis & Briesch 2011); brand_share.toml: the "
                             "log market share at weight 0.5", lo=0, hi=20)
    loyalty: float = _f(3.0, "utility bonus for a platform the borrower already owes "
                        "(an existing account)", lo=0, hi=50)
    choice_noise: float = _f(0.5, "scale of the Gumbel noise in platform choice", lo=0,
                             lo_open=True, hi=20)
    strategic_base: float = _f(-8.0, "logit intercept of monthly strategic non-payment", lo=-30,
                               hi=10)
    strategic_risk: float = _f(0.8, "logit loading on latent risk", lo=-10, hi=10)
    strategic_dti: float = _f(1.0, "logit loading on debt-to-annual-income", lo=-10, hi=10)
    strategic_trust: float = _f(1.0, "logit loading on (0.5 - trust)", lo=-10, hi=10)
    peer_effect: float = _f(1.5, "logit loading on the share of contacts in default; "
                            "CAL: peer effect (a contact's default raises own default 13-27 %)",
                            lo=0, hi=20)
    failed_lender_nonpayment: float = _f(0.25, "monthly probability that a borrower paying a "
                                         "failed, unresolved platform walks away from it for "
                                         "good (docs/calibration.md, fact 6)", lo=0, hi=1)
    overindebted_dsti: float = _f(0.5, "debt service / income above which a borrower counts as "
                                  "over-indebted", lo=0, lo_open=True, hi=10)
    collection_share: float = _f(0.0, "share of each month's income a debt collector takes "
                                 "while a borrower owes charged-off debt (7.11); 0 = default "
                                 "ends the obligation (the default for now; example "
                                 "collections.toml: 0.1)", lo=0, hi=1)
    collection_months: int = _f(36, "months after the borrower's last charge-off that its "
                                "charged-off debt can still be collected: China's three-year "
                                "limitation period for civil claims (General Provisions of "
                                "the Civil Law, 2017, art. 188)", lo=0, hi=600, unit="months")


def _ptype(**kw):
    return field(default_factory=lambda: PlatformTypeParams(**kw),
                 metadata=spec("platform type parameters"))


@dataclass(frozen=True)
class PlatformParams:
    """Lending platforms (docs/ODD.md: section 2, Platforms; 7.6-7.7, 7.12)."""

    n: int = _f(10, "number of platforms at start", lo=1, hi=500)
    max_n: int = _f(30, "most platforms ever (entrants included)", lo=1, hi=1000)
    scoring_noise: float = _f(2.0, "sd of the risk signal at technology level 0 (falls "
                              "linearly to 0 at level 1)", lo=0, hi=20)
    lgd: float = _f(0.9, "loss given default assumed in pricing", lo=0, hi=1)
    retrain_every: int = _f(6, "months between scoring-model refits", lo=1, hi=120)
    line_review_months: int = _f(6, "months between reviews of a convenience credit line "
                                 "(sooner on a job loss, an income drop or new visible debt); "
                                 "0 = no lines, every request is underwritten", lo=0, hi=120)
    min_training: int = _f(300, "matured loans needed before the first refit", lo=10)
    ew_months: int = _f(3, "months of repayment and spending behaviour a platform's early "
                        "warning looks back over (docs/ODD.md 7.21)", lo=1, hi=8, unit="months")
    ew_spending_jump: float = _f(0.5, "a borrower's spending over income this far above its "
                                 "own mean of the last ew_months is a warning signal, to types "
                                 "that see spending_income (0.5 = half again)", lo=0,
                                 lo_open=True, hi=100)
    ew_window: int = _f(12, "months of a platform's own early-warning score behind its dynamic "
                        "threshold", lo=3, hi=240, unit="months")
    ew_z: float = _f(2.0, "a platform is on warning when its score is this many standard "
                     "deviations above its own trailing mean", lo=0, lo_open=True, hi=10)
    ew_reviews: bool = _f(True, "a platform on warning brings forward the credit-line reviews "
                          "of the borrowers whose signal fired (to their next draw)")
    training_window: int = _f(5_000, "most recent matured loans kept for fitting (at most "
                              "10^6: the window is held in memory, 32 bytes a loan, for each "
                              "platform)", lo=100, hi=1_000_000)
    test_share: float = _f(0.2, "share of the training window held out at each refit, spread "
                           "evenly over it (every fifth loan at 0.2): a model fitted on the "
                           "rest is scored on them (auc_test, ks_test, the validation table); "
                           "the model in use is then refitted on the whole window; 0 = no "
                           "held-out validation", lo=0, hi=0.5)
    prior_weight: float = _f(300.0, "weight of the prior scorecard in every refit, in matured "
                             "loans' worth of evidence (a Gaussian prior centred on it with "
                             "this many loans' Fisher information; default: as much as the "
                             "smallest sample a platform refits on, platforms.min_training)",
                             lo=0, lo_open=True, hi=1e9, unit="loans")
    max_inquiries: int = _f(4, "a lender refuses a bureau-covered applicant who applied to "
                            "more than this many lenders last month (the bureau records "
                            "every application); 0 = no such rule", lo=0, hi=1000)
    margin_speed: float = _f(0.02, "margin change per unit of (market share - target)", lo=0,
                             hi=10)
    loss_speed: float = _f(0.05, "margin change per unit of excess delinquency", lo=0, hi=50)
    margin_reversion: float = _f(0.1, "monthly pull of the margin back to its type's level",
                                 lo=0, hi=1)
    cutoff_speed: float = _f(0.05, "relative monthly cut-off adjustment", lo=0, hi=1)
    min_margin: float = _f(0.0, "lowest margin a platform sets", lo=-1, hi=2, unit="annual")
    max_margin: float = _f(0.3, "highest margin a platform sets", lo=-1, hi=5, unit="annual")
    brand_source: str = _f("marketing", "what a platform's brand in borrowers' choice is its share "
                           "of: 'share' (of the managed book) or 'marketing' (of the goodwill "
                           "marketing builds, which each platform decides: docs/ODD.md 7.5, "
                           "7.12)", choices=("share", "marketing"))
    goodwill_decay: float = _f(0.2, "share of marketing goodwill that fades each month "
                               "(Clarke 1976: 90 % of advertising's effect on sales within "
                               "3-15 months)", lo=0, lo_open=True, hi=1)
    equity_issue_cost: float = _f(0.05, "cost of raising new equity, share of the amount "
                                  "raised (underwriting fees and the discount to sell new "
                                  "shares; Lee, Lochhead, Ritter & Zhao 1996: about 7 % for "
                                  "seasoned offerings)", lo=0, hi=1)
    fixed_cost_share: float = _f(0.002, "fixed monthly cost, share of initial equity", lo=0,
                                 hi=1)
    recovery_rate: float = _f(0.1, "share of a charged-off balance recovered", lo=0, hi=1)
    limit_risk_elasticity: float = _f(0.0, "elasticity of a lender's credit limit to the "
                                      "applicant's risk: the income-based limit is scaled by "
                                      "(limit_reference_pd / annual PD)^this (docs/ODD.md "
                                      "7.7); 0 = limits ignore risk", lo=0, hi=3)
    limit_reference_pd: float = _f(0.005, "annual PD at which a risk-scaled limit equals the "
                                   "income-based one (limit_risk_elasticity); 0.005: about "
                                   "the median estimated annual PD of the applications "
                                   "lenders assess in the default market", lo=0,
                                   lo_open=True, hi=0.99, unit="annual")
    resolver_recovery: float = _f(0.5, "a failed platform's resolver collects this share of "
                                  "what a live platform would", lo=0, hi=1)
    entry_roe: float = _f(0.15, "incumbents' trailing annual ROE that attracts entry", lo=-1,
                          hi=10)
    entry_prob: float = _f(0.1, "monthly chance of an entry while ROE is above entry_roe", lo=0,
                           hi=1)
    min_book: int = _f(200, "open loans a platform needs before it (and its banks) react to "
                       "its delinquency rate", lo=0)
    funding_exit_months: int = _f(3, "months without funding before a platform exits", lo=1)
    default_after_missed: int = _f(3, "missed instalments that make a loan defaulted (90+ "
                                   "days)", lo=1, hi=24)
    chargeoff_after_missed: int = _f(6, "payments behind after which a defaulted loan is "
                                     "charged off, for every type that does not set its own "
                                     "(platforms.<type>.chargeoff_after_missed); 6 = 180 days "
                                     "past due, the write-off point for open-end retail credit "
                                     "of the FFIEC's Uniform Retail Credit Classification "
                                     "policy (2000); that China's online lenders write off at "
                                     "the same point is an assumption", lo=1, hi=60)
    embedded: PlatformTypeParams = _ptype(
        tech_level=0.9, pd_cutoff=0.05, margin=0.03, operating_cost=0.02, funding_spread=0.01,
        term_months=6, own_share=0.02, bank_fee=0.025, max_leverage=10.0,
        limit_income_multiple=2.0, convenience=1.5, equity_per_borrower=400.0,
        delinquency_target=0.03, weight=1.0, repayment_priority=0.5, partner_multiple=3,
        target_leverage=1.0, products="purchase", max_apr=0.1825, application_hassle_share=0.0)
    micro_lender: PlatformTypeParams = _ptype(
        tech_level=0.45, pd_cutoff=0.25, margin=0.08, operating_cost=0.06, funding_spread=0.04,
        term_months=6, own_share=0.05, bank_fee=0.065, max_leverage=3.0,
        limit_income_multiple=1.0, convenience=0.5, equity_per_borrower=3.5,
        delinquency_target=0.08, weight=5.0, may_enter=True, target_leverage=2.0,
        products="cash", cost_per_loan=50.0)
    consumer_finance: PlatformTypeParams = _ptype(
        tech_level=0.6, pd_cutoff=0.12, margin=0.05, operating_cost=0.04, funding_spread=0.03,
        term_months=12, own_share=0.1, bank_fee=0.06, max_leverage=10.0,
        limit_income_multiple=1.5, convenience=0.0, equity_per_borrower=80.0,
        delinquency_target=0.05, weight=4.0, may_enter=True, target_leverage=5.0,
        cost_per_loan=30.0, requires_income=True)
    p2p: PlatformTypeParams = _ptype(
        tech_level=0.3, pd_cutoff=0.3, margin=0.1, operating_cost=0.07, funding_spread=0.05,
        term_months=12, own_share=1.0, bank_fee=0.06, max_leverage=8.0,
        limit_income_multiple=1.0, convenience=0.3, equity_per_borrower=20.0,
        delinquency_target=0.1, weight=0.0, retail_funding=6.0, is_p2p=True,
        is_licensed=False, target_leverage=4.0, products="cash", cost_per_loan=50.0)

    def type_params(self, kind: str) -> PlatformTypeParams:
        return getattr(self, kind)


@dataclass(frozen=True)
class BankParams:
    """Banks (docs/ODD.md: section 2, Banks; 7.4, 7.14)."""

    n: int = _f(20, "number of banks", lo=1, hi=1000)
    assets_per_borrower: float = _f(40_000.0, "banks' non-platform loans per borrower in the "
                                    "market (sets bank size)", lo=0, lo_open=True, unit="RMB")
    size_exponent: float = _f(1.0, "Zipf exponent of bank sizes", lo=0, hi=5)
    capital_ratio: float = _f(0.12, "initial equity / loans", lo=0, lo_open=True, hi=1)
    partners_per_platform: int = _f(5, "partner banks per platform (the embedded platform "
                                    "partners with up to 3x as many)", lo=1)
    initial_line_per_borrower: float = _f(8_000.0, "initial funding lines, all platforms, per "
                                          "borrower", lo=0, unit="RMB")
    line_growth: float = _f(0.08, "monthly line growth when a line is more than "
                            "line_use_target used", lo=0, hi=1)
    line_use_target: float = _f(0.6, "use of a funding line above which the bank grows it "
                                "(headroom for seasonal peaks such as Double 11)",
                                lo=0, lo_open=True, hi=1)
    line_cut: float = _f(0.1, "monthly line cut at twice the delinquency tolerance", lo=0,
                         hi=1)
    delinquency_tolerance: float = _f(0.08, "platform 30+ delinquency a bank tolerates", lo=0,
                                      lo_open=True, hi=1)
    capital_buffer: float = _f(0.02, "capital ratio above requirement below which lines shrink",
                               lo=0, hi=1)
    other_loan_yield: float = _f(0.05, "yield on non-platform loans", lo=0, hi=1, unit="annual")
    other_loan_loss: float = _f(0.008, "loss rate on non-platform loans", lo=0, hi=1,
                                unit="annual")
    deposit_rate: float = _f(0.018, "rate paid on deposits", lo=0, hi=1, unit="annual")
    operating_cost: float = _f(0.01, "operating cost per RMB of loans", lo=0, hi=1,
                               unit="annual")
    payout_ratio: float = _f(0.5, "share of positive monthly profit paid out", lo=0, hi=1)
    cost_of_equity: float = _f(0.10, "return a bank needs on its equity; the capital charge in "
                               "its hurdle rate (China's commercial banks earned about 10-11 % "
                               "on equity in 2019: CBIRC statistics)", lo=0, hi=1,
                               unit="annual")
    line_rule: str = _f("use_and_quality", "how a bank sets its funding lines "
                        "(lendsim.simulation.strategies)", choices=registry.LINE_RULE)


@dataclass(frozen=True)
class RegulatorParams:
    """Policy instruments (docs/ODD.md, 7.18; CAL: docs/calibration.md, 2.5)."""

    apr_cap: float = _f(0.36, "all-in APR cap when apr_cap_mode = 'fixed', a fraction (0.24 "
                        "= 24 %); CAL: court cap 24 % enforced / 36 % void (2015), cash-loan "
                        "clean-up 36 % (2017); at most 10 (1,000 %): above that no market is "
                        "capped, and 24 means 24 %, i.e. 0.24", lo=0, lo_open=True, hi=10,
                        unit="annual")
    apr_cap_mode: str = _f("fixed", "'fixed' or 'indexed' (cap = apr_cap_multiple x benchmark "
                           "rate; CAL: 4 x LPR = 15.4 % from 2020-08-20)",
                           choices=("fixed", "indexed"))
    apr_cap_multiple: float = _f(4.0, "multiple of the benchmark rate when indexed", lo=0,
                                 lo_open=True, hi=100)
    joint_lending_min_share: float = _f(0.0, "minimum platform share of each joint loan; "
                                        "CAL: ~2 % before, >= 30 % proposed 2020-11", lo=0,
                                        hi=1)
    platform_leverage_limit: float = _f(10.0, "platform own loans / equity limit", lo=0,
                                        lo_open=True, hi=1000)
    max_loan: float = _f(300_000.0, "per-borrower total debt limit; CAL: <= RMB 300k", lo=0,
                         lo_open=True, unit="RMB")
    max_debt_income: float = _f(math.inf, "per-borrower debt / annual income limit "
                                "(inf = none; CAL: <= 1/3 under 2020 draft rules)", lo=0,
                                lo_open=True)
    max_lenders: int = _f(0, "most lenders per borrower a platform accepts (0 = no limit)",
                          lo=0, hi=1000)
    data_sharing: float = _f(0.0, "share of borrowers whose total debt and lenders are visible "
                             "through a credit bureau (coverage)", lo=0, hi=1)
    share_arrears: bool = _f(True, "the bureau also reports covered borrowers' arrears "
                             "(negative data); false: a lender sees arrears only on its own "
                             "loans")
    share_defaults: bool = _f(True, "the bureau also reports covered borrowers' defaults of "
                              "the last 24 months, and lenders refuse them (negative data; "
                              "an industry blacklist); false: a lender refuses only those "
                              "who defaulted with it")
    bank_capital_requirement: float = _f(0.08, "minimum bank equity / loans", lo=0, hi=1)
    bank_platform_exposure_limit: float = _f(math.inf, "bank line to one platform / bank equity "
                                             "(inf = none; CAL: 25 % of tier-1, 2021)", lo=0,
                                             lo_open=True)
    bank_joint_loan_limit: float = _f(1.0, "bank joint loans / all its loans; CAL: <= 50 %",
                                      lo=0, hi=1)
    provision_rate: float = _f(0.01, "provision on performing loans (delinquent loans carry "
                               "30 %, defaulted 80 %)", lo=0, hi=1)
    entry_capital: float = _f(0.0, "equity an entrant needs, per borrower in the market",
                              lo=0, unit="RMB")
    delinquency_alert: float = _f(0.03, "system 90+ delinquency that raises an early warning",
                                  lo=0, hi=1)
    apr_cap_scope: str = _f("all", "which lenders the cap binds: 'all', or 'private': only "
                            "unlicensed ones (platforms.<type>.is_licensed; Supreme People's "
                            "Court, December 2020)", choices=("all", "private"))
    licensed_apr_cap: float = _f(0.36, "the all-in cap licensed lenders keep while the cap "
                                 "binds private lending only (apr_cap_scope = 'private'): "
                                 "the December 2017 notice held their cash loans to 36 %",
                                 lo=0, lo_open=True, hi=10, unit="annual")
    apr_cap_all_in: bool = _f(True, "the cap covers the all-in cost, fees included (CAL: the "
                              "2017 cash-loan clean-up); when false, platforms' fees "
                              "(platforms.<type>.fee_rate) come on top of the capped rate")
    p2p_lending: bool = _f(True, "P2P-type platforms may make new loans (CAL: the 2018-2020 "
                           "crackdown wound them all down)")
    require_income: bool = _f(False, "no loans to borrowers without income (CAL: 2017 "
                              "cash-loan clean-up)")
    platform_borrowing_limit: float = _f(math.inf, "platform bank/shareholder borrowing / net "
                                         "assets (CAL: <= 1x, 2020 draft rules)", lo=0)
    platform_abs_limit: float = _f(math.inf, "platform bonds and ABS / net assets (CAL: <= 4x, "
                                   "2020 draft rules)", lo=0)
    apply_schedule: bool = _f(True, "apply the scenario's [[policy]] schedule and [[trigger]] "
                              "rules (false: the same run without them, for paired "
                              "comparisons)")
    anticipation: float = _f(0.5, "share of an announced change that platforms and banks "
                             "adopt before it takes effect, reached linearly by the "
                             "effective month", lo=0, hi=1)
    ew_window: int = _f(12, "months of history behind the dynamic early-warning thresholds",
                        lo=3, hi=240, unit="months")
    ew_z: float = _f(2.0, "an early warning fires when an indicator is this many standard "
                     "deviations beyond its own recent mean", lo=0, lo_open=True, hi=10)


@dataclass(frozen=True)
class MacroParams:
    """Macro environment (docs/ODD.md, 7.1-7.2)."""

    unemployment_rate: float = _f(0.05, "mean unemployment rate (China urban surveyed ~5 %)",
                                  lo=0, hi=0.9)
    cycle_amplitude: float = _f(0.005, "business-cycle amplitude of unemployment", lo=0, hi=0.5)
    cycle_months: int = _f(84, "business-cycle period", lo=2, unit="months")
    job_finding_rate: float = _f(0.25, "monthly unemployed -> employed probability", lo=0,
                                 lo_open=True, hi=1)
    benchmark_rate: float = _f(0.0385, "benchmark (one-year LPR) rate; CAL: LPR 3.85 % 2020",
                               lo=0, hi=1, unit="annual")
    income_growth: float = _f(0.05, "growth of every borrower's base income", lo=-0.5, hi=2,
                              unit="annual")
    demand_trend: float = _f(0.06, "growth of discretionary demand (consumption upgrade; with "
                             "income_growth it sets how fast wants outgrow incomes)", lo=-0.5,
                             hi=2, unit="annual")
    demand_trend_months: int = _f(60, "months of the consumption upgrade from the first "
                                  "simulated month; then demand grows with income only "
                                  "(docs/ODD.md 7.1)", lo=0, hi=1200, unit="months")
    seasonality: tuple = _f((1.1, 1.2, 1.0, 1.0, 1.0, 1.15, 1.0, 1.0, 1.0, 1.0, 1.4, 1.1),
                            "monthly discretionary-demand multipliers, January first (Spring "
                            "Festival, 618, Double 11)")
    start_month: int = _f(1, "calendar month of step 1", lo=1, hi=12)
    shock_start: int = _f(0, "step at which an income shock starts (0 = none)", lo=0)
    shock_months: int = _f(4, "length of the income shock", lo=1, unit="months")
    shock_income_loss: float = _f(0.2, "income lost by the employed during the shock", lo=0,
                                  hi=1)
    shock_unemployment: float = _f(0.04, "unemployment added during the shock", lo=0, hi=0.9)


@dataclass(frozen=True)
class SocialNetworkParams:
    """Borrower-borrower ties (docs/ODD.md: section 2, Networks)."""

    kind: str = _f("watts_strogatz", "network model", choices=SOCIAL_KINDS)
    mean_degree: float = _f(10.0, "average number of contacts", lo=0, hi=1000)
    rewire_p: float = _f(0.1, "Watts-Strogatz rewiring probability", lo=0, hi=1)
    edge_list: str = _f("", "edge-list file (kind = 'edge_list'), relative to the scenario file")


INTERBANK_KINDS = ("none", "random", "core_periphery", "file")


@dataclass(frozen=True)
class InterbankNetworkParams:
    """Bank-bank exposures (docs/ODD.md: section 2, Networks; 7.17.5)."""

    kind: str = _f("random", "interbank network model", choices=INTERBANK_KINDS)
    mean_degree: float = _f(3.0, "average number of banks each bank lends to; a value at or "
                            "above banks.n - 1 gives the complete network (every bank lends "
                            "to every other)", lo=0, hi=1000)
    exposure_share: float = _f(0.05, "a bank's interbank lending, share of its other loans "
                               "(Gai & Kapadia 2010 use 20 % of assets)", lo=0, hi=1)
    n_core: int = _f(4, "core banks (kind = 'core_periphery')", lo=1)
    recovery: float = _f(0.0, "share of an interbank claim on a failed bank recovered", lo=0,
                         hi=1)
    clearing: str = _f("cascade", "'cascade': claims on a failed bank recover `recovery`; "
                       "'eisenberg_noe': banks clear at once, deposits senior, claims recover "
                       "the debtor's payment ratio", choices=("cascade", "eisenberg_noe"))
    file: str = _f("", "exposure matrix or edge-list file (kind = 'file'), relative to the "
                   "scenario file")


@dataclass(frozen=True)
class NetworkParams:
    """Networks; one seeded stream builds them all."""

    social: SocialNetworkParams = field(default_factory=SocialNetworkParams,
                                        metadata=spec("social network"))
    interbank: InterbankNetworkParams = field(default_factory=InterbankNetworkParams,
                                              metadata=spec("interbank network"))


@dataclass(frozen=True)
class ContagionParams:
    """Contagion channels, each switchable (docs/ODD.md, 7.17.1-7.17.7, 7.17.10).

    Borrower-layer channels (social, debt_spiral, platform_failure) split the month's credit
    losses by the cause of each defaulted loan's missed payments; institution-layer channels
    (common_funder, interbank, reputation, operational, guarantee) are losses passed to or caused at
    banks and platforms. Each has a ``losses_<channel>`` column in the model table.
    """

    social: bool = _f(True, "defaulted contacts raise a borrower's chance of not paying")
    social_mode: str = _f("hazard", "'hazard': peer effect in the default hazard "
                          "(borrowers.peer_effect); 'threshold': a borrower stops paying when "
                          "the defaulted share of contacts reaches social_threshold (Watts "
                          "2002)", choices=("hazard", "threshold"))
    social_threshold: float = _f(0.3, "defaulted share of contacts that stops a borrower "
                                 "paying (social_mode = 'threshold')", lo=0, lo_open=True, hi=1)
    debt_spiral: bool = _f(True, "borrowers short of cash borrow elsewhere to pay an instalment")
    platform_failure: bool = _f(True, "borrowers of a failed platform may walk away "
                                "(borrowers.failed_lender_nonpayment) and its resolver recovers "
                                "less (platforms.resolver_recovery)")
    common_funder: bool = _f(True, "a bank whose capital falls near the requirement cuts its "
                             "lines to every platform it funds")
    interbank: bool = _f(True, "a failed bank's interbank creditors lose their claims, which "
                         "can fail them in turn (network.interbank)")
    reputation: bool = _f(True, "a platform failure or incident lowers the reputation of "
                          "platforms of the same type; retail investors withdraw on it")
    reputation_hit: float = _f(0.3, "relative reputation lost by each platform of the type of "
                               "a failed platform", lo=0, hi=1)
    reputation_recovery: float = _f(0.05, "monthly share of lost reputation regained", lo=0,
                                    hi=1)
    retail_base_withdrawal: float = _f(0.02, "monthly share of retail funds withdrawn (and "
                                       "replaced) in normal times", lo=0, hi=1)
    retail_run_sensitivity: float = _f(0.5, "extra monthly withdrawal share per unit of lost "
                                       "reputation (a run)", lo=0, hi=1)
    retail_refill: float = _f(0.1, "monthly share of the gap between what a platform can take "
                              "from retail investors (the loans it holds beyond the equity it "
                              "aims for, at "
                              "most platforms.<type>.retail_funding x equity) and what it "
                              "holds that investors bring, scaled by reputation: money "
                              "returns after a run as trust does", lo=0, hi=1)
    run_penalty: float = _f(0.25, "cost of meeting withdrawals beyond cash (fire-sale "
                            "discount / emergency funding), per RMB", lo=0, hi=1)
    operational: bool = _f(True, "outages and data breaches at random")
    incident_rate: float = _f(0.002, "monthly probability of an incident at each platform",
                              lo=0, hi=1)
    breach_share: float = _f(0.3, "share of incidents that are data breaches (the rest are "
                             "outages: no lending that month)", lo=0, hi=1)
    breach_cost: float = _f(0.03, "cost of a data breach, share of the platform's equity",
                            lo=0, hi=1)
    incident_reputation_hit: float = _f(0.15, "relative reputation an incident costs the "
                                        "platform (breach: double), and a third of it to its "
                                        "type", lo=0, hi=1)
    guarantee: bool = _f(True, "a failed guarantor stops paying claims beyond its cash and "
                         "its insured platforms lose reputation (no effect without "
                         "guarantors: guarantee.n)")


@dataclass(frozen=True)
class GuaranteeParams:
    """Guarantee and insurance pools, off by default (docs/ODD.md, 7.17.10).

    ``n`` third-party guarantors (credit insurers) each cover ``cover_share`` of the net
    charge-offs on the loans of the platforms they insure (every funder of a covered pool is
    paid its share), for a premium the platform pays, up to their capital; a guarantor whose
    equity is gone fails (contagion.guarantee). ``kind = 'reserve'``: each insured platform
    holds its own P2P-style risk reserve fund instead (the same mechanism, one fund per
    platform). Sources: Katsamakas & Sanchez-Cartas 2024 (insurance pools and screening
    rules); docs/calibration.md, 2.4 (depleted reserve and guarantee funds in the 2018-19 P2P
    runs).
    """

    n: int = _f(0, "number of guarantors (0 = none; with kind = 'reserve', any number > 0 "
                "gives every insured platform its own reserve fund)", lo=0, hi=100)
    kind: str = _f("guarantor", "'guarantor': third-party guarantors, each insuring several "
                   "platforms (platform i is insured by guarantor i mod n); 'reserve': a risk "
                   "reserve fund per insured platform", choices=("guarantor", "reserve"))
    insured_type: str = _f("p2p", "platform type insured ('all': every type)",
                           choices=("embedded", "micro_lender", "consumer_finance", "p2p",
                                    "all"))
    cover_share: float = _f(0.8, "share of a covered loan's net charge-off the guarantor pays "
                            "its funders", lo=0, hi=1)
    premium_rate: float = _f(0.02, "premium the insured platform pays on the open balance of "
                             "its covered loans", lo=0, hi=1, unit="annual")
    capital_per_borrower: float = _f(10.0, "initial capital of each guarantor (or reserve "
                                     "fund) per borrower in the market", lo=0, unit="RMB")
    max_leverage: float = _f(10.0, "covered open balance / equity above which a guarantor "
                             "covers no new loans (China's 2017 Regulations on Financing "
                             "Guarantee Companies: at most 10x net assets)", lo=0,
                             lo_open=True, hi=1000)
    target_leverage: float = _f(5.0, "covered open balance / equity a guarantor aims for: "
                                "it pays out equity above covered balance / target_leverage "
                                "(and above its initial capital) as dividends", lo=0,
                                lo_open=True, hi=1000)
    policy: str = _f("pool", "'pool': cover every loan of an insured platform; 'screening': "
                     "cover only loans with an estimated lifetime PD at or below "
                     "screening_pd (the insured platform's cut-off is held at it)",
                     choices=("pool", "screening"))
    moral_hazard: float = _f(0.0, "under policy = 'pool', the share of its cover an insured "
                             "platform counts as relief when it screens: during the month's "
                             "lending it approves up to pd_cutoff / (1 - moral_hazard x "
                             "cover_share), at most 1 (insured lending is less careful: "
                             "Katsamakas & Sanchez-Cartas 2024)", lo=0, hi=1)
    screening_pd: float = _f(0.1, "largest lifetime PD covered under policy = 'screening'",
                             lo=0, lo_open=True, hi=1)
    reputation_hit: float = _f(0.5, "relative reputation each platform a failed guarantor "
                               "insured loses (its retail investors run: contagion.guarantee)",
                               lo=0, hi=1)


@dataclass(frozen=True)
class ShockParams:
    """Scheduled shocks that start a contagion study (the income shock is under ``macro``)."""

    bank_loss_step: int = _f(0, "step at which one bank loses part of its other loans (0 = "
                             "none)", lo=0)
    bank_loss_bank: int = _f(0, "the bank hit (0 = the largest)", lo=0)
    bank_loss_share: float = _f(0.2, "share of that bank's other loans lost", lo=0, hi=1)
    platform_failure_step: int = _f(0, "step at which one platform is closed (0 = none)", lo=0)
    platform_failure_type: str = _f("consumer_finance", "type of the platform closed: the "
                                    "largest live one of that type",
                                    choices=("embedded", "micro_lender", "consumer_finance",
                                             "p2p"))


@dataclass(frozen=True)
class SimulationParams:
    """Run control."""

    steps: int = _f(120, "months to simulate", lo=1, hi=10_000)
    seed: int = _f(1, "root seed of the model's one random generator", lo=0)
    burn_in: int = _f(0, "months simulated before the first recorded month, so that runs start "
                      "from a settled market: the tables start at step 1 after them, and "
                      "policy changes, triggers and shocks count from there", lo=0, hi=600,
                      unit="months")
    check_invariants: bool = _f(False, "assert balance-sheet identities every step")
    agent_threshold: int = _f(10_000, "register every Borrower as a Mesa agent up to this many "
                              "borrowers; above, Borrower objects are made on demand", lo=0)


@dataclass(frozen=True)
class OutputParams:
    """What a run writes."""

    charts: bool = _f(True, "write PNG charts of the main series")
    borrower_snapshot_every: int = _f(0, "borrower-level snapshot every k steps (0 = never)",
                                      lo=0)


SECTIONS: dict[str, type] = {
    "borrowers": BorrowerParams, "platforms": PlatformParams, "banks": BankParams,
    "regulator": RegulatorParams, "macro": MacroParams, "network": NetworkParams,
    "contagion": ContagionParams, "guarantee": GuaranteeParams, "shocks": ShockParams,
    "simulation": SimulationParams,
    "output": OutputParams,
}


@dataclass(frozen=True)
class Scenario:
    """A complete, validated parameter set. Build with :func:`Scenario.from_dict` or
    :func:`lendsim.simulation.scenario.load_scenario`; change with :meth:`with_overrides`."""

    borrowers: BorrowerParams = field(default_factory=BorrowerParams)
    platforms: PlatformParams = field(default_factory=PlatformParams)
    banks: BankParams = field(default_factory=BankParams)
    regulator: RegulatorParams = field(default_factory=RegulatorParams)
    macro: MacroParams = field(default_factory=MacroParams)
    network: NetworkParams = field(default_factory=NetworkParams)
    contagion: ContagionParams = field(default_factory=ContagionParams)
    guarantee: GuaranteeParams = field(default_factory=GuaranteeParams)
    shocks: ShockParams = field(default_factory=ShockParams)
    simulation: SimulationParams = field(default_factory=SimulationParams)
    output: OutputParams = field(default_factory=OutputParams)
    name: str = "scenario"
    #: scheduled policy changes and triggered rules (``lendsim.simulation.policy``)
    policy: tuple = ()
    triggers: tuple = ()

    # --- construction ----------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: dict, *, name: str = "scenario", source: str = "") -> Scenario:
        """Build from a nested dict (as read from TOML); validates everything."""
        flat = flatten(data)
        return cls().with_overrides(flat, source=source, name=name)

    def with_overrides(self, overrides: dict[str, Any], *, source: str = "",
                       name: str | None = None) -> Scenario:
        """Return a copy with dotted-key overrides applied, e.g. ``{"borrowers.n": 5000}``."""
        nested = self.to_dict()
        known = set(flatten(nested))
        for key, value in overrides.items():
            if key not in known:
                raise ScenarioError(_unknown_key_message(key, value, known, source))
            node = nested
            *head, last = key.split(".")
            for part in head:
                node = node[part]
            node[last] = value
        built = {sec: _build(SECTIONS[sec], nested[sec], sec, source) for sec in SECTIONS}
        scen = Scenario(**built, name=self.name if name is None else name, policy=self.policy,
                        triggers=self.triggers)
        scen._check_cross_fields(source)
        return scen

    def with_policy(self, policy: tuple = (), triggers: tuple = ()) -> Scenario:
        """Return a copy with a parsed policy schedule and triggered rules
        (:class:`lendsim.simulation.policy.PolicyChange` and ``TriggerRule`` tuples; to read
        them from TOML tables use :func:`lendsim.simulation.policy.with_policy`)."""
        scen = dataclasses.replace(self, policy=tuple(policy), triggers=tuple(triggers))
        scen._check_horizon()
        return scen

    def _check_cross_fields(self, source: str) -> None:
        b = self.borrowers
        if len(b.tier_shares) != len(b.tier_income):
            _fail("borrowers.tier_income", b.tier_income,
                  f"a list as long as borrowers.tier_shares ({len(b.tier_shares)})", source)
        if not math.isclose(sum(b.tier_shares), 1.0, rel_tol=1e-6):
            _fail("borrowers.tier_shares", b.tier_shares, "shares that add up to 1", source)
        if self.platforms.max_n < self.platforms.n:
            _fail("platforms.max_n", self.platforms.max_n,
                  f"a number >= platforms.n ({self.platforms.n})", source)
        if sum(self.platforms.type_params(t).weight for t in PLATFORM_TYPES) <= 0:
            _fail("platforms.<type>.weight", 0, "at least one type with weight > 0", source)
        s = self.network.social
        if s.kind == "edge_list" and not s.edge_list:
            _fail("network.social.edge_list", s.edge_list,
                  "a file path when network.social.kind = 'edge_list'", source)
        if s.kind not in ("none", "edge_list") and s.mean_degree >= b.n:
            _fail("network.social.mean_degree", s.mean_degree,
                  f"a value below borrowers.n ({b.n})", source)
        if s.kind == "stochastic_block":
            from lendsim.simulation.networks import stochastic_block_max_degree

            top = stochastic_block_max_degree(b.n)
            if s.mean_degree > top:
                _fail("network.social.mean_degree", s.mean_degree, f"at most {top:.4g} for "
                      f"a stochastic_block network of {b.n} borrowers (3 blocks, 5x denser "
                      "within)", source)
        if self.shocks.bank_loss_bank >= self.banks.n:
            _fail("shocks.bank_loss_bank", self.shocks.bank_loss_bank,
                  f"a bank index below banks.n ({self.banks.n})", source)
        ib = self.network.interbank
        if ib.kind == "file" and not ib.file:
            _fail("network.interbank.file", ib.file,
                  "a file path when network.interbank.kind = 'file'", source)
        if ib.kind == "core_periphery" and ib.n_core > self.banks.n:
            _fail("network.interbank.n_core", ib.n_core,
                  f"at most banks.n ({self.banks.n})", source)
        sh = self.shocks
        if sh.platform_failure_step and self.platforms.type_params(
                sh.platform_failure_type).weight == 0:
            _fail("shocks.platform_failure_type", sh.platform_failure_type,
                  "a platform type the market has (its platforms.<type>.weight is 0)", source)
        self._check_horizon(source)

    def _check_horizon(self, source: str = "") -> None:
        """Shocks, policy changes and rules must fall inside the run (read by attribute)."""
        steps = self.simulation.steps
        for key in ("macro.shock_start", "shocks.bank_loss_step",
                    "shocks.platform_failure_step"):
            month = self.get(key)
            if month > steps:
                _fail(key, month, f"a month of the run, <= simulation.steps ({steps}), or 0 "
                      "for none", source)
        where = f" (in {source})" if source else ""
        for i, c in enumerate(self.policy):
            if c.announce > steps:
                field = "announce" if c.announce != c.step else "step"
                raise ScenarioError(f"policy[{i}].{field} = {c.announce}{where}: after the last "
                                    f"month of the run (simulation.steps = {steps}); must be "
                                    f"<= {steps}")
        for i, t in enumerate(self.triggers):
            if t.after > steps:
                raise ScenarioError(f"trigger[{i}].after = {t.after}{where}: after the last "
                                    f"month of the run (simulation.steps = {steps}); must be "
                                    f"<= {steps}")

    # --- views -----------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """Nested plain dict (tuples as lists), suitable for TOML/JSON."""
        out = {sec: _to_dict(getattr(self, sec)) for sec in SECTIONS}
        return out

    def to_json_dict(self) -> dict:
        """Like :meth:`to_dict`, with infinity written as the string "inf" (valid JSON)."""
        def fix(d):
            return {k: fix(v) if isinstance(v, dict) else
                    ("inf" if isinstance(v, float) and math.isinf(v) else v)
                    for k, v in d.items()}
        out = fix(self.to_dict())
        if self.policy or self.triggers:
            # plain dicts, for manifests and round trips through TOML
            out["policy"] = [fix(dataclasses.asdict(c)) for c in self.policy]
            out["trigger"] = [fix({k: v for k, v in dataclasses.asdict(t).items()
                                   if v is not None and v != ""}) for t in self.triggers]
        return out

    def flat(self) -> dict[str, Any]:
        """Dotted key -> value for every parameter."""
        return flatten(self.to_dict())

    def get(self, key: str) -> Any:
        node: Any = self
        for part in key.split("."):
            node = getattr(node, part)
        return node


def parameter_reference() -> list[tuple[str, Any, str, str]]:
    """(key, default, allowed, doc) for every parameter: the source of the docs' table."""
    rows = []

    def walk(cls, obj, prefix):
        for f in dataclasses.fields(cls):
            v = getattr(obj, f.name)
            if dataclasses.is_dataclass(v):
                walk(type(v), v, f"{prefix}{f.name}.")
                continue
            m = f.metadata
            allowed = (", ".join(m["choices"]) if m.get("choices") else _range_text(m).strip())
            allowed = f"comma-separated: {allowed}; or empty" if m.get("many") else allowed
            unit = f" [{m['unit']}]" if m.get("unit") else ""
            rows.append((prefix + f.name, v, allowed, m.get("doc", "") + unit))

    for sec, cls in SECTIONS.items():
        walk(cls, cls(), sec + ".")
    return rows
