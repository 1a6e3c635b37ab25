"""Per-step outputs and the balance-sheet invariants.

Every column name here is also the results column a user plots (docs/ODD.md, 7. Submodels,
"Outputs"). Data collection reads the model and writes only its records.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from lendsim import kernels
from lendsim.agents.borrowers import RISK_SEGMENTS
from lendsim.agents import guarantors
from lendsim.errors import InvariantError
from lendsim.simulation import early_warning
from lendsim.simulation.ledger import LoanStatus
from lendsim.simulation.month import ClosingBook, closing_book

#: The model table's first columns, in order (more follow).
MODEL_COLUMNS = (
    "step", "credit_outstanding", "originations", "approval_rate", "avg_apr", "delinquency_30",
    "delinquency_90", "default_rate", "charge_offs", "n_platforms_active", "platform_failures",
    "hhi", "bank_capital_ratio_min", "bank_failures", "borrowers_rationed",
    "multi_lender_share", "lenders_per_borrower", "overindebted_share", "unemployment_rate",
)
EVENT_COLUMNS = ("step", "kind", "agent_type", "agent_id", "size", "detail")
#: The validation table: one row per band of predicted PD of each held-out validation (a
#: platform's refit; ``Platform.validate``).
VALIDATION_COLUMNS = ("step", "platform_id", "platform_type", "scoring", "n_train", "n_test",
                      "auc_test", "ks_test", "band", "pd_low", "pd_high", "n", "defaults",
                      "pd_predicted", "default_rate")
CASCADE_COLUMNS = ("start_step", "trigger", "size", "n_platforms", "n_banks", "duration",
                   "channels", "is_ongoing")


def _share(num: float, den: float) -> float:
    return float(num / den) if den > 0 else 0.0


def _roll(rolled: float, base: float) -> float:
    """A roll rate, NaN when no balance was in the bucket."""
    return float(rolled / base) if base > 0 else np.nan


def collect_step(model) -> None:
    """Append this step's rows to the model's records."""
    m, L, pop = model.month, model.loans, model.population
    P = len(model.platforms)
    book = closing_book(model)
    total, d30, d90 = book.sums()
    # the month's closing debt state (next month's lending writes into the model's, so the
    # records keep copies)
    debt, lenders = model.debt.total.copy(), model.debt.n_lenders.copy()
    indebted = debt > 0
    n_indebted = int(indebted.sum())
    perf = L.status <= LoanStatus.DELINQUENT
    service = kernels.grouped_sum(L.borrower_idx, L.instalment, perf, model.n_borrowers)
    dsti = service / np.maximum(pop.income, 1.0)
    over = indebted & (dsti > model.params.borrowers.overindebted_dsti)
    # by platform, one pass: open, 1+, 3+, 1 and 2 payments behind (RMB), open loans
    managed, d30_p, d90_p, d1_p, d2_p, _ = book.by_platform
    active = np.array([pl.is_active for pl in model.platforms])
    act_bal = np.where(active, managed, 0.0)
    hhi = float(((act_bal / act_bal.sum()) ** 2).sum()) if act_bal.sum() > 0 else 0.0
    live = [b for b in model.banks if not b.is_failed]
    apps = m.apps.sum()
    row = {
        "step": model.t,
        "credit_outstanding": total,
        "originations": m.originations,
        "approval_rate": _share(m.approved.sum(), apps),
        "avg_apr": _share(m.apr_weighted, m.orig_amount) if m.orig_amount > 0 else np.nan,
        "delinquency_30": _share(d30, total),
        "delinquency_90": _share(d90, total),
        "default_rate": _share(m.new_defaults, n_indebted + m.new_defaults),
        "charge_offs": m.charge_offs,
        "n_platforms_active": int(active.sum()),
        "platform_failures": m.platform_failures + m.platform_exits,
        "hhi": hhi,
        "bank_capital_ratio_min": min((b.capital_ratio() for b in live), default=np.nan),
        "bank_failures": m.bank_failures,
        "borrowers_rationed": int(m.rationed.sum()),
        "multi_lender_share": _share(int((lenders >= 2).sum()), n_indebted),
        "lenders_per_borrower": _share(float(lenders[indebted].sum()), n_indebted),
        "overindebted_share": _share(int(over.sum()), n_indebted),
        "unemployment_rate": float(1.0 - pop.is_employed.mean()),
        # beyond the required columns
        # share of last month's balance one (two) payments behind that is now one more behind
        "roll_rate_1_2": _roll(m.rolled[0].sum(), m.roll_base[0].sum()),
        "roll_rate_2_3": _roll(m.rolled[1].sum(), m.roll_base[1].sum()),
        "borrowers_with_debt": n_indebted,
        # debt over annual base income, all borrowers: the market's leverage
        "debt_income": _share(float(debt.sum()), 12.0 * float(pop.base_income.sum())),
        "refinance_originations": m.refinance_amount,
        "platform_entries": m.platform_entries,
        "losses_platforms": m.losses_platforms,
        "losses_banks": m.losses_banks,
        "consumption": m.consumption,
        "apr_cap": model.apr_cap,
        "benchmark_rate": model.macro.benchmark_rate,
        "data_sharing": model.regulator.policy.data_sharing,
        "is_income_shock": bool(model.macro.is_shock),
        "platform_own_share": _share(sum(pl.loans_held for pl in model.platforms), total),
        "platform_equity": sum(pl.equity for pl in model.platforms if pl.is_active),
        "platform_equity_raised": sum(pl.equity_raised for pl in model.platforms),
        "platform_dividends": sum(pl.dividends for pl in model.platforms),
        "n_incidents": m.n_incidents,
        "retail_withdrawals": m.retail_withdrawals,
        # charged-off debt: paid to collectors this month, and still owed (7.11)
        "collections": m.collections,
        "collection_debt": float(pop.collection_debt.sum()),
    }
    row.update({f"losses_{k}": v for k, v in m.losses.items()})
    row["refinance_loan_losses"] = m.refinance_loan_losses
    row.update(guarantors.month_row(model))
    prev = model.records["model"][-1]["credit_outstanding"] if model.records["model"] else 0.0
    row["credit_growth"] = total / prev - 1.0 if prev > 0 else np.nan
    row.update(_by_group(m, pop, debt))
    row.update(early_warning.model_row(model))
    row.update(model.regulator.indicators)
    row.update(model.regulator.early_warnings(row))
    model.records["model"].append(row)

    roll = [(pad_platforms(m.rolled[k], P), pad_platforms(m.roll_base[k], P)) for k in (0, 1)]
    orig_p = pad_platforms(m.orig_by_platform, P)
    apr_p = pad_platforms(m.apr_by_platform, P)
    n_new = pad_platforms(m.n_new_by_platform, P)
    el_p = pad_platforms(m.el_by_platform, P)
    expo_p = pad_platforms(m.exposure_by_platform, P)
    orig_ps = pad_platforms(m.orig_by_platform_segment, P)
    apr_ps = pad_platforms(m.apr_by_platform_segment, P)
    lines = model.lines[:, :P].sum(axis=0)
    ew = model.early_warning
    for pl in model.platforms:
        i = pl.idx
        avg_apr = apr_p[i] / orig_p[i] if orig_p[i] > 0 else np.nan
        model.records["platforms"].append({
            "step": model.t, "platform_id": i, "platform_type": pl.kind,
            "is_active": pl.is_active, "age": model.t - pl.entry_step, "equity": pl.equity,
            "cash": pl.cash, "debt": pl.debt,
            "loans_held": pl.loans_held, "allowance": pl.allowance,
            "loans_managed": float(managed[i]), "originations": float(orig_p[i]),
            "new_loans": int(n_new[i]),
            "market_share": _share(act_bal[i], act_bal.sum()), "avg_apr": avg_apr,
            "delinquency_30": _share(d30_p[i], managed[i]),
            "delinquency_90": _share(d90_p[i], managed[i]),
            "delinquency_1": _share(d1_p[i], managed[i]),
            "delinquency_2": _share(d2_p[i], managed[i]),
            "delinquency_3plus": _share(d90_p[i], managed[i]),
            "roll_rate_1_2": _roll(roll[0][0][i], roll[0][1][i]),
            "roll_rate_2_3": _roll(roll[1][0][i], roll[1][1][i]),
            "margin": pl.margin, "pd_cutoff": pl.pd_cutoff,
            "own_share": _share(pl.loans_held, managed[i]),
            "leverage": pl.loans_held / pl.equity if pl.equity > 0 else np.nan,
            "funding_lines": float(lines[i]), "auc": pl.auc, "ks": pl.ks,
            "auc_test": pl.auc_test, "ks_test": pl.ks_test,
            "reputation": pl.reputation, "retail_funds": pl.retail_funds,
            "el_priced": el_p[i] / expo_p[i] if expo_p[i] > 0 else np.nan,
            "equity_raised": pl.equity_raised, "dividends": pl.dividends,
            "marketing": pl.marketing, "goodwill": pl.goodwill,
            **{k: v for k, v in pl.income.items() if k != "marketing"},
            "profit": pl.profit(),
            "roe": 12.0 * pl.profit() / pl.equity_start if pl.equity_start > 0 else np.nan,
            "loss_realised": pl.loss_realised(),
            "early_warning": float(ew.score[i]),
            "early_warning_threshold": float(ew.threshold[i]),
            "on_warning": bool(ew.on_warning[i]),
            "early_warning_reviews": int(ew.reviews[i]),
            **{f"originations_{seg}": float(orig_ps[i, k]) for k, seg in enumerate(RISK_SEGMENTS)},
            **{f"avg_apr_{seg}": (apr_ps[i, k] / orig_ps[i, k] if orig_ps[i, k] > 0
                                  else np.nan)
               for k, seg in enumerate(RISK_SEGMENTS)},
        })
        if pl.validated_step == model.t:
            model.records["validation"].extend(validation_rows(model.t, pl))
    out = model.bank_outstanding()
    for bk in model.banks:
        j = bk.idx
        loans = bk.joint_loans + bk.other_loans
        model.records["banks"].append({
            "step": model.t, "bank_id": j, "equity": bk.equity,
            "capital_ratio": bk.capital_ratio(), "joint_loans": bk.joint_loans,
            "other_loans": bk.other_loans, "deposits": bk.deposits, "cash": bk.cash,
            "allowance": bk.allowance, "funding_lines": float(model.lines[j, :P].sum()),
            "largest_platform_share": _share(float(out[:, j].max()) if P else 0.0, loans),
            "interbank_assets": bk.interbank_assets,
            "interbank_liabilities": bk.interbank_liabilities,
            "is_failed": bk.is_failed,
        })
    k = model.params.output.borrower_snapshot_every
    if k and model.t % k == 0:
        snap = pd.DataFrame(pop.snapshot())
        snap["debt"] = debt
        snap["n_lenders"] = lenders
        snap["n_app_lenders"] = app_lenders(model, lenders)
        snap.insert(0, "step", model.t)
        model.records["borrowers"].append(snap)


def app_lenders(model, lenders: np.ndarray) -> np.ndarray:
    """How many lenders each borrower owes other than embedded platforms (int64): its
    standalone lending apps, ``lenders`` (every platform it owes, ``DebtState.n_lenders``) less
    the embedded platforms it owes. An embedded platform's credit sits inside its ecosystem's
    own app (docs/ODD.md 7.3), and counts of lenders read from phones' apps leave it out:
    Jiguang Big Data (2018) counts mobile consumer-finance apps, an industry it found on
    9.5-11.2 % of China's mobile internet users, so without Alipay (docs/calibration.md, 2.3)."""
    own = model.debt.own
    embedded = [pl.idx for pl in model.platforms if pl.kind == "embedded"]
    return lenders - sum((own[:, j] > 0 for j in embedded), np.zeros(len(lenders), np.int64))


def validation_rows(step: int, pl) -> list[dict]:
    """The validation table's rows of platform ``pl``'s held-out validation this month."""
    head = {"step": step, "platform_id": pl.idx, "platform_type": pl.kind,
            "scoring": pl.scoring.name, "n_train": pl.validation_sizes[0],
            "n_test": pl.validation_sizes[1], "auc_test": pl.auc_test, "ks_test": pl.ks_test}
    return [{**head, **band} for band in pl.calibration]


QUINTILES = ("q1", "q2", "q3", "q4", "q5")


def _by_group(m, pop, debt: np.ndarray) -> dict[str, float]:
    """Who is affected: the month's outcomes by risk segment and by income quintile (q1 =
    poorest fifth at the start). ``excluded_<g>``: share of the group's applicants who got
    nothing this month; ``debt_<g>``: open debt the group owes, RMB."""
    out: dict[str, float] = {}
    groups = (
        (RISK_SEGMENTS, pop.risk_segment, m.apps, m.approved, m.orig_by_segment,
         m.apr_by_segment, m.defaults_by_segment),
        (QUINTILES, pop.income_quintile, m.apps_q, m.approved_q, m.orig_by_quintile,
         m.apr_by_quintile, m.defaults_by_quintile),
    )
    for names, gid, apps, won, orig, apr_w, defaults in groups:
        k = len(names)
        applied = np.bincount(gid[m.applied], minlength=k)
        shut_out = np.bincount(gid[m.applied & ~m.granted_any], minlength=k)
        owed = np.bincount(gid, weights=debt, minlength=k)
        for i, g in enumerate(names):
            out[f"approval_rate_{g}"] = _share(won[i], apps[i])
            out[f"applications_{g}"] = int(apps[i])
            out[f"new_loans_{g}"] = int(won[i])
            out[f"originations_{g}"] = float(orig[i])
            out[f"avg_apr_{g}"] = float(apr_w[i] / orig[i]) if orig[i] > 0 else np.nan
            out[f"defaults_{g}"] = int(defaults[i])
            out[f"excluded_{g}"] = _share(shut_out[i], applied[i])
            out[f"debt_{g}"] = float(owed[i])
    return out


def pad_platforms(arr, n):
    """Per-platform counters (one row per platform), with zeros for a platform that entered
    this month."""
    return np.concatenate([arr, np.zeros((n - len(arr),) + np.shape(arr)[1:])])


def build_tables(model) -> dict[str, pd.DataFrame]:
    r = model.records
    tables = {
        "model": pd.DataFrame(r["model"]),
        "platforms": pd.DataFrame(r["platforms"]),
        "banks": pd.DataFrame(r["banks"]),
        "events": pd.DataFrame(r["events"], columns=list(EVENT_COLUMNS)),
        "validation": pd.DataFrame(r["validation"], columns=list(VALIDATION_COLUMNS)),
    }
    if r["borrowers"]:
        tables["borrowers"] = pd.concat(r["borrowers"], ignore_index=True)
    cascades = list(model.cascades)
    if model.cascade is not None:  # still spreading when the run stopped
        tables["events"] = pd.concat(
            [tables["events"], pd.DataFrame([model.cascade.event(ongoing=True)])],
            ignore_index=True)
        cascades.append(cascade_row(model.cascade, ongoing=True))
    tables["cascades"] = pd.DataFrame(cascades, columns=list(CASCADE_COLUMNS))
    # a cascade is logged when it ends, under the step it started: keep the log in step order
    tables["events"] = tables["events"].sort_values("step", kind="stable", ignore_index=True)
    return tables


def cascade_row(c, ongoing: bool) -> dict:
    """A row of the cascades table for cascade ``c``."""
    n_plat = sum(1 for f in c.failures if f[1] == "platform")
    n_bank = sum(1 for f in c.failures if f[1] == "bank")  # size counts guarantors too
    return {"start_step": c.start_step, "trigger": c.trigger, "size": c.size,
            "n_platforms": n_plat, "n_banks": n_bank, "duration": c.duration,
            "channels": ",".join(c.channels()), "is_ongoing": ongoing}


class TableCollector:
    """Mesa's ``DataCollector`` interface over lendsim's output tables (``model.datacollector``),
    so that ``mesa.batch_run`` and Mesa's tools read lendsim's model table.

    ``model_vars[column][k]`` is the value after ``k`` months, as Mesa's convention has it
    (index 0 is the state before the first month: lendsim records no row for it, so it is
    NaN). There are no agent reporters: per-platform and per-bank rows are in
    ``model.tables()``.
    """

    agent_reporters: dict = {}
    agenttype_reporters: dict = {}
    _agent_records: dict = {}
    _agenttype_records: dict = {}  # (Mesa 3.5)

    def __init__(self, model):
        self._model = model

    @property
    def _collection_steps(self) -> list[int]:
        """The months ``model_vars`` holds, 0 first (Mesa 3.5 reads this)."""
        return [0] + [r["step"] for r in self._model.records["model"]]

    @property
    def model_vars(self) -> dict[str, list]:
        rows = self._model.records["model"]
        columns = list(rows[0]) if rows else list(MODEL_COLUMNS)
        return {c: [np.nan] + [r[c] for r in rows] for c in columns}

    def get_model_vars_dataframe(self) -> pd.DataFrame:
        """The model table, one row per month (Mesa's name for it)."""
        return pd.DataFrame(self._model.records["model"])

    def get_agent_vars_dataframe(self) -> pd.DataFrame:
        """The platforms table, one row per platform and month."""
        return pd.DataFrame(self._model.records["platforms"])


def check_invariants(model, rtol: float = 1e-9) -> None:
    """Assert the accounting identities; raise :class:`InvariantError` naming the first that
    fails.

    1. What borrowers owe equals what platforms and banks hold against them, in total and for
       every funder (flow-updated holdings = share of open balances by funding pool).
    2. For every platform, bank and guarantor: assets = liabilities + equity.
    3. No NaN or inf in balances, cash, or balance sheets; no negative balance or cash.
    4. The month's closing tallies of the book, which the phases after compaction share,
       are the book's at the month's end (no phase changed a loan after they were taken).
    """
    L, pools = model.loans, model.pools
    is_open = L.is_open()
    cb = model.month.closing_book
    if cb is not None and cb.n_platforms == len(model.platforms):
        now = ClosingBook(L, cb.n_platforms)
        same = (np.array_equal(now.is_open, cb.is_open)
                and all(np.array_equal(a, b) for a, b in zip(now.by_platform, cb.by_platform))
                and (cb._sums is None or now.sums() == cb._sums))
        if not same:
            raise InvariantError(f"step {model.t}: a loan changed after the month's closing "
                                 "tallies were taken")
    owed = float(model.borrower_debt().sum())
    held_p = np.array([pl.loans_held for pl in model.platforms])
    held_b = np.array([bk.joint_loans for bk in model.banks])
    scale = max(owed, 1.0)
    if not np.isfinite(held_p).all() or not np.isfinite(held_b).all():
        raise InvariantError("non-finite loan holdings")
    if abs(owed - held_p.sum() - held_b.sum()) > rtol * scale + 1e-6:
        raise InvariantError(f"step {model.t}: borrowers owe {owed:.6f} but lenders hold "
                             f"{held_p.sum() + held_b.sum():.6f}")
    by_pool = np.bincount(L.pool_idx[is_open], weights=L.balance[is_open], minlength=pools.n)
    exp_p, exp_b = pools.split(by_pool, len(model.platforms))
    for name, got, exp in (("platform", held_p, exp_p), ("bank", held_b, exp_b)):
        bad = np.flatnonzero(np.abs(got - exp) > rtol * scale + 1e-6)
        if len(bad):
            i = bad[0]
            raise InvariantError(f"step {model.t}: {name} {i} holds {got[i]:.6f} by its "
                                 f"books but {exp[i]:.6f} by the loan book")
    shares = pools.platform_share + pools.bank_shares.sum(axis=1)
    if len(shares) and not np.allclose(shares, 1.0, rtol=0, atol=1e-12):
        raise InvariantError("funding shares of a pool do not add up to 1")
    for kind, agents in (("platform", model.platforms), ("bank", model.banks),
                         ("guarantor", model.guarantors)):
        for a in agents:
            size = max(abs(a.equity), abs(a.cash), 1.0) + getattr(a, "other_loans", 0.0)
            gap = a.balance_gap()
            if not np.isfinite(gap) or abs(gap) > rtol * (size + scale) + 1e-6:
                raise InvariantError(f"step {model.t}: {kind} {a.idx}: assets - "
                                     f"liabilities - equity = {gap:.6g}")
            if a.cash < -1e-6:
                raise InvariantError(f"step {model.t}: {kind} {a.idx} has cash {a.cash}")
    pop = model.population
    for name in ("cash", "income", "need"):
        arr = getattr(pop, name)
        if not np.isfinite(arr).all():
            raise InvariantError(f"step {model.t}: non-finite borrower {name}")
    if (pop.cash < -1e-6).any():
        raise InvariantError(f"step {model.t}: negative borrower cash")
    if not np.isfinite(L.balance).all() or (L.balance < -1e-6).any():
        raise InvariantError(f"step {model.t}: loan balances negative or non-finite")
