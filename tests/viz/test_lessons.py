"""Lessons: valid settings, and the claims in their texts hold on the runs they describe."""

import numpy as np
import pandas as pd
import pytest

from lendsim.viz import controls
from lendsim.viz.lessons import LESSON_BY_KEY, LESSONS
from lendsim.viz.model import DashboardModel, close_largest_platform, start_income_shock

ACTIONS = {"income_shock": start_income_shock, "close_platform": close_largest_platform}


def test_lessons_are_complete_and_valid():
    assert {"rate_cap", "default_wave", "platform_failure", "data_sharing"} <= set(LESSON_BY_KEY)
    for lesson in LESSONS:
        assert set(lesson.settings) <= set(controls.CONTROL_BY_NAME)
        controls.build_scenario(lesson.control_values())  # validates
        n_sentences = lesson.text.count(". ") + 1
        assert 2 <= n_sentences <= 4, lesson.key
        assert lesson.action in ("", *ACTIONS)


def run(key, seed=None, steps=36, press=True, **extra):
    lesson = LESSON_BY_KEY[key]
    values = {**lesson.control_values(), **extra}
    if seed is not None:
        values["seed"] = seed
    m = DashboardModel(**values)
    for _ in range(steps):
        if press and lesson.action and m.steps == lesson.action_step:
            ACTIONS[lesson.action](m)
        m.step()
    df = pd.DataFrame(m.records["model"])
    m.close()
    return df


@pytest.mark.slow
def test_rate_cap_lesson():
    """Subprime approval below overall approval and below the uncapped market's, and prime
    borrowers paying less, on every seed; fewer defaults (the riskiest are no longer lent to)
    and less credit at the end on average over seeds."""
    defaults, credit, subprime = [], [], []
    for seed in (1, 2, 3, 4):
        base, cap = run("market", seed), run("rate_cap", seed)
        assert cap["approval_rate_subprime"].mean() < cap["approval_rate"].mean()
        subprime.append((cap["approval_rate_subprime"].mean(),
                         base["approval_rate_subprime"].mean()))
        assert cap["avg_apr_prime"].mean() < base["avg_apr_prime"].mean()
        defaults.append((cap["default_rate"].sum(), base["default_rate"].sum()))
        credit.append((cap["credit_outstanding"].iloc[-1], base["credit_outstanding"].iloc[-1]))
    capped, uncapped = np.mean(defaults, axis=0)
    assert capped < uncapped
    capped, uncapped = np.mean(credit, axis=0)
    assert capped < uncapped
    capped, uncapped = np.mean(subprime, axis=0)
    assert capped < uncapped


@pytest.mark.slow
def test_default_wave_lesson():
    """With the lesson's seed, the shock sets off a wave, as the lesson's text says:
    delinquency climbs well above the calm market's peak on the same seed (4.75 times on
    2026-12-01; seed 4 has no social losses before the shock), and a social band grows in the
    losses."""
    seed = LESSON_BY_KEY["default_wave"].settings["seed"]
    wave, calm = run("default_wave"), run("market", seed=seed)
    assert wave["delinquency_30"].max() > 1.3 * calm["delinquency_30"].max()
    assert wave["losses_social"].sum() > 0
    assert wave["losses_social"].iloc[:12].sum() < wave["losses_social"].iloc[12:].sum()


@pytest.mark.slow
def test_platform_failure_lesson():
    """After the largest platform closes: platform-failure losses rise above those of the
    same market without the closure (the same until the press: a small lender may fail on
    its own in either) and approval falls below it."""
    for seed in (1, 2):
        closed, kept = run("platform_failure", seed), run("platform_failure", seed, press=False)
        before = closed["losses_platform_failure"].iloc[:12].to_numpy()
        assert before.tolist() == kept["losses_platform_failure"].iloc[:12].tolist()
        assert (closed["losses_platform_failure"].iloc[12:].sum()
                > kept["losses_platform_failure"].iloc[12:].sum())
        after = slice(12, 24)
        assert (closed["approval_rate"].iloc[after].mean()
                < kept["approval_rate"].iloc[after].mean())


@pytest.mark.slow
def test_data_sharing_lesson():
    """Approval below the market without sharing, and credit growing more slowly (lower on
    average over the run: the last month alone is one noisy point), on every seed."""
    for seed in (1, 2, 3):
        base, shared = run("market", seed), run("data_sharing", seed)
        assert shared["approval_rate"].mean() < base["approval_rate"].mean()
        assert shared["credit_outstanding"].mean() < base["credit_outstanding"].mean()
