"""Where the top platform's 30+ delinquency sits: its open balance by payments behind, as
shares of its open balance, averaged over the last ``--window`` months of a scenario (the
months and seeds ``lendsim calibrate`` reads), and 90+ as a share of 30+.

    PYTHONPATH=src python scripts/delinquency_buckets.py [SCENARIO] [--seeds 1-3]
                                                        [--window 24] [--set KEY=VALUE ...]

It is the measurement behind docs/calibration.md, 1.1, "90+ against 30+": in this model a
loan ``platforms.default_after_missed`` (3) payments behind is in default, pays nothing and
falls one more payment behind each month until it is charged off
(``platforms.chargeoff_after_missed``, 6), so each of the buckets 3, 4 and 5 holds one
month of the flow into default, and 90+ can be at most 3/5 of 30+ in a steady book.
Delinquency is counted as the calibration counts it: balances of open loans (current,
delinquent, defaulted) of the embedded platforms, in RMB; "k" is the loan's payments behind
(``n_missed``), 30+ is k >= 1 and 90+ is k >= 3. The last two columns are the means of the
top platform's monthly roll rates over the same months: of the balance 1 (2) payments behind
at the end of a month, the share 2 (3) behind a month later.
"""

from __future__ import annotations

import argparse

import numpy as np

from lendsim import MarketModel
from lendsim.api import resolve_scenario
from lendsim.errors import LendsimError
from lendsim.results.analysis import mean_ci
from lendsim.simulation.scenario import parse_overrides
from lendsim.simulation.ledger import LoanStatus

#: buckets shown: payments behind 0, 1, ..., MAX_SHOWN - 1, and MAX_SHOWN or more
MAX_SHOWN = 7


def buckets(model, kind: str = "embedded") -> np.ndarray:
    """Open balance (RMB) of the platforms of type ``kind`` by payments behind: entry k for
    k = 0 .. MAX_SHOWN - 1, the last entry for MAX_SHOWN or more."""
    L = model.loans
    plats = [pl.idx for pl in model.platforms if pl.kind == kind]
    sel = (L.status <= LoanStatus.DEFAULTED) & np.isin(L.platform_idx, plats)
    k = np.minimum(L.n_missed[sel], MAX_SHOWN)
    return np.bincount(k, weights=L.balance[sel], minlength=MAX_SHOWN + 1)


def measure(scenario: str | None, seed: int, window: int, sets: dict
            ) -> tuple[np.ndarray, float, float]:
    """Over the last ``window`` months of one run: the mean of the top platform's open
    balance by payments behind as shares of its open balance, and the means of its monthly
    roll rates ``roll_rate_1_2`` and ``roll_rate_2_3`` (platforms table, docs/ODD.md 7.10)."""
    scen = resolve_scenario(scenario, sets)
    model = MarketModel(scen, seed=seed)
    steps = scen.simulation.steps
    model.run(steps - window)
    acc = np.zeros(MAX_SHOWN + 1)
    for _ in range(window):
        model.run(1)
        b = buckets(model)
        acc += b / b.sum()
    p = model.tables()["platforms"]
    top = p[(p["platform_type"] == "embedded") & (p["step"] > steps - window)]
    model.close()
    return acc / window, float(top["roll_rate_1_2"].mean()), float(top["roll_rate_2_3"].mean())


def seed_range(ap: argparse.ArgumentParser, text: str) -> range:
    """The seeds of ``--seeds``: "first-last" or one seed; anything else ends the script
    with one line naming the value (``ap.error``) before anything runs."""
    first, _, last = text.partition("-")
    if not (first.isdigit() and (last.isdigit() or not last)):
        ap.error(f"--seeds = {text!r}: allowed is first-last or one seed, e.g. 1-3")
    return range(int(first), int(last or first) + 1)


def scenario_args(doc: str, seeds: str, window: int, arm: str | None = None, argv=None):
    """The command line the scenario scripts share: ``[SCENARIO] [--seeds] [--window]
    [--set K=V ...]``, and ``[--arm K=V ...]`` (default ``arm``) when ``arm`` is given.
    Everything is checked before anything runs; a bad value ends the script with one line
    naming it. Returns ``(args, seeds, sets, arm settings or None)``."""
    ap = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    ap.add_argument("scenario", nargs="?", default=None, help="scenario (default: baseline)")
    ap.add_argument("--seeds", default=seeds, help=f"first-last (default {seeds})")
    if arm is not None:
        ap.add_argument("--arm", action="append", default=None, metavar="KEY=VALUE",
                        help=f"the second arm's settings (default {arm})")
    ap.add_argument("--window", type=int, default=window,
                    help=f"last months read (default {window})")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    a = ap.parse_args(argv)
    seed_list = seed_range(ap, a.seeds)
    try:  # the scenario and the settings of both arms are checked before anything runs
        sets = parse_overrides(a.set)
        arm_sets = None if arm is None else parse_overrides(a.arm or [arm])
        steps = resolve_scenario(a.scenario, {**sets, **(arm_sets or {})}).simulation.steps
    except LendsimError as e:
        ap.error(str(e))
    if not 1 <= a.window <= steps:
        ap.error(f"--window = {a.window}: allowed is 1 to the run's {steps} months")
    return a, seed_list, sets, arm_sets


def print_differences(diffs, keys, width: int = 17, digits: int = 3) -> None:
    """Print each figure's paired difference, the arm minus the base: its mean and 95 %
    t-interval over the seeds (``diffs``: one row per seed, one column per key of ``keys``;
    NaN left out, a figure with fewer than two values not printed)."""
    d = np.array(diffs, dtype=float)
    print(f"arm minus base, mean [95 % interval] over {len(d)} seeds:")
    for j, k in enumerate(keys):
        col = d[:, j][np.isfinite(d[:, j])]
        if len(col) >= 2:
            mean, lo, hi = mean_ci(col)
            print(f"  {k:<{width}} {mean:+.{digits}f} [{lo:+.{digits}f}, {hi:+.{digits}f}] "
                  "points")


def main(argv=None) -> None:
    a, seeds, sets, _ = scenario_args(__doc__, "1-3", 24, argv=argv)
    head = "".join(f"{k:>8}" for k in range(MAX_SHOWN)) + f"{str(MAX_SHOWN) + '+':>8}"
    print(f"seed  share of open balance (%) by payments behind{'':>8}30+ %   90+ %  90+/30+"
          "  roll 1-2  roll 2-3")
    print(f"    {head}")
    for seed in seeds:
        s, r12, r23 = measure(a.scenario, seed, a.window, sets)
        s = s * 100
        d30, d90 = s[1:].sum(), s[3:].sum()
        print(f"{seed:>4}" + "".join(f"{v:8.3f}" for v in s)
              + f"{d30:8.3f}{d90:8.3f}{d90 / d30:8.3f}{r12:10.3f}{r23:10.3f}")


if __name__ == "__main__":
    main()
