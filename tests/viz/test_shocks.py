"""The shock buttons equal the same shock written in the scenario from the start."""

import pandas as pd
import pytest

from lendsim import LendsimError, MarketModel
from lendsim.viz.model import (DashboardModel, close_largest_platform, largest_platform_type,
                               start_income_shock)

SMALL = {"n_borrowers": 300, "n_platforms": 3, "seed": 3}


def _run_with_button(press_at, press, steps):
    m = DashboardModel(**SMALL)
    for _ in range(steps):
        if m.steps == press_at:
            press(m)
        m.step()
    return m


def _run_scheduled(overrides, steps):
    scenario = DashboardModel(**SMALL).params.with_overrides(overrides)
    m = MarketModel(scenario)  # as if the scenario file said so from the start
    for _ in range(steps):
        m.step()
    return m


def test_income_shock_now_starts_next_step_as_if_scheduled():
    pressed = _run_with_button(4, start_income_shock, 9)
    planned = _run_scheduled({"macro.shock_start": 5}, 9)
    a, b = pd.DataFrame(pressed.records["model"]), pd.DataFrame(planned.records["model"])
    pd.testing.assert_frame_equal(a, b)
    assert a["is_income_shock"].tolist() == [False] * 4 + [True] * 4 + [False]
    plain = pd.DataFrame(_run_with_button(-1, start_income_shock, 9).records["model"])
    assert not plain["is_income_shock"].any()
    pd.testing.assert_frame_equal(a.iloc[:4], plain.iloc[:4])  # nothing changes before it


def test_close_largest_platform_closes_the_largest_next_step():
    m = DashboardModel(**SMALL)
    for _ in range(4):
        m.step()
    L = m.loans
    managed = L.balance_by(L.platform_idx, len(m.platforms), L.is_open())
    largest = max(range(len(m.platforms)), key=lambda i: managed[i])
    step, kind = close_largest_platform(m)
    assert (step, kind) == (5, m.platforms[largest].kind) == (5, largest_platform_type(m))
    m.step()
    assert not m.platforms[largest].is_active
    ev = pd.DataFrame(m.records["events"])
    closed = ev[ev["detail"].str.contains("closed", na=False)]
    assert closed["agent_id"].tolist() == [largest]  # that one only (others may fail too)
    assert ((ev["kind"] == "platform_failure") & (ev["agent_id"] == largest)
            & (ev["step"] == 5)).any()


def test_close_with_no_live_platform_is_an_error():
    m = DashboardModel(**SMALL)
    for pl in m.platforms:
        pl.is_active = False
    with pytest.raises(LendsimError, match="no live platform"):
        close_largest_platform(m)
