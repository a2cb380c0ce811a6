"""pyDVL 0.10.0's KNN-Shapley values, the independent reference our `knn_shapley` is checked against.

pyDVL 0.10.0 (its newest release) requires NumPy < 2, and the toolkit runs on NumPy 2, whose sort is 3-4x
faster on AVX2 (the valuation sorts every training row for every evaluation row). So pyDVL lives in a venv
of its own, `.venv-reference` (`make reference`, the `reference` extra of pyproject.toml, without the
package), and this file is both halves of the hand-off:

* `pydvl_knn_shapley(...)`, called from the project's venv (tests, scripts/bench_attribution.py), writes the
  data to an .npz file and runs this file in the reference venv;
* run as a script there, it fits pyDVL's `KNNShapleyValuation` and writes the values and the fit's time.

Usage (the second half): .venv-reference/bin/python scripts/pydvl_reference.py IN.npz OUT.npz
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

PROJECT_ROOT = Path(__file__).resolve().parents[1]
#: The reference venv's interpreter; OPENLEDGER_REFERENCE_PYTHON overrides it (make test passes it).
REFERENCE_PYTHON = PROJECT_ROOT / ".venv-reference" / "bin" / "python"


def reference_python() -> Path:
    """The interpreter that has pyDVL, or a RuntimeError that says how to make it."""
    python = Path(os.environ.get("OPENLEDGER_REFERENCE_PYTHON", REFERENCE_PYTHON))
    if not python.is_file():
        raise RuntimeError(f"pyDVL's venv is missing ({python}); run `make reference` in {PROJECT_ROOT}")
    return python


def pydvl_knn_shapley(train_x: np.ndarray, train_y: np.ndarray, eval_x: np.ndarray, eval_y: np.ndarray,
                      k: int) -> tuple[np.ndarray, float]:
    """pyDVL's KNN-Shapley value of each training row (in row order) and the seconds its fit took."""
    with tempfile.TemporaryDirectory(prefix="pydvl-") as folder:
        given, answer = Path(folder) / "in.npz", Path(folder) / "out.npz"
        np.savez(given, train_x=train_x, train_y=train_y, eval_x=eval_x, eval_y=eval_y, k=k)
        run = subprocess.run([str(reference_python()), __file__, str(given), str(answer)], capture_output=True, text=True)
        if run.returncode != 0:
            raise RuntimeError(f"pyDVL's run failed ({run.returncode}): {run.stderr.strip()[-2000:]}")
        with np.load(answer) as out:
            return out["values"], float(out["seconds"])


def main(given: str, answer: str) -> None:
    from pydvl.valuation.dataset import Dataset
    from pydvl.valuation.methods.knn_shapley import KNNShapleyValuation
    from sklearn.neighbors import KNeighborsClassifier

    with np.load(given) as data:
        train_x, train_y, eval_x, eval_y, k = (data[name] for name in ("train_x", "train_y", "eval_x", "eval_y", "k"))
    start = time.perf_counter()
    result = KNNShapleyValuation(KNeighborsClassifier(int(k)), test_data=Dataset(eval_x, eval_y),
                                 progress=False).fit(Dataset(train_x, train_y)).result
    seconds = time.perf_counter() - start
    values = np.empty(len(train_x))
    values[result.indices] = result.values
    np.savez(answer, values=values, seconds=seconds)


if __name__ == "__main__":
    main(*sys.argv[1:3])
