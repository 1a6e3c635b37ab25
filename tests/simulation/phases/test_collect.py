"""Phase 13, collect (simulation/phases/collect.py): cascades by hand, and one row a month."""

from conftest import tiny

from lendsim import MarketModel
from lendsim.simulation.month import Month
from lendsim.simulation.phases import collect


def test_failures_in_consecutive_months_make_one_cascade():
    model = MarketModel(tiny())
    model.run(2)
    months = [[("platform", 1, "credit", "micro_lender: equity exhausted")],
              [("bank", 0, "common_funder", "equity exhausted"),
               ("bank", 2, "interbank", "interbank contagion")],
              [],  # a quiet month closes the cascade
              []]
    for fails in months:
        model.t += 1
        model.month = Month(model.n_borrowers, len(model.platforms))
        model.month.failures = list(fails)
        n_events = len(model.records["events"])
        collect.track_cascade(model)
        if fails:
            assert model.cascade is not None and model.cascades == []
    assert model.cascade is None
    assert model.cascades == [{"start_step": 3, "trigger":
                               "platform 1 (micro_lender: equity exhausted)", "size": 3,
                               "n_platforms": 1, "n_banks": 2, "duration": 2,
                               "channels": "common_funder,credit,interbank",
                               "is_ongoing": False}]
    ev = [e for e in model.records["events"] if e["kind"] == "cascade"]
    assert len(ev) == 1 and ev[0]["step"] == 3 and ev[0]["size"] == 3.0
    assert len(model.records["events"]) == n_events  # the last quiet month adds nothing
    model.close()


def test_collect_appends_one_row_a_month_and_changes_no_state():
    model = MarketModel(tiny())
    model.run(2)
    rows = {k: len(v) for k, v in model.records.items()}
    debt, L, pop = model.debt, model.loans, model.population
    state = (debt.own.copy(), debt.total.copy(), L.balance.copy(), pop.cash.copy(),
             [(a.cash, a.equity) for a in (*model.platforms, *model.banks)])
    model.t += 1
    model.month = Month(model.n_borrowers, len(model.platforms))
    collect.step(model)
    assert len(model.records["model"]) == rows["model"] + 1
    assert model.records["model"][-1]["step"] == model.t
    assert len(model.records["platforms"]) == rows["platforms"] + len(model.platforms)
    assert len(model.records["banks"]) == rows["banks"] + len(model.banks)
    assert model.debt is debt
    after = (debt.own, debt.total, L.balance, pop.cash,
             [(a.cash, a.equity) for a in (*model.platforms, *model.banks)])
    for a, b in zip(state[:4], after[:4]):
        assert (a == b).all()
    assert state[4] == after[4]
    model.close()
