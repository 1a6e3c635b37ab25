"""What each platform type earns and why: its income statement, line by line, as an annual
rate on its managed book, and its return on equity, pooled over a window of months and
shown seed by seed.

    PYTHONPATH=src python scripts/platform_pnl.py [SCENARIO] [--seeds 1-12]
        [--first 61] [--last 120] [--set KEY=VALUE ...]

For each seed it runs the scenario (``lendsim.run``) and reads the platforms table's income
statement (docs/ODD.md 7.11, *Income statement*) through
``lendsim.results.analysis.income_statement``: live platforms, months ``--first`` to
``--last``. It prints each type's return on equity by seed, then each type's statement
averaged over the seeds: income lines, expense lines and profit in per cent a year of the
managed book, equity over the book, the return on equity's median, mean and range across
seeds, the type's share of the live platforms' managed book (mean over the seeds) and how
many of its platforms are live in month ``--last`` (median over the seeds). Last, what a
platform of the type needs in equity, per borrower in the market: its own loans at its target
leverage (docs/ODD.md 7.12: the type's ``target_leverage`` within its leverage limit), the
mean over its live platform-months and the seeds, beside the equity it starts with
(``platforms.<type>.equity_per_borrower``, docs/ODD.md section 5). It is the measurement
behind docs/ODD.md 7.5, *Does the niche pay?*, and section 5's sizing of starting equity.
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

import lendsim
from lendsim.agents.platforms import EXPENSE_LINES, INCOME_LINES, target_leverage
from lendsim.api import resolve_scenario
from lendsim.errors import LendsimError
from lendsim.results.analysis import income_statement
from lendsim.simulation.scenario import parse_overrides

# a script beside this one (scripts/ is on the path)
from delinquency_buckets import seed_range


def measure(scenario: str | None, seed: int, first: int, last: int, sets: dict
            ) -> pd.DataFrame:
    """One run's income statement by platform type over months ``first``-``last``, with
    each type's share of the live platforms' managed book over those months
    (``book_share``), how many of its platforms are live in month ``last``
    (``live_last``) and the equity its own loans need at its target leverage, mean per
    live platform-month and per borrower in the market (``equity_need``, RMB)."""
    res = lendsim.run(scenario, seed=seed, overrides=sets or None)
    p = res.platforms
    out = income_statement(p, first, last)
    live = p[p["is_active"].astype(bool) & p["step"].between(first, last)]
    params = resolve_scenario(scenario, sets)
    lev = live["platform_type"].map(
        lambda k: target_leverage(params.platforms.type_params(k), params.regulator))
    out["equity_need"] = ((live["loans_held"] / lev).groupby(live["platform_type"]).mean()
                          / params.borrowers.n)
    out["book_share"] = (live.groupby("platform_type")["loans_managed"].sum()
                         / live["loans_managed"].sum())
    end = live[live["step"] == last]
    out["live_last"] = end.groupby("platform_type").size().reindex(out.index).fillna(0)
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("scenario", nargs="?", default=None, help="scenario (default: baseline)")
    ap.add_argument("--seeds", default="1-12", help="first-last (default 1-12)")
    ap.add_argument("--first", type=int, default=61, help="first month read (default 61)")
    ap.add_argument("--last", type=int, default=120, help="last month read (default 120)")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    a = ap.parse_args(argv)
    seeds = seed_range(ap, a.seeds)
    try:  # everything is checked before anything runs
        sets = parse_overrides(a.set)
        steps = resolve_scenario(a.scenario, sets).simulation.steps
    except LendsimError as e:
        ap.error(str(e))
    if not 1 <= a.first <= a.last <= steps:
        ap.error(f"--first = {a.first}, --last = {a.last}: allowed is 1 <= first <= last "
                 f"<= the run's {steps} months")
    runs = {s: measure(a.scenario, s, a.first, a.last, sets) for s in seeds}
    types = sorted(set().union(*(r.index for r in runs.values())))
    print(f"return on equity, % a year, months {a.first}-{a.last}")
    print("seed " + "".join(f"{k:>18}" for k in types))
    for s, r in runs.items():
        print(f"{s:>4} " + "".join(f"{100 * r.loc[k, 'roe']:18.1f}" if k in r.index
                                   else f"{'-':>18}" for k in types))
    rows = [*INCOME_LINES, *EXPENSE_LINES, "profit", "equity_to_book"]
    mean = pd.concat(runs.values()).groupby(level=0).mean()
    print(f"\nincome statement, % a year of the managed book, mean over {len(runs)} seeds "
          "(expenses as positive rates)")
    print(f"{'line':<20}" + "".join(f"{k:>18}" for k in types))
    for line in rows:
        print(f"{line:<20}" + "".join(f"{100 * mean.loc[k, line]:18.2f}" for k in types))
    roe = pd.DataFrame({s: r["roe"] for s, r in runs.items()}).T
    for name, f in (("roe median", np.nanmedian), ("roe mean", np.nanmean),
                    ("roe min", np.nanmin), ("roe max", np.nanmax)):
        print(f"{name:<20}" + "".join(f"{100 * f(roe[k]):18.1f}" for k in types))
    print(f"{'book share':<20}" + "".join(f"{100 * mean.loc[k, 'book_share']:18.2f}"
                                           for k in types))
    live = pd.DataFrame({s: r["live_last"] for s, r in runs.items()}).T
    print(f"{'live in month ' + str(a.last):<20}"
          + "".join(f"{np.nanmedian(live[k]):18.1f}" for k in types))
    params = resolve_scenario(a.scenario, sets)
    print(f"\nequity per borrower in the market, RMB (need: own loans / target leverage, mean "
          "over live platform-months and seeds)")
    print(f"{'need':<20}" + "".join(f"{mean.loc[k, 'equity_need']:18.2f}" for k in types))
    print(f"{'at start':<20}" + "".join(
        f"{params.platforms.type_params(k).equity_per_borrower:18.2f}" for k in types))


if __name__ == "__main__":
    main()
