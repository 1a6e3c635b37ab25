"""Employment and income rules (pure array functions).

References:
    docs/ODD.md, 7.2 (employment and income).
"""

from __future__ import annotations

import numpy as np


def job_loss_prob(unemployment_target: float, job_finding_rate: float,
                  risk_loading: np.ndarray | float = 1.0) -> np.ndarray | float:
    """Monthly employed -> unemployed probability.

    The two-state chain with job-finding rate ``p_UE`` has stationary unemployment
    ``p_EU / (p_EU + p_UE)``; solving for ``u`` gives ``p_EU = u p_UE / (1 - u)``. A borrower's
    latent risk scales the hazard by ``risk_loading`` (already ``exp(gamma z)/E[exp(gamma z)]``,
    mean 1), so the population rate still follows ``u``.

    Args:
        unemployment_target: u_t, fraction.
        job_finding_rate: p_UE, monthly probability.
        risk_loading: per-borrower multiplier with mean 1.

    Examples:
        >>> round(float(job_loss_prob(0.05, 0.25)), 6)
        0.013158
    """
    p_eu = unemployment_target * job_finding_rate / (1.0 - unemployment_target)
    return np.minimum(p_eu * risk_loading, 1.0)


def employment_step(is_employed: np.ndarray, p_eu: np.ndarray | float, p_ue: float,
                    u: np.ndarray) -> np.ndarray:
    """Next month's employment given uniform draws ``u`` (one per borrower)."""
    return np.where(is_employed, u >= p_eu, u < p_ue)


def persistent_step(x: np.ndarray, persistence: float, sd: float,
                    z: np.ndarray) -> np.ndarray:
    """Next month's persistent log-income component, an AR(1) with stationary sd ``sd``.

    ``x' = rho x + sqrt(1 - rho^2) sd z``: a draw from the stationary law N(0, sd^2) stays in
    it, so the component's spread does not change over a run; its autocorrelation at lag k is
    ``rho^k`` (with ``rho = 0`` each month is independent). Persistent and transitory income
    components: Meghir & Pistaferri (2004), "Income variance dynamics and heterogeneity",
    Econometrica 72(1); Guvenen (2009), RED 12(1).

    Args:
        x: this month's component, log points.
        persistence: rho, monthly autocorrelation, 0..1.
        sd: stationary standard deviation, log points.
        z: standard normal draws, one per borrower.

    Examples:
        >>> persistent_step(np.array([0.2]), 0.8, 0.5, np.array([1.0])).round(6).tolist()
        [0.46]
    """
    return persistence * x + np.sqrt(1.0 - persistence * persistence) * sd * z


def monthly_income(base_income: np.ndarray, is_employed: np.ndarray, z: np.ndarray,
                   volatility: float, benefit_share: float, shock_loss: float,
                   persistent: np.ndarray | float = 0.0, persistent_sd: float = 0.0
                   ) -> np.ndarray:
    """Income this month, RMB.

    Employed: ``base x exp(x - s^2/2) x exp(sigma z - sigma^2/2) x (1 - shock_loss)``, with
    ``x`` the persistent component (stationary sd ``s``, :func:`persistent_step`) and a
    transitory mean-one log-normal shock; unemployed: ``benefit_share x base``. Both
    log-normal factors have mean one over the stationary law, so mean income is ``base``.
    """
    shock = np.exp(volatility * z - 0.5 * volatility * volatility
                   + persistent - 0.5 * persistent_sd * persistent_sd)
    return np.where(is_employed, base_income * shock * (1.0 - shock_loss),
                    benefit_share * base_income)


def displacement_scar(x: np.ndarray, re_employed: np.ndarray, scar: float,
                      drift: float) -> np.ndarray:
    """The persistent log-income component after this month's scars: ``x + drift - scar`` for
    borrowers who found a job this month after unemployment, ``x + drift`` for the others.

    Displaced workers earn less for years after they find work again (Jacobson, LaLonde &
    Sullivan 1993, "Earnings losses of displaced workers", AER 83(4): about 25 % below their
    expected earnings five years on); the loss sits in the persistent component, so it fades
    at its autocorrelation. ``drift`` (``scar`` x the long-run rate at which borrowers find
    jobs after a spell, ``u f``) keeps the component's long-run mean at 0, so the mean income
    of the population stays the base: the scars move income from those who lost jobs to the
    others, they do not lower it.

    Args:
        x: persistent component, log points.
        re_employed: whether each borrower found a job this month after unemployment.
        scar: log points lost at re-employment.
        drift: log points every borrower gains each month.

    Examples:
        >>> displacement_scar(np.array([0.1, 0.1]), np.array([True, False]), 0.3,
        ...                   0.00375).round(5).tolist()
        [-0.19625, 0.10375]
    """
    return x + drift - scar * re_employed
