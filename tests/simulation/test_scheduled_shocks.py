"""Shocks are registered classes: scheduling one by hand equals the scenario's parameters."""

import pandas as pd
import pytest
from conftest import tiny

from lendsim import MarketModel
from lendsim.simulation import registry, shocks
from lendsim.simulation.shocks import BankLoss, IncomeShock, PlatformClosure


def _tables(model, steps):
    model.run(steps)
    t = model.tables()
    model.close()
    return t


@pytest.mark.parametrize("params, shock, step", [
    ({"macro.shock_start": 4, "macro.shock_months": 3, "macro.shock_income_loss": 0.3,
      "macro.shock_unemployment": 0.05}, IncomeShock(3, 0.3, 0.05), 4),
    ({"shocks.bank_loss_step": 5, "shocks.bank_loss_bank": 1, "shocks.bank_loss_share": 0.9},
     BankLoss(1, 0.9), 5),
    ({"shocks.platform_failure_step": 3, "shocks.platform_failure_type": "micro_lender"},
     PlatformClosure("micro_lender"), 3),
])
def test_scheduling_a_shock_equals_the_scenario_parameters(params, shock, step):
    by_params = _tables(MarketModel(tiny(**params)), 8)
    by_hand = MarketModel(tiny())
    by_hand.schedule(shock, step)
    by_hand = _tables(by_hand, 8)
    for name in ("model", "platforms", "banks", "events"):
        pd.testing.assert_frame_equal(by_params[name], by_hand[name])
    plain = _tables(MarketModel(tiny()), 8)
    assert not plain["model"].equals(by_hand["model"])  # the shock did something


def test_the_scenario_schedules_its_shocks_at_their_months():
    scen = tiny(**{"macro.shock_start": 4, "shocks.bank_loss_step": 5,
                   "shocks.platform_failure_step": 5})
    assert [(type(s).__name__, t) for s, t in shocks.from_scenario(scen)] == [
        ("IncomeShock", 4), ("BankLoss", 5), ("PlatformClosure", 5)]
    model = MarketModel(scen)
    assert sorted(model.scheduled) == [4, 5] and len(model.scheduled[5]) == 2


def test_a_shock_for_a_month_that_has_passed_is_refused():
    model = MarketModel(tiny())
    model.run(3)
    with pytest.raises(ValueError, match="step 3 has passed"):
        model.schedule(BankLoss(), 3)
    with pytest.raises(TypeError, match="takes a Shock"):
        model.schedule("bank_loss", 5)


def test_built_in_shocks_are_registered_by_name():
    assert {"income_shock", "bank_loss", "platform_closure"} <= set(registry.SHOCKS)
    assert registry.SHOCKS.get("bank_loss") is BankLoss
