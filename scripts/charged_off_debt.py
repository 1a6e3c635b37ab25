"""What borrowers who default could still pay, and what a change to the market does to it and
to the next default: paired runs of a scenario without and with ``--arm`` settings, on common
seeds. By default the arm is ``borrowers.collection_share=0.1``: against 0 (a default ends
what the borrower pays, the default), a collector takes a tenth of income on charged-off debt
for ``borrowers.collection_months``.

    PYTHONPATH=src python scripts/charged_off_debt.py [SCENARIO] [--seeds 1-12]
        [--arm KEY=VALUE ...] [--n 10000] [--window 24] [--set KEY=VALUE ...]

It is the measurement behind docs/calibration.md, section 1.1, *What the defaulters could
still pay* (docs/ODD.md 7.11, *Collections*; 7.2, the scars of job loss). For each seed and
arm, over the run's last ``--window`` months (means of the model table's columns, in per
cent):

- ``collected``: what collectors took over the window, as a share of the balances charged off
  in it (a flow ratio: in a settled market, about the share of a charged-off balance that is
  eventually paid; nan when nothing was charged off, 0 when nothing is collected);
- ``owed %``: charged-off debt still owed (``collection_debt``), as a share of the open
  credit;
- the market's 30+ and 90+ delinquency, the roll rates 1-2 and 2-3 and the monthly default
  rate (the model table's columns);
- ``re-default``: of the borrowers with performing debt at the start of the window's last
  12 months, the share that default in those 12 months, for those who defaulted in the 24
  months before (``recent``) and the others: how much a past default says about the next.
- ``owed``, at the run's end: among borrowers who owe charged-off debt (of the last
  ``borrowers.collection_months``, collected or not), the median debt in months of their
  base income, and the per cent of them employed.

Last, each figure's paired difference (the arm minus the base), its mean and 95 %
t-interval over the seeds. ``--set`` applies to both arms.
"""

from __future__ import annotations

import argparse

import numpy as np

from lendsim import MarketModel
from lendsim.api import resolve_scenario
from lendsim.errors import LendsimError
from lendsim.simulation.ledger import LoanStatus
from lendsim.simulation.phases.underwriting import BUREAU_DEFAULT_MEMORY_MONTHS
from lendsim.simulation.scenario import parse_overrides

# a script beside this one (scripts/ is on the path)
from delinquency_buckets import print_differences, seed_range

#: the figures of each run, in print order
FIGURES = ("collected", "owed", "d30", "d90", "roll_1_2", "roll_2_3", "default_rate",
           "redefault_recent", "redefault_others", "owed_months", "owing_employed")


def performing_debtors(model) -> np.ndarray:
    """Whether each borrower owes an open loan not in default (bool, one per borrower)."""
    L = model.loans
    rows = L.is_open() & (L.status != LoanStatus.DEFAULTED)
    return np.bincount(L.borrower_idx[rows], minlength=model.n_borrowers) > 0


def redefault(model, months: int = 12) -> tuple[float, float]:
    """Run ``months`` months and return, in per cent, the share of borrowers with performing
    debt at the start that defaulted in them: those who had defaulted in the
    ``BUREAU_DEFAULT_MEMORY_MONTHS`` before, and the others (NaN where a group is empty)."""
    pop = model.population
    debtors = performing_debtors(model)
    recent = debtors & (pop.months_since_default < BUREAU_DEFAULT_MEMORY_MONTHS)
    others = debtors & ~recent
    defaulted = np.zeros(model.n_borrowers, dtype=bool)
    for _ in range(months):
        model.run(1)
        defaulted |= pop.months_since_default == 0
    return tuple(100 * defaulted[g].mean() if g.any() else np.nan for g in (recent, others))


def debt_owed(model) -> tuple[float, float]:
    """At the month's end, among borrowers who owe charged-off debt (``collection_debt``):
    the median debt in months of their base income, and the per cent of them employed (NaN
    when nobody owes any)."""
    pop = model.population
    owing = pop.collection_debt > 0
    if not owing.any():
        return np.nan, np.nan
    return (float(np.median(pop.collection_debt[owing] / pop.base_income[owing])),
            100 * float(pop.is_employed[owing].mean()))


def measure(scenario: str | None, seed: int, n: int, window: int, sets: dict
            ) -> dict[str, float]:
    """One run's figures (``FIGURES``) over its last ``window`` months."""
    scen = resolve_scenario(scenario, {**sets, "borrowers.n": n, "output.charts": False})
    model = MarketModel(scen, seed=seed)
    model.run(scen.simulation.steps - 12)
    recent, others = redefault(model, 12)
    m = model.tables()["model"].tail(window)
    owed_months, owing_employed = debt_owed(model)
    model.close()
    charged = m["charge_offs"].sum()
    return {"collected": 100 * m["collections"].sum() / charged if charged > 0 else np.nan,
            "owed": 100 * (m["collection_debt"] / m["credit_outstanding"]).mean(),
            "d30": 100 * m["delinquency_30"].mean(), "d90": 100 * m["delinquency_90"].mean(),
            "roll_1_2": 100 * m["roll_rate_1_2"].mean(),
            "roll_2_3": 100 * m["roll_rate_2_3"].mean(),
            "default_rate": 100 * m["default_rate"].mean(),
            "redefault_recent": recent, "redefault_others": others,
            "owed_months": owed_months, "owing_employed": owing_employed}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("scenario", nargs="?", default=None, help="scenario (default: baseline)")
    ap.add_argument("--seeds", default="1-12", help="first-last (default 1-12)")
    ap.add_argument("--arm", action="append", default=None, metavar="KEY=VALUE",
                    help="the second arm's settings (default borrowers.collection_share=0.1)")
    ap.add_argument("--n", type=int, default=10_000, help="borrowers (default 10000)")
    ap.add_argument("--window", type=int, default=24, help="last months read (default 24)")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    a = ap.parse_args(argv)
    seeds = seed_range(ap, a.seeds)
    if a.n < 100:
        ap.error(f"--n = {a.n}: allowed is 100 borrowers or more")
    try:  # the scenario and both arms' settings are checked before anything runs
        sets = parse_overrides(a.set)
        arm = parse_overrides(a.arm or ["borrowers.collection_share=0.1"])
        steps = resolve_scenario(a.scenario, {**sets, **arm}).simulation.steps
    except LendsimError as e:
        ap.error(str(e))
    if not 12 <= a.window <= steps:
        ap.error(f"--window = {a.window}: allowed is 12 to the run's {steps} months")
    label = ", ".join(f"{k}={v}" for k, v in arm.items())
    print(f"arm: {label}")
    print("seed  arm   collected %  owed %   30+ %   90+ %  roll 1-2 %  roll 2-3 %  "
          "defaults %  re-default: recent %  others %  owed: median months of income"
          "  employed %")
    diffs = []
    for seed in seeds:
        runs = [measure(a.scenario, seed, a.n, a.window, {**sets, **over})
                for over in ({}, arm)]
        for name, r in zip(("base", "arm"), runs):
            print(f"{seed:>4}  {name:<4}" + "".join(
                f"{r[k]:{w}.2f}" for k, w in zip(FIGURES, (13, 8, 8, 8, 12, 12, 12, 22, 10, 31,
                                                          12))),
                flush=True)
        diffs.append([runs[1][k] - runs[0][k] for k in FIGURES])
    print_differences(diffs, FIGURES)


if __name__ == "__main__":
    main()
