"""Allow-listed scikit-learn estimators and their hyperparameters.

Spec files and fine-tune recipes name an estimator and its parameters as plain JSON. Names are
looked up here, never imported or evaluated, and every parameter is type- and range-checked, so a
contributor's file cannot execute code or pick an arbitrary class.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from openledger_chain.errors import InputError

if TYPE_CHECKING:
    from sklearn.base import ClassifierMixin

__all__ = ["ESTIMATORS", "EstimatorSpec", "build_estimator", "validate_params"]

Check = Callable[[Any], bool]


def _int(lo: int, hi: int) -> Check:
    return lambda v: isinstance(v, int) and not isinstance(v, bool) and lo <= v <= hi


def _float(lo: float, hi: float) -> Check:
    return lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and lo < v <= hi


def _one_of(*options: Any) -> Check:
    return lambda v: any(v is o or (type(v) is type(o) and v == o) for o in options)


def _optional(check: Check) -> Check:
    return lambda v: v is None or check(v)


_BOOL = _one_of(True, False)


@dataclass(frozen=True)
class EstimatorSpec:
    """An allow-listed estimator: the scikit-learn module of its class (the class is named by its key in
    :data:`ESTIMATORS`; imported only when built, so that commands that never fit a model do not import
    scikit-learn, ~2.5 s here), the parameters a spec or recipe may set, and whether it takes ``random_state``
    (set from the run's seed when not given)."""

    module: str
    params: Mapping[str, Check]
    seeded: bool = False


ESTIMATORS: dict[str, EstimatorSpec] = {
    "KNeighborsClassifier": EstimatorSpec(
        "sklearn.neighbors",
        {"n_neighbors": _int(1, 1000), "weights": _one_of("uniform", "distance"), "p": _one_of(1, 2)},
    ),
    "LogisticRegression": EstimatorSpec(
        "sklearn.linear_model",
        {
            "C": _float(0.0, 1e6),
            "max_iter": _int(1, 100_000),
            "fit_intercept": _BOOL,
            "class_weight": _one_of(None, "balanced"),
            "tol": _float(0.0, 1.0),
        },
        seeded=True,
    ),
    "GaussianNB": EstimatorSpec("sklearn.naive_bayes", {"var_smoothing": _float(0.0, 1.0)}),
    "DecisionTreeClassifier": EstimatorSpec(
        "sklearn.tree",
        {
            "max_depth": _optional(_int(1, 1000)),
            "min_samples_leaf": _int(1, 100_000),
            "criterion": _one_of("gini", "entropy", "log_loss"),
        },
        seeded=True,
    ),
    "RandomForestClassifier": EstimatorSpec(
        "sklearn.ensemble",
        {
            "n_estimators": _int(1, 1000),
            "max_depth": _optional(_int(1, 1000)),
            "min_samples_leaf": _int(1, 100_000),
            "criterion": _one_of("gini", "entropy", "log_loss"),
        },
        seeded=True,
    ),
}


def validate_params(name: str, params: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Check that `name` is allow-listed and every parameter is allowed and well-typed.

    Args:
        name: Estimator class name, e.g. ``"LogisticRegression"``.
        params: JSON parameters.
        where: File/field for error messages.

    Returns:
        A plain copy of `params`.

    Raises:
        InputError: Unknown estimator, unknown parameter, or a bad value.
    """
    if name not in ESTIMATORS:
        raise InputError(f"{where}: unknown estimator {name!r} (choose from {', '.join(sorted(ESTIMATORS))})")
    if not isinstance(params, Mapping):
        raise InputError(f"{where}: params must be a JSON object")
    allowed = ESTIMATORS[name].params
    for key, value in params.items():
        if key not in allowed:
            raise InputError(f"{where}: parameter {key!r} is not allowed for {name} (allowed: {', '.join(allowed)})")
        if not allowed[key](value):
            raise InputError(f"{where}: bad value {value!r} for {name} parameter {key!r}")
    return dict(params)


def build_estimator(name: str, params: Mapping[str, Any], seed: int) -> ClassifierMixin:
    """Instantiate an allow-listed estimator; seeded estimators get ``random_state=seed``."""
    spec = ESTIMATORS[name]
    kwargs = dict(params)
    if spec.seeded:
        kwargs.setdefault("random_state", seed)
    return getattr(importlib.import_module(spec.module), name)(**kwargs)
