"""What a lender sees of a borrower: the feature vector of every scoring model.

One home for the features: their names and order, the prior scoring model a new platform
starts with, and the function that builds the vectors. The loan book stores each loan's
features at origination (``LoanBook.features``), and platforms train on them when loans
mature.

References:
    Credit scoring on income, employment, debt-to-income and bureau data: Thomas, Edelman &
    Crook (2002), *Credit Scoring and Its Applications*, ch. 8; the features and their
    availability are described in docs/ODD.md (7. Submodels, underwriting).
"""

from __future__ import annotations

import numpy as np

from lendsim import kernels

#: Features every platform sees, in order (the first columns of every feature matrix).
FEATURES = ("intercept", "risk_signal", "log_income", "is_employed", "own_debt_income",
            "bureau_debt_income", "bureau_lenders", "is_bureau_covered", "log_term",
            "arrears_seen", "request_income")
N_FEATURES = len(FEATURES)
#: Alternative data: features a platform type sees only if its ``platforms.<type>.alt_data``
#: names them; in a run they follow ``FEATURES``, in this order, when any type sees them.
ALT_FEATURES = ("spending_income", "contacts_in_arrears")
#: The feature registry: every feature a lender may see, what it is and who sees it.
REGISTRY = {
    "intercept": "1 (every platform)",
    "risk_signal": "latent risk plus noise that falls with the type's technology level: what "
                   "the platform's own data and verification tell it (every platform)",
    "log_income": "log of this month's income over the median base income (every platform)",
    "is_employed": "has a job (every platform)",
    "own_debt_income": "the borrower's debt at this platform over annual income: repayment "
                       "behaviour and exposure at the platform (every platform)",
    "bureau_debt_income": "total debt over annual income, through the credit bureau (bureau "
                          "data when shared: regulator.data_sharing; 0 for borrowers it does "
                          "not cover)",
    "bureau_lenders": "number of lenders, through the bureau (as above)",
    "is_bureau_covered": "the bureau covers the borrower (as above)",
    "log_term": "log of the loan's term over 6 months (every platform)",
    "arrears_seen": "behind on a payment at this platform, or at any lender through the "
                    "bureau (repayment behaviour; every platform)",
    "request_income": "the amount asked for over annual income: the size of the loan applied "
                      "for, which sets the instalment the borrower must meet (every platform)",
    "spending_income": "this month's discretionary spending over income: consumption "
                       "behaviour, as an e-commerce or payment platform sees its users' "
                       "purchases (alternative data: platforms.<type>.alt_data)",
    "contacts_in_arrears": "share of the borrower's social contacts behind on a payment: the "
                           "social-network signal of a platform that sees the social graph "
                           "(alternative data: platforms.<type>.alt_data)",
}
assert set(REGISTRY) == set(FEATURES) | set(ALT_FEATURES)
#: The loan's term enters as ``ln(term / REFERENCE_TERM)``: the prior's intercept is the logit
#: of a six-month loan's lifetime PD.
REFERENCE_TERM = 6.0
#: ``ln(term / REFERENCE_TERM)`` for each whole term up to the book's largest (an int8 column),
#: as float32 (the feature's type): looked up per applicant instead of a log each.
#: No loan has term 0: its entry is -inf.
LOG_TERM = np.r_[-np.inf, np.log(np.arange(1, 128) / REFERENCE_TERM)].astype(np.float32)
#: Scoring model a new platform starts with (lifetime PD logit), before it has data, and the
#: centre of the prior every refit shrinks toward (weight ``platforms.prior_weight``, in loans).
#: The log-term coefficient 1 says that with a steady monthly hazard ``h`` a loan of ``T``
#: months defaults over its life with probability ``1 - (1 - h)^T``, about ``h T`` when small
#: (logit PD about ln h + ln T): a one-month draw is not as risky as a six-month loan.
#: An applicant behind on a payment the lender can see (``arrears_seen``) has log-odds of
#: default higher by 2 (about 7x the odds): an assumption of the model, not an estimate;
#: every refit learns the coefficient from the lender's own loans. The amount asked for
#: (``request_income``) weighs as much as the debt the borrower already owes the lender
#: (``own_debt_income``): once lent, it is debt to the lender, in the same units. Without it a
#: scorecard cannot tell a large loan from a small one to the same borrower, although the
#: larger instalment is more often missed, and a lender whose borrowers ask for large loans
#: under-prices its losses (docs/ODD.md 7.6).
PRIOR_COEF = np.array([-3.2, 0.8, -0.5, -1.0, 2.0, 2.0, 0.3, 0.0, 1.0, 2.0, 2.0])
assert len(PRIOR_COEF) == N_FEATURES


def feature_names(alt_data: set[str] | tuple[str, ...] = ()) -> tuple[str, ...]:
    """The columns of a run's feature matrices: ``FEATURES``, then the alternative features
    any platform type sees (``alt_data``), in registry order."""
    return FEATURES + tuple(f for f in ALT_FEATURES if f in alt_data)


def prior_coef(n_features: int) -> np.ndarray:
    """The prior scorecard for feature matrices of ``n_features`` columns: ``PRIOR_COEF``, and
    0 on every alternative feature (the generic scorecard a platform starts with uses none:
    each platform learns their weight from its own loans)."""
    return np.r_[PRIOR_COEF, np.zeros(n_features - N_FEATURES)]


def alt_features(model, b: np.ndarray, p: np.ndarray, sees: np.ndarray) -> np.ndarray:
    """The alternative features of borrowers ``b`` as platforms ``p`` see them, one column
    per alternative feature of the run (``model.features[N_FEATURES:]``), float32: 0 where the
    platform's type does not see it (``sees``: (n_platforms, n_alt) booleans).

    ``spending_income``: this month's discretionary spending need over income (income floored
    at 1 RMB). ``contacts_in_arrears``: share of the borrower's contacts behind on a payment
    at the end of last month (found once a month, ``Month.contacts_in_arrears``).
    """
    names = model.features[N_FEATURES:]
    out = np.zeros((len(b), len(names)), dtype=np.float32)
    pop = model.population
    for k, name in enumerate(names):
        if name == "spending_income":
            out[:, k] = pop.need[b] / np.maximum(pop.income[b], 1.0)
        else:  # contacts_in_arrears
            out[:, k] = contacts_in_arrears(model)[b]
    out *= sees[p]
    return out


def contacts_in_arrears(model) -> np.ndarray:
    """Each borrower's share of social contacts behind on a payment, as of the end of last
    month (one pass over the network a month, at the first call)."""
    from lendsim.simulation.networks import neighbour_share

    m = model.month
    if m.contacts_in_arrears is None:
        m.contacts_in_arrears = neighbour_share(model.social, late_accounts(model)[0])
    return m.contacts_in_arrears


def borrower_features(b: np.ndarray, p: np.ndarray, *, risk: np.ndarray, income: np.ndarray,
                      is_employed: np.ndarray, is_covered: np.ndarray, debt,
                      noise_sd: np.ndarray, income_median: float, normal: np.ndarray,
                      term: np.ndarray, request: np.ndarray,
                      late: tuple[np.ndarray, np.ndarray],
                      arrears_covered: np.ndarray | None = None,
                      log_income: np.ndarray | None = None
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The features platforms ``p`` see of applicants ``b`` (one float32 row each), with
    what each platform sees of the applicant's debt.

    Args:
        b, p: applicants (borrower indices) and the platform each applies to.
        risk: latent risk of every borrower (standard units).
        income: this month's income of every borrower, RMB.
        is_employed: every borrower's employment status.
        is_covered: whether the credit bureau covers each borrower.
        arrears_covered: whether the bureau reports each borrower's arrears (covered, and
            ``regulator.share_arrears``); ``is_covered`` when not given.
        debt: the month's :class:`lendsim.simulation.debt.DebtState` (each borrower's debt
            at each platform and in total, RMB, and number of lenders; the total and the
            count are seen only when covered).
        noise_sd: sd of each platform's noise on the risk signal (falls with technology).
        income_median: median base income, RMB (scales log income).
        normal: pre-drawn standard normal numbers, one per applicant.
        term: the term of each loan asked for, months (1 for a credit line's draws).
        request: the amount each applicant asks for, RMB.
        late: last month's borrowers behind on a payment and their (borrower, platform)
            pairs (:func:`late_accounts`).
        log_income: every borrower's log income feature, float32 (:func:`log_incomes`);
            computed from ``income`` and ``income_median`` when not given.

    Returns:
        ``(X, own, visible_debt, other_lenders)``: the features; each platform's own
        exposure (RMB); the debt it can see, RMB (the bureau's total when covered, else its
        own); and the other lenders it can see (0 when not covered). One compiled pass
        (:func:`lendsim.kernels.applicant_features`); the logs are looked up: the log term in
        ``LOG_TERM``, the log income in ``log_income``, made once a month for everyone
        (10^6 logs, where a month's applications at 10^6 borrowers are about 1.4 million).

    Examples:
        >>> from lendsim.simulation.debt import DebtState
        >>> debt = DebtState(np.array([[600.0, 300.0]]), np.array([900.0]), np.array([2]))
        >>> X, own, seen, others = borrower_features(
        ...     np.array([0]), np.array([0]), risk=np.array([0.5]), income=np.array([6000.0]),
        ...     is_employed=np.array([True]), is_covered=np.array([False]), debt=debt,
        ...     noise_sd=np.array([0.0]), income_median=6000.0, normal=np.array([0.3]),
        ...     term=np.array([12]), request=np.array([3600.0]),
        ...     late=(np.zeros(1, dtype=bool), np.zeros(0, dtype=np.int64)))
        >>> X.astype(float).round(3).tolist(), float(own[0]), float(seen[0]), int(others[0])
        ([[1.0, 0.5, 0.0, 1.0, 0.008, 0.0, 0.0, 0.0, 0.693, 0.0, 0.05]], 600.0, 600.0, 0)
    """
    X = np.empty((len(b), N_FEATURES), dtype=np.float32)  # stored as float32 anyway
    term = np.asarray(term, dtype=np.int64)
    if len(term) and not 1 <= term.min() <= term.max() < len(LOG_TERM):
        raise ValueError(f"loan term: {term.min()}..{term.max()} months, allowed 1.."
                         f"{len(LOG_TERM) - 1}")
    if log_income is None:
        log_income = log_incomes(income, income_median)
    own, visible, others = kernels.applicant_features(
        b, p, debt.own, debt.total, debt.n_lenders, is_covered,
        is_covered if arrears_covered is None else arrears_covered, late[0], late[1], risk,
        np.asarray(noise_sd, dtype=float), np.asarray(normal, dtype=float), income,
        log_income, is_employed, np.asarray(request, dtype=float), term, LOG_TERM, X)
    return X, own, visible, others


def log_incomes(income: np.ndarray, income_median: float) -> np.ndarray:
    """Every borrower's log income feature, ``ln(max(income, 1) / income_median)``, as float32
    (the feature's type: the float64 log rounded once)."""
    return np.log(np.maximum(income, 1.0) / income_median).astype(np.float32)


def month_log_incomes(model) -> np.ndarray:
    """:func:`log_incomes` of this month's incomes, made at the month's first use (only the
    income phase, before any lending, changes incomes: ``Month.log_income``)."""
    m = model.month
    if m.log_income is None:
        m.log_income = log_incomes(model.population.income,
                                   model.params.borrowers.income_median)
    return m.log_income


def late_accounts(model) -> tuple[np.ndarray, np.ndarray]:
    """Who was behind on a payment at the end of last month: a flag per borrower and the
    sorted keys (``borrower x kernels.PAIR_SHIFT + platform``) of the (borrower, platform)
    pairs with a loan behind. Only the repayment phase changes who is behind, after this
    month's lending, so they are found once, at the first call (``Month.arrears``)."""
    m = model.month
    if m.arrears is None:
        L = model.loans
        late = np.flatnonzero(L.is_open() & (L.n_missed > 0))
        anyone = np.zeros(model.n_borrowers, dtype=bool)
        anyone[L.borrower_idx[late]] = True
        m.arrears = (anyone, np.unique(L.borrower_idx[late].astype(np.int64)
                                       * kernels.PAIR_SHIFT + L.platform_idx[late]))
    return m.arrears


def arrears_seen(model, b: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Whether platforms ``p`` see borrowers ``b`` behind on a payment: on a loan at ``p``
    itself (a lender knows its own accounts), or, for a borrower the credit bureau covers, on
    any loan (the bureau reports arrears with the debts, unless ``regulator.share_arrears``
    is false). As of the end of last month (:func:`late_accounts`)."""
    anyone, pairs = late_accounts(model)
    return kernels.late_seen(b, p, model.arrears_covered, anyone, pairs)
