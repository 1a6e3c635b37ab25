"""Fact 2's prime side under the 2020 cap, with any setting changed: the paired effects of
the cap falling from 36 % to 15.4 % that tests/test_stylized_facts.py measures
(``cap_effects(0.154)``), for a scenario the ``--set`` options change. It is the tool behind
the mechanisms ruled out in the docstring of ``test_fact2_prime_loans_rise_under_the_2020_cap``
(docs/calibration.md, section 3, fact 2).

    PYTHONPATH=src python scripts/fact2_prime.py [--seeds 101-108] [--cap 0.154]
                                                 [--set KEY=VALUE ...]

It calls the slow test's own ``_cap_effects`` (so it needs pytest, as the test does): the
market is episode_rate_cap_lpr.toml at 2,000 borrowers, settled under a 36 % cap by the
baseline's burn-in; the cap falls to ``--cap`` in month 1 in one arm and not in the other,
on common seeds. Each line is an effect over months 7-18 (mean of the paired differences and
its 95 % t-interval across seeds):

- ``subprime`` and ``prime``: the application-level approval rate (as fractions);
- ``apr_<segment>``: the segment's average APR, weighted by amount;
- ``excluded_<segment>``: the share of the segment's applicants who got no credit in a month;
- ``log_new_loans_<segment>`` and ``log_originations_prime``: the log of the ratio of the
  two arms' new loans (count) and of prime credit (RMB); Bolen, Elliehausen & Miller (2023)
  found prime loans up about 16 % (+0.15 in logs) under a 36 % cap;
- ``size_<segment>``: the change of the average new loan, RMB.

``--capacity`` adds, for each arm over the same seeds and months 1-18, how many applications
the lenders' rules approved and how many of them did not fit the lender's lending capacity
(its capital and funding: ``underwriting.allocate_capacity``) and went unserved there: if the
cap's end of subprime lending freed capacity that prime borrowers lacked, the first arm
would show prime applications turned away for capacity.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from test_stylized_facts import _cap_effects  # noqa: E402


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", default="101-108", help="first-last (default 101-108)")
    ap.add_argument("--cap", type=float, default=0.154)
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--capacity", action="store_true",
                    help="also count approvals that did not fit the lender's capacity")
    a = ap.parse_args(argv)
    lo, hi = (int(x) for x in a.seeds.split("-"))
    sets = {}
    for kv in a.set:
        key, value = kv.split("=", 1)
        try:
            sets[key] = float(value)
        except ValueError:
            sets[key] = value
    counts = count_capacity_refusals() if a.capacity else None
    eff = _cap_effects(a.cap, sets, list(range(lo, hi + 1)))
    for k, (mean, low, high) in eff.items():
        print(f"{k:24s} {mean:+.4f} [{low:+.4f}, {high:+.4f}]")
    for arm, (approved, refused, amount) in sorted((counts or {}).items()):
        print(f"cap {arm}: months 1-18, {approved:,} applications approved, {refused:,} of "
              f"them ({refused / max(approved, 1):.3%}) did not fit the lender's capacity "
              f"(RMB {amount:,.0f})")


def count_capacity_refusals() -> dict:
    """Wrap underwriting's capacity allocation so that every application it sees in a
    recorded month counts, by the cap in force; returns the counts it fills in, by cap:
    ``[approved, not fitting capacity, their amount RMB]``."""
    from lendsim.agents.rules import underwriting as rules
    from lendsim.simulation.phases import credit_lines, repayment
    from lendsim.simulation.phases import underwriting as phase

    counts: dict = {}
    now = {}
    allocate, apply, lines = rules.allocate_capacity, phase.apply, credit_lines.step

    def allocate_counted(p, priority, amount, capacity):
        fits = allocate(p, priority, amount, capacity)
        if now.get("t", 0) >= 1:
            c = counts.setdefault(now["cap"], [0, 0, 0.0])
            c[0] += len(fits)
            c[1] += int((~fits).sum())
            c[2] += float(amount[~fits].sum())
        return fits

    def date(model):
        now["t"] = model.t
        now["cap"] = f"{model.regulator.apr_cap(model.macro.benchmark_rate):.1%}"

    def apply_dated(model, *args, **kw):
        date(model)
        return apply(model, *args, **kw)

    def lines_dated(model):  # credit lines' draws use capacity too, before underwriting
        date(model)
        return lines(model)

    rules.allocate_capacity = allocate_counted
    phase.apply = repayment.apply = apply_dated
    credit_lines.step = lines_dated
    return counts


if __name__ == "__main__":
    main()
