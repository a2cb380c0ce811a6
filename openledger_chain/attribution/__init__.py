"""Attribution engine: data valuation of AI-model contributions (no chain code here).

Public API::

    from openledger_chain.attribution import attribute, attribute_files
    report = attribute(spec_dict, manifest_list, "eval.csv", base_dir="dir/", emission=10**18)
    report.scores()        # address -> share of the emission (floats summing to 1)
    report.allocations     # address -> int amount (sum == emission)
    report.to_json()       # the OUT.json document
    decide_bonds(report)   # contribution id -> bond released / forfeited (and why) / held
    round_improvement(report, previous, rate=R, cap=C)   # emission tied to measured improvement

Methods (one module each in :mod:`.methods`): exact soft-label threshold KNN-Shapley (Wang et al.,
2023; the default), exact KNN-Shapley (Jia et al., 2019) for classification and, for
``task: "regression"``, for the KNN regressor (Jia et al., 2019), truncated
Monte-Carlo Shapley (Ghorbani & Zou, 2019), Data Banzhaf with maximum-sample reuse (Wang & Jia,
2023) and leave-one-out. This package never imports web3 or chain code (small utilities such as
eth-utils are fine: addresses come from :mod:`openledger_chain.address`).
"""

from openledger_chain.attribution.base import NotFittedError, Valuation
from openledger_chain.attribution.bonds import BondDecision, decide_bonds
from openledger_chain.attribution.dataset import Dataset
from openledger_chain.attribution.engine import (
    AttributionReport,
    ContributionValue,
    ContributorValue,
    attribute,
    attribute_files,
)
from openledger_chain.attribution.emission import Improvement, improvement_emission, round_improvement
from openledger_chain.attribution.kinds import AttestedClaim, Verifier, attestation_message
from openledger_chain.attribution.manifest import Contribution, load_manifest, parse_manifest
from openledger_chain.attribution.methods import (
    DataBanzhaf,
    KNNRegressionShapley,
    KNNShapley,
    LeaveOneOut,
    TKNNShapley,
    TMCShapley,
    knn_regression_shapley_values,
    knn_shapley_values,
    tknn_shapley_values,
)
from openledger_chain.attribution.representation import EmbeddingSpec, TextFeaturizer, TextSpec
from openledger_chain.attribution.result import ValuationResult
from openledger_chain.attribution.spec import Spec, load_spec, parse_spec

__all__ = [
    "AttestedClaim",
    "AttributionReport",
    "BondDecision",
    "Contribution",
    "ContributionValue",
    "ContributorValue",
    "DataBanzhaf",
    "Dataset",
    "EmbeddingSpec",
    "Improvement",
    "KNNRegressionShapley",
    "KNNShapley",
    "LeaveOneOut",
    "NotFittedError",
    "Spec",
    "TKNNShapley",
    "TMCShapley",
    "TextFeaturizer",
    "TextSpec",
    "Valuation",
    "ValuationResult",
    "Verifier",
    "attestation_message",
    "attribute",
    "attribute_files",
    "decide_bonds",
    "improvement_emission",
    "knn_regression_shapley_values",
    "knn_shapley_values",
    "load_manifest",
    "load_spec",
    "parse_manifest",
    "parse_spec",
    "round_improvement",
    "tknn_shapley_values",
]
