"""Fact 2's prime side under the 2020 cap, with any setting changed: the paired effects of
the cap falling from 36 % to 15.4 % that tests/test_stylized_facts.py measures
(``cap_effects(0.154)``), for a scenario the ``--set`` options change. It is the tool behind
the mechanisms ruled out in the reason of ``test_fact2_prime_loans_rise_under_the_2020_cap``
(docs/calibration.md, section 3, fact 2).

    PYTHONPATH=src python scripts/fact2_prime.py [--seeds 101-108] [--set KEY=VALUE ...]

The market is episode_rate_cap_lpr.toml at 2,000 borrowers (the test's), settled under a
36 % cap by the baseline's burn-in; the cap falls to ``--cap`` in month 1 in one arm and not
in the other, on common seeds. Each line is the effect over months 7-18 (mean of the paired
differences and its 95 % t-interval across seeds):

- ``approval_<segment>``: the application-level approval rate (points as fractions);
- ``apr_prime``: the prime segment's average APR, weighted by amount;
- ``excluded_prime``: the share of prime applicants who got no credit in a month;
- ``log_new_loans_<segment>`` and ``log_originations_prime``: the log of the ratio of the
  two arms' new loans (count) and of prime credit (RMB); Bolen, Elliehausen & Miller (2023)
  found prime loans up about 16 % (+0.15 in logs) under a 36 % cap;
- ``size_<segment>``: the change of the average new loan, RMB.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import lendsim
from lendsim.experiments.spec import load_experiment
from lendsim.results.analysis import mean_ci
from lendsim.simulation.policy import with_policy

FILE = Path(__file__).parents[1] / "src" / "lendsim" / "examples" / "episode_rate_cap_lpr.toml"


def after(month: int, column: str):
    return lambda t: float(t["model"].loc[t["model"]["step"] >= month, column].mean())


def log_after(month: int, column: str):
    f = after(month, column)
    return lambda t: float(np.log(max(f(t), 1e-12)))


def loan_size(month: int, segment: str):
    def f(t):
        m = t["model"].query(f"step >= {month}")
        return m[f"originations_{segment}"].sum() / max(m[f"new_loans_{segment}"].sum(), 1)
    return f


OUTCOMES = {"approval_subprime": after(7, "approval_rate_subprime"),
            "approval_prime": after(7, "approval_rate_prime"),
            "apr_prime": after(7, "avg_apr_prime"),
            "excluded_prime": after(7, "excluded_prime"),
            "log_new_loans_prime": log_after(7, "new_loans_prime"),
            "log_new_loans_subprime": log_after(7, "new_loans_subprime"),
            "log_originations_prime": log_after(7, "originations_prime"),
            "size_prime": loan_size(7, "prime"),
            "size_subprime": loan_size(7, "subprime")}


def cap_effects(cap: float, seeds: list[int], sets: dict) -> dict:
    base = load_experiment(FILE).base.with_overrides(
        {"output.charts": False, "borrowers.n": 2000, "regulator.apply_schedule": False,
         **sets})
    loose = base.with_overrides({"regulator.apr_cap": 0.36})
    tight = with_policy(loose.with_overrides({"regulator.apply_schedule": True}),
                        [{"key": "regulator.apr_cap", "value": cap, "step": 1}])
    diffs = {k: [] for k in OUTCOMES}
    for s in seeds:
        a = lendsim.run(loose, steps=18, seed=s).tables()
        b = lendsim.run(tight, steps=18, seed=s).tables()
        for k, f in OUTCOMES.items():
            diffs[k].append(f(b) - f(a))
    return {k: mean_ci(v) for k, v in diffs.items()}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", default="101-108", help="first-last (default 101-108)")
    ap.add_argument("--cap", type=float, default=0.154)
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    a = ap.parse_args(argv)
    lo, hi = (int(x) for x in a.seeds.split("-"))
    sets = {}
    for kv in a.set:
        key, value = kv.split("=", 1)
        try:
            sets[key] = float(value)
        except ValueError:
            sets[key] = value
    eff = cap_effects(a.cap, list(range(lo, hi + 1)), sets)
    for k, (mean, low, high) in eff.items():
        print(f"{k:24s} {mean:+.4f} [{low:+.4f}, {high:+.4f}]")


if __name__ == "__main__":
    main()
