"""No pay for noise: an identity's row value is paid only when its labels beat random labels.

A row with a random label has zero or negative expected value under the KNN utilities, but
flooring each identity's total at zero keeps the lucky draws: a swarm of small identities of
random rows earns a positive total in expectation (a lucky row lands the right label by chance and
is paid; an unlucky one is floored away). Subtracting a fixed allowance does not fix it cheaply: a
correctly labelled random row earns about what an honest row earns, so any allowance that covers
the luck of a small identity costs honest contributors a large part of their pay.

Instead, each identity is tested against the null hypothesis "these labels are random", on its
own rows at their own positions. The closed-form methods give, exactly and at no extra sort, the
value ``V[r, c]`` each credited row ``r`` would have if its label were ``c`` and nothing else
changed. Under the null each label is uniform over the evaluation set's classes, so an identity's
total ``S`` has mean ``M = sum_r mean_c V[r, c]`` and variance ``Var = sum_r var_c V[r, c]``, and

    Z = (S - M) / sqrt(Var),      paid basis = max(0, S - B) * ramp(Z),

where ``ramp`` rises linearly from 0 at ``Z = margin - 1`` to 1 at ``Z = margin + 1`` (margin 3
by default: random labels score Z >= 2 about 2.3% of the time and Z >= 4 about 0.003%, so the
expected weight of random rows is ~0.4%). Rows that cannot matter (null players, far
from every evaluation point) add nothing to ``Var``; an identity whose value cannot depend on
its labels at all (``Var = 0``) is not discounted.

``B`` is the sum over the identity's rows of their positive null means (:func:`null_baseline`): no row
is paid what a random label would earn where it stands. Most rows' null means are negative (a random
vote among good neighbours lowers the accuracy); where one is positive, random rows carried past the
test by an identity's real rows were paid it -- padded sybils on digit embeddings gained 1.03-1.04x
that way (docs/attribution.md, "Padded sybils"). Under ``tknn_shapley`` for classification only: with
``knn_shapley`` a third of honest rows have positive null means and withholding them moves honest pay.

Honest data is far from random: its Z grows like the square root of its number of useful rows.
Splitting one identity's rows over several lowers each piece's Z, so splitting cannot gain. The
cost to honest contributors (small ones, whose few rows cannot yet be told from luck) is measured
in ``scripts/gaming_report.py`` and docs/attribution.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["LabelNull", "label_null", "null_baseline", "ramp", "target_null"]


@dataclass(frozen=True)
class LabelNull:
    """Per row: mean and variance of its value under a uniformly random label."""

    mean: NDArray[np.float64]
    var: NDArray[np.float64]


def label_null(relabel_values: NDArray[np.float64], labels: NDArray[np.int64]) -> LabelNull:
    """Null moments of each row's value, labels uniform over `labels` (codes)."""
    v = relabel_values[:, labels]
    return LabelNull(v.mean(axis=1), v.var(axis=1))


def target_null(
    values: NDArray[np.float64], targets: NDArray[np.float64], coefficients: NDArray[np.float64],
    eval_targets: NDArray[np.float64],
) -> LabelNull:
    """Null moments for regression: each row's target replaced by one drawn uniformly from the
    evaluation set's targets, every other row unchanged.

    This is the regression form of the uniform random label: a target taken from the right
    distribution but paired with the row's features at random (a random permutation of real
    targets onto the rows). Under KNN-regression Shapley a row's value is the quadratic
    ``v + b (y - y_i) + c (y^2 - y_i^2)`` in its own target ``y``
    (:mod:`.methods.knn_regression_shapley`), so with ``m_j`` the evaluation targets' raw moments
    the null mean is ``v + b (m_1 - y_i) + c (m_2 - y_i^2)`` and the null variance is
    ``b^2 Var(y) + 2 b c Cov(y, y^2) + c^2 Var(y^2)``, exactly.

    Args:
        values: (N,) the rows' values.
        targets: (N,) their own targets.
        coefficients: (N, 2) ``(b, c)`` per row (``relabel_values`` of the regression result).
        eval_targets: The evaluation set's targets (in the same units as `targets`).
    """
    t = np.asarray(eval_targets, dtype=np.float64)
    if not len(t):
        return LabelNull(np.asarray(values, dtype=np.float64), np.zeros(len(values)))
    b, c = coefficients[:, 0], coefficients[:, 1]
    m1, m2 = t.mean(), (t * t).mean()
    var_y, cov, var_y2 = t.var(), ((t - m1) * (t * t - m2)).mean(), (t * t).var()
    mean = values + b * (m1 - targets) + c * (m2 - targets * targets)
    var = np.maximum(b * b * var_y + 2.0 * b * c * cov + c * c * var_y2, 0.0)
    return LabelNull(mean, var)


def ramp(total: float, null_mean: float, null_var: float, margin: float) -> tuple[float | None, float]:
    """Return (Z, weight) of an identity's total value against its label null.

    Z is None when no label could change the total (``null_var == 0``); the weight is then 1, as
    it is for every Z when ``margin`` is 0 (plain flooring).
    """
    if null_var <= 0:
        return None, 1.0
    z = (total - null_mean) / math.sqrt(null_var)
    if margin == 0:
        return z, 1.0
    return z, min(1.0, max(0.0, (z - (margin - 1.0)) / 2.0))


def null_baseline(null_mean: NDArray[np.float64]) -> NDArray[np.float64]:
    """Per row, what a random label earns at its position where that is positive: the part of its value it
    is not paid.

    A row's value is its null mean (what any label earns there) plus what its own label adds. Where the
    null mean is positive -- a sparse or confused neighbourhood, where a random vote beats the others --
    random rows carried by an identity that passes the noise test would be paid it.
    """
    return np.maximum(np.asarray(null_mean, dtype=np.float64), 0.0)
