"""Data Banzhaf values with the maximum-sample-reuse (MSR) estimator (Wang & Jia, 2023).

Wang, J. T. and Jia, R. (2023). "Data Banzhaf: A Robust Data Valuation Framework for Machine
Learning". AISTATS 2023, PMLR 206:6388-6421.

The Banzhaf value of row i is ``2^-(n-1) * sum_{S not containing i} [U(S + i) - U(S)]``. MSR
draws `samples` subsets, each row included independently with probability 1/2, evaluates U once
per subset, and estimates every row's value from all samples at once:
``mean(U(S) : i in S) - mean(U(S) : i not in S)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from openledger_chain.attribution.base import ProgressCallback, Valuation
from openledger_chain.attribution.dataset import Dataset
from openledger_chain.attribution.utility import UtilityFactory

__all__ = ["DataBanzhaf"]


class DataBanzhaf(Valuation):
    """MSR estimator of Data Banzhaf values.

    Args:
        utility: Builds the utility for the training set given to ``fit``.
        samples: Number of sampled subsets.
        seed: Seed of the subset generator.
        progress: Optional progress callback over samples.
    """

    algorithm_name = "banzhaf"

    def __init__(
        self, utility: UtilityFactory, samples: int = 1000, seed: int = 0, progress: ProgressCallback | None = None
    ) -> None:
        super().__init__(progress)
        if samples < 2:
            raise ValueError("samples must be >= 2")
        self.utility = utility
        self.samples = samples
        self.seed = seed

    def params(self) -> dict[str, Any]:
        return {"samples": self.samples}

    def fit(self, data: Dataset) -> DataBanzhaf:
        u = self.utility(data)
        n = len(data)
        rng = np.random.default_rng(self.seed)
        masks = rng.random((self.samples, n)) < 0.5
        scores = np.empty(self.samples)
        for m in range(self.samples):
            scores[m] = u(np.flatnonzero(masks[m]))
            self._report(m + 1, self.samples)
        n_in = masks.sum(axis=0)
        n_out = self.samples - n_in
        sum_in = scores @ masks
        sum_out = scores.sum() - sum_in
        # A row never (or always) sampled has no estimate; it gets 0 and count 0 says so.
        defined = (n_in > 0) & (n_out > 0)
        values = np.where(defined, sum_in / np.maximum(n_in, 1) - sum_out / np.maximum(n_out, 1), 0.0)
        var_in = np.array([scores[masks[:, i]].var() if n_in[i] > 1 else 0.0 for i in range(n)])
        var_out = np.array([scores[~masks[:, i]].var() if n_out[i] > 1 else 0.0 for i in range(n)])
        variances = var_in / np.maximum(n_in, 1) + var_out / np.maximum(n_out, 1)
        everything = np.arange(n)
        self._result = self._make_result(
            data,
            values,
            variances=variances,
            counts=np.where(defined, self.samples, 0),
            seed=self.seed,
            status="sampled",
            utility_all=u(everything),
            utility_none=u(everything[:0]),
        )
        return self
