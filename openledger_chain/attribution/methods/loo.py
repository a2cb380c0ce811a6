"""Leave-one-out values: ``U(all) - U(all without i)``, the cheap baseline.

Cook, R. D. (1977). "Detection of Influential Observation in Linear Regression".
Technometrics 19(1), 15-18 -- the deletion diagnostic that LOO data valuation generalises.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from openledger_chain.attribution.base import ProgressCallback, Valuation
from openledger_chain.attribution.dataset import Dataset
from openledger_chain.attribution.utility import UtilityFactory

__all__ = ["LeaveOneOut"]


class LeaveOneOut(Valuation):
    """Exact leave-one-out values (n + 1 utility evaluations).

    Args:
        utility: Builds the utility for the training set given to ``fit``.
        progress: Optional progress callback over rows.
    """

    algorithm_name = "loo"

    def __init__(self, utility: UtilityFactory, progress: ProgressCallback | None = None) -> None:
        super().__init__(progress)
        self.utility = utility

    def params(self) -> dict[str, Any]:
        return {}

    def fit(self, data: Dataset) -> LeaveOneOut:
        u = self.utility(data)
        n = len(data)
        everything = np.arange(n)
        u_all = u(everything)
        values = np.empty(n)
        for i in range(n):
            values[i] = u_all - u(np.delete(everything, i))
            self._report(i + 1, n)
        self._result = self._make_result(data, values, utility_all=u_all, utility_none=u(everything[:0]))
        return self
