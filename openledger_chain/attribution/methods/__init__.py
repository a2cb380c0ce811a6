"""Attribution methods, one per module (after pyDVL's ``valuation/methods``)."""

from openledger_chain.attribution.methods.banzhaf import DataBanzhaf
from openledger_chain.attribution.methods.knn_regression_shapley import KNNRegressionShapley, knn_regression_shapley_values
from openledger_chain.attribution.methods.knn_shapley import KNNShapley, knn_shapley_values
from openledger_chain.attribution.methods.loo import LeaveOneOut
from openledger_chain.attribution.methods.tknn_shapley import TKNNShapley, tknn_shapley_values
from openledger_chain.attribution.methods.tmc_shapley import TMCShapley

__all__ = [
    "DataBanzhaf", "KNNRegressionShapley", "KNNShapley", "LeaveOneOut", "TKNNShapley", "TMCShapley", "knn_regression_shapley_values", "knn_shapley_values",
    "tknn_shapley_values",
]
