"""Brute-force Shapley and Banzhaf values by enumerating every subset (tiny n only)."""

from __future__ import annotations

from collections.abc import Callable
from itertools import combinations
from math import factorial

import numpy as np


def all_utilities(u: Callable[[np.ndarray], float], n: int) -> dict[frozenset[int], float]:
    return {
        frozenset(s): u(np.array(s, dtype=np.int64))
        for size in range(n + 1)
        for s in combinations(range(n), size)
    }


def shapley(u: Callable[[np.ndarray], float], n: int) -> np.ndarray:
    table = all_utilities(u, n)
    values = np.zeros(n)
    for i in range(n):
        for s, us in table.items():
            if i not in s:
                weight = factorial(len(s)) * factorial(n - len(s) - 1) / factorial(n)
                values[i] += weight * (table[s | {i}] - us)
    return values


def banzhaf(u: Callable[[np.ndarray], float], n: int) -> np.ndarray:
    table = all_utilities(u, n)
    values = np.zeros(n)
    for i in range(n):
        values[i] = sum(table[s | {i}] - us for s, us in table.items() if i not in s) / 2 ** (n - 1)
    return values
