"""``regulator.apr_cap_scope``: a cap on all lenders, or on private (unlicensed) lending only."""

import numpy as np
import pytest
from conftest import tiny

import lendsim
from lendsim import MarketModel
from lendsim.simulation.phases.underwriting import platform_arrays, price_cap

MIXED = {"platforms.n": 4, "platforms.p2p.weight": 1.0, "platforms.embedded.weight": 1.0,
         "platforms.micro_lender.weight": 1.0, "platforms.consumer_finance.weight": 1.0,
         "regulator.apr_cap": 0.10}


@pytest.mark.parametrize("scope", ["all", "private"])
def test_price_cap_by_hand(scope):
    model = MarketModel(tiny(**MIXED, **{"regulator.apr_cap_scope": scope}))
    model.step()
    caps = price_cap(model, platform_arrays(model))
    for pl, cap in zip(model.platforms, caps):
        bound = scope == "all" or pl.kind == "p2p"
        # licensed lenders keep their own cap (the 2017 notice's 36 %) under a private-only cap
        want = 0.10 if bound else 0.36
        if pl.tp.max_apr > 0:  # a product's own ceiling (the embedded platform's)
            want = min(want, pl.tp.max_apr)
        assert cap == want, pl.kind


def test_a_private_only_cap_leaves_licensed_lenders_above_it_within_their_own():
    res = {scope: lendsim.run(tiny(**MIXED, **{"regulator.apr_cap_scope": scope}), steps=6)
           for scope in ("all", "private")}
    for scope, r in res.items():
        p = r.platforms[r.platforms["originations"] > 0]
        licensed = p[p["platform_type"] != "p2p"]
        p2p = p[p["platform_type"] == "p2p"]
        assert (p2p["avg_apr"] <= 0.10 + 1e-12).all()
        if scope == "all":
            assert (licensed["avg_apr"] <= 0.10 + 1e-12).all()
        else:
            assert (licensed["avg_apr"] > 0.10).any()
            assert (licensed["avg_apr"] <= 0.36 + 1e-12).all()
    assert (res["private"].model["originations"].sum()
            > res["all"].model["originations"].sum())
