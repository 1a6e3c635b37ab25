"""The model the dashboard drives: a MarketModel built from slider values.

Mesa's SolaraViz rebuilds the model on "Reset" by calling its class with the current control
values as keyword arguments, so :class:`DashboardModel` takes exactly the controls of
:mod:`lendsim.viz.controls` and builds its scenario with ``Scenario.with_overrides``; with the
same values and seed it is the same model, step for step, as ``MarketModel`` on that scenario.

References:
    Mesa 3 visualisation guide (``SolaraViz(model, model_params=...)``); issue 6, items 2-3.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any

import numpy as np

from lendsim.errors import LendsimError
from lendsim.simulation.model import MarketModel
from lendsim.simulation.shocks import IncomeShock, PlatformClosure
from lendsim.viz import controls
from lendsim.viz.network import Layout, compute_layout


def _plain(value: Any) -> Any:
    """The current value of a ``solara.Reactive`` (what the dashboard's widgets hold), or the
    value itself. Mesa's ModelCreator hands the widgets' initial values to the model as given,
    and the dashboard gives reactive values so that lessons can move the widgets."""
    if hasattr(value, "subscribe") and hasattr(value, "value"):
        return value.value
    return value


class DashboardModel(MarketModel):
    """A :class:`MarketModel` whose constructor takes the dashboard's control values.

    Args:
        n_borrowers: borrowers in the market (300-2,000 keeps the picture readable).
        rate_cap: all-in annual APR cap (``regulator.apr_cap``), fraction.
        joint_min_share: minimum platform share of each joint loan
            (``regulator.joint_lending_min_share``), fraction.
        data_sharing: credit-bureau coverage (``regulator.data_sharing``), fraction.
        bureau_reports: one of ``controls.BUREAU_REPORTS``: whether the bureau also reports
            arrears and defaults (``regulator.share_arrears``, ``regulator.share_defaults``).
        n_platforms: platforms at start (``platforms.n``).
        platform_mix: one of ``controls.PLATFORM_MIXES`` (type weights at start).
        platform_capital: multiplier of every type's starting equity per borrower.
        social_degree: mean social contacts per borrower (0: no network).
        social_rule: one of ``controls.SOCIAL_RULES`` (``contagion.social_mode``).
        peer_effect: logit loading of defaulted contacts (``borrowers.peer_effect``), under
            the peer-effect rule.
        social_threshold: share of contacts in default that stops a borrower paying
            (``contagion.social_threshold``), under the cascade rule.
        seed: root seed (text from the seed field is accepted).

    Besides the model, it keeps what the network picture needs: a layout computed once here
    (from a generator seeded with ``seed``, never the model's own stream, so that drawing
    cannot change the simulation) and which borrowers have ever borrowed.

    Raises:
        ScenarioError: a value out of range, naming the parameter and what is allowed.
    """

    def __init__(self, n_borrowers: int = controls.DEFAULT_BORROWERS,
                 rate_cap: float = controls.CONTROL_BY_NAME["rate_cap"].default,
                 joint_min_share: float = controls.CONTROL_BY_NAME["joint_min_share"].default,
                 data_sharing: float = controls.CONTROL_BY_NAME["data_sharing"].default,
                 bureau_reports: str = controls.CONTROL_BY_NAME["bureau_reports"].default,
                 n_platforms: int = controls.CONTROL_BY_NAME["n_platforms"].default,
                 platform_mix: str = controls.CONTROL_BY_NAME["platform_mix"].default,
                 platform_capital: float = controls.CONTROL_BY_NAME["platform_capital"].default,
                 social_degree: int = controls.CONTROL_BY_NAME["social_degree"].default,
                 social_rule: str = controls.CONTROL_BY_NAME["social_rule"].default,
                 peer_effect: float = controls.CONTROL_BY_NAME["peer_effect"].default,
                 social_threshold: float = controls.CONTROL_BY_NAME["social_threshold"].default,
                 seed: int | str = controls.CONTROL_BY_NAME["seed"].default):
        values = {k: _plain(v) for k, v in dict(
            n_borrowers=n_borrowers, rate_cap=rate_cap, joint_min_share=joint_min_share,
            data_sharing=data_sharing, bureau_reports=bureau_reports, n_platforms=n_platforms,
            platform_mix=platform_mix, platform_capital=platform_capital,
            social_degree=social_degree, social_rule=social_rule, peer_effect=peer_effect,
            social_threshold=social_threshold, seed=seed).items()}
        scenario = controls.build_scenario(values)
        super().__init__(scenario)
        self.control_values = values
        p = scenario
        self.layout: Layout = compute_layout(self.social, p.network.social.kind, p.banks.n,
                                             p.platforms.n, p.platforms.max_n, seed=self.seed)
        self.has_borrowed = np.zeros(self.n_borrowers, dtype=bool)
        # the dashboard steps the model in one thread and draws it in another
        self.lock = threading.RLock()

    def step(self) -> None:
        """One month of the market, then note who has borrowed (the loan book drops closed
        loans from time to time, so this is tracked as they go)."""
        with self.lock:
            super().step()
            L = self.loans
            self.has_borrowed[L.borrower_idx[: L.n]] = True


def start_income_shock(model: MarketModel) -> int:
    """Schedule the scenario's income shock to start at the model's next step.

    The shock's size and length are the scenario's (``macro.shock_months``,
    ``macro.shock_income_loss``, ``macro.shock_unemployment``). Pressing the button at step t
    is the same as a scenario file with ``macro.shock_start = t + 1`` (the tests check this
    run for run).

    Returns:
        The step at which the shock starts.
    """
    m = model.params.macro
    shock = IncomeShock(m.shock_months, m.shock_income_loss, m.shock_unemployment)
    return _schedule_next_step(model, shock)


def largest_platform_type(model: MarketModel) -> str | None:
    """Type of the live platform with the most open loans (None when none is live)."""
    L = model.loans
    managed = L.balance_by(L.platform_idx, len(model.platforms), L.is_open())
    live = [pl for pl in model.platforms if pl.is_active]
    return max(live, key=lambda pl: managed[pl.idx]).kind if live else None


def close_largest_platform(model: MarketModel) -> tuple[int, str]:
    """Schedule the closure of the largest live platform at the model's next step.

    The model then fails it as any failure (event, reputation news to platforms of its type,
    borrowers who stop paying a failed lender): a :class:`PlatformClosure` of the type of the
    largest live platform, as a scenario's ``shocks.platform_failure_*`` schedules it.

    Returns:
        (step of the closure, type of the platform).

    Raises:
        LendsimError: no live platform.
    """
    kind = largest_platform_type(model)
    if kind is None:
        raise LendsimError("close_largest_platform: no live platform to close")
    return _schedule_next_step(model, PlatformClosure(kind)), kind


def _schedule_next_step(model: MarketModel, shock) -> int:
    """Schedule ``shock`` for the model's next step (under the dashboard's lock: the
    dashboard steps the model in one thread and takes button presses in another)."""
    step = int(model.t) + 1
    with getattr(model, "lock", None) or contextlib.nullcontext():
        model.schedule(shock, step)
    return step
