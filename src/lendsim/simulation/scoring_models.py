"""Scoring models: how a platform turns what it sees of an applicant into a probability of
default, chosen by name per platform type (``platforms.<type>.scoring``).

Three families, as the credit-scoring literature and practitioners' accounts name them:

- ``logistic`` (the default): a logistic scorecard refitted under a Gaussian prior centred on
  the scorecard every platform starts with (:meth:`Logistic.fit`); needs nothing beyond numpy
  and scipy;
- ``trees``: gradient-boosted decision trees (scikit-learn's
  ``HistGradientBoostingClassifier``);
- ``neural_net``: a small feed-forward neural network on standardised features
  (scikit-learn's ``MLPClassifier``).

The last two need the ``risk`` extra (``pip install 'lendsim[risk]'``); a scenario that names
one without it stops, before the run, with a one-line message naming the extra.

A scoring model is a strategy (:mod:`lendsim.simulation.strategies`) and, like every strategy,
holds no state: :meth:`ScoringModel.fit` returns the fitted model, which lives on the platform,
and :meth:`ScoringModel.predict` reads it. Until its first refit a platform of any family
scores with the prior scorecard (``lendsim.simulation.features.PRIOR_COEF``): a new lender
starts from a generic scorecard and replaces it once its own loans have matured.

Tree and network fits take a ``random_state`` drawn from the model's one random generator at
each refit, so the same seed gives the same numbers; a run where every platform is logistic
draws nothing for scoring.

References:
    Thomas, Edelman & Crook (2002), *Credit Scoring and Its Applications*, ch. 4-5 (logistic
    regression, classification trees and neural networks for scoring; validation on a holdout
    sample); Khandani, Kim & Lo (2010), "Consumer credit-risk models via machine-learning
    algorithms", J. Banking & Finance 34(11), 2767-2787 (boosted trees on a lender's own
    account data); Lessmann, Baesens, Seow & Thomas (2015), "Benchmarking state-of-the-art
    classification algorithms for credit scoring: An update of research", European Journal of
    Operational Research 247(1), 124-136 (ensembles of trees and neural networks against
    logistic regression); Friedman (2001), Ann. Statist. 29(5), 1189-1232 (gradient boosting).
"""

from __future__ import annotations

import warnings
from typing import Any, ClassVar

import numpy as np

from lendsim.agents.rules import scoring
from lendsim.extras import require
from lendsim.simulation import strategies
from lendsim.simulation.features import prior_coef

#: Sd of the independent part of every logistic refit's prior on each coefficient, logit
#: units (Gelman, Jakulin, Pittau & Su 2008 recommend a scale of 2.5 for inputs of unit scale).
WEAK_PRIOR_SD = 2.5


class ScoringModel(strategies.Strategy):
    """How a platform estimates each applicant's lifetime probability of default.

    ``fit`` is called at each refit, on the platform's matured loans; ``predict`` once a
    round for the applicants at the platform. A subclass that needs an optional package names
    it in ``requires`` as ``(module, extra)``.
    """

    kind = "scoring"
    #: ``(module, extra)`` the model needs, or None
    requires: ClassVar[tuple[str, str] | None] = None
    #: whether a row's prediction is the same whatever rows are predicted with it (to the
    #: last bit); underwriting then scores applicants in blocks (``underwriting.assess``)
    row_exact: ClassVar[bool] = True

    def check_available(self, where: str) -> None:
        """Raise :class:`lendsim.extras.MissingExtraError` (one line naming the extra) when
        the package this model needs is not installed; ``where`` names the setting."""
        if self.requires is not None:
            require(self.requires[0], self.requires[1], where)

    def fit(self, X: np.ndarray, y: np.ndarray, weight: np.ndarray, *, pp, start: Any,
            random_state: int | None) -> Any:
        """The fitted model, or None when the data cannot fit one (a single class).

        Args:
            X: features at origination, (n, n_features), float64.
            y: 1 = defaulted, 0 = repaid.
            weight: frequency weight of each row (matured loans it stands for).
            pp: the platforms' parameters (:class:`lendsim.simulation.params.PlatformParams`).
            start: the platform's current fitted model (a warm start), or None.
            random_state: seed for a model with random initialisation or sampling (None for
                a model that draws nothing).
        """
        raise NotImplementedError

    def predict(self, state: Any, X: np.ndarray) -> np.ndarray:
        """Lifetime probability of default of each row of ``X`` under the fitted ``state``."""
        raise NotImplementedError


@strategies.register
class Logistic(ScoringModel):
    """A logistic scorecard, refitted as the posterior mode under a Gaussian prior (the
    default; its state is the coefficient vector, ``Platform.coef``).

    The prior is centred on the scorecard every platform starts with (``PRIOR_COEF``), worth
    ``platforms.prior_weight`` matured loans (``m``): its precision is ``m`` times the Fisher
    information of one loan of the window where defaults are as common as the window's default
    rate shrunk toward the prior's, ``(defaults + m x prior PD) / (loans + m)``
    (:func:`lendsim.agents.rules.scoring.unit_information` with a ``rate``). So a platform
    learns from its first matured loans whatever their labels (with no default yet its PD falls
    below the prior's as loans mature), and the prior's pull fades as the window fills
    (``m / (m + loans in the window)``, roughly). Two other choices fail where defaults are
    rare: information at the prior's 4 % PD counts a prior of 300 loans as thousands of loans
    at a 0.3 % default rate and holds every estimate far above the realised rate; information
    at the current fit vanishes as a fit nears separation (one-month draws that never default)
    and lets it diverge. An independent prior of sd ``WEAK_PRIOR_SD`` on each coefficient keeps
    a feature that does not vary in the window (the term, when every loan is a draw) at the
    prior's value.

    References:
        Gelman, Jakulin, Pittau & Su (2008), Ann. Appl. Stat. 2(4), 1360-1383 (a prior keeps a
        logistic fit defined with one class or separated data); Kass & Wasserman (1995), J. Am.
        Stat. Assoc. 90, 928-934 (a prior worth a number of observations: the unit-information
        prior); Thomas, Edelman & Crook (2002), ch. 4.
    """

    name = "logistic"

    def fit(self, X, y, weight, *, pp, start, random_state=None):
        m, prior = pp.prior_weight, prior_coef(X.shape[1])
        # one BLAS thread (:func:`_one_thread`): OpenBLAS splits the window's long sums
        # (X' w, X' W X) over its threads, so the coefficients' last bits, and every number
        # of the run after them, would depend on the machine's cores
        with _one_thread():
            prior_pd = np.average(scoring.predict_pd(X, prior), weights=weight)
            rate = (np.dot(weight, y) + m * prior_pd) / (weight.sum() + m)
            precision = (m * scoring.unit_information(X, None, weight, rate=rate)
                         + np.eye(len(prior)) / WEAK_PRIOR_SD ** 2)
            return scoring.fit_logistic(X, y, prior_mean=prior, prior_precision=precision,
                                        coef0=start, gtol=1e-5, sample_weight=weight)

    def predict(self, state, X):
        return scoring.predict_pd(X, state)


_THREADS = None  # threadpoolctl's controller, made once (finding the libraries takes ms)


def _one_thread():
    """A context in which native code (BLAS for the logistic scorecard's Newton steps,
    OpenMP in scikit-learn's models) runs on one thread.

    A fit on a training window of a few thousand loans gains nothing from threads, and with
    every core busy (a sweep runs one model per core) OpenMP threads that wait for each other
    made a tree fit some 50 times slower in our measurements. One thread is also the same
    arithmetic on every machine: OpenBLAS splits a long sum over its threads, so with its
    default (a thread per core) the logistic fit's coefficients differed in the last bit
    between one and two threads, and so did the run's tables after them (the default run,
    2026-12-06). In the default run (10,000 borrowers, 240 months) BLAS's second thread also
    spun for about 9 of its 21 CPU seconds, for no gain in wall time, and a sweep with a worker
    per core took 1.9 times as long (benchmarks/README.md, "One BLAS thread for the fits").
    """
    global _THREADS
    if _THREADS is None:
        from threadpoolctl import ThreadpoolController

        _THREADS = ThreadpoolController()
    return _THREADS.limit(limits=1)


class _Learned(ScoringModel):
    """A scikit-learn classifier (the ``risk`` extra); its state is the fitted estimator.
    Fits and predictions run on one thread (:func:`_one_thread`)."""

    requires = ("sklearn", "risk")

    def estimator(self, random_state: int):
        raise NotImplementedError

    def fit(self, X, y, weight, *, pp, start, random_state):
        self.check_available(f"platforms.<type>.scoring = {self.name!r}")
        y = np.asarray(y, dtype=np.int64)
        if not (0 < y.sum() < len(y)):
            return None  # one class: nothing to learn; the platform keeps its model
        est = self.estimator(random_state)
        with warnings.catch_warnings(), _one_thread():
            # a network stopped at max_iter warns; the cap is a deliberate cost bound
            warnings.simplefilter("ignore")
            return self._fit(est, X, y, weight)

    @staticmethod
    def _fit(est, X, y, weight):
        return est.fit(X, y, sample_weight=weight)

    def predict(self, state, X):
        with _one_thread():
            return state.predict_proba(np.asarray(X, dtype=np.float64))[:, 1]


@strategies.register
class Trees(_Learned):
    """Gradient-boosted decision trees (scikit-learn's ``HistGradientBoostingClassifier``):
    ``TREES`` fixes their size and number; no early stopping (its validation split would draw
    from the data), so the fit is deterministic given ``random_state``.

    References:
        Friedman (2001), Ann. Statist. 29(5), 1189-1232; Khandani, Kim & Lo (2010), J. Banking
        & Finance 34(11), 2767-2787; Lessmann et al. (2015), EJOR 247(1), 124-136.
    """

    name = "trees"
    #: boosting rounds, learning rate, leaves per tree, smallest leaf (rows), L2 on leaf
    #: values, and bins per feature: 32, as scorecard builders coarse-class a characteristic
    #: into a few bands (Thomas, Edelman & Crook 2002, ch. 8); with frequency weights the
    #: bins' weighted quantiles cost most of a fit, about 6 times less than at 255 bins
    TREES = dict(max_iter=100, learning_rate=0.1, max_leaf_nodes=15, min_samples_leaf=40,
                 l2_regularization=1.0, max_bins=32)

    def estimator(self, random_state):
        from sklearn.ensemble import HistGradientBoostingClassifier

        return HistGradientBoostingClassifier(early_stopping=False, random_state=random_state,
                                              **self.TREES)


@strategies.register
class NeuralNet(_Learned):
    """A small feed-forward neural network (two hidden layers of ``HIDDEN`` units, ReLU, an L2
    penalty ``ALPHA``, Adam for at most ``MAX_ITER`` epochs, a bound on its cost) on standardised features
    (scikit-learn's ``MLPClassifier`` after a ``StandardScaler``).

    References:
        Thomas, Edelman & Crook (2002), ch. 5 (neural networks in scoring); Lessmann et al.
        (2015), EJOR 247(1), 124-136.
    """

    name = "neural_net"
    #: a matrix product's blocking, hence the last bit of a row's result, depends on how many
    #: rows it multiplies
    row_exact = False
    HIDDEN = (16, 8)
    ALPHA = 1e-3
    MAX_ITER = 50

    def estimator(self, random_state):
        from sklearn.neural_network import MLPClassifier
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import StandardScaler

        return Pipeline([("scale", StandardScaler()),
                         ("net", MLPClassifier(hidden_layer_sizes=self.HIDDEN, alpha=self.ALPHA,
                                               max_iter=self.MAX_ITER,
                                               random_state=random_state))])

    @staticmethod
    def _fit(est, X, y, weight):
        return est.fit(X, y, net__sample_weight=weight)
