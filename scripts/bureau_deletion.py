"""What deleting the credit bureau's negative data does to the market's delinquency, and
where the recent defaulters' debt sits: paired runs of a bureau with its negative data
(``data_sharing.toml``) and without it (``data_sharing_positive.toml``) on common seeds.

    PYTHONPATH=src python scripts/bureau_deletion.py [--seeds 101-112] [--n 10000]
                                                     [--months 24] [--window 12]
                                                     [--set KEY=VALUE ...]

It is the measurement behind docs/calibration.md, section 3, fact 3, "Deleting negative
data" (Liberman, Neilson, Opazo & Zimmerman 2018; Madeira 2020). For each seed and arm, over
the last ``--window`` of ``--months`` months after the burn-in, means of the month-end
figures:

- the market's 30+ delinquency: open balance (current, delinquent, defaulted loans) one or
  more payments behind, as a share of the open balance (the model table's
  ``delinquency_30``);
- the recent defaulters' share of the open debt: borrowers who defaulted in the last
  ``BUREAU_DEFAULT_MEMORY_MONTHS`` (24) months, the ones a bureau with negative data reports;
- the 30+ share of their balance and of everyone else's;
- their late balance in points of the market's debt (their part of the market's 30+);
- the loans they were made after their default: share of the debt, and the 30+ share of
  their balance against that of everyone else's loans of the same ages (months since
  origination, the others' rate by age weighted by the post-default loans' balance by age),
  since a young loan has had less time to fall behind.

Last, the paired difference of the market's 30+ (without minus with negative data), its
mean and 95 % t-interval over the seeds. ``--set`` applies to both arms.
"""

from __future__ import annotations

import argparse

import numpy as np

from lendsim import MarketModel
from lendsim.api import resolve_scenario
from lendsim.errors import LendsimError
from lendsim.results.analysis import mean_ci
from lendsim.simulation.phases.underwriting import BUREAU_DEFAULT_MEMORY_MONTHS
from lendsim.simulation.scenario import parse_overrides

from delinquency_buckets import seed_range  # a script beside this one (scripts/ is on the path)

#: the two arms: the bureau with its negative data, and without it
ARMS = ("data_sharing.toml", "data_sharing_positive.toml")


def split(model) -> np.ndarray:
    """The open book at month end in four sums (RMB): the recent defaulters' balance and
    the part of it one or more payments behind, then the same for every other borrower."""
    L, pop = model.loans, model.population
    is_open = L.is_open()
    recent = pop.months_since_default[L.borrower_idx[is_open]] < BUREAU_DEFAULT_MEMORY_MONTHS
    bal = L.balance[is_open]
    late = L.n_missed[is_open] >= 1
    return np.array([bal[recent].sum(), bal[recent & late].sum(),
                     bal[~recent].sum(), bal[~recent & late].sum()])


#: loan ages (months since origination) told apart in the like-for-like comparison; older
#: loans are counted at this age
MAX_AGE = 36


def by_age(model) -> np.ndarray:
    """Open balance (RMB) by loan age (0 .. ``MAX_AGE``), four rows: the recent defaulters'
    loans made after their last default, the part of them one or more payments behind, and
    the same for the loans of borrowers who did not default in the bureau's memory."""
    L, pop = model.loans, model.population
    rows = np.flatnonzero(L.is_open())
    since = pop.months_since_default[L.borrower_idx[rows]]
    recent = since < BUREAU_DEFAULT_MEMORY_MONTHS
    post = recent & (L.origination_step[rows] > model.t - since)
    age = np.minimum(model.t - L.origination_step[rows], MAX_AGE)
    bal, late = L.balance[rows], L.n_missed[rows] >= 1
    out = np.zeros((4, MAX_AGE + 1))
    for k, sel in ((0, post), (2, ~recent)):
        out[k] = np.bincount(age[sel], bal[sel], MAX_AGE + 1)
        out[k + 1] = np.bincount(age[sel & late], bal[sel & late], MAX_AGE + 1)
    return out


def measure(scenario: str, seed: int, n: int, months: int, window: int, sets: dict
            ) -> dict[str, float]:
    """One run's means over its last ``window`` months, in per cent: ``d30`` (market 30+),
    ``recent_share`` (recent defaulters' share of the debt), ``recent_d30`` and
    ``other_d30`` (30+ share of each group's balance), ``recent_points`` (the recent
    defaulters' late balance as a share of the market's debt); over the window's months
    together, ``post_share`` (the loans made to recent defaulters after their default, share
    of the debt), ``post_d30`` (their 30+ share) and ``same_ages_d30`` (the 30+ share of the
    other borrowers' loans at the post-default loans' ages)."""
    scen = resolve_scenario(scenario, {**sets, "borrowers.n": n, "simulation.steps": months,
                                       "output.charts": False})
    model = MarketModel(scen, seed=seed)
    model.run(months - window)
    acc, ages, debt = np.zeros(5), np.zeros((4, MAX_AGE + 1)), 0.0
    for _ in range(window):
        model.run(1)
        rb, rl, ob, ol = split(model)
        total = rb + ob
        acc += [(rl + ol) / total, rb / total, rl / rb if rb > 0 else 0.0, ol / ob,
                rl / total]
        ages += by_age(model)
        debt += total
    model.close()
    out = dict(zip(("d30", "recent_share", "recent_d30", "other_d30", "recent_points"),
                   acc * 100 / window))
    post = ages[0].sum()
    other_rate = np.divide(ages[3], ages[2], out=np.zeros(MAX_AGE + 1), where=ages[2] > 0)
    out["post_share"] = 100 * post / debt
    out["post_d30"] = 100 * ages[1].sum() / post if post > 0 else np.nan
    out["same_ages_d30"] = 100 * (ages[0] * other_rate).sum() / post if post > 0 else np.nan
    return out


def _pct(x: float) -> str:
    """A percentage to two places, "-" where there is nothing to measure (no loans made to
    recent defaulters, as under a bureau that reports defaults)."""
    return "-" if np.isnan(x) else f"{x:.2f}"


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", default="101-112", help="first-last (default 101-112)")
    ap.add_argument("--n", type=int, default=10_000, help="borrowers (default 10000)")
    ap.add_argument("--months", type=int, default=24,
                    help="months after the burn-in (default 24)")
    ap.add_argument("--window", type=int, default=12, help="last months read (default 12)")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    a = ap.parse_args(argv)
    seeds = seed_range(ap, a.seeds)
    if a.n < 100:
        ap.error(f"--n = {a.n}: allowed is 100 borrowers or more")
    if a.months < 1:
        ap.error(f"--months = {a.months}: allowed is 1 or more")
    if not 1 <= a.window <= a.months:
        ap.error(f"--window = {a.window}: allowed is 1 to --months ({a.months})")
    try:  # the settings are checked on both arms before anything runs
        sets = parse_overrides(a.set)
        for arm in ARMS:
            resolve_scenario(arm, {**sets, "borrowers.n": a.n, "simulation.steps": a.months})
    except LendsimError as e:
        ap.error(str(e))
    print("seed  arm                          30+ %  recent defaulters: % of debt  30+ %"
          "  points of 30+   others' 30+ %  post-default loans: % of debt  30+ %"
          "  others' at same ages: 30+ %")
    diffs = []
    for seed in seeds:
        d30 = []
        for arm in ARMS:
            r = measure(arm, seed, a.n, a.months, a.window, sets)
            d30.append(r["d30"])
            print(f"{seed:>4}  {arm:<27}{r['d30']:7.3f}{r['recent_share']:31.2f}"
                  f"{r['recent_d30']:7.2f}{r['recent_points']:15.3f}{r['other_d30']:16.3f}"
                  f"{r['post_share']:32.2f}{_pct(r['post_d30']):>7}"
                  f"{_pct(r['same_ages_d30']):>29}",
                  flush=True)
        diffs.append(d30[1] - d30[0])
    mean, lo, hi = mean_ci(diffs)
    print(f"market 30+, without minus with negative data: {mean:+.3f} points "
          f"[{lo:+.3f}, {hi:+.3f}] (95 %, {len(diffs)} seeds)")


if __name__ == "__main__":
    main()
