"""Tests of the contagion charts: they check the plotted data, not pixels."""

import numpy as np
import pandas as pd
import pytest

from lendsim.errors import LendsimError
from lendsim.results.contagion_plots import cascade_ccdf, plot_cascade_ccdf, plot_losses_by_channel


def test_ccdf_by_hand_and_plot_data():
    sizes = [3, 1, 1, 10, 0, np.nan, 3, 3]  # 0 and NaN dropped: 6 positive sizes
    s, p = cascade_ccdf(sizes)
    assert s.tolist() == [1, 3, 10]
    np.testing.assert_allclose(p, [6 / 6, 4 / 6, 1 / 6])
    ax = plot_cascade_ccdf(sizes)
    xy = ax.lines[-1].get_xydata()
    np.testing.assert_allclose(xy[:, 0], [1, 3, 10])
    np.testing.assert_allclose(xy[:, 1], p)
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"


def test_ccdf_matches_sorting_definition():
    sizes = np.random.default_rng(0).zipf(2.0, 500)
    s, p = cascade_ccdf(sizes)
    for value, prob in zip(s, p):
        assert prob == pytest.approx(np.mean(sizes >= value))


def test_losses_by_channel_stacks_only_channels():
    df = pd.DataFrame({
        "step": [1, 2, 3],
        "losses_social": [1.0, 2.0, 0.0],
        "losses_interbank": [0.0, 5.0, 1.0],
        "losses_platforms": [99.0, 99.0, 99.0],  # funder type, not a channel: not stacked
    })
    ax = plot_losses_by_channel(df)
    assert len(ax.collections) == 2
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["social", "interbank"]
    # the top edge of the second band is social + interbank
    top = ax.collections[1].get_paths()[0].vertices
    for step, total in zip(df.step, df.losses_social + df.losses_interbank):
        assert max(y for x, y in top if x == step) == pytest.approx(total / 1e6)


def test_losses_by_channel_are_in_the_units_of_the_other_charts():
    """Millions of RMB, as the run's other charts show them (not raw RMB)."""
    df = pd.DataFrame({"step": [1, 2], "losses_social": [2.0e6, 4.0e6],
                       "losses_interbank": [1.0e6, 5.0e6]})
    ax = plot_losses_by_channel(df)
    assert ax.get_ylabel() == "losses (million RMB)"
    top = ax.collections[1].get_paths()[0].vertices
    assert max(y for x, y in top if x == 2) == pytest.approx(9.0)


def test_losses_by_channel_errors():
    with pytest.raises(LendsimError, match="losses_social"):
        plot_losses_by_channel(pd.DataFrame({"step": [1], "losses_banks": [1.0]}))
    with pytest.raises(LendsimError, match="step"):
        plot_losses_by_channel(pd.DataFrame({"losses_social": [1.0]}))
