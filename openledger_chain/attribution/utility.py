"""Utilities: the score of a model trained on a subset of the training rows.

Two utilities, both ``U(subset_indices) -> float``:

* :class:`KNNUtility` -- the soft K-nearest-neighbour accuracy for which Jia et al. (2019)'s
  recursion is exact: for each evaluation point, ``(1/K) * #{same-label rows among the
  min(K, |S|) nearest rows of S}``, averaged over evaluation points; ``U(empty) = 0``. Ties in
  distance are broken by row index (stable sort), as in :mod:`.methods.knn_shapley`.
* :class:`KNNRegressionUtility` -- the negative squared error of the unweighted KNN regressor
  (Jia et al., 2019): for each evaluation point with target t, ``-((1/K) * sum of the targets of
  the min(K, |S|) nearest rows of S - t)^2``, averaged; ``U(empty) = -mean(t^2)``. Ties as above.
* :class:`TKNNRegressionUtility` -- the same with the prediction the mean of the targets of the
  rows of S within ``tau`` (0 when there is none).
* :class:`TKNNUtility` -- the threshold-KNN soft accuracy of TKNN-Shapley (Wang et al., 2023):
  only rows of S within distance ``tau`` of an evaluation point are its neighbours; the
  min(K, #neighbours) nearest of them vote (all of them if K is None) and ``U`` is the fraction
  voting for the true label, or ``1/C`` when no row of S is within ``tau``.
* :class:`ModelUtility` -- accuracy on the evaluation set of any allow-listed scikit-learn
  estimator trained on S (Ghorbani & Zou, 2019).

  Subsets the estimator cannot be fitted on are given a defined score instead of an error:
  the empty set scores the evaluation set's majority-class frequency (the best constant guess,
  as in Ghorbani & Zou's reference code), and a subset with a single class, or on which ``fit``
  or ``predict`` raises ``ValueError`` (e.g. fewer rows than ``n_neighbors``), scores the accuracy of
  predicting that subset's majority class (lowest label code on ties).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from openledger_chain.attribution.dataset import Dataset

if TYPE_CHECKING:
    from sklearn.base import ClassifierMixin

__all__ = ["KNNRegressionUtility", "KNNUtility", "TKNNRegressionUtility", "ModelUtility", "TKNNUtility", "Utility", "UtilityFactory", "squared_distances"]

Utility = Callable[[NDArray[np.integer]], float]
#: Builds a utility for a training set, e.g. ``functools.partial(ModelUtility, eval_data=..., ...)``.
UtilityFactory = Callable[[Dataset], "KNNUtility | ModelUtility"]


def squared_norms(x: NDArray[np.float64]) -> NDArray[np.float64]:
    """Each row's squared Euclidean norm (the term :func:`squared_distances` adds per row of ``b``)."""
    return (x * x).sum(axis=1)


def squared_distances(
    a: NDArray[np.float64], b: NDArray[np.float64], b_norms: NDArray[np.float64] | None = None
) -> NDArray[np.float64]:
    """Squared Euclidean distances ``(len(a), len(b))`` by the Gram expansion, clipped at 0.

    Identical rows get exactly equal distances, so duplicates tie and the stable sort keeps them
    in index order. `b_norms`: ``squared_norms(b)``, when already computed (the same bits).
    """
    if b_norms is None:
        b_norms = squared_norms(b)
    d = (a * a).sum(axis=1)[:, None] - 2.0 * (a @ b.T) + b_norms[None, :]
    np.maximum(d, 0.0, out=d)
    return d


class KNNUtility:
    """Soft KNN accuracy ``U(S)`` of Jia et al. (2019), used as brute-force oracle and surrogate.

    Args:
        train: Training rows (indexed by subsets).
        eval_data: Evaluation rows.
        k: Number of neighbours K.
    """

    def __init__(self, train: Dataset, eval_data: Dataset, k: int = 5) -> None:
        self.n = len(train)
        self.k = k
        order = np.argsort(squared_distances(eval_data.x, train.x), axis=1, kind="stable")
        # rank[t, i] = position of training row i in test point t's neighbour order.
        self._rank = np.empty_like(order)
        np.put_along_axis(self._rank, order, np.arange(self.n)[None, :].repeat(len(order), 0), axis=1)
        self._match = (train.y[None, :] == eval_data.y[:, None]).astype(np.float64)

    def __call__(self, subset: NDArray[np.integer]) -> float:
        subset = np.asarray(subset, dtype=np.int64)
        if subset.size == 0:
            return 0.0
        m = min(self.k, subset.size)
        ranks = self._rank[:, subset]
        nearest = np.argsort(ranks, axis=1, kind="stable")[:, :m]
        hits = np.take_along_axis(self._match[:, subset], nearest, axis=1).sum(axis=1)
        return float((hits / self.k).mean())


class KNNRegressionUtility:
    """Negative squared error of the KNN regressor (brute-force oracle of
    :mod:`.methods.knn_regression_shapley`).

    Args:
        train: Training rows with float targets (indexed by subsets).
        eval_data: Evaluation rows with float targets.
        k: Number of neighbours K; the prediction divides by K even when |S| < K.
    """

    def __init__(self, train: Dataset, eval_data: Dataset, k: int = 5) -> None:
        self.k = k
        order = np.argsort(squared_distances(eval_data.x, train.x), axis=1, kind="stable")
        self._rank = np.empty_like(order)
        np.put_along_axis(self._rank, order, np.arange(len(train))[None, :].repeat(len(order), 0), axis=1)
        self._y = train.y.astype(np.float64)
        self._t = eval_data.y.astype(np.float64)

    def __call__(self, subset: NDArray[np.integer]) -> float:
        subset = np.asarray(subset, dtype=np.int64)
        if subset.size == 0:
            return float(-(self._t**2).mean())
        nearest = np.argsort(self._rank[:, subset], axis=1, kind="stable")[:, : self.k]
        prediction = self._y[subset][nearest].sum(axis=1) / self.k
        return float(-((prediction - self._t) ** 2).mean())


class TKNNRegressionUtility:
    """Negative squared error of the threshold-KNN regressor (brute-force oracle of
    :mod:`.methods.tknn_regression_shapley`): the mean target of the rows of S within ``tau``
    (inclusive), 0 when none is.

    Args:
        train: Training rows with float targets.
        eval_data: Evaluation rows with float targets.
        tau: Radius.
    """

    def __init__(self, train: Dataset, eval_data: Dataset, tau: float) -> None:
        self._inball = squared_distances(eval_data.x, train.x) <= tau * tau
        self._y = train.y.astype(np.float64)
        self._t = eval_data.y.astype(np.float64)

    def __call__(self, subset: NDArray[np.integer]) -> float:
        subset = np.asarray(subset, dtype=np.int64)
        inball = self._inball[:, subset]
        count = inball.sum(axis=1)
        prediction = np.where(count > 0, (inball * self._y[subset]).sum(axis=1) / np.maximum(count, 1), 0.0)
        return float(-((prediction - self._t) ** 2).mean())


class TKNNUtility:
    """Threshold-KNN soft accuracy ``U(S)`` (brute-force oracle of :mod:`.methods.tknn_shapley`).

    Args:
        train: Training rows (indexed by subsets).
        eval_data: Evaluation rows.
        tau: Neighbourhood radius (Euclidean; None: no radius).
        k: Maximum number of voting neighbours (None: all rows within ``tau``).
        n_classes: C of the empty-neighbourhood guess ``1/C``.
    """

    def __init__(
        self, train: Dataset, eval_data: Dataset, tau: float | None, k: int | None = None, n_classes: int = 2
    ) -> None:
        self.n = len(train)
        self.k = k
        self.n_classes = n_classes
        d2 = squared_distances(eval_data.x, train.x)
        self._rank = np.argsort(np.argsort(d2, axis=1, kind="stable"), axis=1, kind="stable")
        self._inball = d2 <= tau * tau if tau is not None else np.ones(d2.shape, dtype=bool)
        self._match = train.y[None, :] == eval_data.y[:, None]

    def __call__(self, subset: NDArray[np.integer]) -> float:
        subset = np.asarray(subset, dtype=np.int64)
        scores = []
        for t in range(len(self._rank)):
            members = subset[self._inball[t, subset]]
            if members.size == 0:
                scores.append(1.0 / self.n_classes)
                continue
            voters = members[np.argsort(self._rank[t, members], kind="stable")][: self.k]
            scores.append(float(self._match[t, voters].mean()))
        return float(np.mean(scores)) if scores else 0.0


class ModelUtility:
    """Accuracy on `eval_data` of `estimator` fitted on a subset of `train` (cached by subset).

    Args:
        train: Training rows.
        eval_data: Evaluation rows.
        estimator: An unfitted scikit-learn classifier; cloned for every fit.
        cache_size: Maximum number of cached subset scores.
    """

    def __init__(
        self, train: Dataset, eval_data: Dataset, estimator: ClassifierMixin, cache_size: int = 200_000
    ) -> None:
        self.n = len(train)
        self.train = train
        self.eval_data = eval_data
        self.estimator = estimator
        self._cache: dict[bytes, float] = {}
        self._cache_size = cache_size
        counts = np.bincount(eval_data.y) if len(eval_data) else np.zeros(1)
        self.empty_score = float(counts.max() / max(len(eval_data), 1))

    def _constant_score(self, labels: NDArray[np.int64]) -> float:
        majority = np.bincount(labels).argmax()
        return float(np.mean(self.eval_data.y == majority))

    def __call__(self, subset: NDArray[np.integer]) -> float:
        subset = np.sort(np.asarray(subset, dtype=np.int64))
        key = subset.tobytes()
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        score = self._score(subset)
        if len(self._cache) < self._cache_size:
            self._cache[key] = score
        return score

    def _score(self, subset: NDArray[np.int64]) -> float:
        if subset.size == 0:
            return self.empty_score
        y = self.train.y[subset]
        if np.all(y == y[0]):
            return self._constant_score(y)
        from sklearn.base import clone  # here: importing scikit-learn takes ~2.5 s, and most commands fit no model

        model = clone(self.estimator)
        try:
            with warnings.catch_warnings():
                # Convergence warnings on tiny subsets are expected and not actionable.
                warnings.simplefilter("ignore")
                model.fit(self.train.x[subset], y)
                # KNN fits fewer rows than n_neighbors and only fails at predict time.
                predicted = model.predict(self.eval_data.x)
        except ValueError:
            return self._constant_score(y)
        return float(np.mean(predicted == self.eval_data.y))
