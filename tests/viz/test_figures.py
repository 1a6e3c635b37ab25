"""Figures: PNGs that change with the model, and blitting that draws what a full redraw
draws."""

import io

import numpy as np
import pytest
from PIL import Image

from lendsim.viz import figures
from lendsim.viz.model import DashboardModel


def _pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


@pytest.fixture(scope="module")
def model():
    m = DashboardModel(n_borrowers=400, n_platforms=4, seed=4)
    yield m
    m.close()


def test_nice_ceiling_is_the_smallest_nice_number_above():
    nice = sorted(m * 10.0 ** k for m in (1, 2, 2.5, 5) for k in range(-4, 8))
    for x in np.random.default_rng(0).uniform(1e-4, 1e7, 500):
        want = min(v for v in nice if v >= x)
        assert figures.nice_ceiling(x) == pytest.approx(want)


def test_pictures_change_as_the_model_steps(model):
    net0 = figures.network_png(model, show_lending=True)
    charts0 = figures.charts_png(model)
    assert net0[:8] == b"\x89PNG\r\n\x1a\n" and len(charts0) == len(figures.PANELS)
    model.step()
    model.step()
    net1 = figures.network_png(model, show_lending=True)
    charts1 = figures.charts_png(model)
    assert not np.array_equal(_pixels(net0), _pixels(net1))  # borrowers turned green
    for i, (a, b) in enumerate(zip(charts0, charts1)):
        if figures.PANELS[i] is not figures.LossesPanel:  # may have no losses yet
            assert not np.array_equal(_pixels(a), _pixels(b)), figures.PANELS[i].__name__


def test_blitting_draws_what_a_full_redraw_draws(model):
    """The persistent pictures, updated in place over a saved frame, against fresh figures
    drawn from scratch for the same model state."""
    for _ in range(3):
        model.step()
        for opts in ({}, {"show_lending": True, "show_social": True}):
            kept = figures.network_png(model, **opts)
            fresh = figures.NetworkPicture(model).render(model, **opts)
            assert np.array_equal(_pixels(kept), _pixels(fresh))
    x = figures.data.steps(model)
    kept = figures.charts_png(model)
    for i, cls in enumerate(figures.PANELS):
        if cls in (figures.ApprovalPanel, figures.SharesPanel):  # fixed y range: same frame
            fresh = cls(model).render(model, x)
            assert np.array_equal(_pixels(kept[i]), _pixels(fresh)), cls.__name__
    net = figures.pictures(model)[0]
    figures.network_png(model)
    n_full = net.b.n_full
    model.step()
    figures.network_png(model)
    assert net.b.n_full == n_full  # same options: the frame is not redrawn


def test_no_losses_yet_panel_and_legend_entries():
    m = DashboardModel(n_borrowers=300, n_platforms=2)
    panel = figures.LossesPanel(m)
    assert panel.render(m, figures.data.steps(m))[:4] == b"\x89PNG"
    assert panel.channels == [] and len(panel._frame_artists) == 1  # the "no losses" text
    labels = [e[0] for e in figures.legend_entries(m)]
    assert labels[:4] == ["never borrowed", "current", "delinquent", "defaulted"]
    assert "bank" in labels
    m.close()
