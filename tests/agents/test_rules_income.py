"""Tests for lendsim.agents.rules.income against slow per-borrower loops and hand computations."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lendsim.agents.rules.income import (displacement_scar, employment_step, job_loss_prob,
                                        monthly_income, persistent_step)

SIZES = [0, 1, 2, 7, 1000]


# ----------------------------------------------------------------- slow reference versions


def slow_job_loss_prob(u: float, p_ue: float, loading: np.ndarray) -> np.ndarray:
    out = np.empty(len(loading))
    for i, w in enumerate(loading):
        # stationary unemployment of the two-state chain: p_eu / (p_eu + p_ue) = u
        p_eu = u * p_ue / (1.0 - u)
        out[i] = min(p_eu * w, 1.0)
    return out


def slow_employment_step(is_employed, p_eu, p_ue, draws) -> np.ndarray:
    out = np.empty(len(draws), dtype=bool)
    for i in range(len(draws)):
        if is_employed[i]:
            out[i] = not (draws[i] < p_eu[i])  # loses the job with probability p_eu
        else:
            out[i] = draws[i] < p_ue  # finds a job with probability p_ue
    return out


def slow_monthly_income(base, is_employed, z, sigma, benefit, loss) -> np.ndarray:
    out = np.empty(len(base))
    for i in range(len(base)):
        if is_employed[i]:
            out[i] = base[i] * math.exp(sigma * z[i] - sigma**2 / 2) * (1 - loss)
        else:
            out[i] = benefit * base[i]
    return out


# ----------------------------------------------------------------- job_loss_prob


def test_job_loss_prob_docstring_value_by_hand():
    # u = 5 %, p_UE = 25 %: p_EU = 0.05 x 0.25 / 0.95 = 0.0131578947...
    assert job_loss_prob(0.05, 0.25) == pytest.approx(0.0125 / 0.95, rel=1e-14)


@pytest.mark.parametrize("u,p_ue", [(0.05, 0.25), (0.01, 0.5), (0.2, 0.3), (0.5, 0.4),
                                    (0.0, 0.25), (0.09, 0.05)])
def test_stationary_unemployment_equals_target(u, p_ue):
    p_eu = float(job_loss_prob(u, p_ue))
    assert p_eu / (p_eu + p_ue) == pytest.approx(u, abs=1e-14)


@given(u=st.floats(0.0, 0.9), p_ue=st.floats(1e-3, 1.0))
def test_stationary_unemployment_equals_target_hypothesis(u, p_ue):
    p_eu = float(job_loss_prob(u, p_ue))
    if p_eu < 1.0:  # not capped: the chain's fixed point is the target
        assert p_eu / (p_eu + p_ue) == pytest.approx(u, rel=1e-12, abs=1e-15)
    else:  # capped at a certainty
        assert u * p_ue / (1 - u) >= 1.0


def test_stationary_unemployment_of_simulated_chain():
    """Iterating the chain's transition (no sampling) from full employment converges to u."""
    u_target, p_ue = 0.07, 0.3
    p_eu = float(job_loss_prob(u_target, p_ue))
    unemployed = 0.0
    for _ in range(2000):
        unemployed = unemployed * (1 - p_ue) + (1 - unemployed) * p_eu
    assert unemployed == pytest.approx(u_target, abs=1e-12)


@pytest.mark.parametrize("n", SIZES)
def test_job_loss_prob_matches_loop(n):
    rng = np.random.default_rng(10 + n)
    for _ in range(5):
        u, p_ue = rng.uniform(0, 0.9), rng.uniform(0.01, 1)
        loading = np.exp(rng.normal(0, 1.5, n))
        got = job_loss_prob(u, p_ue, loading)
        np.testing.assert_allclose(got, slow_job_loss_prob(u, p_ue, loading), rtol=1e-12,
                                   atol=0)
        assert np.all((got >= 0) & (got <= 1))


def test_job_loss_prob_capped_at_one():
    got = job_loss_prob(0.5, 0.8, np.array([0.5, 1.0, 2.0, 100.0]))
    np.testing.assert_allclose(got, [0.4, 0.8, 1.0, 1.0], rtol=1e-14)


# ----------------------------------------------------------------- employment_step


@pytest.mark.parametrize("n", SIZES)
def test_employment_step_matches_loop(n):
    rng = np.random.default_rng(20 + n)
    is_employed = rng.random(n) < 0.8
    p_eu = rng.uniform(0, 0.3, n)
    p_ue = 0.25
    draws = rng.random(n)
    # put some draws exactly on the thresholds (both boundaries are spelled out in the loop)
    if n > 2:
        draws[0], draws[1] = p_eu[0], p_ue
    got = employment_step(is_employed, p_eu, p_ue, draws)
    assert got.dtype == bool
    np.testing.assert_array_equal(got, slow_employment_step(is_employed, p_eu, p_ue, draws))


def test_employment_step_scalar_p_eu_matches_loop():
    rng = np.random.default_rng(3)
    n = 500
    is_employed = rng.random(n) < 0.5
    draws = rng.random(n)
    got = employment_step(is_employed, 0.1, 0.4, draws)
    np.testing.assert_array_equal(got, slow_employment_step(is_employed, np.full(n, 0.1), 0.4,
                                                            draws))


def test_employment_step_hand_cases():
    is_employed = np.array([True, True, False, False])
    draws = np.array([0.05, 0.5, 0.2, 0.3])
    # employed, draw 0.05 < p_eu 0.1 -> loses job; employed, 0.5 -> keeps it;
    # unemployed, 0.2 < p_ue 0.25 -> finds job; unemployed, 0.3 -> stays unemployed
    np.testing.assert_array_equal(employment_step(is_employed, 0.1, 0.25, draws),
                                  [False, True, True, False])


def test_employment_step_transition_frequencies():
    """With uniform draws the empirical transition rates match p_eu and p_ue."""
    rng = np.random.default_rng(4)
    n = 200_000
    is_employed = np.arange(n) % 2 == 0
    out = employment_step(is_employed, 0.02, 0.3, rng.random(n))
    loss_rate = 1 - out[is_employed].mean()
    find_rate = out[~is_employed].mean()
    # 5 standard errors
    assert abs(loss_rate - 0.02) < 5 * math.sqrt(0.02 * 0.98 / (n / 2))
    assert abs(find_rate - 0.3) < 5 * math.sqrt(0.3 * 0.7 / (n / 2))


# ----------------------------------------------------------------- monthly_income


@pytest.mark.parametrize("n", SIZES)
def test_monthly_income_matches_loop(n):
    rng = np.random.default_rng(30 + n)
    base = rng.lognormal(np.log(6000), 0.6, n)
    is_employed = rng.random(n) < 0.9
    z = rng.standard_normal(n)
    for sigma, benefit, loss in [(0.15, 0.3, 0.0), (0.0, 0.0, 0.2), (1.2, 1.0, 1.0)]:
        got = monthly_income(base, is_employed, z, sigma, benefit, loss)
        np.testing.assert_allclose(got, slow_monthly_income(base, is_employed, z, sigma,
                                                            benefit, loss),
                                   rtol=1e-12, atol=0)


@given(base=st.floats(0, 1e7), employed=st.booleans(), z=st.floats(-8, 8),
       sigma=st.floats(0, 2), benefit=st.floats(0, 1), loss=st.floats(0, 1))
def test_monthly_income_matches_loop_hypothesis(base, employed, z, sigma, benefit, loss):
    args = (np.array([base]), np.array([employed]), np.array([z]))
    got = monthly_income(*args, sigma, benefit, loss)
    want = slow_monthly_income(*args, sigma, benefit, loss)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-300)
    assert got[0] >= 0


def test_monthly_income_hand_cases():
    base = np.array([1000.0, 1000.0, 2000.0])
    is_employed = np.array([True, True, False])
    z = np.array([0.0, 1.0, 5.0])
    got = monthly_income(base, is_employed, z, 0.2, 0.3, 0.1)
    # z = 0: 1000 x exp(-0.02) x 0.9; z = 1: 1000 x exp(0.2 - 0.02) x 0.9; unemployed: 0.3 x 2000
    np.testing.assert_allclose(got, [900 * math.exp(-0.02), 900 * math.exp(0.18), 600.0],
                               rtol=1e-14)


def test_monthly_income_shock_has_mean_one():
    """The log-normal shock is mean one, so average employed income is base x (1 - loss)."""
    rng = np.random.default_rng(5)
    n = 400_000
    sigma = 0.3
    got = monthly_income(np.full(n, 1.0), np.ones(n, dtype=bool), rng.standard_normal(n),
                         sigma, 0.3, 0.25)
    sd = 0.75 * math.sqrt(math.exp(sigma**2) - 1)
    assert abs(got.mean() - 0.75) < 5 * sd / math.sqrt(n)


# ----------------------------------------------------------------- persistent_step (AR(1))


def test_persistent_step_hand_example():
    # rho = 0.8, sd = 0.5: x' = 0.8 x + sqrt(1 - 0.64) x 0.5 z = 0.8 x + 0.3 z
    # x = 0.2, z = 1 -> 0.46; x = -1, z = -0.5 -> -0.95; rho = 0 -> 0.5 z (independent)
    got = persistent_step(np.array([0.2, -1.0]), 0.8, 0.5, np.array([1.0, -0.5]))
    np.testing.assert_allclose(got, [0.46, -0.95], rtol=1e-14)
    np.testing.assert_allclose(persistent_step(np.array([3.0]), 0.0, 0.5, np.array([0.4])),
                               [0.2], rtol=1e-14)
    # three seeded steps, by hand: x1 = 0.8 x 0 + 0.3 z1, x2 = 0.8 x1 + 0.3 z2, ...
    z = np.random.default_rng(11).standard_normal(3)
    x = np.zeros(1)
    for zi in z:
        x = persistent_step(x, 0.8, 0.5, np.array([zi]))
    want = 0.3 * (0.64 * z[0] + 0.8 * z[1] + z[2])
    assert x[0] == pytest.approx(want, rel=1e-12)


def test_persistent_component_keeps_its_stationary_law_and_autocorrelation():
    """Started from N(0, s^2), the AR(1) stays N(0, s^2) and corr(x_t, x_{t+k}) = rho^k;
    the income factor exp(x - s^2/2) has mean one."""
    rng = np.random.default_rng(8)
    n, rho, s = 200_000, 0.984, 0.3
    x0 = s * rng.standard_normal(n)
    x = x0
    for _ in range(12):
        x = persistent_step(x, rho, s, rng.standard_normal(n))
    assert x.std() == pytest.approx(s, rel=0.01)
    assert np.corrcoef(x0, x)[0, 1] == pytest.approx(rho ** 12, abs=0.005)
    factor = np.exp(x - s * s / 2)
    assert factor.mean() == pytest.approx(1.0, abs=5 * factor.std() / math.sqrt(n))


def test_monthly_income_with_the_persistent_component_by_hand():
    # employed: 1000 x exp(0.1 x 1 - 0.005) x exp(0.2 - 0.045) x 0.9; unemployed: benefit only
    got = monthly_income(np.array([1000.0, 1000.0]), np.array([True, False]),
                         np.array([1.0, 1.0]), 0.1, 0.3, 0.1, np.array([0.2, 0.2]), 0.3)
    np.testing.assert_allclose(got, [900 * math.exp(0.095 + 0.155), 300.0], rtol=1e-14)


def test_displacement_scar_against_a_loop():
    rng = np.random.default_rng(3)
    x, re = rng.normal(0, 0.3, 50), rng.random(50) < 0.2
    expected = [x[i] + 0.002 - (0.4 if re[i] else 0.0) for i in range(50)]
    np.testing.assert_allclose(displacement_scar(x, re, 0.4, 0.002), expected, rtol=0,
                               atol=1e-15)


def test_scars_with_their_drift_keep_the_mean_of_the_persistent_component():
    """Employment as the model's two-state chain at u = 5 %, f = 0.25 (equal loadings), a
    scar of 0.3 at each re-employment and the drift scar u f: after 40 years from the
    stationary law the component's mean is still 0 (the scars' sum is offset), while the
    borrowers who found a job more often sit lower."""
    rng = np.random.default_rng(11)
    n, rho, s, u, f, scar = 100_000, 0.984, 0.3, 0.05, 0.25, 0.3
    p_eu = job_loss_prob(u, f)
    x = s * rng.standard_normal(n)
    employed = rng.random(n) >= u
    spells = np.zeros(n)
    for _ in range(480):
        new = employment_step(employed, p_eu, f, rng.random(n))
        re = new & ~employed
        spells += re
        employed = new
        x = displacement_scar(persistent_step(x, rho, s, rng.standard_normal(n)), re, scar,
                              scar * u * f)
    # stationary sd with scars: s^2 plus the scars' variance r scar^2 / (1 - rho^2)
    assert abs(x.mean()) < 4 * x.std() / math.sqrt(n) + 0.01
    assert x[spells >= 4].mean() < x[spells == 0].mean() - 0.1
