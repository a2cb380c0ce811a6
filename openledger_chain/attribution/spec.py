"""The model spec (SPEC.json): which task and label, method, estimator, seed, kind shares and dedup radius.

Every field but ``label`` has a default; unknown fields are rejected (a typo must not silently
fall back to a default). See docs/attribution.md for the field reference.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openledger_chain.attribution.estimators import validate_params
from openledger_chain.attribution.representation import EmbeddingSpec, TextSpec, parse_embedding, parse_text
from openledger_chain.errors import InputError
from openledger_chain.files import JSON_MAX_DEPTH, parse_json

__all__ = [
    "DEFAULT_KIND_SHARES_BPS", "DEFAULT_TEXT_TAU", "EMISSION_POLICIES", "EmissionPolicy", "KINDS", "SAMPLED_METHODS", "TASKS", "TASK_METHODS", "MethodSpec", "Spec", "load_spec", "parse_spec", "read_json",
]

#: The default method (docs/attribution.md, "Methods", says why).
DEFAULT_METHOD = "tknn_shapley"
TASKS = ("classification", "regression")
#: Task -> the methods that value it; the first is the task's default.
TASK_METHODS = {"classification": ("tknn_shapley", "knn_shapley", "tmc_shapley", "banzhaf", "loo"),
                "regression": ("knn_shapley", "tknn_shapley")}
KINDS = ("data", "annotation", "finetune", "compute", "evaluation")
#: Methods whose values are Monte-Carlo estimates: seeded, but not recomputable to the bit on another machine.
SAMPLED_METHODS = ("tmc_shapley", "banzhaf")
DEFAULT_KIND_SHARES_BPS: dict[str, int] = {
    "data": 7000, "annotation": 1000, "finetune": 1000, "compute": 500, "evaluation": 500,
}
# Method name -> {parameter: (default, check)}.
_METHODS: dict[str, dict[str, tuple[Any, Any]]] = {
    "knn_shapley": {"k": (5, lambda v: _is_int(v) and 1 <= v <= 10_000)},
    "tknn_shapley": {
        "k": (5, lambda v: v is None or (_is_int(v) and 1 <= v <= 10_000)),
        "tau": ("auto", lambda v: v is None or v == "auto" or (_is_num(v) and v > 0)),
    },
    "tmc_shapley": {
        "permutations": (100, lambda v: _is_int(v) and 1 <= v <= 1_000_000),
        "truncation_tolerance": (0.01, lambda v: _is_num(v) and 0 <= v <= 1),
    },
    "banzhaf": {"samples": (1000, lambda v: _is_int(v) and 2 <= v <= 10_000_000)},
    "loo": {},
}
_FIELDS = {
    "task", "label", "method", "estimator", "seed", "kind_shares_bps", "copy_ratio", "outlier_bound", "noise_margin",
    "classes",
    "standardize",
    "features",
    "emission",
    "embedding",
    "text",
    "copy_search",
}
#: Fields of earlier versions -> what replaced them (a clear error instead of "unknown field").
_REPLACED = {"near_duplicate_distance": "copy_ratio (a ratio to the local spacing of rows, see docs/attribution.md)"}
DEFAULT_COPY_RATIO = 0.5
#: The label-noise test's margin (:mod:`.noise`). 3.0 keeps every noise swarm of
#: scripts/gaming_report.py under 1% of the emission; 2.5 let one on iris take 1.5%, and costs small
#: honest contributors less (docs/attribution.md, "What the defences cost honest contributors").
DEFAULT_NOISE_MARGIN = 3.0
#: In evaluation standard deviations; honest breast-cancer rows reach 16.
DEFAULT_OUTLIER_BOUND = 25.0
#: tknn_shapley's radius for a text spec that sets none. Text rows are unit vectors (every distance in [0, 2]),
#: where `tau: "auto"` lands above the sphere's diameter and cuts nothing, so junk text was paid;
#: scripts/text_radius.py measures each radius (docs/attribution.md, "The radius for text").
DEFAULT_TEXT_TAU = 1.3


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


@dataclass(frozen=True)
class MethodSpec:
    """An attribution method and its parameters (defaults filled in)."""

    name: str = "tknn_shapley"
    params: dict[str, Any] = field(default_factory=lambda: {"k": 5, "tau": "auto"})


#: How a model's rounds decide their emission: "fixed" (what the oracle is told, at most the on-chain
#: emissionPerRound) or "improvement" (issue 23: min(cap, rate x max(0, U_now - U_before))).
EMISSION_POLICIES = ("fixed", "improvement")
_UINT256 = 2**256


@dataclass(frozen=True)
class EmissionPolicy:
    """The spec's `emission` field. The spec's hash is registered on-chain, so this is on-chain policy in
    committed form: no oracle can choose another rate or cap without proposing under another spec.

    Attributes:
        policy: ``"fixed"`` or ``"improvement"``.
        rate: Stake-token units minted per 1.0 of utility gained (improvement only).
        cap: Most stake-token units one round mints (improvement only); at most the model's on-chain
            ``emissionPerRound``, which the oracle checks when it loads the spec against the chain.
    """

    policy: str = "fixed"
    rate: int = 0
    cap: int = 0

    @property
    def improvement(self) -> bool:
        return self.policy == "improvement"


@dataclass(frozen=True)
class Spec:
    """A validated SPEC.json.

    Attributes:
        label: Name of the label column in every CSV (required); for regression, the target
            column (finite numbers).
        task: ``"classification"`` (class labels) or ``"regression"`` (numeric targets, valued by
            exact KNN-Shapley of the KNN regressor, :mod:`.methods.knn_regression_shapley`).
        method: Attribution method for data/annotation rows.
        estimator_name: Allow-listed scikit-learn estimator (TMC, Banzhaf, LOO utilities and the
            fine-tune base recipe).
        estimator_params: Its base hyperparameters.
        seed: Seed of sampled methods and seeded estimators.
        kind_shares_bps: Basis points of the emission per contribution kind (sum 10000).
        copy_ratio: A later row is a copy of its nearest earlier row when it is closer to it than
            this fraction of that row's distance to its own nearest other row (0 = exact copies
            only; :mod:`.dedup`).
        outlier_bound: Rows with a feature beyond this many evaluation standard deviations from
            the evaluation mean are excluded.
        noise_margin: Z-score above random labels at which an identity's row value is paid in
            full; the pay ramps up from ``noise_margin - 1`` (0 = plain flooring; :mod:`.noise`).
        classes: Allowed label values (None = any).
        standardize: Z-score every feature with the evaluation set's mean and standard deviation
            before any distance, model or recipe sees it.
        features: The feature columns every CSV must have, besides the label (None = whatever the
            evaluation set has). Naming them publishes the schema: `contribute` checks a file against
            it before registering, and the evaluation set must have exactly these columns.
        emission: How each round's emission is decided (:class:`EmissionPolicy`; absent = fixed).
        embedding: The rows are vectors of this embedding model (Parquet or .npz files;
            :mod:`.representation`); None = numeric CSV columns.
        text: The rows are texts of one CSV column, featurized as this says (:mod:`.representation`).
        copy_search: How copy detection finds each row's candidate neighbours: ``"exact"`` (every
            row's true nearest rows), ``"approximate"`` (the nearest among its candidate cells,
            decided by exact distances, the same on every machine: :func:`.cells.approximate_knn`),
            or ``"auto"`` (the default: exact below :data:`.dedup.APPROXIMATE_FROM_ROWS` rows).
    """

    label: str
    task: str = "classification"
    method: MethodSpec = field(default_factory=MethodSpec)
    estimator_name: str = "KNeighborsClassifier"
    estimator_params: dict[str, Any] = field(default_factory=lambda: {"n_neighbors": 5})
    seed: int = 0
    kind_shares_bps: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_KIND_SHARES_BPS))
    copy_ratio: float = DEFAULT_COPY_RATIO
    outlier_bound: float = DEFAULT_OUTLIER_BOUND
    noise_margin: float = DEFAULT_NOISE_MARGIN
    classes: tuple[str, ...] | None = None
    standardize: bool = True
    features: tuple[str, ...] | None = None
    emission: EmissionPolicy = field(default_factory=EmissionPolicy)
    copy_search: str = "auto"
    embedding: EmbeddingSpec | None = None
    text: TextSpec | None = None

    @property
    def representation(self) -> str:
        """``"columns"`` (numeric CSV columns), ``"embedding"`` or ``"text"``."""
        return "embedding" if self.embedding is not None else "text" if self.text is not None else "columns"

    def manifest(self) -> dict[str, Any]:
        """JSON-safe form with all defaults filled in (recorded in OUT.json)."""
        return {
            "task": self.task,
            "label": self.label,
            "method": {"name": self.method.name, **self.method.params},
            "estimator": {"name": self.estimator_name, "params": dict(self.estimator_params)},
            "seed": self.seed,
            "kind_shares_bps": dict(self.kind_shares_bps),
            "copy_ratio": self.copy_ratio,
            "outlier_bound": self.outlier_bound,
            "noise_margin": self.noise_margin,
            "classes": list(self.classes) if self.classes is not None else None,
            "standardize": self.standardize,
        } | ({"features": list(self.features)} if self.features is not None else {}) | (
            {"emission": {"policy": "improvement", "rate": str(self.emission.rate), "cap": str(self.emission.cap)}}
            if self.emission.improvement else {}) | (
            {"embedding": self.embedding.manifest()} if self.embedding is not None else {}) | (
            {"text": self.text.manifest()} if self.text is not None else {}) | (
            {"copy_search": self.copy_search} if self.copy_search != "auto" else {})
        # (`features`, `emission`, `embedding`, `text` and `copy_search` only when given: the record of a spec
        # without them stays what it was.)


def read_json(path: Path) -> Any:
    """Read a JSON file, turning I/O and syntax errors into one-line InputErrors."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read ({exc})") from None
    if not text.strip():
        raise InputError(f"{path}: empty file")
    try:
        return parse_json(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: row {exc.lineno}, column {exc.colno}: invalid JSON ({exc.msg})") from None
    except RecursionError:
        raise InputError(f"{path}: nested more than {JSON_MAX_DEPTH} levels deep; not a file this toolkit reads") from None


def _parse_method(raw: Any, where: str) -> MethodSpec:
    if not isinstance(raw, Mapping) or not isinstance(raw.get("name"), str):
        raise InputError(f"{where}: field 'method' must be an object with a string 'name'")
    name = raw["name"]
    if name not in _METHODS:
        raise InputError(f"{where}: field 'method.name': unknown method {name!r} (choose from {', '.join(_METHODS)})")
    table = _METHODS[name]
    params = {key: default for key, (default, _) in table.items()}
    for key, value in raw.items():
        if key == "name":
            continue
        if key not in table:
            raise InputError(f"{where}: field 'method.{key}' is not a parameter of {name}")
        if not table[key][1](value):
            raise InputError(f"{where}: field 'method.{key}': bad value {value!r}")
        params[key] = value
    return MethodSpec(name, params)


def _parse_emission(raw: Any, where: str) -> EmissionPolicy:
    """The spec's `emission` field: {"policy": "fixed"} or {"policy": "improvement", "rate": "N", "cap": "N"}.

    rate and cap are decimal strings (as amounts are in round files): stake-token units exceed 2**53, which a
    JSON number cannot carry exactly to every reader of the spec.
    """
    if raw is None:
        return EmissionPolicy()
    if not isinstance(raw, Mapping) or raw.get("policy") not in EMISSION_POLICIES:
        raise InputError(f"{where}: field 'emission' must be {{\"policy\": \"fixed\"}} or {{\"policy\": \"improvement\", "
                         "\"rate\": \"<units per 1.0 utility>\", \"cap\": \"<units>\"}")
    if raw["policy"] == "fixed":
        if set(raw) != {"policy"}:
            raise InputError(f"{where}: field 'emission': the fixed policy takes no other field "
                             f"({', '.join(sorted(set(raw) - {'policy'}))}); remove it or choose \"improvement\"")
        return EmissionPolicy()
    unknown = set(raw) - {"policy", "rate", "cap"}
    if unknown:
        raise InputError(f"{where}: field 'emission.{sorted(unknown)[0]}' is not part of the improvement policy "
                         "(fields: policy, rate, cap)")
    values = {}
    for key in ("rate", "cap"):
        value = raw.get(key)
        if not isinstance(value, str) or not value.isascii() or not value.isdigit() or \
                (len(value) > 1 and value[0] == "0") or int(value) >= _UINT256:
            raise InputError(f"{where}: field 'emission.{key}' must be a decimal string of stake-token units in "
                             f"[0, 2**256), e.g. \"1000000000000000000000\"; got {value!r}")
        values[key] = int(value)
    return EmissionPolicy("improvement", values["rate"], values["cap"])


def parse_spec(raw: Any, where: str = "spec") -> Spec:
    """Validate a decoded SPEC.json and fill in defaults.

    Args:
        raw: The decoded JSON.
        where: File name for error messages.

    Raises:
        InputError: On a missing label, an unknown field, method or estimator, or a bad value.
    """
    if not isinstance(raw, Mapping):
        raise InputError(f"{where}: the spec must be a JSON object")
    replaced = sorted(set(raw) & set(_REPLACED))
    if replaced:
        raise InputError(f"{where}: field {replaced[0]!r} was replaced by {_REPLACED[replaced[0]]}")
    unknown = set(raw) - _FIELDS
    if unknown:
        raise InputError(f"{where}: unknown field {sorted(unknown)[0]!r} (fields: {', '.join(sorted(_FIELDS))})")
    label = raw.get("label")
    if not isinstance(label, str) or not label:
        raise InputError(f"{where}: field 'label' (the label column name) is required and must be a non-empty string")
    task = raw.get("task", "classification")
    if task not in TASKS:
        raise InputError(f"{where}: field 'task': unknown task {task!r} (choose from {', '.join(TASKS)})")
    method = _parse_method(raw.get("method", {"name": TASK_METHODS[task][0]}), where)
    if method.name not in TASK_METHODS[task]:
        raise InputError(f"{where}: field 'method.name': {method.name} does not value task {task!r} "
                         f"(choose from {', '.join(TASK_METHODS[task])})")
    if task == "regression" and method.name == "tknn_shapley" and method.params["k"] is not None:
        raise InputError(f"{where}: field 'method.k': tknn_shapley for regression averages every target within tau; "
                         "give \"k\": null (a K cap is not implemented for regression)")
    est = raw.get("estimator", {"name": "KNeighborsClassifier", "params": {"n_neighbors": 5}})
    if not isinstance(est, Mapping) or not isinstance(est.get("name"), str) or set(est) - {"name", "params"}:
        raise InputError(f"{where}: field 'estimator' must be {{\"name\": str, \"params\": {{...}}}}")
    est_params = validate_params(est["name"], est.get("params", {}), f"{where}: field 'estimator'")
    seed = raw.get("seed", 0)
    if not _is_int(seed) or not 0 <= seed < 2**32:
        raise InputError(f"{where}: field 'seed' must be an integer in [0, 2**32)")
    shares = raw.get("kind_shares_bps", DEFAULT_KIND_SHARES_BPS)
    if not isinstance(shares, Mapping):
        raise InputError(f"{where}: field 'kind_shares_bps' must be an object kind -> basis points")
    for kind, bps in shares.items():
        if kind not in KINDS:
            raise InputError(f"{where}: field 'kind_shares_bps': unknown kind {kind!r} (kinds: {', '.join(KINDS)})")
        if not _is_int(bps) or bps < 0:
            raise InputError(f"{where}: field 'kind_shares_bps.{kind}' must be a non-negative integer")
    if sum(shares.values()) != 10_000:
        raise InputError(f"{where}: field 'kind_shares_bps' must sum to 10000, got {sum(shares.values())}")
    copy_ratio = raw.get("copy_ratio", DEFAULT_COPY_RATIO)
    if not _is_num(copy_ratio) or not 0 <= copy_ratio <= 1:
        raise InputError(f"{where}: field 'copy_ratio' must be a number in [0, 1]")
    outlier_bound = raw.get("outlier_bound", DEFAULT_OUTLIER_BOUND)
    if not _is_num(outlier_bound) or outlier_bound <= 0:
        raise InputError(f"{where}: field 'outlier_bound' must be a positive number (evaluation standard deviations)")
    noise_margin = raw.get("noise_margin", DEFAULT_NOISE_MARGIN)
    if not _is_num(noise_margin) or not 0 <= noise_margin <= 10:
        raise InputError(f"{where}: field 'noise_margin' must be a number in [0, 10]")
    classes = raw.get("classes")
    if classes is not None and (
        not isinstance(classes, list) or not classes or not all(isinstance(c, (str, int)) for c in classes)
    ):
        raise InputError(f"{where}: field 'classes' must be a non-empty list of label values")
    if classes is not None and task == "regression":
        raise InputError(f"{where}: field 'classes' is for classification; a regression target is any finite number")
    embedding = parse_embedding(raw["embedding"], where) if "embedding" in raw else None
    text = parse_text(raw["text"], where) if "text" in raw else None
    if embedding is not None and text is not None:
        raise InputError(f"{where}: fields 'embedding' and 'text' exclude each other (a model's rows are one or the other)")
    if text is not None and method.name == "tknn_shapley" and "tau" not in raw.get("method", {}):
        method = MethodSpec(method.name, method.params | {"tau": DEFAULT_TEXT_TAU})
    standardize = raw.get("standardize", embedding is None and text is None)
    if not isinstance(standardize, bool):
        raise InputError(f"{where}: field 'standardize' must be true or false")
    if standardize and (embedding is not None or text is not None):
        raise InputError(f"{where}: field 'standardize': z-scoring each dimension would change the "
                         f"{'embedding' if embedding is not None else 'text featurizer'}'s distance; drop the field "
                         "(the rows are valued in the representation's own space)")
    if raw.get("features") is not None and (embedding is not None or text is not None):
        raise InputError(f"{where}: field 'features' names CSV feature columns; an embedding or text spec names "
                         "its column inside 'embedding' or 'text'")
    if text is not None and text.column == label or embedding is not None and embedding.column == label:
        raise InputError(f"{where}: the label column {label!r} cannot also be the feature column")
    features = raw.get("features")
    if features is not None and (
        not isinstance(features, list) or not features or not all(isinstance(f, str) and f.strip() == f and f
                                                                   for f in features)
    ):
        raise InputError(f"{where}: field 'features' must be a non-empty list of column names")
    if features is not None and (len(set(features)) != len(features) or label in features):
        raise InputError(f"{where}: field 'features' must name each feature column once, and not the label {label!r}")
    copy_search = raw.get("copy_search", "auto")
    if copy_search not in ("auto", "exact", "approximate"):
        raise InputError(f"{where}: field 'copy_search' must be \"auto\", \"exact\" or \"approximate\"")
    return Spec(
        label=label,
        task=task,
        method=method,
        estimator_name=est["name"],
        estimator_params=est_params,
        seed=seed,
        kind_shares_bps={k: int(shares.get(k, 0)) for k in KINDS},
        copy_ratio=float(copy_ratio),
        outlier_bound=float(outlier_bound),
        noise_margin=float(noise_margin),
        classes=tuple(str(c) for c in classes) if classes is not None else None,
        standardize=standardize,
        features=tuple(features) if features is not None else None,
        emission=_parse_emission(raw.get("emission"), where),
        embedding=embedding,
        text=text,
        copy_search=copy_search,
    )


def load_spec(path: str | Path) -> Spec:
    """Read and validate SPEC.json."""
    path = Path(path)
    return parse_spec(read_json(path), str(path))
