"""Tests for lendsim.agents.rules.scoring against brute-force and independent fits."""

from __future__ import annotations

import numpy as np
import pytest

from lendsim.agents.rules.scoring import (auc, discrimination, fit_logistic, ks_statistic,
                                          predict_pd, unit_information)

TRUE_COEF = np.array([-2.0, 1.0, -0.5, 0.25])


def simulate(n: int, coef: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    X = np.column_stack([np.ones(n), rng.normal(size=(n, coef.size - 1))])
    y = (rng.random(n) < 1 / (1 + np.exp(-X @ coef))).astype(float)
    return X, y


def irls(X: np.ndarray, y: np.ndarray, l2: float, weight: np.ndarray | None = None) -> np.ndarray:
    """Independent Newton-Raphson / IRLS for the same penalised likelihood."""
    weight = np.ones(len(y)) if weight is None else weight
    penalty = np.full(X.shape[1], l2)
    penalty[0] = 0.0
    coef = np.zeros(X.shape[1])
    for _ in range(100):
        prob = 1 / (1 + np.exp(-X @ coef))
        grad = X.T @ (weight * (prob - y)) + penalty * coef
        hessian = (X * (weight * prob * (1 - prob))[:, None]).T @ X + np.diag(penalty)
        step = np.linalg.solve(hessian, grad)
        coef -= step
        if np.max(np.abs(step)) < 1e-12:
            break
    return coef


# ----------------------------------------------------------------- logistic


def test_fit_logistic_recovers_true_coefficients():
    X, y = simulate(50_000, TRUE_COEF, np.random.default_rng(0))
    coef = fit_logistic(X, y, l2=1e-6)
    np.testing.assert_allclose(coef, TRUE_COEF, atol=0.05)


@pytest.mark.parametrize("l2", [1e-8, 10.0])
def test_fit_logistic_matches_newton_raphson(l2):
    X, y = simulate(50_000, TRUE_COEF, np.random.default_rng(1))
    np.testing.assert_allclose(fit_logistic(X, y, l2=l2), irls(X, y, l2), atol=1e-4)


def lbfgs(X, y, l2, weight):
    """The same objective minimised by scipy's L-BFGS-B to tight tolerances."""
    from scipy import optimize, special

    penalty = np.full(X.shape[1], l2)
    penalty[0] = 0.0

    def objective(coef):
        z = X @ coef
        loss = np.sum(weight * (np.logaddexp(0.0, z) - y * z)) + 0.5 * np.sum(penalty * coef**2)
        return loss, X.T @ (weight * (special.expit(z) - y)) + penalty * coef

    return optimize.minimize(objective, np.zeros(X.shape[1]), jac=True, method="L-BFGS-B",
                             options={"maxiter": 10_000, "ftol": 1e-15, "gtol": 1e-10}).x


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fit_logistic_matches_scipy_on_rare_weighted_defaults(seed):
    """As platforms fit it: few defaults (~1 %), frequency weights, a warm start far off."""
    rng = np.random.default_rng(seed)
    true = np.array([-5.5, 1.2, -0.4, 0.3, 0.0])
    X, y = simulate(20_000, true, rng)
    weight = rng.integers(1, 5, size=len(y)).astype(float)
    got = fit_logistic(X, y, l2=1.0, sample_weight=weight, coef0=np.array([2.0, -3, 1, 1, 1]))
    np.testing.assert_allclose(got, lbfgs(X, y, 1.0, weight), atol=2e-4)
    # the simulation's looser tolerance stays close to the optimum too
    loose = fit_logistic(X, y, l2=1.0, sample_weight=weight, gtol=1e-5)
    np.testing.assert_allclose(loose, got, atol=1e-4)


def test_fit_logistic_penalty_shrinks_slopes_but_not_intercept():
    X, y = simulate(2000, TRUE_COEF, np.random.default_rng(2))
    loose = fit_logistic(X, y, l2=1e-8)
    tight = fit_logistic(X, y, l2=1e5)
    assert np.all(np.abs(tight[1:]) < 0.01 * np.abs(loose[1:]))
    # With slopes ~0 the intercept is the log-odds of the overall default rate.
    assert tight[0] == pytest.approx(np.log(y.mean() / (1 - y.mean())), abs=0.01)


def test_fit_logistic_integer_weights_equal_repeated_rows():
    rng = np.random.default_rng(3)
    X, y = simulate(3000, TRUE_COEF, rng)
    weight = rng.integers(0, 4, size=len(y)).astype(float)
    repeated = np.repeat(np.arange(len(y)), weight.astype(int))
    weighted = fit_logistic(X, y, l2=1.0, sample_weight=weight)
    np.testing.assert_allclose(weighted, fit_logistic(X[repeated], y[repeated], l2=1.0), atol=1e-5)
    np.testing.assert_allclose(weighted, irls(X, y, 1.0, weight), atol=1e-5)


def test_fit_logistic_warm_start_reaches_same_optimum():
    X, y = simulate(5000, TRUE_COEF, np.random.default_rng(4))
    np.testing.assert_allclose(
        fit_logistic(X, y, coef0=np.array([1.0, -1.0, 2.0, 0.0])), fit_logistic(X, y), atol=1e-5
    )


@pytest.mark.parametrize("label", [0.0, 1.0])
def test_fit_logistic_one_class_returns_start_unchanged(label):
    X, _ = simulate(100, TRUE_COEF, np.random.default_rng(5))
    y = np.full(100, label)
    coef0 = np.array([0.3, -0.2, 0.1, 0.0])
    result = fit_logistic(X, y, coef0=coef0)
    np.testing.assert_array_equal(result, coef0)
    assert result is not coef0
    np.testing.assert_array_equal(fit_logistic(X, y), np.zeros(4))


def test_fit_logistic_stable_for_separable_extreme_data():
    X = np.column_stack([np.ones(200), np.linspace(-50, 50, 200)])
    y = (X[:, 1] > 0).astype(float)
    coef = fit_logistic(X, y, l2=1.0)
    assert np.all(np.isfinite(coef))
    assert coef[1] > 0


def test_fit_logistic_rejects_bad_input():
    X, y = simulate(10, TRUE_COEF, np.random.default_rng(6))
    with pytest.raises(ValueError):
        fit_logistic(X, y[:-1])
    with pytest.raises(ValueError):
        fit_logistic(X, y * 2)
    with pytest.raises(ValueError):
        fit_logistic(X, y, coef0=np.zeros(3))
    with pytest.raises(ValueError):
        fit_logistic(X, y, sample_weight=-np.ones(10))


def test_predict_pd_is_logistic_and_stable():
    X = np.array([[1.0, 0.0], [1.0, 800.0], [1.0, -800.0]])
    np.testing.assert_allclose(predict_pd(X, np.array([0.0, 1.0])), [0.5, 1.0, 0.0])


# --------------------------------------------------------------------- AUC/KS


def brute_force_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    pos, neg = scores[labels == 1], scores[labels == 0]
    wins = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return wins / (pos.size * neg.size)


def brute_force_ks(scores: np.ndarray, labels: np.ndarray) -> float:
    pos, neg = scores[labels == 1], scores[labels == 0]
    return max(abs(np.mean(pos <= t) - np.mean(neg <= t)) for t in np.unique(scores))


@pytest.mark.parametrize("seed", range(5))
def test_auc_and_ks_match_brute_force_with_ties(seed):
    rng = np.random.default_rng(seed)
    n = 400
    labels = rng.integers(0, 2, size=n)
    scores = np.round(rng.normal(size=n) + 0.7 * labels, 1)  # rounding creates many ties
    assert len(np.unique(scores)) < n
    assert auc(scores, labels) == pytest.approx(brute_force_auc(scores, labels), abs=1e-12)
    assert ks_statistic(scores, labels) == pytest.approx(brute_force_ks(scores, labels), abs=1e-12)
    assert auc(scores, labels.astype(bool)) == auc(scores, labels)


@pytest.mark.parametrize("seed", range(3))
def test_discrimination_matches_scipy(seed):
    """One sort gives what scipy's Mann-Whitney U and two-sample KS give, ties included."""
    from scipy import stats

    rng = np.random.default_rng(seed)
    labels = rng.random(5000) < 0.03
    scores = np.round(rng.normal(size=5000) + labels, 2)
    got_auc, got_ks = discrimination(scores, labels)
    u = stats.mannwhitneyu(scores[labels], scores[~labels]).statistic
    assert got_auc == pytest.approx(u / (labels.sum() * (~labels).sum()), abs=1e-12)
    ks = stats.ks_2samp(scores[labels], scores[~labels], method="asymp").statistic
    assert got_ks == pytest.approx(ks, abs=1e-12)


def test_auc_and_ks_edge_values():
    labels = np.array([0, 0, 1, 1])
    assert auc(np.array([1.0, 2.0, 3.0, 4.0]), labels) == 1.0
    assert auc(np.array([4.0, 3.0, 2.0, 1.0]), labels) == 0.0
    assert auc(np.ones(4), labels) == 0.5
    assert ks_statistic(np.array([1.0, 2.0, 3.0, 4.0]), labels) == 1.0
    assert ks_statistic(np.ones(4), labels) == 0.0


def test_auc_of_fitted_scorecard_matches_binormal_theory():
    # Scores N(0,1) for goods and N(d,1) for bads: AUC = Phi(d / sqrt 2) (Hanley & McNeil 1982).
    from scipy.stats import norm

    rng = np.random.default_rng(7)
    d = 1.0
    labels = rng.integers(0, 2, size=100_000)
    scores = rng.normal(size=labels.size) + d * labels
    assert auc(scores, labels) == pytest.approx(norm.cdf(d / np.sqrt(2)), abs=0.005)
    assert ks_statistic(scores, labels) == pytest.approx(2 * norm.cdf(d / 2) - 1, abs=0.01)


@pytest.mark.parametrize("labels", [np.zeros(5), np.ones(5)])
def test_auc_and_ks_nan_when_a_class_is_missing(labels):
    scores = np.arange(5.0)
    assert np.isnan(auc(scores, labels))
    assert np.isnan(ks_statistic(scores, labels))


def test_auc_rejects_non_binary_labels():
    with pytest.raises(ValueError, match="labels"):
        auc(np.arange(3.0), np.array([0, 1, 2]))


# ----------------------------------------------------------- Gaussian prior


def penalised_nll_by_hand(coef, X, y, weight, mean, precision):
    """The penalised negative log-likelihood, one observation at a time."""
    import math

    total = 0.0
    for x, label, w in zip(X, y, weight):
        z = float(x @ coef)
        total += w * ((z + math.log1p(math.exp(-z)) if z > 0 else math.log1p(math.exp(z)))
                      - label * z)
    d = coef - mean
    return total + 0.5 * float(d @ precision @ d)


def minimise_by_hand(X, y, weight, mean, precision):
    """scipy's BFGS on the hand-written objective (numerical gradient), from the prior mean."""
    from scipy import optimize

    return optimize.minimize(penalised_nll_by_hand, mean, args=(X, y, weight, mean, precision),
                             method="BFGS", options={"gtol": 1e-7}).x


PRIOR = np.array([-3.0, 0.8, -0.5, 0.3])


@pytest.mark.parametrize("seed", [0, 1])
def test_fit_logistic_under_a_gaussian_prior_matches_scipy_on_the_same_objective(seed):
    rng = np.random.default_rng(seed)
    X, y = simulate(600, TRUE_COEF, rng)
    weight = rng.integers(1, 4, size=len(y)).astype(float)
    a = rng.normal(size=(4, 4))
    precision = a @ a.T + np.eye(4)  # a full matrix: correlated prior
    got = fit_logistic(X, y, prior_mean=PRIOR, prior_precision=precision, sample_weight=weight,
                       coef0=np.zeros(4))
    want = minimise_by_hand(X, y, weight, PRIOR, precision)
    np.testing.assert_allclose(got, want, atol=1e-4)
    # the prior pulls the fit away from the unpenalised one, towards its centre
    free = fit_logistic(X, y, l2=0.0, sample_weight=weight)
    assert np.linalg.norm(got - PRIOR) < np.linalg.norm(free - PRIOR)


def test_fit_logistic_scalar_and_vector_precisions_are_diagonal_matrices():
    X, y = simulate(500, TRUE_COEF, np.random.default_rng(2))
    by_scalar = fit_logistic(X, y, prior_mean=PRIOR, prior_precision=5.0)
    np.testing.assert_allclose(by_scalar, fit_logistic(X, y, prior_mean=PRIOR,
                                                       prior_precision=5.0 * np.eye(4)))
    v = np.array([1.0, 2.0, 3.0, 4.0])
    np.testing.assert_allclose(fit_logistic(X, y, prior_mean=PRIOR, prior_precision=v),
                               fit_logistic(X, y, prior_mean=PRIOR, prior_precision=np.diag(v)))
    np.testing.assert_allclose(
        by_scalar, minimise_by_hand(X, y, np.ones(len(y)), PRIOR, 5.0 * np.eye(4)), atol=1e-4)


def test_unit_information_against_a_loop():
    rng = np.random.default_rng(3)
    X, _ = simulate(300, TRUE_COEF, rng)
    weight = rng.integers(0, 4, size=300).astype(float)
    want = np.zeros((4, 4))
    for x, w in zip(X, weight):
        p = 1 / (1 + np.exp(-x @ PRIOR))
        want += w * p * (1 - p) * np.outer(x, x)
    np.testing.assert_allclose(unit_information(X, PRIOR, weight), want / weight.sum())


@pytest.mark.parametrize("n", [300, 3000])
def test_fit_logistic_with_no_defaults_matches_scipy(n):
    """One class only: the fit is defined under the prior, and is the same optimum."""
    X, _ = simulate(n, TRUE_COEF, np.random.default_rng(4))
    y = np.zeros(n)
    precision = 300 * unit_information(X, PRIOR)
    got = fit_logistic(X, y, prior_mean=PRIOR, prior_precision=precision)
    want = minimise_by_hand(X, y, np.ones(n), PRIOR, precision)
    np.testing.assert_allclose(got, want, atol=1e-3)


def test_no_defaults_pull_the_pd_below_the_priors_more_as_loans_accumulate():
    """A lender that sees no default learns that its borrowers are safer than the prior
    says: the mean fitted PD falls below the prior's, the further the more loans it sees."""
    rng = np.random.default_rng(5)
    X, _ = simulate(20_000, TRUE_COEF, rng)
    prior_pd = predict_pd(X, PRIOR).mean()
    pds = []
    for n in (100, 1000, 10_000):
        Xn = X[:n]
        precision = 300 * unit_information(Xn, PRIOR)
        coef = fit_logistic(Xn, np.zeros(n), prior_mean=PRIOR, prior_precision=precision,
                            coef0=PRIOR)
        pds.append(predict_pd(X, coef).mean())
    assert prior_pd > pds[0] > pds[1] > pds[2] > 0
    # 10,000 loans without a default outweigh a prior worth 300
    assert pds[2] < 0.1 * prior_pd


def test_with_many_loans_the_prior_no_longer_matters():
    X, y = simulate(100_000, TRUE_COEF, np.random.default_rng(6))
    far = np.array([1.0, -2.0, 2.0, -1.0])
    precision = 300 * unit_information(X, far)
    got = fit_logistic(X, y, prior_mean=far, prior_precision=precision)
    mle = fit_logistic(X, y, l2=0.0)
    np.testing.assert_allclose(got, mle, atol=0.02)
    np.testing.assert_allclose(got, TRUE_COEF, atol=0.06)
    # while on 500 loans the same prior weighs heavily
    small = fit_logistic(X[:500], y[:500], prior_mean=far,
                         prior_precision=300 * unit_information(X[:500], far))
    assert np.abs(small - mle).max() > 0.3


def test_fit_logistic_rejects_a_bad_prior():
    X, y = simulate(10, TRUE_COEF, np.random.default_rng(7))
    with pytest.raises(ValueError, match="not both"):
        fit_logistic(X, y, l2=1.0, prior_precision=1.0)
    with pytest.raises(ValueError, match="semi-definite"):
        fit_logistic(X, y, prior_precision=np.diag([1.0, -1.0, 1.0, 1.0]))
    with pytest.raises(ValueError, match="prior_mean"):
        fit_logistic(X, y, prior_mean=np.zeros(3), prior_precision=1.0)
    with pytest.raises(ValueError, match="prior_precision"):
        fit_logistic(X, y, prior_precision=np.ones((3, 3)))
