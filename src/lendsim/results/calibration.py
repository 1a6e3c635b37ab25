"""How close a run is to the market of docs/calibration.md (``lendsim calibrate``, whose
command line is lendsim.cli.calibrate).

Runs a scenario (the default one unless told otherwise) on a few seeds, or reads what is already
written: a run folder, or the runs of a one-arm experiment folder (``lendsim sweep`` with
replications only, which runs them in parallel, on Dask if wanted). An experiment folder of
several arms (a grid or a sampled design) gets a ranking of its arms instead (:func:`rank_arms`),
and ``--arm N`` gives one arm's table: a search for settings close to the data. It sets each
figure of docs/calibration.md, section 1 (where each one's source is given), beside the same
figure measured over the run's last ``window`` months (mean over those months, then over seeds
or runs):

==========================  =====================================================================
figure                      measured as
==========================  =====================================================================
top_delinquency_30          ``delinquency_30`` of the top platform (largest mean market share
                            in the window), platforms table
top_delinquency_90          ``delinquency_90`` of the top platform
top_avg_apr                 ``avg_apr`` of the top platform (origination-weighted)
avg_apr                     ``avg_apr`` of the whole market, model table
top_own_share               ``own_share`` of the top platform
multi_lender_share          ``multi_lender_share``, model table
multi_lenders_2, _3, _5plus among borrowers owing two lending apps or more, the share with 2,
                            3 and 5 or more (``n_app_lenders`` of the borrower snapshots in the
                            window: lenders other than embedded platforms, as the source counts)
==========================  =====================================================================

Each figure has the published value and a band; the verdict says whether the model's mean lies
in the band (inclusive). Where the source gives a range (the top platform's 30+ and 90+ over
2017-19, the APR range, "usually below 15 %" for the top platform's APR), the band is that range.
Where it gives one survey figure (the multi-lender shares), the band is +-5 percentage points
around it: the sources do not state their error, and their definitions (borrowers of one
association's members, users of one data company) differ from the model's; the band says
"about", not a confidence interval. The platform's own share ("~2 %") gets +-0.5 points; it is a
parameter of joint lending, so it is shown to confirm the outcome, not to test behaviour.

Parameters are not fitted here: the command only reports, and ranks the arms a sweep ran.
References: docs/calibration.md, section 1 (each figure's band, source and measurement) and
sections 2.1-2.3.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pandas is imported where used: `lendsim --help` stays fast
    import pandas as pd

__all__ = ["PRICE_TIERS", "TARGETS", "Target", "calibration_figures", "calibration_table",
           "distance_outside", "format_calibration", "format_lenders", "format_misses",
           "format_ranking",
           "lender_figures", "rank_arms", "run_dir_figures", "set_option"]

DEFAULT_WINDOW = 24  # months: the last two years of the run, as in tests/test_default_market.py
# months a lender has lent before its loss back-test counts: a loan is charged off at the
# earliest 7 months after it is made (6 missed instalments), so the trailing year of charge-offs
# of a lender younger than about 19 months holds none of its first loans' losses and its
# realised loss reads low; two years leaves a margin (docs/ODD.md, 1)
SEASONED_MONTHS = 24


@dataclass(frozen=True)
class Target:
    """One figure of docs/calibration.md, section 1.

    Attributes:
        key: name of the figure (see the module docstring for how it is measured).
        label: what it is, in words.
        published: the source's value(s), as written there.
        low, high: the band the model's mean must lie in (fractions).
        source: the publication docs/calibration.md cites for it.
        why: why the default market misses the band, and the experiment that shows it
            (docs/calibration.md, 1.1; measured 2026-12-01); empty where it does not
            miss it.
    """

    key: str
    label: str
    published: str
    low: float
    high: float
    source: str
    why: str = ""


#: Why the default market's stacking and delinquency miss their bands (docs/calibration.md, 1.1).
_WHY_CASH = ("the embedded platform lends only for purchases in its ecosystem (its niche, "
             "docs/ODD.md 7.3)")
_WHY_SPLIT = ("counted as the source counts, by lending apps (the embedded platform left out), "
              "a borrower's number of cash lenders follows its need for cash and each "
              "lender's limit, which are alike across borrowers, so most multi-lenders owe "
              "two or three cash lenders; more lenders do not move the split: with twenty "
              "(eleven micro-lenders, eight consumer-finance companies) two changes by +1.0 "
              "points [-1.0, +2.9] and three by -1.8 [-3.3, -0.4] (scripts/lender_split.py "
              "--arm platforms.n=20 --arm platforms.embedded.weight=0.5); need spread wider "
              "and two applications a month bring the whole split into its bands "
              "(calibration_search's setting 59 on seeds 1-12, 2026-12-06; docs/calibration.md "
              "1.1 and 2.3)")

TARGETS: tuple[Target, ...] = (
    Target("top_delinquency_30", "top platform, 30+ days delinquency", "1.08% / 1.43% / 1.56%",
           0.0108, 0.0156, "Ant prospectus, end 2017/18/19",
           "borrowers short of cash borrow from the micro-lenders to pay it (the debt "
           "spiral, docs/ODD.md 7.9), and most pay both: with no borrowing to repay (lendsim "
           "calibrate --set borrowers.outside_apr_repay=0) it is 0.95 %, and with "
           "micro-lenders starting with RMB 40 per borrower, as until 2026-12-06, which thins "
           "their segment and leaves them little to lend (--set "
           "platforms.micro_lender.equity_per_borrower=40), 0.94 %; the 19 parameters of "
           "calibration_search, which leave borrowing to repay as it is, moved it between "
           "0.11 % and 1.17 % (one setting of 96 in band; 2026-12-06); "
           "cash lenders lent to repay in the data too, so the model's borrowers fall behind "
           "for want of cash rather than of means too often, or cure too easily "
           "(docs/calibration.md 1.1)"),
    Target("top_delinquency_90", "top platform, 90+ days delinquency", "0.68% / 1.01% / 1.05%",
           0.0068, 0.0105, "Ant prospectus, end 2017/18/19",
           "90+ stays at most about a third of 30+ (0.04-0.44 of it over the 96 settings of "
           "calibration_search on the model of 2026-12-06; the source: 0.63-0.71): a loan in "
           "default pays nothing and is charged off after 6 missed instalments, so 90+ can "
           "be at most 3/5 of 30+ in a steady book, and many borrowers catch up before "
           "default (scripts/delinquency_buckets.py); charge-off after 12 and more "
           "borrowers paying the platform first give 0.43 % against 0.86 % (lendsim "
           "calibrate baseline_slow_chargeoff)"),
    Target("top_avg_apr", "top platform, APR", "5.5-24%, top platform usually < 15%",
           0.055, 0.15, "Jiebei/Jintiao rate ranges; Bloomberg 2018"),
    Target("avg_apr", "market, APR", "5.5-24%", 0.055, 0.24,
           "Jiebei/Jintiao rate ranges; Bloomberg 2018"),
    Target("top_own_share", "top platform, own share of its loans", "~2%", 0.015, 0.025,
           "Ant prospectus; Tellimer 2020"),
    Target("multi_lender_share", "borrowers with several lenders", "44%", 0.39, 0.49,
           "Beijing Internet Finance Industry Association",
           f"{_WHY_CASH}, so a borrower who needs cash too owes a second lender; lending cash "
           "too, 52.2 % against 55.0 % (lendsim calibrate baseline_embedded_cash); the 19 "
           "parameters of calibration_search moved it between 42.9 % and 56.1 % on the model "
           "of 2026-12-06, into the band with less need for the typical borrower spread "
           "wider, which no source here sizes"),
    Target("multi_lenders_2", "multi-lenders with 2 lending apps", "57%", 0.52, 0.62,
           "Jiguang Big Data 2018 (lending apps)", _WHY_SPLIT),
    Target("multi_lenders_3", "multi-lenders with 3 lending apps", "22%", 0.17, 0.27,
           "Jiguang Big Data 2018 (lending apps)", _WHY_SPLIT),
    Target("multi_lenders_5plus", "multi-lenders with 5 or more apps", "10.8%", 0.058, 0.158,
           "Jiguang Big Data 2018 (lending apps)", _WHY_SPLIT),
)


def format_misses(table: pd.DataFrame) -> str:
    """For each figure of ``table`` (:func:`calibration_table`) out of its band, why the
    default market misses it and the experiment that shows it (``Target.why``); empty if none
    is out of band or none has a reason on record."""
    why = {t.key: t.why for t in TARGETS}
    lines = [f"- {r.label} ({r.verdict}): {why[r.figure]}"
             for r in table.itertuples() if r.verdict in ("low", "high") and why.get(r.figure)]
    if not lines:
        return ""
    return ("why these figures are out of band in the default market (docs/calibration.md, "
            "1.1):\n" + "\n".join(lines))


def calibration_figures(model: pd.DataFrame, platforms: pd.DataFrame,
                        borrowers: pd.DataFrame | None = None, *,
                        window: int = DEFAULT_WINDOW) -> dict[str, float]:
    """The figures of :data:`TARGETS` for one run, over its last ``window`` steps.

    Args:
        model, platforms: the run's model and platforms tables.
        borrowers: the run's borrower snapshots (``step``, ``n_app_lenders``), or None;
            the multi-lender split counts the lending apps (:data:`SPLIT_COLUMN`) of the
            snapshots taken in the window, and is NaN without any (or in snapshots written
            before that column was).
        window: number of last steps to average over (>= 1).

    Returns:
        ``{key: value}`` for every target, fractions; NaN where the run has no data for it
        (no platform with loans, no multi-lender).
    """
    last = int(model["step"].max())
    first = last - window + 1
    m = model[model["step"] >= first]
    p = platforms[platforms["step"] >= first]
    out = {t.key: math.nan for t in TARGETS}
    out["avg_apr"] = float(m["avg_apr"].mean())
    out["multi_lender_share"] = float(m["multi_lender_share"].mean())
    share = p.groupby("platform_id")["market_share"].mean()
    if len(share) and share.max() > 0:
        top = p[p["platform_id"] == share.idxmax()]
        for col in ("delinquency_30", "delinquency_90", "avg_apr", "own_share"):
            out[f"top_{col}"] = float(top[col].mean())
    if borrowers is not None and len(borrowers) and SPLIT_COLUMN in borrowers:
        split = lender_split(borrowers, first, SPLIT_COLUMN)
        for k in ("2", "3", "5plus"):
            out[f"multi_lenders_{k}"] = split[k]
    return out


#: the borrower snapshots' count behind the targets' multi-lender split: lending apps, as the
#: source counts lenders (the embedded platforms left out; docs/calibration.md 2.3)
SPLIT_COLUMN = "n_app_lenders"


def lender_split(borrowers: pd.DataFrame, first: int, column: str) -> dict[str, float]:
    """How many lenders borrowers owe, from the borrower snapshots taken at step ``first`` or
    later (their rows pooled), counting lenders by ``column``: ``n_app_lenders`` (lenders
    other than embedded platforms, as a count of lending apps on phones sees them, and the
    targets' count, :data:`SPLIT_COLUMN`: docs/calibration.md 2.3) or ``n_lenders`` (every
    lender, the embedded platform included).

    Returns:
        ``several``: of the rows owing at least one such lender, the share owing two or more;
        ``2``, ``3``, ``5plus``: of those owing two or more, the shares owing exactly 2,
        exactly 3, and 5 or more. NaN where no row qualifies.
    """
    k = borrowers.loc[borrowers["step"] >= first, column].to_numpy()
    owing, multi = k[k >= 1], k[k >= 2]
    out = {"several": float(len(multi) / len(owing)) if len(owing) else math.nan}
    for key, hit in (("2", multi == 2), ("3", multi == 3), ("5plus", multi >= 5)):
        out[key] = float(np.mean(hit)) if len(multi) else math.nan
    return out


#: The APR range each lender type charged (docs/calibration.md, 2.2): the embedded platform's
#: products 0.02-0.05 % a day, licensed consumer-finance companies about 10-24 %, micro-lenders
#: and cash lenders 24-36 % before the 2017-2020 rules. Annual fractions.
PRICE_TIERS = {"embedded": (0.073, 0.1825), "consumer_finance": (0.10, 0.24),
               "micro_lender": (0.24, 0.36)}
_LENDER_COLUMNS = ("apr", "el_priced", "loss_realised", "equity_book", "share")


def lender_figures(model: pd.DataFrame, platforms: pd.DataFrame, *,
                   window: int = DEFAULT_WINDOW) -> dict[str, float]:
    """Prices, loss back-test and capital by lender type, and prices by risk segment, over
    the last ``window`` steps of one run.

    Keys ``<column>_<type>`` for each type with live platforms: ``apr`` (the type's
    origination-weighted APR), ``el_priced`` and ``loss_realised`` (annual expected loss
    priced in and net charge-off rate, weighted by managed balance, over the months in which
    the platform had lent for at least ``SEASONED_MONTHS``: a young book's trailing year holds
    too few charge-offs to test its pricing against), ``equity_book`` (equity
    over managed book), ``share`` (of the market's managed balance); and ``avg_apr_<segment>``,
    ``approval_rate_<segment>`` for prime and subprime (model table); ``tier_<segment>_<type>``,
    the type's origination-weighted APR to prime and to subprime borrowers (its price tiers
    by segment).
    """
    last = int(model["step"].max())
    m = model[model["step"] > last - window]
    p = platforms[(platforms["step"] > last - window) & platforms["is_active"]]
    out: dict[str, float] = {}
    total = float(p["loans_managed"].sum())
    for kind, d in p.groupby("platform_type"):
        w, orig = d["loans_managed"], d["originations"]
        out[f"apr_{kind}"] = (float((d["avg_apr"].fillna(0) * orig).sum() / orig.sum())
                              if orig.sum() > 0 else math.nan)
        seasoned = d["age"] >= SEASONED_MONTHS if "age" in d else True  # older run folders
        ws = w * seasoned
        for col in ("el_priced", "loss_realised"):
            out[f"{col}_{kind}"] = (float((d[col].fillna(0) * ws).sum() / ws.sum())
                                    if ws.sum() > 0 else math.nan)
        out[f"equity_book_{kind}"] = float(d["equity"].sum() / w.sum()) if w.sum() > 0 else math.nan
        out[f"share_{kind}"] = float(w.sum() / total) if total > 0 else math.nan
        for seg in ("prime", "subprime"):
            if f"avg_apr_{seg}" in d:  # run folders written before these columns lack them
                o = d[f"originations_{seg}"]
                out[f"tier_{seg}_{kind}"] = (float((d[f"avg_apr_{seg}"].fillna(0) * o).sum()
                                                   / o.sum()) if o.sum() > 0 else math.nan)
    for seg in ("prime", "subprime"):
        for col in ("avg_apr", "approval_rate"):
            if f"{col}_{seg}" in m:
                out[f"{col}_{seg}"] = float(m[f"{col}_{seg}"].mean())
    return out


def format_lenders(runs: list[dict[str, float]]) -> str:
    """The table of :func:`lender_figures`, means over runs: one row per lender type with its
    APR beside its documented price range, its priced and realised loss and their gap, its
    prices to prime and to subprime borrowers, its equity over its book and its market share;
    then prime and subprime prices over the market."""
    import pandas as pd

    mean = pd.DataFrame(runs).mean()
    rows = []
    for kind in sorted({k.split("_", 1)[1] for k in mean.index if k.startswith("apr_")}):
        lo, hi = PRICE_TIERS.get(kind, (math.nan, math.nan))
        el, real = mean.get(f"el_priced_{kind}"), mean.get(f"loss_realised_{kind}")
        rows.append({"lender type": kind, "APR": _pct(mean[f"apr_{kind}"]),
                     "documented range": (f"{100 * lo:.1f}-{100 * hi:.2f} %"
                                          if not math.isnan(lo) else "-"),
                     "loss priced": _pct(el), "loss realised": _pct(real),
                     "priced / realised - 1": (f"{el / real - 1:+.0%}" if real else "n/a"),
                     "APR prime": _pct(mean.get(f"tier_prime_{kind}", math.nan)),
                     "APR subprime": _pct(mean.get(f"tier_subprime_{kind}", math.nan)),
                     "equity / book": _pct(mean.get(f"equity_book_{kind}")),
                     "share of book": _pct(mean.get(f"share_{kind}"))})
    text = pd.DataFrame(rows).to_string(index=False)
    seg = "  ".join(f"{s}: APR {_pct(mean.get(f'avg_apr_{s}', math.nan))}, approval "
                    f"{_pct(mean.get(f'approval_rate_{s}', math.nan))}"
                    for s in ("prime", "subprime"))
    return f"{text}\nby risk segment  {seg}"


def calibration_table(runs: list[dict[str, float]]) -> pd.DataFrame:
    """One row per target: the model's mean over runs (seeds), its lowest and highest run, the
    published value and band, and the verdict (``in band``, ``low``, ``high``, or ``n/a`` when
    no run has the figure)."""
    import pandas as pd

    rows = []
    for t in TARGETS:
        vals = np.array([r[t.key] for r in runs], dtype=float)
        vals = vals[~np.isnan(vals)]
        mean = float(vals.mean()) if len(vals) else math.nan
        if math.isnan(mean):
            verdict = "n/a"
        elif mean < t.low:
            verdict = "low"
        elif mean > t.high:
            verdict = "high"
        else:
            verdict = "in band"
        rows.append({"figure": t.key, "label": t.label, "model": mean,
                     "model_min": float(vals.min()) if len(vals) else math.nan,
                     "model_max": float(vals.max()) if len(vals) else math.nan,
                     "published": t.published, "band_low": t.low, "band_high": t.high,
                     "verdict": verdict, "source": t.source})
    return pd.DataFrame(rows)


def distance_outside(table: pd.DataFrame) -> float:
    """How far a calibration table's means lie outside their bands: the sum over figures of
    the distance from the mean to its band, in band widths (0 when every figure is in band); a
    figure without a value counts 1."""
    v, lo, hi = (table[c].to_numpy(dtype=float) for c in ("model", "band_low", "band_high"))
    d = np.maximum(np.maximum(lo - v, v - hi), 0.0) / (hi - lo)
    return float(np.where(np.isnan(v), 1.0, d).sum())


def rank_arms(arm_runs: dict[int, list[dict[str, float]]]) -> pd.DataFrame:
    """Rank the arms of an experiment by how close they come to the data.

    Args:
        arm_runs: for each arm, the figures of each of its runs (:func:`calibration_figures`).

    Returns:
        One row per arm, best first: ``arm``, ``in_band`` (figures whose mean over the arm's
        runs is in band), ``outside`` (:func:`distance_outside`), ``runs``, then each figure's
        mean (columns named by the figures' keys). Best = most figures in band, then the
        smallest distance outside, then the lowest arm number.
    """
    import pandas as pd

    rows = []
    for arm, runs in arm_runs.items():
        table = calibration_table(runs)
        rows.append({"arm": int(arm), "in_band": int((table["verdict"] == "in band").sum()),
                     "outside": distance_outside(table), "runs": len(runs),
                     **dict(zip(table["figure"], table["model"]))})
    cols = ["arm", "in_band", "outside", "runs", *(t.key for t in TARGETS)]
    df = pd.DataFrame(rows, columns=cols)
    return df.sort_values(["in_band", "outside", "arm"], ascending=[False, True, True],
                          kind="stable").reset_index(drop=True)


# short column heads of a ranking, in the order of TARGETS
_SHORT = {"top_delinquency_30": "top 30+", "top_delinquency_90": "top 90+",
          "top_avg_apr": "top APR", "avg_apr": "APR", "top_own_share": "top own",
          "multi_lender_share": "multi", "multi_lenders_2": "2 lenders",
          "multi_lenders_3": "3 lenders", "multi_lenders_5plus": "5+ lenders"}


def format_ranking(ranking: pd.DataFrame, top: int) -> str:
    """The first ``top`` arms of a ranking as plain text."""
    from lendsim.results.summary import pipe_table

    head = ("arm", "in band", "outside", "runs", *(_SHORT[t.key] for t in TARGETS))
    rows = [(str(r.arm), f"{r.in_band} of {len(TARGETS)}", f"{r.outside:.2f}", str(r.runs),
             *(_pct(getattr(r, t.key)) for t in TARGETS))
            for r in ranking.head(top).itertuples()]
    return pipe_table(head, rows)


def _pct(x: float) -> str:
    return "n/a" if math.isnan(x) else f"{100 * x:.2f}%"


def format_calibration(table: pd.DataFrame) -> str:
    """The table as plain text: figure | model (runs' range) | published | band | verdict."""
    from lendsim.results.summary import pipe_table

    return pipe_table(("figure", "model", "runs", "published", "band", "verdict"),
                      [(r.label, _pct(r.model), "n/a" if math.isnan(r.model_min)
                        else f"{_pct(r.model_min)}-{_pct(r.model_max)}",
                        r.published, f"{_pct(r.band_low)}-{_pct(r.band_high)}", r.verdict)
                       for r in table.itertuples()])


# the columns calibration_figures reads, by table: a sweep's run folders are read one at a time
# and only these columns, so a large sweep (snapshots of every borrower) stays cheap to rank
_COLUMNS = {"model": ["step", "avg_apr", "multi_lender_share"],
            "platforms": ["step", "platform_id", "market_share", "delinquency_30",
                          "delinquency_90", "avg_apr", "own_share"],
            "borrowers": ["step", SPLIT_COLUMN]}


def run_dir_figures(run_dir: str | os.PathLike[str], window: int = DEFAULT_WINDOW) -> dict[str, float]:
    """:func:`calibration_figures` of one run folder (``lendsim run``'s, or one of a sweep's),
    reading only the columns it needs (without borrower snapshots the split of multi-lenders
    is NaN).

    Raises:
        LendsimError: the folder lacks the model or platforms table, or the run is shorter
            than ``window``.
    """
    import pandas as pd
    import pyarrow.parquet as pq

    from lendsim.errors import LendsimError

    run_dir = Path(run_dir)
    tables = {}
    for name, cols in _COLUMNS.items():
        file = run_dir / f"{name}.parquet"
        if file.is_file():  # a run written before a column was added reads without it
            have = set(pq.read_schema(file).names)
            tables[name] = pd.read_parquet(file, columns=[c for c in cols if c in have],
                                           engine="pyarrow")
        else:
            tables[name] = None
    if tables["model"] is None or tables["platforms"] is None:
        raise LendsimError(f"{run_dir}: a finished run without model.parquet and "
                           "platforms.parquet (give the sweep tables = [\"platforms\"])")
    if not len(tables["model"]):
        raise LendsimError(f"{run_dir}: the model table is empty")
    steps = int(tables["model"]["step"].max())
    if window > steps:
        raise LendsimError(f"--window = {window}: allowed values are 1 to the run's {steps} "
                           "months")
    return calibration_figures(tables["model"], tables["platforms"], tables["borrowers"],
                               window=window)


def set_option(key: str, value: object) -> str:
    """``--set key=value`` as typed in a shell, read back by ``--set`` as ``value``.

    Examples:
        >>> print(set_option("regulator.apply_schedule", True))
        --set regulator.apply_schedule=true
        >>> print(set_option("regulator.apr_cap", 0.24), set_option("a.b", [1, 2]))
        --set regulator.apr_cap=0.24 --set 'a.b=[1, 2]'
    """
    import json
    import shlex
    import tomllib

    if isinstance(value, (bool, list, tuple)):
        text = json.dumps(value)  # TOML writes these as JSON does
    elif isinstance(value, float):
        text = repr(value)  # every digit: the arm's exact value
    elif isinstance(value, str):
        try:  # bare unless --set would read it as something else ("1", "true")
            bare = tomllib.loads(f"v = {value}")["v"] == value
        except tomllib.TOMLDecodeError:
            bare = True
        text = value if bare else json.dumps(value)
    else:
        text = str(value)
    return f"--set {shlex.quote(f'{key}={text}')}"
