"""Truncated Monte-Carlo Shapley values (Ghorbani & Zou, 2019).

Ghorbani, A. and Zou, J. (2019). "Data Shapley: Equitable Valuation of Data for Machine
Learning". ICML 2019, PMLR 97:2242-2251.

Each of `permutations` random orderings adds rows one at a time and credits each row with its
marginal utility. Once the prefix utility is within ``truncation_tolerance * |U(all)|`` of
``U(all)`` the remaining rows of that permutation are credited 0 (their marginals are assumed
negligible). ``truncation_tolerance = 0`` disables truncation and gives the plain, unbiased
permutation estimator of the Shapley value.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from openledger_chain.attribution.base import ProgressCallback, Valuation
from openledger_chain.attribution.dataset import Dataset
from openledger_chain.attribution.utility import UtilityFactory

__all__ = ["TMCShapley"]


class TMCShapley(Valuation):
    """Permutation-sampling Shapley estimator with truncation.

    Args:
        utility: Builds the utility ``U(indices) -> float`` for the training set given to ``fit``.
        permutations: Number of sampled permutations.
        truncation_tolerance: Relative tolerance for truncating a permutation (0 = never).
        seed: Seed of the permutation generator.
        progress: Optional progress callback over permutations.
    """

    algorithm_name = "tmc_shapley"

    def __init__(
        self,
        utility: UtilityFactory,
        permutations: int = 100,
        truncation_tolerance: float = 0.01,
        seed: int = 0,
        progress: ProgressCallback | None = None,
    ) -> None:
        super().__init__(progress)
        if permutations < 1:
            raise ValueError("permutations must be >= 1")
        self.utility = utility
        self.permutations = permutations
        self.truncation_tolerance = truncation_tolerance
        self.seed = seed

    def params(self) -> dict[str, Any]:
        return {"permutations": self.permutations, "truncation_tolerance": self.truncation_tolerance}

    def fit(self, data: Dataset) -> TMCShapley:
        u = self.utility(data)
        n = len(data)
        rng = np.random.default_rng(self.seed)
        everything = np.arange(n)
        u_all, u_none = u(everything), u(everything[:0])
        threshold = self.truncation_tolerance * abs(u_all)
        marginals = np.zeros((self.permutations, n))
        for p in range(self.permutations):
            perm = rng.permutation(n)
            previous = u_none
            for j in range(n):
                if abs(u_all - previous) < threshold:
                    break  # truncated: the rest of this permutation keeps marginal 0
                current = u(perm[: j + 1])
                marginals[p, perm[j]] = current - previous
                previous = current
            self._report(p + 1, self.permutations)
        variances = marginals.var(axis=0, ddof=1) if self.permutations > 1 else np.zeros(n)
        self._result = self._make_result(
            data,
            marginals.mean(axis=0),
            variances=variances,
            counts=np.full(n, self.permutations),
            seed=self.seed,
            status="sampled",
            utility_all=u_all,
            utility_none=u_none,
        )
        return self
