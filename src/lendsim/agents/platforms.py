"""Lending platforms: balance sheet, scoring model, pricing strategy, failure.

References:
    DESIGN.md, "Agents: Platform" and behaviour sketches "Platform scoring", "Pricing and
    rationing", "Entry and exit"; CALIBRATION.md, "Market structure".
"""

from __future__ import annotations

from collections import deque

import mesa
import numpy as np

from lendsim.agents.rules import scoring
from lendsim.simulation.ledger import N_FEATURES
from lendsim.simulation.params import PlatformParams, PlatformTypeParams, RegulatorParams

#: Features a platform sees, in order (N_FEATURES columns).
FEATURES = ("intercept", "risk_signal", "log_income", "is_employed", "own_debt_income",
            "bureau_debt_income", "bureau_lenders", "is_bureau_covered")
#: Scoring model a new platform starts with (lifetime PD logit), before it has data.
PRIOR_COEF = np.array([-3.2, 0.8, -0.5, -1.0, 2.0, 2.0, 0.3, 0.0])
assert len(FEATURES) == N_FEATURES == len(PRIOR_COEF)


class Platform(mesa.Agent):
    """A lending platform of one type (embedded, micro_lender, consumer_finance).

    Balance sheet (RMB): assets ``cash + loans_held - allowance``; liabilities ``debt``
    (wholesale funding of its own share) and ``retail_funds`` (P2P-style investors' money,
    withdrawable); ``equity``. Every month's flows are posted to both
    sides, so ``assets = debt + equity`` holds exactly (checked by ``balance_gap``).
    """

    def __init__(self, model, idx: int, kind: str, tp: PlatformTypeParams, equity: float,
                 pp: PlatformParams):
        super().__init__(model)
        self.idx = idx
        self.kind = kind
        self.tp = tp
        self.is_active = True
        self.failed_step: int | None = None
        self.retail_funds = float(equity) * tp.retail_funding
        self.cash = float(equity) + self.retail_funds
        self.loans_held = 0.0
        self.allowance = 0.0
        self.debt = 0.0
        self.equity = float(equity)
        self.initial_equity = float(equity)
        self.margin = tp.margin
        self.pd_cutoff = tp.pd_cutoff
        self.reputation = 1.0  # 0..1, lowered by failures of its type and incidents
        self.outage_step = -1  # step of an outage: no lending that month
        # regulator: no new lending until leverage is at or below this target (None: no order)
        self.deleverage_order: float | None = None
        self.suspended_until = 0  # regulator: no lending up to and including this step
        self.is_resolved = False  # failed, and handed to a resolver by the regulator
        self.last_delinquency_30 = 0.0
        self.coef = PRIOR_COEF.copy()
        self._X = np.zeros((pp.training_window, N_FEATURES), dtype=np.float32)
        self._y = np.zeros(pp.training_window, dtype=np.int8)
        self._w = np.ones(pp.training_window, dtype=np.float32)  # frequency weights
        self._n_seen = 0  # matured loans seen since start (ring-buffer position)
        self._n_at_fit = 0
        self.auc = np.nan
        self.ks = np.nan
        self.months_unfunded = 0
        self.roe_history: deque[float] = deque(maxlen=12)
        self.posted_apr = tp.funding_spread + tp.operating_cost + tp.margin + 0.05

    # --- limits under the regulator's rules -------------------------------------------------
    def own_share(self, reg: RegulatorParams) -> float:
        return max(self.tp.own_share, reg.joint_lending_min_share)

    def leverage_limit(self, reg: RegulatorParams) -> float:
        """Own loans / equity allowed: the type's appetite, the regulator's overall limit, and
        equity plus the borrowing and bond/ABS limits (each a multiple of net assets)."""
        funded = 1.0 + reg.platform_borrowing_limit + reg.platform_abs_limit
        return min(self.tp.max_leverage, reg.platform_leverage_limit, funded)

    def own_capacity(self, reg: RegulatorParams) -> float:
        """New own-share lending allowed this month by the leverage limit, RMB."""
        if not self.is_active or self.equity <= 0:
            return 0.0
        if self.deleverage_order is not None:
            if self.leverage() <= self.deleverage_order:
                self.deleverage_order = None  # back within the target: order lifted
            else:
                return 0.0
        return max(self.leverage_limit(reg) * self.equity - self.loans_held, 0.0)

    def leverage(self) -> float:
        return self.loans_held / self.equity if self.equity > 0 else np.inf

    # --- scoring ------------------------------------------------------------------------------
    def noise_sd(self, pp: PlatformParams) -> float:
        """Sd of the noise on this platform's risk signal: falls with technology level."""
        return pp.scoring_noise * (1.0 - self.tp.tech_level)

    def learn(self, X: np.ndarray, y: np.ndarray, weight: float = 1.0) -> None:
        """Keep matured loans (features at origination, 1 = defaulted) for the next refit;
        ``weight`` is how many matured loans each one stands for."""
        w = len(self._y)
        for start in range(0, len(y), w):  # chunks no longer than the ring buffer
            xs, ys = X[start:start + w], y[start:start + w]
            pos = (self._n_seen + np.arange(len(ys))) % w
            self._X[pos] = xs
            self._y[pos] = ys
            self._w[pos] = weight
            self._n_seen += len(ys)

    def retrain(self, pp: PlatformParams) -> None:
        """Score the loans matured since the last refit with the current model (out-of-sample
        AUC and KS), then refit the logistic model on the whole window."""
        w = len(self._y)
        n = min(self._n_seen, w)
        if n < pp.min_training:
            return
        new = min(self._n_seen - self._n_at_fit, w)
        if new >= 50:
            pos = (self._n_seen - 1 - np.arange(new)) % w
            s = scoring.predict_pd(self._X[pos].astype(float), self.coef)
            yy = self._y[pos]
            if 0 < yy.sum() < len(yy):
                self.auc, self.ks = scoring.discrimination(s, yy)
        X, y = self._X[:n].astype(float), self._y[:n].astype(float)
        if 0 < y.sum() < n:
            self.coef = scoring.fit_logistic(X, y, l2=1.0, coef0=self.coef, gtol=1e-5,
                                             sample_weight=self._w[:n].astype(float))
        self._n_at_fit = self._n_seen

    # --- strategy -----------------------------------------------------------------------------
    def adapt(self, market_share: float, target_share: float, delinquency_30: float,
              pp: PlatformParams) -> None:
        """Competition: margin rises with market share above target and with delinquency above
        the tolerated level, and is pulled back toward the type's margin; the cut-off tightens when delinquency is high and relaxes back
        toward the type's appetite otherwise."""
        excess = delinquency_30 - self.tp.delinquency_target
        dm = (pp.margin_speed * (market_share - target_share) + pp.loss_speed * max(excess, 0.0)
              + pp.margin_reversion * (self.tp.margin - self.margin))
        self.margin = float(np.clip(self.margin + dm, pp.min_margin, pp.max_margin))
        if excess > 0:
            self.pd_cutoff *= 1.0 - pp.cutoff_speed
        else:
            self.pd_cutoff = min(self.pd_cutoff * (1.0 + pp.cutoff_speed / 2), self.tp.pd_cutoff)

    def fail(self, step: int) -> None:
        self.is_active = False
        self.failed_step = step
        self.reputation = 0.0

    def retail_flows(self, cp) -> tuple[float, float]:
        """Retail investors' net withdrawal this month and the cost of meeting it, RMB.

        In normal times ``retail_base_withdrawal`` of the funds leave and as much comes back
        (scaled by reputation); on bad news (lost reputation) another
        ``retail_run_sensitivity x (1 - reputation)`` leaves: a run. What cash cannot meet is
        raised at ``run_penalty`` per RMB (fire sale, emergency funding).

        References:
            CALIBRATION.md, P2P platforms: runs spread between platforms through news
            (Cheng, Leite & Caldieraro 2022).
        """
        if self.retail_funds <= 0 or not self.is_active:
            return 0.0, 0.0
        lost = 1.0 - self.reputation if cp.reputation else 0.0
        rep = 1.0 - lost
        out = self.retail_funds * min(cp.retail_base_withdrawal + cp.retail_run_sensitivity
                                      * lost, 1.0)
        net = out - self.retail_funds * cp.retail_base_withdrawal * rep
        cost = cp.run_penalty * max(net - max(self.cash, 0.0), 0.0)
        self.retail_funds -= net
        self.cash -= net + cost
        self.equity -= cost
        return net, cost

    # --- accounting ---------------------------------------------------------------------------
    def balance_gap(self) -> float:
        """assets - liabilities - equity; zero up to rounding."""
        return (self.cash + self.loans_held - self.allowance - self.debt - self.retail_funds
                - self.equity)

    def settle_cash(self) -> None:
        """Borrow to cover a cash shortfall; repay debt from surplus cash."""
        if self.cash < 0:
            self.debt -= self.cash
            self.cash = 0.0
        elif self.debt > 0:
            r = min(self.cash, self.debt)
            self.cash -= r
            self.debt -= r
