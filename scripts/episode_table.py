"""The README's episode table: each shipped episode file run as a paired comparison (policy on
vs off on the same seeds, from the settled market the baseline burns in), its main effects
with 95 % intervals.

    python scripts/episode_table.py [--replications 8] [--workers 2] [--out results/episodes]
                                    [--only EPISODE ...]

Prints a Markdown table (one row per episode); each row's command reproduces its numbers
(``lendsim compare <episode> --replications N``, with ``--steps 20 --last 8`` for the income
shock). Effects are the means over each run's last 12 months (the income shock: months
13-20), policy minus base.
"""

from __future__ import annotations

import argparse
import math

import lendsim

#: episode -> (main effects as (table, group, outcome, label, is_share)), what happened
EPISODES = {
    "episode_rate_cap_lpr": (
        [("effects", None, "credit_outstanding", "credit", False),
         ("who", "subprime", "approval_rate", "subprime approval", True),
         ("who", "prime", "approval_rate", "prime approval", True),
         ("who", "subprime", "excluded", "subprime applicants without credit", True),
         ("who", "prime", "excluded", "prime applicants without credit", True),
         ("who", "prime", "avg_apr", "prime APR", True),
         ("who", "subprime", "avg_apr", "subprime APR", True)],
        "US evidence (Bolen, Elliehausen & Miller 2023): a 36 % cap cut subprime loans by about "
        "38 %; prime loans rose about 16 %, borrowers who stayed paid less"),
    "episode_rate_cap_lpr_private": (
        [("effects", None, "credit_outstanding", "credit", False),
         ("effects", None, "approval_rate", "approval", True),
         ("effects", None, "avg_apr", "APR", True)],
        "the court's December 2020 reply: licensed lenders are outside the private-lending cap"),
    "episode_joint_lending_30": (
        [("effects", None, "credit_outstanding", "credit", False),
         ("effects", None, "avg_apr", "APR", True),
         ("effects", None, "platform_equity", "platform equity", False),
         ("effects", None, "platform_dividends", "platform payouts", False)],
        "platforms slowed and needed far more capital (2020 draft rules)"),
    "episode_bank_concentration": (
        [("effects", None, "credit_outstanding", "credit", False),
         ("effects", None, "n_platforms_active", "live platforms", False),
         ("effects", None, "bank_capital_ratio_min", "lowest bank capital ratio", True)],
        "small regional banks that grew on platform loans cut back most (CBIRC 2021 No. 24)"),
    "episode_cash_loan_cleanup_2017": (
        [("effects", None, "credit_outstanding", "credit", False),
         ("who", "subprime", "approval_rate", "subprime approval", True),
         ("effects", None, "avg_apr", "APR", True)],
        "lending to the riskiest and the micro-lenders serving them shrank sharply"),
    "episode_credit_bureau": (
        [("effects", None, "multi_lender_share", "multi-lender share", True),
         ("effects", None, "lenders_per_borrower", "lenders per borrower", False),
         ("effects", None, "default_rate", "default rate", True)],
        "sharing is meant to curb stacking (fact 3)"),
    "episode_p2p_crackdown": (
        [("effects", None, "platform_failures", "platform failures", False),
         ("effects", None, "credit_outstanding", "credit", False),
         ("effects", None, "delinquency_30", "30+ delinquency", True)],
        "P2P platforms 2,595 (2015) -> 0 (Nov 2020); borrowers moved or stopped repaying"),
    "episode_income_shock_2020": (
        [("effects", None, "delinquency_30", "30+ delinquency", True),
         ("effects", None, "default_rate", "default rate", True),
         ("effects", None, "credit_outstanding", "credit", False)],
        "top platform's 30+ delinquency 1.76 % (Jan 2020) -> 3.01 % (May)"),
}
#: episodes measured over other months than the last 12 of the file's run: (steps, last)
#: (the income shock lasts months 13-16: its effect is measured over months 13-20)
WINDOWS = {"episode_income_shock_2020": (20, 8)}


def _effect(cmp, table, group, outcome, is_share):
    t = getattr(cmp, table)
    row = t[t["outcome"] == outcome] if group is None else t[(t["group"] == group)
                                                            & (t["metric"] == outcome)]
    if not len(row):
        return "n/a"
    r = row.iloc[0]
    base, diff, lo, hi = (float(r[k]) for k in ("base", "difference", "lo", "hi"))
    if is_share:
        return f"{100 * diff:+.1f} pp [{100 * lo:+.1f}, {100 * hi:+.1f}]"
    if base and not math.isnan(base) and abs(base) > 1e-12:
        return f"{100 * diff / base:+.1f} % [{100 * lo / base:+.1f}, {100 * hi / base:+.1f}]"
    return f"{diff:+.3g} [{lo:+.3g}, {hi:+.3g}]"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replications", type=int, default=8)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", default="results/episodes")
    ap.add_argument("--only", nargs="+", choices=list(EPISODES), metavar="EPISODE",
                    help="only these episodes' rows (default: all)")
    args = ap.parse_args()
    print("| episode | model: policy - base, 95 % interval | what happened |")
    print("| --- | --- | --- |")
    for name, (effects, happened) in EPISODES.items():
        if args.only and name not in args.only:
            continue
        steps, last = WINDOWS.get(name, (None, 12))
        cmp = lendsim.compare(name, replications=args.replications, out=f"{args.out}/{name}",
                              steps=steps, last_steps=last, executor="processes",
                              workers=args.workers)
        cells = "; ".join(f"{label} {_effect(cmp, t, g, o, s)}" for t, g, o, label, s in effects)
        print(f"| `{name}` | {cells} | {happened} |", flush=True)


if __name__ == "__main__":
    main()
