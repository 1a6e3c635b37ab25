"""How far stylized fact 7 is reproduced, and why: the measurements behind the docstring of
tests/test_fact7_guarantee_pools.py (docs/ODD.md, 7.17.10; docs/calibration.md, fact 7).

    PYTHONPATH=src python scripts/fact7_diagnostics.py [--seeds 101-108] [--set KEY=VALUE ...]
                                                      [--bands SEED,SEED]
    PYTHONPATH=src python scripts/fact7_diagnostics.py --effects [--seeds 101-116]

``--effects`` prints, instead of the lines below, every paired effect the module docstring of
tests/test_fact7_guarantee_pools.py cites, computed by the test's own functions (so it needs
pytest, as the test does): mean and 95 % t-interval across the seeds (default there 101-116),
in both news channels, with the guarantor's failure spreading and switched off
(``contagion.guarantee``).

Runs the arms of src/lendsim/examples/guarantee_pools.toml (no guarantor, pool, screening,
and the pool with ``guarantee.moral_hazard`` = 1: an insured lender that screens on the
loss it keeps) as the experiment runs them, on common seeds, and prints one line per seed
and arm:

- ``lost``: P2P platforms not live at the end (the slow test's outcome, burn-in included);
- ``orig`` and ``sub``: P2P originations in the 12 months before the shock (RMB million)
  and the subprime share of them (moral hazard and adverse selection: a riskier, larger book);
- ``eq12`` and ``eq_min``: the guarantor's equity in month 12 and its lowest from the shock
  on, and ``claims`` and ``prem``: claims paid and premiums earned from the shock on (RMB
  thousand; how far the guarantor came from failing);
- ``g_fail``: the month its guarantor failed (negative: in the burn-in), if it did;
- ``walk`` and ``fund``: credit losses on failed lenders' loans (walk-aways) and fundamental
  ones over the 36 months (RMB thousand, every lender).

``--bands`` adds, for the pool and no-guarantor arms of the seeds given, the P2P loans made in
months 1-12 (all open at the shock in month 13) by their lender's estimated lifetime PD at
origination (its scoring model applied to the features booked with the loan), with the share
of them that first defaulted from month 13 on. The loans of platforms that failed (the closed
one among them) are left out: their borrowers walk away whatever their PD. What is left is
credit risk: does it rise with the PD a screening rule selects on, and how large is it?
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import lendsim
from lendsim.experiments.spec import load_experiment
from lendsim.simulation.ledger import LoanStatus

FILE = Path(__file__).parents[1] / "src" / "lendsim" / "examples" / "guarantee_pools.toml"
ARMS = {"none": (0, "pool", 0.0), "pool": (1, "pool", 0.0),
        "screening": (1, "screening", 0.0), "pool_mh1": (1, "pool", 1.0)}
BANDS = [(0.0, 0.02), (0.02, 0.05), (0.05, 0.1), (0.1, 0.2), (0.2, 1.0)]


def scenario(arm: str, sets: dict):
    exp = load_experiment(FILE)
    n, policy, mh = ARMS[arm]
    return exp.base.with_overrides({"output.charts": False, "guarantee.n": n,
                                    "guarantee.policy": policy,
                                    "guarantee.moral_hazard": mh,
                                    "simulation.steps": exp.steps, **sets})


class Watch:
    """A ``progress`` callback: the guarantor's failure month (the burn-in included) and,
    with ``bands``, every P2P loan made in months 1-12 with its estimated PD, and whether
    it defaulted from month 13 on."""

    def __init__(self, bands: bool):
        self.bands = bands
        self.g_fail = None
        self.loans: dict[tuple, list] = {}

    def __call__(self, m) -> None:
        for g in m.guarantors:
            if g.is_failed and self.g_fail is None:
                self.g_fail = g.failed_step
        if not self.bands:
            return
        L = m.loans
        key = lambda r: (int(L.borrower_idx[r]), int(L.platform_idx[r]),  # noqa: E731
                         int(L.origination_step[r]), float(L.principal[r]))
        if 1 <= m.t <= 12:
            for r in np.flatnonzero(L.origination_step == m.t):
                pl = m.platforms[int(L.platform_idx[r])]
                if pl.kind == "p2p":
                    pd = float(pl.score(L.feature_rows(np.array([r])))[0])
                    self.loans[key(r)] = [pd, int(L.platform_idx[r]), None]
        for r in np.flatnonzero(L.status == LoanStatus.DEFAULTED):
            x = self.loans.get(key(r))
            if x is not None and x[2] is None:
                x[2] = m.t  # the first month it is seen in default

    def band_rows(self, failed: set[int]):
        v = [x for x in self.loans.values() if x[1] not in failed]
        pd = np.array([x[0] for x in v])
        d = np.array([x[2] is not None and x[2] >= 13 for x in v])
        for lo, hi in BANDS:
            sel = (pd > lo) & (pd <= hi)
            n = int(sel.sum())
            yield lo, hi, n, int(d[sel].sum()), (d[sel].mean() if n else float("nan"))


def one(arm: str, seed: int, sets: dict, bands: bool = False):
    w = Watch(bands)
    t = lendsim.run(scenario(arm, sets), seed=seed, progress=w).tables()
    m, p, ev = t["model"], t["platforms"], t["events"]
    pp = p[p["platform_type"] == "p2p"]
    last = pp[pp["step"] == pp["step"].max()]
    pre = pp[pp["step"] <= 12]
    o = pre[["originations_prime", "originations_near_prime", "originations_subprime"]].sum()
    post = m[m["step"] >= 13]
    eq12 = float(m.loc[m["step"] == 12, "guarantor_equity"].iloc[0])
    row = dict(seed=seed, arm=arm,
               lost=int((~last["is_active"].astype(bool)).sum()),
               orig=round(o.sum() / 1e6, 2),
               sub=round(o.iloc[2] / o.sum(), 3) if o.sum() > 0 else float("nan"),
               eq12=round(eq12 / 1e3, 1),
               eq_min=round(float(post["guarantor_equity"].min()) / 1e3, 1),
               claims=round(post["guarantee_claims_paid"].sum() / 1e3, 1),
               prem=round(post["guarantee_premiums"].sum() / 1e3, 1),
               g_fail=w.g_fail,
               walk=round(m["losses_platform_failure"].sum() / 1e3, 1),
               fund=round(m["losses_fundamental"].sum() / 1e3, 1))
    failed = set(last.loc[~last["is_active"].astype(bool), "platform_id"].astype(int))
    return {k: float(v) if isinstance(v, np.floating) else v for k, v in row.items()}, w, failed


def seeds_of(text: str) -> list[int]:
    if "-" in text:
        a, b = text.split("-")
        return list(range(int(a), int(b) + 1))
    return [int(s) for s in text.split(",")]


def effects(seeds: list[int]) -> None:
    """The paired effects of tests/test_fact7_guarantee_pools.py, one line each."""
    import sys
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from test_fact7_guarantee_pools import (CURATION, DEFAULT_NEWS, NO_SPREAD, NONE, POOL,
                                            POOL_NO_SPREAD, SCREENING, news, p2p_lost,
                                            paired, unpaid_and_lost)
    screening_no_spread = news(SCREENING, NO_SPREAD)
    rows = [("platforms lost: pool, failure spreading - switched off", POOL_NO_SPREAD, POOL,
             p2p_lost),
            ("platforms lost: screening, failure spreading - switched off",
             screening_no_spread, SCREENING, p2p_lost),
            ("platforms lost: pool - no guarantor", NONE, POOL, p2p_lost),
            ("platforms lost: screening - pool", POOL, SCREENING, p2p_lost),
            ("unpaid claims (RMB million) + platforms lost: screening - pool", POOL,
             SCREENING, unpaid_and_lost),
            ("platforms lost: curation (no cover) - pool", POOL, CURATION, p2p_lost),
            ("platforms lost: curation (no cover) - no guarantor", NONE, CURATION, p2p_lost)]
    for name, channel in (("file's news", {}), ("default news", DEFAULT_NEWS)):
        for label, a, b, outcome in rows:
            mean, lo, hi = paired(news(a, channel), news(b, channel), outcome, seeds)
            print(f"{name:13s} {label}: {mean:+.2f} ({lo:+.2f} to {hi:+.2f}), "
                  f"{len(seeds)} seeds", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--effects", action="store_true",
                    help="the paired effects the slow test cites (default seeds 101-116)")
    ap.add_argument("--seeds", default=None, help="first-last or a comma list "
                    "(default 101-108; with --effects 101-116)")
    ap.add_argument("--arms", default="none,pool,screening,pool_mh1")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--bands", default="", help="seeds for the PD-band table")
    a = ap.parse_args()
    if a.effects:
        effects(seeds_of(a.seeds or "101-116"))
        return
    a.seeds = a.seeds or "101-108"
    sets = {k: int(v) if v.isdigit() else float(v) if v.replace(".", "", 1).isdigit() else v
            for k, v in (s.split("=", 1) for s in a.set)}
    for seed in seeds_of(a.seeds):
        for arm in a.arms.split(","):
            print(one(arm, seed, sets)[0], flush=True)
    for seed in seeds_of(a.bands) if a.bands else []:
        for arm in ("pool", "none"):
            _, w, failed = one(arm, seed, sets, bands=True)
            for lo, hi, n, k, rate in w.band_rows(failed):
                print(f"seed {seed} {arm:5s} PD ({lo:.2f}, {hi:.2f}]: {n:5d} loans, "
                      f"{k:4d} defaulted from month 13 ({rate:.2%}); without the loans of "
                      f"failed platforms {sorted(failed)}", flush=True)


if __name__ == "__main__":
    main()
