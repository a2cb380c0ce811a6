"""One attribution run: spec + manifest + evaluation data -> per-contributor values and payouts.

Steps:

1. Read the evaluation CSV (it fixes the feature columns, which must be the spec's `features` when it
   names them) and every data/annotation CSV; pool the rows in registration order and encode labels
   with one shared table (``task: "regression"``: z-score the numeric targets with the evaluation
   set's mean and standard deviation).
2. Drop copies (:mod:`.dedup`): exact and near-duplicate rows are credited once, to the earliest
   registration.
3. Value the credited rows with the spec's method; sum row values per contribution. Data and
   annotation contributions are both labelled rows, valued together in one game (an annotation
   is a set of labelled rows whose value goes to the annotation share).
4. Value fine-tune recipes and attested compute/evaluation units (:mod:`.kinds`).
5. Per kind, floor each contributor's total at 0 and split the kind's share of the emission in
   proportion to the floored totals. A kind with no positive total leaves its share to the
   other kinds, pro rata to their basis points, so the whole emission is always paid out.
6. Allocate integer amounts with :func:`openledger_chain.rewards.allocate`.

Sybil splitting: row values do not depend on who registered a row, so splitting a contributor's
rows over several identities leaves every row value -- and so the raw total -- unchanged.
Flooring is per contributor, so an identity holding only negative rows is floored to zero; that
is exactly what withholding those rows would earn, so splitting never beats contributing honestly.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from functools import partial
from pathlib import Path
from typing import Any

import math

import numpy as np

from openledger_chain.attribution.base import Valuation
from openledger_chain.attribution.dataset import Dataset
from openledger_chain.attribution.dedup import APPROXIMATE_FROM_ROWS, COPY, OUTLIER, REASONS, REFERENCE, Dedup, NeighbourIndex, find_copies
from openledger_chain.attribution.estimators import build_estimator
from openledger_chain.attribution.kinds import Verifier, check_claim, check_recipe, value_attested, value_finetunes
from openledger_chain.attribution.manifest import Contribution, load_manifest, parse_manifest
from openledger_chain.attribution.methods import DataBanzhaf, KNNShapley, LeaveOneOut, TKNNShapley, TMCShapley
from openledger_chain.attribution.methods.knn_regression_shapley import KNNRegressionShapley
from openledger_chain.attribution.methods.tknn_regression_shapley import TKNNRegressionShapley
from openledger_chain.attribution.methods.tknn_shapley import auto_tau
from openledger_chain.attribution.noise import label_null, null_baseline, ramp, target_null
from openledger_chain.attribution.spec import KINDS, Spec, load_spec, parse_spec
from openledger_chain.attribution.representation import TextFeaturizer, isotropic_standardizer
from openledger_chain.attribution.table import Table, read_rows
from openledger_chain.attribution.utility import ModelUtility
from openledger_chain.errors import AttributionError, InputError, MalformedFileError
from openledger_chain.rewards import allocate

__all__ = [
    "AttributionReport", "ContributionValue", "ContributorValue", "Progress", "attribute", "attribute_files", "to_fixed",
]

#: ``progress(stage, done, total)``; stages: "reading", "valuing", "recipes".
Progress = Callable[[str, int, int], None]
ROW_KINDS = ("data", "annotation")
#: The published reason a fine-tune recipe or an attested claim is left out (its details name values from a
#: file only the committee reads; the contributor sees them with `openledger attribute` on its own file).
_UNREADABLE = {"finetune": "not a fine-tune recipe for the spec's estimator",
               "compute": "not a claim file", "evaluation": "not a claim file"}
#: Fixed-point scale of values. Multiplying a float by a power of two is exact, so
#: ``floor(v * FIXED)`` is the exact floor of the float's value at 2**-60 resolution.
FIXED = 2**60


def to_fixed(values: np.ndarray) -> list[int]:
    """Exact per-row fixed-point values (Python ints)."""
    return [math.floor(v) for v in (np.asarray(values, dtype=np.float64) * FIXED).tolist()]


@dataclass(frozen=True)
class ContributionValue:
    """Value of one contribution (``rows``/``credited_rows`` are 0 for non-row kinds)."""

    id: str
    contributor: str
    kind: str
    rows: int
    credited_rows: int
    value: float
    #: Exact fixed-point value (``floor(row value * 2**60)`` summed over rows) used for shares, so
    #: regrouping rows across identities cannot change totals through float rounding.
    fixed: int = 0
    #: Reason name -> number of rows excluded for it (:data:`.dedup.REASONS`).
    excluded: dict[str, int] = field(default_factory=dict)
    #: Id of the earlier contribution this one derives from ("evaluation" for the evaluation set).
    derivative_of: str | None = None
    #: Mean and variance of `value` if every credited row's label were uniformly random (:mod:`.noise`).
    null_mean: float = 0.0
    null_var: float = 0.0
    #: What random labels would earn at the credited rows where that is positive (the sum of the rows'
    #: positive null means), and its exact fixed-point form: not paid (:func:`.noise.null_baseline`).
    baseline: float = 0.0
    baseline_fixed: int = 0


@dataclass(frozen=True)
class ContributorValue:
    """A contributor's raw value (sum over its contributions, may be negative) and its share of
    the emission after per-kind flooring at zero."""

    address: str
    value: float
    share: float
    #: The share as an exact fraction (what :func:`openledger_chain.rewards.allocate` receives).
    exact_share: Fraction = Fraction(0)
    #: Row kinds: how far the rows' value is above random labels (None: labels cannot matter),
    #: and the fraction of the floored value paid (:mod:`.noise`).
    noise_z: float | None = None
    paid_fraction: float = 1.0


@dataclass
class AttributionReport:
    """Everything OUT.json holds; :meth:`to_json` renders the fixed interface."""

    method: dict[str, Any]
    utility: dict[str, Any]
    contributions: list[ContributionValue]
    contributors: list[ContributorValue]
    allocations: dict[str, int] | None = None
    row_values: np.ndarray = field(default_factory=lambda: np.zeros(0))
    #: Contribution id -> why its file was left out (``exclude_malformed`` only).
    malformed: dict[str, str] = field(default_factory=dict)

    def scores(self) -> dict[str, Fraction]:
        """Address -> exact share of the emission (the scores to quantize, post and allocate)."""
        return {c.address: c.exact_share for c in self.contributors}

    def to_json(self) -> dict[str, Any]:
        """The OUT.json document (amounts as decimal strings)."""
        return {
            "method": self.method,
            "utility": self.utility,
            "contributions": [
                {"id": c.id, "contributor": c.contributor, "kind": c.kind, "rows": c.rows,
                 "credited_rows": c.credited_rows, "value": c.value, "excluded": c.excluded,
                 "derivative_of": c.derivative_of}
                for c in self.contributions
            ],
            "contributors": [
                {"address": c.address, "value": c.value, "share": c.share, "noise_z": c.noise_z, "paid_fraction": c.paid_fraction}
                for c in self.contributors
            ],
            "allocations": [
                {"address": a, "amount": str(v)} for a, v in (self.allocations or {}).items()
            ],
        } | ({"malformed": dict(self.malformed)} if self.malformed else {})


def _encode(labels: Sequence[str], table: dict[str, int]) -> np.ndarray:
    return np.array([table[v] for v in labels], dtype=np.int64)


#: Methods with a closed form on a KNN utility (no estimator, no seed).
KNN_METHODS = ("knn_shapley", "tknn_shapley")
_METRICS = {"knn_shapley": "knn_soft_accuracy", "tknn_shapley": "tknn_soft_accuracy"}
#: The utilities of ``task: "regression"`` (the KNN and threshold-KNN regressors' negative squared error).
REGRESSION_METRICS = {"knn_shapley": "knn_negative_squared_error", "tknn_shapley": "tknn_negative_squared_error"}


def target_standardizer(t_eval: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """Z-score regression targets with the evaluation set's mean and standard deviation.

    As for features, the statistics are the owner's: no contribution can move them. Predicting 0
    is predicting the evaluation mean, so an empty training set scores ``-mean(t_z^2) = -1`` and
    values are in units of the evaluation targets' variance. A constant target is only centred.
    """
    if len(t_eval) == 0:
        return lambda t: t
    mean, std = float(t_eval.mean()), float(t_eval.std())
    scale = std if std > 0 else 1.0
    return lambda t: (t - mean) / scale


def eval_standardizer(x_eval: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """Z-score columns with the evaluation set's mean and standard deviation.

    The statistics come from the model's registered evaluation set, which contributors cannot
    change, so no contribution can rescale the features other contributions are measured in.
    Constant (or single-row) columns are only centred.
    """
    if len(x_eval) == 0:
        return lambda x: x
    mean = x_eval.mean(axis=0)
    std = x_eval.std(axis=0)
    scale = np.where(std > 0, std, 1.0)
    return lambda x: (x - mean) / scale


def n_classes_for(spec: Spec, eval_labels: Sequence[str]) -> int:
    """C of tknn_shapley's empty-neighbourhood guess 1/C: the spec's classes, else the evaluation
    set's distinct labels (never the contributed ones, so a made-up label cannot change it)."""
    return len(spec.classes) if spec.classes else max(1, len(set(eval_labels)))


def _method(
    spec: Spec, eval_data: Dataset, seed: int, report: Callable[[int, int], None], n_classes: int,
    cohort: np.ndarray | None = None,
) -> Valuation:
    p = spec.method.params
    if spec.task == "regression" and spec.method.name == "tknn_shapley":
        tau = auto_tau(eval_data.x, None) if p["tau"] == "auto" else p["tau"]
        return TKNNRegressionShapley(eval_data, tau, progress=report)
    if spec.task == "regression":
        return KNNRegressionShapley(eval_data, p["k"], progress=report)
    if spec.method.name == "knn_shapley":
        return KNNShapley(eval_data, p["k"], progress=report)
    if spec.method.name == "tknn_shapley":
        tau = auto_tau(eval_data.x, p["k"]) if p["tau"] == "auto" else p["tau"]
        return TKNNShapley(eval_data, tau, p["k"], n_classes=n_classes, progress=report, cohort=cohort)
    utility = partial(ModelUtility, eval_data=eval_data, estimator=build_estimator(spec.estimator_name, spec.estimator_params, seed))
    if spec.method.name == "tmc_shapley":
        return TMCShapley(utility, p["permutations"], p["truncation_tolerance"], seed=seed, progress=report)
    if spec.method.name == "banzhaf":
        return DataBanzhaf(utility, p["samples"], seed=seed, progress=report)
    return LeaveOneOut(utility, progress=report)


def attribute(
    spec: Spec | Mapping[str, Any],
    contributions: Sequence[Contribution] | Sequence[Mapping[str, Any]],
    eval_path: str | Path,
    *,
    base_dir: str | Path = ".",
    emission: int | None = None,
    seed: int | None = None,
    verifier: Verifier | None = None,
    progress: Progress | None = None,
    model_id: int = 0,
    revealed: Sequence[str | Path] = (),
    exclude_malformed: bool = False,
    cohorts: Mapping[str, int] | None = None,
    copy_search_seed: bytes | None = None,
) -> AttributionReport:
    """Run attribution for one round.

    Args:
        spec: A :class:`Spec` or the decoded SPEC.json.
        contributions: Parsed :class:`Contribution` list or the decoded MANIFEST.json list
            (registration order); relative paths resolve against `base_dir`.
        eval_path: Evaluation CSV.
        base_dir: Directory for the manifest's relative paths.
        emission: If given, integer amount to allocate (sum of allocations equals it exactly).
        seed: Overrides the spec's seed.
        verifier: Accepts or rejects compute/evaluation attestations; None counts no units.
        progress: Optional ``progress(stage, done, total)`` callback.
        model_id: The model's on-chain id; attestations are signed for it
            (:func:`.kinds.attestation_message`).
        revealed: CSV files of earlier rounds' evaluation sets, revealed after their rounds. Their
            rows belong to the model owner: a copy of one earns nothing.
        exclude_malformed: Leave out (listed in ``report.malformed``) every contribution whose file
            is malformed instead of failing: the oracle's mode, so that one contributor's bad file
            cannot block everyone's round. A malformed spec or evaluation file still fails.
        cohorts: Contribution id -> cohort (the round the contribution was first valued in), for
            every data/annotation contribution. Each cohort's rows are valued on top of every row of
            the earlier cohorts (order between cohorts, Shapley within one): rows fabricated from
            earlier, revealed data add little to it. ``tknn_shapley`` only. None: one cohort.
        copy_search_seed: Seeds the approximate copy search's cells (a round's: the hash of its registry block,
            which nobody knows when registering, so no copy can be aimed at a cell boundary); recorded in the
            method when the approximate search ran. None: the seed.

    Returns:
        The :class:`AttributionReport`.

    Raises:
        InputError: Malformed spec, manifest or files (exit code 2 in the CLI).
        AttributionError: A positive emission but no contribution with positive value (or, with
            `exclude_malformed`, none with a well-formed file).
    """
    if not isinstance(model_id, int) or isinstance(model_id, bool) or not 0 <= model_id < 2**256:
        raise InputError(f"model id must be an integer in [0, 2**256), got {model_id!r}")
    spec = spec if isinstance(spec, Spec) else parse_spec(spec)
    entries = (
        list(contributions)
        if all(isinstance(c, Contribution) for c in contributions)
        else parse_manifest(contributions, Path(base_dir))
    )
    seed = spec.seed if seed is None else seed
    tick: Callable[[str, int, int], None] = progress or (lambda *_: None)
    regression = spec.task == "regression"
    if regression and any(c.kind == "finetune" for c in entries):
        raise InputError("fine-tune recipes are valued for classification only; a regression spec takes data, annotation, "
                         "compute and evaluation contributions")

    # The spec's `features`, when it names them, are the schema contributors were checked against: the
    # evaluation set must have exactly those columns too.
    eval_table = read_rows(Path(eval_path), spec)
    revealed_tables = [read_rows(Path(p), spec, eval_table.columns) for p in revealed]
    entries, tables, malformed = _read_contributions(entries, spec, eval_table.columns, exclude_malformed, tick)
    representation: dict[str, Any] | None = None
    if spec.text is not None:
        # The featurizer is fitted on the evaluation set alone: no contribution moves the space.
        featurizer = TextFeaturizer(spec.text, seed).fit(eval_table.texts or ())
        eval_table, revealed_tables, tables = (
            _featurized(eval_table, featurizer), [_featurized(t, featurizer) for t in revealed_tables],
            [_featurized(t, featurizer) for t in tables])
        representation = {"kind": "text", **featurizer.manifest()}
    elif spec.embedding is not None:
        representation = {"kind": "embedding", **spec.embedding.manifest()}
    _check_fresh(eval_table, revealed_tables)
    row_entries = [c for c in entries if c.kind in ROW_KINDS]
    # Validate the other kinds' files before the (possibly long) valuation.
    attested = [c for c in entries if c.kind in ("compute", "evaluation")]
    attested_values = value_attested(attested, verifier, model_id)

    scale = eval_standardizer(eval_table.x) if spec.standardize else (lambda x: x)
    n_classes = n_classes_for(spec, eval_table.labels)
    if regression:
        # Targets in evaluation standard deviations from the evaluation mean (the owner's units).
        t_z = target_standardizer(_targets(eval_table))
        encode: Callable[[Table], np.ndarray] = lambda t: t_z(_targets(t))
    else:
        label_names = list(spec.classes) if spec.classes else sorted({*eval_table.labels, *(v for t in tables for v in t.labels)})
        codes = {name: i for i, name in enumerate(label_names)}
        encode = lambda t: _encode(t.labels, codes)
    eval_data = Dataset(scale(eval_table.x), encode(eval_table))
    n_features = len(eval_table.columns)
    x_all = np.vstack([t.x for t in tables]) if tables else np.zeros((0, n_features))
    y_all = np.concatenate([encode(t) for t in tables]) if tables else np.zeros(0, dtype=eval_data.y.dtype)
    owner = np.repeat(np.arange(len(tables)), [len(t.labels) for t in tables])
    # Regression: a target beyond the outlier bound (in evaluation standard deviations) is an
    # outlier like a feature there: its square would swamp every neighbour's error.
    marked_outlier = np.abs(y_all) > spec.outlier_bound if regression else np.zeros(len(y_all), dtype=bool)

    # Copies and outliers are judged in the evaluation set's standardization whatever `standardize`
    # says: no contribution can change that space.
    # An embedding's (or the text featurizer's) dimensions are not z-scored one by one: that would change
    # the representation's distance. One scale for all keeps its neighbours and ratios of distances.
    eval_z = eval_standardizer(eval_table.x) if representation is None else isotropic_standardizer(eval_table.x)
    reference = np.vstack([eval_z(t.x) for t in (eval_table, *revealed_tables)])
    # Regression: copies are judged in feature space alone (one "label" for every row), so a
    # near copy with another target is a copy too.
    reference_y = (np.zeros(len(reference), dtype=np.int64) if regression
                   else np.concatenate([encode(t) for t in (eval_table, *revealed_tables)]))
    copy_y = np.zeros(len(y_all), dtype=np.int64) if regression else y_all
    x_z = eval_z(x_all)
    if representation is not None:
        # The outlier bound of a representation is a radius: farther than `outlier_bound` RMS radii of the
        # evaluation set from its mean (:func:`.representation.isotropic_standardizer`). On the unit sphere
        # (cosine, text) nothing is that far; Euclidean embeddings can be.
        marked_outlier = marked_outlier | (np.linalg.norm(x_z, axis=1) > spec.outlier_bound)
    # Rows farther than the default radius from every evaluation row are worth nothing: they must
    # not dilute a contribution's share of copied rows.
    relevance = auto_tau(eval_z(eval_table.x), None)

    # One nearest-row search serves both passes: a pass over fewer rows filters its lists.
    approximate = spec.copy_search == "approximate" or (
        spec.copy_search == "auto" and len(x_z) + len(reference) >= APPROXIMATE_FROM_ROWS)
    cell_seed = seed if copy_search_seed is None else int.from_bytes(copy_search_seed, "big")
    neighbour_index = NeighbourIndex(x_z, reference, spec.outlier_bound, search="approximate" if approximate else "auto",
                                     seed=cell_seed)

    def detect(rows: np.ndarray) -> Dedup:
        """Copy detection over the given rows (a mask in pooled order); other rows keep reason 0."""
        sub = np.flatnonzero(rows & ~marked_outlier)
        found = find_copies(x_z[sub], copy_y[sub], owner[sub], reference, reference_y, copy_ratio=spec.copy_ratio,
                            outlier_bound=spec.outlier_bound, relevance_radius=relevance, index=neighbour_index,
                            rows=sub)
        reason = np.zeros(len(y_all), dtype=np.int8)
        parent = np.full(len(y_all), -1, dtype=np.int64)
        reason[sub] = found.reason
        reason[rows & marked_outlier] = OUTLIER
        parent[sub] = found.parent
        copies = sub[found.reason == COPY]
        parent[copies] = sub[found.parent[found.reason == COPY]]  # contributed parents: back to pooled indices
        return Dedup(reason, parent, found.derivative_of)

    method_manifest: dict[str, Any] = {
        "name": spec.method.name, **spec.method.params, "seed": seed, "standardize": spec.standardize,
    }
    if representation is not None:
        # Recorded only for these representations (a CSV-columns round file stays what it was): the embedding's
        # identity, or the text featurizer's parameters and the hashes of what it fitted on the evaluation set.
        method_manifest["representation"] = representation
    if approximate:
        # Recorded only when candidates were approximate: an exact round's manifest (and its file) stays what it was.
        method_manifest["copy_search"] = "approximate"
        if copy_search_seed is not None:
            method_manifest["copy_search_seed"] = "0x" + copy_search_seed.hex()
    if regression:
        # Recorded only for regression: a classification round's method manifest (and its round file) stays
        # what it was, so round files written before regression existed still verify field for field.
        method_manifest["task"] = spec.task
    valuer = _RowValuer(spec, eval_data, seed, n_classes, x_all, y_all, scale, tick, method_manifest,
                        _row_cohorts(cohorts, spec, row_entries, owner, method_manifest))
    dedup = detect(np.ones(len(y_all), dtype=bool))
    keep = dedup.credited
    rows = valuer.value(keep)
    dropped = np.zeros(len(y_all), dtype=bool)
    if spec.method.name in KNN_METHODS:
        # Pass 2: detect copies and value again without the identities whose rows earn nothing.
        # Their rows (label flips, random labels, flipped copies of others' rows) lowered or
        # displaced others in pass 1 at no cost to themselves; now the round is exactly the
        # round without them.
        unpaid = _unpaid_row_keys(spec, _contribution_values(row_entries, tables, owner, dedup, rows, keep, keep))
        row_keys = [(c.contributor, c.kind) for c in row_entries]
        dropped = np.array([row_keys[i] in unpaid for i in owner.tolist()], dtype=bool)
        if np.any(keep & dropped) and np.any(~dropped):
            method_manifest["revalued_without"] = sorted({row_entries[i].contributor for i in np.unique(owner[keep & dropped])})
            dedup, rows, keep = _second_pass(dedup, rows, keep, dropped, detect(~dropped), valuer, owner)
        else:
            dropped[:] = False
    # Only the closed-form methods give relabelled values; the others are floored plainly.
    method_manifest["noise_margin"] = spec.noise_margin if spec.method.name in KNN_METHODS else 0.0
    if _baseline_paid(spec):
        # Recorded with the rule, so a round file made before it says so when verify recomputes it.
        method_manifest["paid_above_null"] = True
    if spec.method.name not in KNN_METHODS:
        method_manifest["estimator"] = {"name": spec.estimator_name, "params": dict(spec.estimator_params)}
    row_values = rows.values
    u_all, u_none = rows.u_all, rows.u_none
    train = Dataset(scale(x_all[keep & ~dropped]), y_all[keep & ~dropped])
    row_value_list = _contribution_values(row_entries, tables, owner, dedup, rows, keep, keep & ~dropped)

    finetunes = [c for c in entries if c.kind == "finetune"]
    finetune_values: dict[str, float] = {}
    if finetunes:
        finetune_values, _ = value_finetunes(finetunes, spec, train, eval_data, seed)
        tick("recipes", len(finetunes), len(finetunes))

    by_id = {v.id: v for v in row_value_list}
    values: list[ContributionValue] = []
    for c in entries:
        if c.id in by_id:
            values.append(by_id[c.id])
        else:
            v = finetune_values.get(c.id, attested_values.get(c.id, 0.0))
            values.append(ContributionValue(c.id, c.contributor, c.kind, 0, 0, float(v), to_fixed(np.array([v]))[0]))

    report = AttributionReport(
        method=method_manifest,
        utility={
            "metric": REGRESSION_METRICS[spec.method.name] if regression else _METRICS.get(spec.method.name, "accuracy"),
            "all": float(u_all),
            "none": float(u_none),
        },
        contributions=values,
        contributors=_contributors(spec, values),
        row_values=row_values,
        malformed=malformed,
    )
    if emission is not None:
        if emission > 0 and not any(c.share > 0 for c in report.contributors):
            raise AttributionError(_nothing_to_pay(spec, report.contributors))
        report.allocations = allocate(report.scores(), emission)
    return report


def _featurized(table: Table, featurizer: TextFeaturizer) -> Table:
    """A text table with its vectors filled in."""
    x = featurizer.transform(table.texts or ())
    return replace(table, columns=tuple(f"{table.columns[0]}[{j}]" for j in range(x.shape[1])), x=x)


def _targets(table: Table) -> np.ndarray:
    """A regression table's targets as floats (:func:`.table.read_table` checked they are finite numbers)."""
    return np.array([float(v) for v in table.labels], dtype=np.float64)


def _nothing_to_pay(spec: Spec, contributors: Sequence[ContributorValue]) -> str:
    """Why no contributor gets a share, and what to change."""
    held = sum(1 for c in contributors if c.value > 0 and c.paid_fraction == 0)
    if not held:
        return "no contribution has a positive value: the emission cannot be allocated"
    return (f"no contributor is paid: {held} have a positive value but none beats random labels by the noise test "
            f"(noise_margin {spec.noise_margin:g}: an identity's Z must exceed {spec.noise_margin - 1:g}, and one row's Z is "
            "at most sqrt(classes - 1)); contributors need more rows each, or lower noise_margin in the spec "
            "(0 = plain flooring, which pays swarms of random labels)")


@dataclass(frozen=True)
class _RowValues:
    """Per pooled row: value, and mean and variance of that value under random labels."""

    values: np.ndarray
    null_mean: np.ndarray
    null_var: np.ndarray
    u_all: float
    u_none: float


def _row_cohorts(cohorts: Mapping[str, int] | None, spec: Spec, row_entries: Sequence[Contribution], owner: np.ndarray,
                 manifest: dict[str, Any]) -> np.ndarray | None:
    """Each pooled row's cohort (its contribution's), recorded in the method manifest; None without cohorts."""
    if cohorts is None:
        return None
    if spec.task == "regression":
        raise InputError("cohorts are for classification only; drop the cohorts or value the regression rounds together")
    if spec.method.name != "tknn_shapley":
        raise InputError(f"cohorts need method tknn_shapley, the spec names {spec.method.name}; drop the cohorts or change the method")
    missing = [c.id for c in row_entries if c.id not in cohorts]
    if missing:
        raise InputError(f"contribution {missing[0]} has no cohort; give every data/annotation contribution one")
    by_entry = [cohorts[c.id] for c in row_entries]
    if any(not isinstance(v, int) or isinstance(v, bool) or v < 0 for v in by_entry):
        raise InputError("cohorts must be integers >= 0 (the round a contribution was first valued in)")
    manifest["cohorts"] = {c.id: cohorts[c.id] for c in row_entries}
    return np.array(by_entry, dtype=np.int64)[owner] if by_entry else np.zeros(0, dtype=np.int64)


@dataclass
class _RowValuer:
    """Values a subset of the pooled rows with the spec's method (one valuation run per call)."""

    spec: Spec
    eval_data: Dataset
    seed: int
    n_classes: int
    x: np.ndarray
    y: np.ndarray
    scale: Callable[[np.ndarray], np.ndarray]
    tick: Callable[[str, int, int], None]
    manifest: dict[str, Any]
    cohort: np.ndarray | None = None

    def value(self, mask: np.ndarray) -> _RowValues:
        spec, eval_data = self.spec, self.eval_data
        train = Dataset(self.scale(self.x[mask]), self.y[mask])
        values, null_mean, null_var = np.zeros(len(self.y)), np.zeros(len(self.y)), np.zeros(len(self.y))
        if not len(train):
            if spec.task == "regression":
                u = -float(np.mean(eval_data.y**2)) if len(eval_data) else 0.0
            elif spec.method.name == "knn_shapley":
                u = 0.0
            elif spec.method.name == "tknn_shapley":
                u = 1.0 / self.n_classes if len(eval_data) else 0.0
            else:
                estimator = build_estimator(spec.estimator_name, spec.estimator_params, self.seed)
                u = ModelUtility(train, eval_data, estimator)(np.arange(0))
            return _RowValues(values, null_mean, null_var, u, u)
        cohort = None if self.cohort is None else self.cohort[mask]
        method = _method(spec, eval_data, self.seed, lambda d, t: self.tick("valuing", d, t), self.n_classes, cohort).fit(train)
        result = method.result
        values[mask] = result.values
        self.manifest.update(status=result.status, data_hash=result.data_hash, version=result.version)
        self.manifest.update({f"resolved_{k}": v for k, v in method.params().items() if spec.method.params.get(k) == "auto"})
        if result.relabel_values is not None and spec.task == "regression":
            null = target_null(result.values, train.y, result.relabel_values, eval_data.y)
            null_mean[mask], null_var[mask] = null.mean, null.var
        elif result.relabel_values is not None:
            labels = np.arange(len(spec.classes)) if spec.classes else np.unique(eval_data.y)
            null = label_null(result.relabel_values, labels[labels < result.relabel_values.shape[1]])
            null_mean[mask], null_var[mask] = null.mean, null.var
        return _RowValues(values, null_mean, null_var, result.utility_all, result.utility_none)


def _contribution_values(
    entries: Sequence[Contribution], tables: Sequence[Table], owner: np.ndarray, dedup: Dedup, rows: _RowValues,
    keep: np.ndarray, valued: np.ndarray,
) -> list[ContributionValue]:
    """Sum row values (and their label-noise moments) per data/annotation contribution.

    `keep` marks the rows copy detection credited, `valued` those in the final valuation (credited
    rows of identities that earn nothing are left out of the second pass)."""
    n = len(tables)
    per_table = np.bincount(owner, weights=rows.values, minlength=n)
    null_mean = np.bincount(owner, weights=rows.null_mean, minlength=n)
    null_var = np.bincount(owner, weights=rows.null_var, minlength=n)
    credited = np.bincount(owner, weights=keep, minlength=n).astype(int)
    left_out = credited - np.bincount(owner, weights=valued, minlength=n).astype(int)
    owners = owner.tolist()
    fixed = _fixed_sums(owners, rows.values, n)
    positive_null = null_baseline(rows.null_mean)
    baseline = np.bincount(owner, weights=positive_null, minlength=n)
    baseline_fixed = _fixed_sums(owners, positive_null, n)
    excluded = _excluded_counts(dedup, owner, n)
    out = []
    for i, c in enumerate(entries):
        source = dedup.derivative_of.get(i)
        reasons = excluded[i] | ({"earns_nothing": int(left_out[i])} if left_out[i] else {})
        out.append(ContributionValue(
            c.id, c.contributor, c.kind, len(tables[i].labels), int(credited[i]), float(per_table[i]), fixed[i], reasons,
            None if source is None else "evaluation" if source == REFERENCE else entries[source].id,
            float(null_mean[i]), float(null_var[i]), float(baseline[i]), baseline_fixed[i],
        ))
    return out


def _fixed_sums(owners: list[int], values: np.ndarray, n: int) -> list[int]:
    """Per table, the exact sum of its rows' `values` in fixed point (:func:`to_fixed`): integers, so the sum does
    not depend on the order rows are added in."""
    sums = [0] * n
    for i, v in zip(owners, to_fixed(values)):
        sums[i] += v
    return sums


def _second_pass(
    first: Dedup, rows: _RowValues, keep: np.ndarray, dropped: np.ndarray, second: Dedup, valuer: _RowValuer,
    owner: np.ndarray,
) -> tuple[Dedup, _RowValues, np.ndarray]:
    """Merge pass 2 (copy detection `second` and a valuation without the `dropped` rows) with pass 1,
    whose outcome the dropped rows keep (their reported values and exclusions)."""
    keep2 = second.credited & ~dropped
    values2 = valuer.value(keep2)
    dropped_groups = {int(g) for g in np.unique(owner[dropped])}
    dedup = Dedup(
        np.where(dropped, first.reason, second.reason), np.where(dropped, first.parent, second.parent),
        {g: v for g, v in first.derivative_of.items() if g in dropped_groups} | second.derivative_of,
    )
    merged = _RowValues(
        np.where(dropped, rows.values, values2.values), np.where(dropped, rows.null_mean, values2.null_mean),
        np.where(dropped, rows.null_var, values2.null_var), values2.u_all, values2.u_none,
    )
    return dedup, merged, np.where(dropped, keep, keep2)


def _noise_tests(spec: Spec, values: Sequence[ContributionValue]) -> dict[tuple[str, str], tuple[float, float | None, float]]:
    """(contributor, row kind) -> (value paid on, Z, paid weight) of the label-noise test (:mod:`.noise`): the
    value paid on is the total less the rows' random-label baseline (:func:`_baseline_paid`)."""
    moments: dict[tuple[str, str], list[float]] = {}
    for v in values:
        if v.kind in ROW_KINDS:
            m = moments.setdefault((v.contributor, v.kind), [0.0, 0.0, 0.0, 0.0])
            m[0] += v.value
            m[1] += v.null_mean
            m[2] += v.null_var
            m[3] += v.baseline
    unpaid = 1.0 if _baseline_paid(spec) else 0.0
    return {key: (total - unpaid * baseline, *ramp(total, mean, var, spec.noise_margin))
            for key, (total, mean, var, baseline) in moments.items()}


def _baseline_paid(spec: Spec) -> bool:
    """Whether rows are paid only their value above the random-label baseline (:func:`.noise.null_baseline`):
    with the noise test on, for classification under ``tknn_shapley``.

    Not under ``knn_shapley``: with no radius and an empty-set utility of 0 a random label earns something
    near every evaluation point (33% of honest breast-cancer rows), so withholding it would move honest payouts
    by 2.1% on average (up to 6.9%) where that method's defences cost 0.2% (``scripts/padded_sybils.py honest``).
    Not for regression, which is unmeasured.
    """
    return spec.noise_margin > 0 and spec.method.name == "tknn_shapley" and spec.task == "classification"


def _unpaid_row_keys(spec: Spec, values: Sequence[ContributionValue]) -> set[tuple[str, str]]:
    """(contributor, row kind) pairs whose floored, noise-tested value is 0."""
    return {key for key, (total, _, weight) in _noise_tests(spec, values).items() if total <= 0 or weight == 0}


def _check_fresh(eval_table: Table, revealed_tables: Sequence[Table]) -> None:
    """A revealed row is public: an evaluation set that reuses one could be copied into pay."""
    current = set(zip(map(tuple, eval_table.x.tolist()), eval_table.labels))
    for table in revealed_tables:
        reused = current & set(zip(map(tuple, table.x.tolist()), table.labels))
        if reused:
            raise InputError(
                f"{eval_table.path}: {len(reused)} rows also in the revealed evaluation set {table.path}; "
                "draw the round's evaluation set from rows never revealed"
            )


def _excluded_counts(dedup: Dedup, owner: np.ndarray, n_tables: int) -> list[dict[str, int]]:
    """Per contribution: reason name -> number of its rows excluded for that reason."""
    counts: list[dict[str, int]] = [{} for _ in range(n_tables)]
    for i, code in zip(owner.tolist(), dedup.reason.tolist()):
        if code:
            counts[i][REASONS[code]] = counts[i].get(REASONS[code], 0) + 1
    return counts


def _contributors(spec: Spec, values: Sequence[ContributionValue]) -> list[ContributorValue]:
    """Raw totals per contributor, and exact shares after per-(contributor, kind) flooring at 0;
    row kinds are first weighted by the label-noise test of :mod:`.noise`."""
    order: list[str] = []
    raw: dict[str, float] = {}
    per_kind: dict[tuple[str, str], int] = {}
    for v in values:
        if v.contributor not in raw:
            order.append(v.contributor)
            raw[v.contributor] = 0.0
        raw[v.contributor] += v.value
        paid_on = v.fixed - (v.baseline_fixed if v.kind in ROW_KINDS and _baseline_paid(spec) else 0)
        per_kind[(v.contributor, v.kind)] = per_kind.get((v.contributor, v.kind), 0) + paid_on
    tested: dict[str, tuple[float | None, float]] = {}
    for (address, kind), (_, z, weight) in _noise_tests(spec, values).items():
        # Exact: the weight is a float, so Fraction(weight) is exact and the floor is reproducible.
        per_kind[(address, kind)] = math.floor(per_kind[(address, kind)] * Fraction(weight))
        if kind == "data" or address not in tested:
            tested[address] = (z, weight)
    positive: dict[str, int] = {}
    for (_, kind), total in per_kind.items():
        positive[kind] = positive.get(kind, 0) + max(0, total)
    active = {k: spec.kind_shares_bps[k] for k in KINDS if positive.get(k, 0) > 0 and spec.kind_shares_bps[k] > 0}
    bps_total = sum(active.values())
    shares = {a: Fraction(0) for a in order}
    for (address, kind), total in per_kind.items():
        if total > 0 and kind in active:
            # Kinds without positive value pass their basis points to the active kinds pro rata.
            shares[address] += Fraction(active[kind] * total, bps_total * positive[kind])
    return [ContributorValue(a, raw[a], float(shares[a]), shares[a], *tested.get(a, (None, 1.0))) for a in order]


def _read_contributions(
    entries: list[Contribution], spec: Spec, columns: Sequence[str], exclude_malformed: bool, tick: Progress
) -> tuple[list[Contribution], list[Table], dict[str, str]]:
    """Read every data/annotation CSV and check every recipe and claim file, once.

    Returns the entries kept, the tables of their row kinds (in order) and, with
    `exclude_malformed`, contribution id -> the one-line problem of each file left out.

    Raises:
        InputError: A malformed file, unless `exclude_malformed`.
        AttributionError: `exclude_malformed` left no contribution.
    """
    tables: dict[str, Table] = {}
    malformed: dict[str, str] = {}
    n_rows = sum(c.kind in ROW_KINDS for c in entries)
    for c in entries:
        try:
            if c.kind in ROW_KINDS:
                tables[c.id] = read_rows(c.path, spec, columns)
                tick("reading", len(tables) + len(malformed), n_rows)
            elif c.kind == "finetune":
                check_recipe(c, spec)
            else:
                check_claim(c)
        except InputError as exc:
            if not exclude_malformed:
                raise
            # Published in the round file: where and what, never the local path or a value from the file.
            malformed[c.id] = exc.public_reason if isinstance(exc, MalformedFileError) else _UNREADABLE[c.kind]
    kept = [c for c in entries if c.id not in malformed]
    if malformed and not kept:
        raise AttributionError(f"no contribution has a well-formed file ({len(malformed)} malformed)")
    return kept, [tables[c.id] for c in kept if c.kind in ROW_KINDS], malformed


def attribute_files(
    spec_path: str | Path,
    manifest_path: str | Path,
    eval_path: str | Path,
    **kwargs: Any,
) -> AttributionReport:
    """:func:`attribute` from file paths (what the CLI runs). Keyword arguments pass through."""
    return attribute(load_spec(spec_path), load_manifest(manifest_path), eval_path, **kwargs)
