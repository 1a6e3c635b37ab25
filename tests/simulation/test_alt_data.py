"""Alternative data (issue 23, item 3): the feature registry, which features a platform type
sees (platforms.<type>.alt_data), and their values against independent truth."""

from __future__ import annotations

import numpy as np
import pytest

import lendsim
from lendsim.cli import main
from lendsim.errors import ScenarioError
from lendsim.simulation.features import (ALT_FEATURES, FEATURES, N_FEATURES, REGISTRY,
                                         alt_features, feature_names)
from lendsim.simulation.params import parameter_reference
from lendsim.simulation.scenario import load_scenario

SMALL = {"borrowers.n": 1_500, "banks.n": 4, "simulation.steps": 15,
         "simulation.burn_in": 12, "output.charts": False, "platforms.min_training": 100,
         "platforms.retrain_every": 3}
BOTH = "spending_income,contacts_in_arrears"


def test_the_registry_describes_every_feature_once():
    assert set(REGISTRY) == set(FEATURES) | set(ALT_FEATURES)
    assert not set(FEATURES) & set(ALT_FEATURES)
    assert feature_names() == FEATURES
    # registry order, whatever order the types name them in
    assert feature_names({"contacts_in_arrears", "spending_income"}) == FEATURES + ALT_FEATURES


def test_a_default_market_stores_exactly_the_base_features():
    m = lendsim.MarketModel(load_scenario(None, {**SMALL, "simulation.steps": 2}))
    assert m.features == FEATURES
    assert m.loans.features.shape[1] == N_FEATURES == m.credit_lines.features.shape[1]


@pytest.fixture(scope="module")
def alt_model():
    scen = load_scenario(None, {**SMALL, "platforms.embedded.alt_data": BOTH})
    return lendsim.MarketModel(scen).run()


def test_alt_features_are_what_the_type_sees_and_nothing_else(alt_model):
    m = alt_model
    assert m.features == FEATURES + ALT_FEATURES
    emb = [pl.idx for pl in m.platforms if pl.kind == "embedded"]
    others = [pl.idx for pl in m.platforms if pl.kind != "embedded"]
    b = np.arange(0, m.n_borrowers, 7)
    from lendsim.simulation.phases.underwriting import platform_arrays

    g = platform_arrays(m)
    m.month.contacts_in_arrears = None  # recompute for today's arrears
    m.month.arrears = None
    seen = alt_features(m, b, np.full(len(b), emb[0]), g.sees)
    unseen = alt_features(m, b, np.full(len(b), others[0]), g.sees)
    assert not unseen.any()
    pop = m.population
    assert np.allclose(seen[:, 0], pop.need[b] / np.maximum(pop.income[b], 1.0), rtol=1e-6)
    # share of contacts behind on a payment, by a loop over the adjacency and the loan book
    L = m.loans
    behind = set(L.borrower_idx[L.is_open() & (L.n_missed > 0)].tolist())
    adj = m.social.tocsr()
    assert seen[:200, 1].any() and seen[:, 0].any()  # not a test of zeros against zeros
    for k, i in enumerate(b[:200]):
        nb = adj.indices[adj.indptr[i]:adj.indptr[i + 1]]
        want = np.mean([j in behind for j in nb]) if len(nb) else 0.0
        assert seen[k, 1] == pytest.approx(want, abs=1e-6)


def test_a_type_that_does_not_see_a_feature_never_weighs_it(alt_model):
    refit = [pl for pl in alt_model.platforms if pl.window.n_at_fit.sum() > 0]
    assert {pl.kind for pl in refit} >= {"embedded"}
    for pl in refit:
        alt_coef = pl.coef[N_FEATURES:]
        if pl.kind == "embedded":
            assert np.all(alt_coef != 0.0)  # learned from its own loans
        else:
            assert np.all(alt_coef == 0.0)  # its loans show 0: the prior's 0 stays


def test_the_reference_table_says_how_to_write_the_list():
    rows = {k: (v, allowed) for k, v, allowed, _ in parameter_reference()}
    assert rows["platforms.embedded.alt_data"] == (
        "", "comma-separated: spending_income, contacts_in_arrears; or empty")


def test_an_unknown_feature_is_one_line_naming_field_value_and_allowed(tmp_path, capsys):
    with pytest.raises(ScenarioError) as err:
        load_scenario(None, {"platforms.embedded.alt_data": "spending_income, bureau_score"})
    msg = str(err.value)
    assert msg == ("platforms.embedded.alt_data = 'spending_income, bureau_score' (in "
                   "overrides): must be a comma-separated list of 'spending_income', "
                   "'contacts_in_arrears' or empty ('bureau_score' is none of them)")
    out = tmp_path / "out"
    assert main(["run", "--set", "platforms.embedded.alt_data=likes", "--out", str(out),
                 "--quiet"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "platforms.embedded.alt_data = 'likes'" in lines[0]
    assert not out.exists()


def test_spaces_and_order_are_normalised():
    scen = load_scenario(None, {"platforms.embedded.alt_data": " contacts_in_arrears , "})
    assert scen.platforms.embedded.alt_data == "contacts_in_arrears"
    assert scen.platforms.embedded.alt_data_names() == ("contacts_in_arrears",)
