"""Lessons: valid settings, and the claims in their texts hold on the runs they describe."""

import numpy as np
import pandas as pd
import pytest

import lendsim
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


def model_table(key, seed, steps=36, **overrides):
    """The lesson's run through ``lendsim.run``, with scenario overrides beyond the controls."""
    values = {**LESSON_BY_KEY[key].control_values(), "seed": seed}
    scenario = controls.build_scenario(values).with_overrides(overrides)
    return lendsim.run(scenario, steps=steps, seed=seed).tables()["model"]


@pytest.mark.slow
def test_rate_cap_lesson():
    """Subprime approval below overall approval on every seed, and below the uncapped
    market's, prime borrowers paying less and less credit at the end, on average over seeds
    (prime borrowers' mean APR is near the cap already, 11.6-12.4 %: on seed 1 it rose 0.02
    points, 2026-12-02, as prime borrowers priced above the cap were refused, not served
    cheaper; on seeds 2-4 it fell 0.1-0.5 points). Nobody pays more than the cap. The text's
    defaults, summed over 36 months, uncapped -> capped, seeds 1-3: with borrowing to repay
    (as in the lesson) higher with the cap on each, as the cap closes the micro-lenders' dear
    cash loans that tided borrowers over; without it lower on each. Measured 2026-12-06, once
    micro-lenders started with the capital their business needs (docs/ODD.md 5): with
    borrowing to repay +0.024, +0.011 and +0.023; without it -0.031, -0.036 and -0.025. On
    2026-12-05, with the micro-lenders short of capital, the cap lowered defaults with
    borrowing to repay on each of seeds 1-3 (seed 1 0.087 -> 0.078, seed 2 0.076 -> 0.061,
    seed 3 0.075 -> 0.024), and the text said so."""
    credit, subprime, prime = [], [], []
    for seed in (1, 2, 3, 4):
        base, cap = run("market", seed), run("rate_cap", seed)
        assert cap["approval_rate_subprime"].mean() < cap["approval_rate"].mean()
        assert max(cap["avg_apr_prime"].max(), cap["avg_apr_subprime"].max()) <= 0.12 + 1e-9
        subprime.append((cap["approval_rate_subprime"].mean(),
                         base["approval_rate_subprime"].mean()))
        prime.append((cap["avg_apr_prime"].mean(), base["avg_apr_prime"].mean()))
        credit.append((cap["credit_outstanding"].iloc[-1], base["credit_outstanding"].iloc[-1]))
    capped, uncapped = np.mean(credit, axis=0)
    assert capped < uncapped
    capped, uncapped = np.mean(prime, axis=0)
    assert capped < uncapped
    capped, uncapped = np.mean(subprime, axis=0)
    assert capped < uncapped
    change = {}
    for spiral in (False, True):
        change[spiral] = [
            model_table("rate_cap", seed, **{"contagion.debt_spiral": spiral})["default_rate"].sum()
            - model_table("market", seed, **{"contagion.debt_spiral": spiral})["default_rate"].sum()
            for seed in (1, 2, 3)]
    assert max(change[False]) < 0, change
    assert min(change[True]) > 0, change


@pytest.mark.slow
def test_default_wave_lesson():
    """With the lesson's seed, the shock sets off a wave, as the lesson's text says. Against
    the same lesson without pressing the button (identical until the press): delinquency
    climbs well above its peak, and the social band grows far wider. Measured 2026-12-06 on
    the lesson's seed 5 (threshold a third): peak 30+ delinquency 5.4 % against 2.0 %; social
    losses 0.87 million RMB, 0.03 million of them before the press, against 0.03 million. Of
    seeds 1-12 the wave runs before the shock on five (2, 3, 7, 9, 11: 0.15-0.58 million RMB of
    social losses by the press), never starts on six (1, 4, 6, 8, 10, 12: no social losses,
    shock or not) and waits for the shock on seed 5 alone. Cascades live in a narrow window
    (Watts 2002), which is why the lesson fixes its threshold and seed; its seed was 3 until
    micro-lenders started with the capital their business needs (docs/ODD.md 5), when on
    seed 3 the wave came before the shock, and 5 before lenders learned from fair training
    windows weighted by amount (docs/ODD.md 7.10)."""
    wave, calm = run("default_wave"), run("default_wave", press=False)
    assert wave.iloc[:12].equals(calm.iloc[:12])
    assert wave["delinquency_30"].max() > 1.3 * calm["delinquency_30"].max()
    assert wave["losses_social"].sum() > 2 * calm["losses_social"].sum()
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
