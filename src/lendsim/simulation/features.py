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

#: Features a platform sees, in order.
FEATURES = ("intercept", "risk_signal", "log_income", "is_employed", "own_debt_income",
            "bureau_debt_income", "bureau_lenders", "is_bureau_covered", "log_term",
            "arrears_seen")
N_FEATURES = len(FEATURES)
#: The loan's term enters as ``ln(term / REFERENCE_TERM)``: the prior's intercept is the logit
#: of a six-month loan's lifetime PD.
REFERENCE_TERM = 6.0
#: Scoring model a new platform starts with (lifetime PD logit), before it has data, and the
#: centre of the prior every refit shrinks toward (weight ``platforms.prior_weight``, in loans).
#: The log-term coefficient 1 says that with a steady monthly hazard ``h`` a loan of ``T``
#: months defaults over its life with probability ``1 - (1 - h)^T``, about ``h T`` when small
#: (logit PD about ln h + ln T): a one-month draw is not as risky as a six-month loan.
#: An applicant behind on a payment the lender can see (``arrears_seen``) has log-odds of
#: default higher by 2 (about 7x the odds): an assumption of the model, not an estimate;
#: every refit learns the coefficient from the lender's own loans.
PRIOR_COEF = np.array([-3.2, 0.8, -0.5, -1.0, 2.0, 2.0, 0.3, 0.0, 1.0, 2.0])
assert len(PRIOR_COEF) == N_FEATURES


def borrower_features(risk: np.ndarray, income: np.ndarray, is_employed: np.ndarray,
                      is_covered: np.ndarray, own: np.ndarray, total_debt: np.ndarray,
                      n_lenders: np.ndarray, noise_sd: np.ndarray, income_median: float,
                      normal: np.ndarray, term: np.ndarray,
                      arrears_seen: np.ndarray | None = None) -> np.ndarray:
    """The features a lender sees of each applicant (one row each, float32).

    Args:
        risk: latent risk of each applicant (standard units).
        income: this month's income, RMB.
        is_employed: employment status.
        is_covered: whether the credit bureau covers the applicant.
        own: the lender's own exposure to the applicant, RMB.
        total_debt: the applicant's total debt, RMB (seen only when covered).
        n_lenders: the applicant's number of lenders (seen only when covered).
        noise_sd: sd of the lender's noise on the risk signal (falls with technology).
        income_median: median base income, RMB (scales log income).
        normal: pre-drawn standard normal numbers, one per applicant.
        term: the term of the loan asked for, months (1 for a credit line's draws).
        arrears_seen: whether the lender sees the applicant behind on a payment
            (:func:`arrears_seen`; default: no one is).

    Examples:
        >>> X = borrower_features(np.array([0.5]), np.array([6000.0]), np.array([True]),
        ...                       np.array([False]), np.array([600.0]), np.array([900.0]),
        ...                       np.array([2]), np.array([0.0]), 6000.0, np.array([0.3]),
        ...                       np.array([12]))
        >>> X.astype(float).round(3).tolist()
        [[1.0, 0.5, 0.0, 1.0, 0.008, 0.0, 0.0, 0.0, 0.693, 0.0]]
    """
    inc = np.maximum(income, 1.0)
    covered = is_covered.astype(float)
    X = np.empty((len(risk), N_FEATURES), dtype=np.float32)  # stored as float32 anyway
    X[:, 0] = 1.0
    X[:, 1] = risk + noise_sd * normal
    X[:, 2] = np.log(inc / income_median)
    X[:, 3] = is_employed
    X[:, 4] = own / (12.0 * inc)
    X[:, 5] = covered * total_debt / (12.0 * inc)
    X[:, 6] = covered * n_lenders
    X[:, 7] = covered
    X[:, 8] = np.log(np.asarray(term, dtype=float) / REFERENCE_TERM)
    X[:, 9] = 0.0 if arrears_seen is None else arrears_seen
    return X


def arrears_seen(model, b: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Whether platforms ``p`` see borrowers ``b`` behind on a payment: on a loan at ``p``
    itself (a lender knows its own accounts), or, for a borrower the credit bureau covers, on
    any loan (the bureau reports arrears with the debts). As of the end of last month: only
    the repayment phase changes who is behind, after this month's lending.

    The month's borrowers and (borrower, platform) pairs behind are found once, at the first
    call (``Month.arrears``).
    """
    m = model.month
    if m.arrears is None:
        L = model.loans
        late = np.flatnonzero(L.is_open() & (L.n_missed > 0))
        anyone = np.zeros(model.n_borrowers, dtype=bool)
        anyone[L.borrower_idx[late]] = True
        m.arrears = (anyone, np.unique(_pair(L.borrower_idx[late], L.platform_idx[late])))
    anyone, pairs = m.arrears
    key = _pair(b, p)
    pos = np.minimum(np.searchsorted(pairs, key), max(len(pairs) - 1, 0))
    own = (pairs[pos] == key) if len(pairs) else np.zeros(len(b), dtype=bool)
    return np.where(model.is_covered[b], anyone[b], own)


def _pair(b: np.ndarray, p: np.ndarray) -> np.ndarray:
    return b.astype(np.int64) * (1 << 20) + p.astype(np.int64)
