"""Controls map onto scenario parameters; the dashboard model is the research model."""

import numpy as np
import pandas as pd
import pytest

from lendsim import MarketModel, ScenarioError, load_scenario
from lendsim.viz import controls
from lendsim.viz.model import DashboardModel

SMALL = {"n_borrowers": 300, "n_platforms": 3}


def test_every_control_is_a_model_keyword_with_a_valid_default():
    import inspect

    params = inspect.signature(DashboardModel.__init__).parameters
    assert [c.name for c in controls.CONTROLS] == [p for p in params if p != "self"]
    for c in controls.CONTROLS:
        assert params[c.name].default == c.default
        if c.widget.startswith("Slider"):
            assert c.lo <= c.default <= c.hi
        if c.widget == "Select":
            assert c.default in c.values
    controls.build_scenario(controls.defaults())  # validates


def test_overrides_set_the_named_parameters():
    scen = controls.build_scenario({"rate_cap": 0.24, "data_sharing": 0.5, "n_platforms": 4,
                                    "platform_mix": "micro-lenders only",
                                    "platform_capital": 0.5, "social_degree": 6,
                                    "social_rule": "cascade (threshold)",
                                    "social_threshold": 0.2, "peer_effect": 3.0, "seed": "7"})
    base = controls.BASE_SCENARIO
    assert scen.regulator.apr_cap == 0.24 and scen.regulator.data_sharing == 0.5
    assert scen.platforms.n == 4 and scen.simulation.seed == 7
    assert scen.platforms.micro_lender.weight == 1.0 and scen.platforms.embedded.weight == 0.0
    assert scen.platforms.micro_lender.equity_per_borrower == pytest.approx(
        0.5 * base.platforms.micro_lender.equity_per_borrower)
    assert scen.network.social.mean_degree == 6
    assert scen.contagion.social_mode == "threshold"
    assert scen.contagion.social_threshold == 0.2 and scen.borrowers.peer_effect == 3.0
    none = controls.build_scenario({"social_degree": 0})
    assert none.network.social.kind == "none"


@pytest.mark.parametrize("label, arrears, defaults", [
    ("debts, arrears and defaults", True, True),
    ("debts and defaults", False, True),
    ("debts and arrears", True, False),
    ("debts only (positive data)", False, False),
])
def test_bureau_reports_set_what_the_bureau_shares(label, arrears, defaults):
    scen = controls.build_scenario({"data_sharing": 1.0, "bureau_reports": label})
    assert (scen.regulator.share_arrears, scen.regulator.share_defaults) == (arrears, defaults)


def test_bureau_reports_default_is_the_default_scenario():
    scen = controls.build_scenario({})
    base = controls.BASE_SCENARIO.regulator
    assert scen.regulator.share_arrears == base.share_arrears
    assert scen.regulator.share_defaults == base.share_defaults


def test_positive_data_only_is_the_market_model_with_those_keys():
    """The control at "debts only" is the research model with the keys a user would --set
    (typed out here), month for month."""
    dm = DashboardModel(**SMALL, data_sharing=1.0, bureau_reports="debts only (positive data)",
                        seed="3")
    ref = MarketModel(load_scenario(None, {
        "borrowers.n": 300, "platforms.n": 3, "banks.n": 10, "simulation.seed": 3,
        "regulator.data_sharing": 1.0, "regulator.share_arrears": False,
        "regulator.share_defaults": False}))
    full = DashboardModel(**SMALL, data_sharing=1.0, seed="3")
    for _ in range(8):
        dm.step()
        ref.step()
        full.step()
    pd.testing.assert_frame_equal(_records(dm), _records(ref))
    # and the control reaches the model: without negative data the run is another one
    assert not _records(dm).equals(_records(full))
    for m in (dm, ref, full):
        m.close()


@pytest.mark.parametrize("values, needle", [
    ({"seed": "abc"}, "seed = 'abc'"),
    ({"seed": -1}, "seed = -1"),
    ({"rate_cap": -0.1}, "regulator.apr_cap"),
    ({"platform_mix": "banks only"}, "platform_mix = 'banks only'"),
    ({"social_rule": "gossip"}, "social_rule = 'gossip'"),
    ({"bureau_reports": "rumours"}, "bureau_reports = 'rumours'"),
    ({"colour": 1}, "'colour'"),
])
def test_bad_values_name_the_field(values, needle):
    with pytest.raises(ScenarioError) as err:
        controls.build_scenario(values)
    assert needle in str(err.value)


def _records(model):
    return pd.DataFrame(model.records["model"])


def test_dashboard_model_is_the_market_model_of_its_scenario():
    """Same control values and seed: the same run as MarketModel on the scenario a user
    would write with --set (independent path: dotted keys typed out here)."""
    dm = DashboardModel(**SMALL, rate_cap=0.3, seed="5")
    ref = MarketModel(load_scenario(None, {
        "borrowers.n": 300, "platforms.n": 3, "regulator.apr_cap": 0.3, "banks.n": 10,
        "simulation.seed": 5}))
    for _ in range(6):
        dm.step()
        ref.step()
    pd.testing.assert_frame_equal(_records(dm), _records(ref))
    assert dm.has_borrowed.sum() > 0
    dm.close()
    ref.close()


class _FakeReactive:  # what solara hands over: .value and .subscribe
    def __init__(self, value):
        self.value = value

    def subscribe(self, fn):  # pragma: no cover
        return lambda: None


def test_reactive_values_are_read():
    m = DashboardModel(n_borrowers=_FakeReactive(300), rate_cap=_FakeReactive(0.2),
                       n_platforms=3)
    assert m.n_borrowers == 300 and m.params.regulator.apr_cap == 0.2
    m.close()


def test_layout_draws_nothing_from_the_model_stream():
    a = DashboardModel(**SMALL)
    b = MarketModel(controls.build_scenario(SMALL))
    assert np.array_equal(a.rng.random(5), b.rng.random(5))
    a.close()
    b.close()
