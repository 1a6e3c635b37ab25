"""The loan book as arrays, and funding pools that split every loan between its funders.

Each loan belongs to one funding *pool*: the loans a platform originated in one month share
one split of funding between the platform (``platform_share``) and its partner banks
(``bank_shares``; the row sums to 1 with the platform's share). A funder's holding of any loan
is its share of the loan's balance, and losses are shared in the same proportion (joint
lending). Flows (originations, interest, payments, charge-offs, recoveries) are summed per pool
during a month and posted to the funders' balance sheets once, in the accounting phase.

References:
    docs/ODD.md, 7.4 (funding) and section 3 (the monthly cycle); docs/calibration.md, 2.1,
    joint lending (~2 % platform share, ~98 % funded by ~100 partner banks).
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np

from lendsim import kernels
from lendsim.simulation.features import FEATURES, N_FEATURES

FLOW_KINDS = ("originated", "interest", "paid", "charged_off", "recovered")


class LoanStatus(IntEnum):
    """Life cycle of a loan. 30+ days past due = one missed month, 90+ = three."""

    CURRENT = 0
    DELINQUENT = 1  # one or two payments behind
    DEFAULTED = 2  # default_after_missed missed instalments; no more interest accrues
    CHARGED_OFF = 3
    REPAID = 4


class MissCause(IntEnum):
    """Why a loan's latest instalment was missed; a defaulted loan's credit loss is attributed
    to the contagion channel of this cause (docs/ODD.md, 7.17)."""

    FUNDAMENTAL = 0  # could not pay (or chose not to, for reasons of its own)
    SOCIAL = 1  # would have paid but for defaulted contacts
    PLATFORM_FAILURE = 2  # walked away from a failed lender


# the index fields are as narrow as their ranges allow (borrowers < 2^31, platforms.max_n <=
# 1000, pools < 2^31): 14 bytes a loan fewer than intp, on a book of ~10^7 loans at 10^6
# borrowers. numpy casts narrower index arrays on every gather and scatter, so hot paths
# cast a gathered column to intp once (repayment's borrowers). So are the counts, by the
# bounds the parameters' checks set (5 bytes a loan fewer than int16/int32): a term and the
# instalments left <= 60 months (``platforms.<type>.term_months``), payments behind <= 61
# (a loan is charged off the month it is ``chargeoff_after_missed`` <= 60 behind, or
# defaults at ``default_after_missed`` <= 24), and the month booked within -600..10,000
# (``simulation.burn_in``, ``simulation.steps``); :meth:`LoanBook.add` refuses loans
# outside those ranges
_FIELDS = {
    "borrower_idx": np.int32, "platform_idx": np.int16, "pool_idx": np.int32,
    "principal": np.float64, "balance": np.float64, "apr": np.float64,
    "instalment": np.float64, "arrears": np.float64, "term": np.int8,
    "months_left": np.int8,
    "n_missed": np.int8, "status": np.int8, "origination_step": np.int16,
    "is_refinance": np.bool_, "cause": np.int8, "miss_bits": np.uint8,
}


# Loan features kept in fewer bytes, exactly (17 of a base row's 40 bytes; a book holds ~10^7
# loans at 10^6 borrowers): the four 0/1 features (the intercept is always 1) are bits of one
# byte, the bureau's count of lenders an int16; the rest stay float32.
_BIT_FEATURES = tuple(FEATURES.index(f) for f in ("intercept", "is_employed",
                                                  "is_bureau_covered", "arrears_seen"))
_COUNT_FEATURE = FEATURES.index("bureau_lenders")
_BIT_COLS = np.array(_BIT_FEATURES, dtype=np.intp)


def _float_columns(n_features: int) -> np.ndarray:
    small = {_COUNT_FEATURE, *_BIT_FEATURES}
    return np.array([j for j in range(n_features) if j not in small], dtype=np.intp)


def put_rows(arr: np.ndarray, rows: np.ndarray, values: np.ndarray) -> None:
    """``arr[rows] = values`` for a C-contiguous 2-D array (such as loan features).

    Writes each row as one opaque item of a 1-D view; numpy scatters those several times
    faster than rows of a 2-D array.
    """
    item = np.dtype((np.void, arr.shape[1] * arr.itemsize))
    values = np.ascontiguousarray(values, dtype=arr.dtype)
    arr.view(item)[:, 0][rows] = values.view(item)[:, 0]


class LoanBook:
    """Struct of arrays, one row per loan; closed loans are dropped by :meth:`compact`.

    Attributes mirror ``_FIELDS`` (``arrears``: what earlier months' payments left unpaid,
    RMB, part of ``balance``; ``n_missed``: payments behind, docs/ODD.md 7.10; ``miss_bits``:
    bills missed or part paid, one bit a month, bit 0 the latest, 7.21).

    The features a loan's lender saw at origination (``N_FEATURES``, more with alternative
    data) are kept to train the lender's scoring model when the loan matures, for a
    systematic sample of the loans: numbering the loans 0, 1, ... in the order booked
    (across calls of :meth:`add`), those whose number is a multiple of ``keep_every`` when
    they are booked, each standing for ``keep_every`` loans (:meth:`sample_weight`).
    ``keep_every`` is 1 (every loan) unless the model sets it: lenders train on a window of
    a few thousand matured loans each, so a market that books far more than that a month
    needs the features of only a share of its loans (docs/ODD.md 7.10, *Training sample*).
    :meth:`feature_rows` gives a sampled loan's features back as float32 rows, exactly as
    booked (``features``: those of every loan, when every loan is sampled).
    """

    def __init__(self, capacity: int = 1024, n_features: int = N_FEATURES):
        self.n = 0
        self._cap = capacity
        self.n_features = n_features
        self._float_cols = _float_columns(n_features)
        for name, dt in _FIELDS.items():
            setattr(self, "_" + name, np.zeros(capacity, dtype=dt))
        self.keep_every = 1
        self.n_booked = 0  # loans ever booked: the sample's count runs across calls of add
        self.booked_before_month = 0  # n_booked when the month began (platforms adapt)
        # the sample: book rows (ascending), weights and compact features
        self.ns = 0
        self._scap = capacity
        self._srow = np.zeros(capacity, dtype=np.int32)  # book rows < 2^31
        self._sweight = np.zeros(capacity, dtype=np.int32)
        self._ffloat = np.zeros((capacity, len(self._float_cols)), dtype=np.float32)
        self._fbits = np.zeros(capacity, dtype=np.uint8)
        self._fcount = np.zeros(capacity, dtype=np.int16)

    def __getattr__(self, name):  # views of the used part: book.balance, book.status, ...
        if name in _FIELDS:
            return self.__dict__["_" + name][: self.n]
        if name == "features":
            return self.feature_rows(np.arange(self.n))
        raise AttributeError(name)

    def _sample_pos(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Positions in the sample of book rows ``rows``, and which of them are sampled."""
        return kernels.sample_positions(self._srow[: self.ns], rows)

    def is_sampled(self, rows: np.ndarray) -> np.ndarray:
        """Whether the features of loans ``rows`` were kept (boolean array)."""
        return self._sample_pos(np.asarray(rows, dtype=np.int64))[1]

    def sample_weight(self, rows: np.ndarray) -> np.ndarray:
        """How many loans each of the sampled loans ``rows`` stands for (``keep_every``
        when it was booked), int array."""
        pos, ok = self._sample_pos(np.asarray(rows, dtype=np.int64))
        if not ok.all():
            raise KeyError("sample_weight: some loans' features were not kept")
        return self._sweight[pos]

    def feature_rows(self, rows: np.ndarray) -> np.ndarray:
        """The features of sampled loans ``rows`` as booked: array (len(rows), n_features),
        float32."""
        return self.training_rows(rows)[0]

    def training_rows(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The features of sampled loans ``rows`` (:meth:`feature_rows`) and their sample
        weights (:meth:`sample_weight`), from one search of the sample."""
        pos, ok = self._sample_pos(np.asarray(rows, dtype=np.int64))
        if not ok.all():
            raise KeyError(f"feature_rows: the features of {int((~ok).sum())} of these loans "
                           f"were not kept (the book keeps every {self.keep_every}-th)")
        X = np.empty((len(pos), self.n_features), dtype=np.float32)
        X[:, self._float_cols] = np.take(self._ffloat, pos, axis=0)
        bits = self._fbits[pos]
        for k, j in enumerate(_BIT_FEATURES):
            X[:, j] = (bits >> k) & 1
        X[:, _COUNT_FEATURE] = self._fcount[pos]
        return X, self._sweight[pos]

    def _put_features(self, start: int, X: np.ndarray) -> None:
        """Store features ``X`` (k, n_features) from sample row ``start``; refuse any the
        compact columns would not give back exactly (a feature's definition changed: change
        the layout)."""
        X = np.ascontiguousarray(X, dtype=np.float32)
        if not kernels.pack_features(X, self._float_cols, _BIT_COLS, _COUNT_FEATURE,
                                     self._ffloat, self._fbits, self._fcount, start):
            raise ValueError("loan features: intercept, is_employed, is_bureau_covered and "
                             "arrears_seen must be 0 or 1, bureau_lenders a whole number "
                             "in -32768..32767 (LoanBook keeps them as bits and an int16)")

    def _grow(self, extra: int) -> None:
        need = self.n + extra
        if need <= self._cap:
            return
        self._cap = _grow_columns(self.__dict__, ["_" + f for f in _FIELDS], self.n, need,
                                  self._cap)

    def _grow_sample(self, extra: int) -> None:
        need = self.ns + extra
        if need <= self._scap:
            return
        self._scap = _grow_columns(self.__dict__, ["_srow", "_sweight", "_ffloat", "_fbits",
                                                   "_fcount"], self.ns, need, self._scap)

    def add(self, *, borrower_idx, platform_idx, pool_idx, principal, apr, instalment, term,
            step, is_refinance, features) -> np.ndarray:
        """Book new loans; returns their row indices. The features of every
        ``keep_every``-th loan booked are kept (all of them by default)."""
        k = len(principal)
        if k == 0:
            return np.zeros(0, dtype=np.int64)
        _check_fits("step", step, "origination_step")
        _check_fits("term", term, "term")
        every = self.keep_every
        pick = np.arange((-self.n_booked) % every, k, every)
        self._grow_sample(len(pick))
        # checked before anything is booked: a refused row leaves the book as it was
        self._put_features(self.ns, np.asarray(features)[pick] if every > 1 else features)
        self._srow[self.ns: self.ns + len(pick)] = self.n + pick
        self._sweight[self.ns: self.ns + len(pick)] = every
        self.ns += len(pick)
        self.n_booked += k
        self._grow(k)
        s = slice(self.n, self.n + k)
        d = self.__dict__
        d["_borrower_idx"][s] = borrower_idx
        d["_platform_idx"][s] = platform_idx
        d["_pool_idx"][s] = pool_idx
        d["_principal"][s] = principal
        d["_balance"][s] = principal
        d["_apr"][s] = apr
        d["_instalment"][s] = instalment
        d["_term"][s] = term
        d["_months_left"][s] = term
        d["_n_missed"][s] = 0
        d["_arrears"][s] = 0.0
        d["_status"][s] = LoanStatus.CURRENT
        d["_origination_step"][s] = step
        d["_is_refinance"][s] = is_refinance
        d["_cause"][s] = MissCause.FUNDAMENTAL
        d["_miss_bits"][s] = 0
        self.n += k
        return np.arange(s.start, s.stop)

    def is_open(self) -> np.ndarray:
        """Loans still owed (current, delinquent or defaulted and not yet charged off)."""
        return self.status <= LoanStatus.DEFAULTED

    def compact(self) -> int:
        """Drop closed loans (repaid or charged off); their flows are already posted. The
        open loans keep their order, and the sampled ones their features. Returns the number
        of rows dropped."""
        d = self.__dict__
        status = d["_status"][: self.n]
        # the sample first, while the book's rows still have their old status
        self.ns = kernels.compact_sample(status, d["_srow"][: self.ns], d["_sweight"],
                                         d["_ffloat"], d["_fbits"], d["_fcount"])
        by_size: dict[int, list] = {}
        for name in _FIELDS:
            col = _as_uint(d["_" + name])
            by_size.setdefault(col.itemsize, []).append(col)
        # each pass reads the status; the pass that moves the status column goes last
        m = None
        for size in sorted(by_size, key=lambda k: k == status.itemsize):
            moved = kernels.move_open_rows(tuple(by_size[size]), status)
            assert m is None or moved == m
            m = moved
        dropped, self.n = self.n - m, m
        return dropped

    def balance_by(self, key: np.ndarray, minlength: int, mask: np.ndarray | None = None
                   ) -> np.ndarray:
        """Sum of open balances grouped by an index array over loans."""
        m = self.is_open() if mask is None else mask
        return kernels.grouped_sum(key, self.balance, m, minlength)


#: the range of each integer column of the book
_RANGES = {k: (int(np.iinfo(v).min), int(np.iinfo(v).max)) for k, v in _FIELDS.items()
           if np.dtype(v).kind in "iu"}


def _check_fits(name: str, values, column: str) -> None:
    """Refuse loans whose ``name`` (a number or an array) does not fit the book's integer
    ``column`` (the parameters' checks keep a model's loans well inside; this catches a
    caller that does not)."""
    lo, hi = _RANGES[column]
    if np.ndim(values) == 0:
        low = high = int(values)
    else:
        low, high = int(np.min(values)), int(np.max(values))
    if low < lo or high > hi:
        raise ValueError(f"loan {name}: {low}..{high} does not fit the book's "
                         f"{np.dtype(_FIELDS[column]).name} column ({lo}..{hi})")


def _grow_columns(d: dict, names: list[str], used: int, need: int, cap: int) -> int:
    """Reallocate the columns ``names`` of ``d`` (rows first) with room for ``need`` rows,
    keeping the first ``used``; returns the new capacity."""
    cap = max(need, int(1.5 * cap))  # old and new arrays coexist while copying
    for name in names:
        old = d[name]
        new = np.zeros((cap,) + old.shape[1:], dtype=old.dtype)
        new[:used] = old[:used]
        d[name] = new
    return cap


#: unsigned integers of each item size: compaction moves every field as raw items, so one
#: compiled loop per size serves every dtype
_UINT = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}


def _as_uint(arr: np.ndarray) -> np.ndarray:
    """An unsigned-integer view of a 1-D field's whole array, item for item."""
    return arr.view(_UINT[arr.itemsize])


class FundingPools:
    """Funding splits: pool -> (platform, platform share, bank shares); plus monthly flows."""

    def __init__(self, n_banks: int, capacity: int = 256):
        self.n = 0
        self.n_banks = n_banks
        self._platform_idx = np.zeros(capacity, dtype=np.int32)
        self._platform_share = np.zeros(capacity)
        self._bank_shares = np.zeros((capacity, n_banks))
        self._fee_rate = np.zeros(capacity)
        self.flows = {k: np.zeros(capacity) for k in FLOW_KINDS}

    @property
    def platform_idx(self):
        return self._platform_idx[: self.n]

    @property
    def platform_share(self):
        return self._platform_share[: self.n]

    @property
    def bank_shares(self):
        return self._bank_shares[: self.n]

    @property
    def fee_rate(self):
        """The servicing fee the banks pay the platform on their performing share of each
        pool, annual (writable: accounting sets it once the month's loans are known)."""
        return self._fee_rate[: self.n]

    def add(self, platform_idx: int, platform_share: float, bank_shares: np.ndarray,
            fee_rate: float = 0.0) -> int:
        """Register a split; ``platform_share + bank_shares.sum()`` must be 1."""
        if self.n == len(self._platform_idx):
            cap = 2 * self.n
            self._platform_idx = np.resize(self._platform_idx, cap)
            self._platform_share = np.resize(self._platform_share, cap)
            self._fee_rate = np.resize(self._fee_rate, cap)
            bs = np.zeros((cap, self.n_banks))
            bs[: self.n] = self._bank_shares
            self._bank_shares = bs
            for k in FLOW_KINDS:
                f = np.zeros(cap)
                f[: self.n] = self.flows[k][: self.n]
                self.flows[k] = f
        i = self.n
        self._platform_idx[i] = platform_idx
        self._platform_share[i] = platform_share
        self._bank_shares[i] = bank_shares
        self._fee_rate[i] = fee_rate
        self.n += 1
        return i

    def record(self, kind: str, pool_idx: np.ndarray, amount: np.ndarray) -> None:
        """Add loan-level amounts to this month's flows of their pools."""
        if len(pool_idx):
            self.add_sums(kind, np.bincount(pool_idx, weights=amount, minlength=self.n))

    def add_sums(self, kind: str, per_pool: np.ndarray) -> None:
        """Add amounts already summed per pool (RMB, one per pool) to this month's flows."""
        self.flows[kind][: self.n] += per_pool

    def take_flows(self) -> dict[str, np.ndarray]:
        """This month's flows per pool, and reset them."""
        out = {k: v[: self.n].copy() for k, v in self.flows.items()}
        for v in self.flows.values():
            v[: self.n] = 0.0
        return out

    def split(self, per_pool: np.ndarray, n_platforms: int) -> tuple[np.ndarray, np.ndarray]:
        """Split per-pool amounts into (per-platform own share, per-bank share)."""
        plat = np.bincount(self.platform_idx, weights=per_pool * self.platform_share,
                           minlength=n_platforms)
        return plat, per_pool @ self.bank_shares

    def bank_by_platform(self, per_pool: np.ndarray, n_platforms: int) -> np.ndarray:
        """Banks' shares of per-pool amounts, grouped by platform: array (n_platforms, n_banks)."""
        return kernels.sum_by_platform_and_bank(self.platform_idx, per_pool, self.bank_shares,
                                                n_platforms)
