"""Copy detection's neighbour search at scale: the certified cell search against scikit-learn's.

For each size, on synthetic rows (clustered: 30 features around N/1000 centres, as contributed
measurements of a few hundred kinds of object tend to be; or one Gaussian blob, the hard case for
any space partition), it times:

- ``cells``: :func:`openledger_chain.attribution.cells.certified_knn` (the exact 32 nearest rows),
  and how many distances it computed as a fraction of a brute-force search;
- ``sklearn``: scikit-learn's ``NearestNeighbors`` (what copy detection used before), up to
  ``--sklearn-up-to`` rows, and whether both gave the same distances;
- with ``--threads``, the cell search again under 1 and 2 BLAS threads: the lists must be identical;
- with ``--copies``, a whole ``find_copies`` run with 10% planted copies moved 0.1-0.5 of the
  spacing, cells vs sklearn: the same decisions, and how many planted copies each missed.

Usage: python scripts/bench_copy_search.py --rows 100000 300000 1000000 [--blob] [--threads] [--copies]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from sklearn.neighbors import NearestNeighbors
from threadpoolctl import threadpool_limits

from openledger_chain.attribution import cells
from openledger_chain.attribution.dedup import CELL_SEARCH_GIVES_UP_ABOVE, NeighbourIndex, find_copies

K = 32


def synthetic(n: int, d: int, blob: bool, seed: int = 0) -> np.ndarray:
    """Clustered: n/1000 clusters, each a 6-dimensional Gaussian placed in the d features plus a little
    noise (measured data has far fewer degrees of freedom than columns). Blob: bench_attribution.py's
    two classes, d-dimensional Gaussians around nearby centres (the hard case for any partition)."""
    rng = np.random.default_rng(seed)
    if blob:
        centres = rng.normal(size=(2, d))
        return centres[rng.integers(2, size=n)] + rng.normal(size=(n, d)) * 2
    clusters = max(1, n // 1000)
    centres = rng.normal(size=(clusters, d)) * 6
    shapes = rng.normal(size=(clusters, 6, d))
    which = rng.integers(clusters, size=n)
    latent = rng.normal(size=(n, 1, 6))
    return centres[which] + (latent @ shapes[which])[:, 0, :] + rng.normal(size=(n, d)) * 0.1


def timed_cells(x: np.ndarray, force: bool) -> tuple[np.ndarray, float, float] | None:
    computed = [0]
    nearest = cells._nearest

    def counting(points, queries, candidates, norms, k):  # type: ignore[no-untyped-def]
        computed[0] += len(queries) * len(candidates)
        return nearest(points, queries, candidates, norms, k)

    cells._nearest = counting
    try:
        start = time.perf_counter()
        plan = cells.plan_cells(x, K)
        sampled = cells.searched_fraction(x, plan)
        print(f"    a sample of 8 cells searched {sampled:.1%} of brute force's distances "
              f"(auto gives up on cells above {CELL_SEARCH_GIVES_UP_ABOVE:.0%}); {time.perf_counter() - start:.1f} s so far",
              flush=True)
        if sampled > CELL_SEARCH_GIVES_UP_ABOVE and not force:
            return None
        computed[0] = 0
        lists = cells.certified_knn(x, K)
        return lists, time.perf_counter() - start, computed[0] / len(x) ** 2
    finally:
        cells._nearest = nearest


def planted(n: int, d: int, blob: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """n rows in contributions of 100: 90% honest, then 10% copies of honest rows moved 0.1-0.5 spacing."""
    rng = np.random.default_rng(1)
    honest = synthetic(n - n // 10, d, blob, seed=1)
    sources = rng.choice(len(honest), size=n // 10, replace=False)
    dist, _ = NearestNeighbors(n_neighbors=2).fit(honest).kneighbors(honest[sources])
    direction = rng.normal(size=(len(sources), d))
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    copies = honest[sources] + direction * (rng.uniform(0.1, 0.5, len(sources)) * dist[:, 1])[:, None]
    x = np.vstack([honest, copies])
    group = np.arange(len(x)) // 100
    return x, group, np.arange(len(honest), len(x))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000])
    parser.add_argument("--features", type=int, default=30)
    parser.add_argument("--blob", action="store_true", help="one Gaussian blob instead of clusters")
    parser.add_argument("--sklearn-up-to", type=int, default=100_000)
    parser.add_argument("--force-cells", action="store_true", help="time the cell search even where auto gives up")
    parser.add_argument("--threads", action="store_true", help="also compare 1 and 2 BLAS threads")
    parser.add_argument("--copies", action="store_true", help="also run find_copies with planted copies")
    args = parser.parse_args()
    shape = "one blob" if args.blob else "clustered"
    for n in args.rows:
        x = synthetic(n, args.features, args.blob)
        timed = timed_cells(x, args.force_cells)
        if timed is None:
            print(f"{n:>9,} x {args.features} {shape}: copy detection would use scikit-learn's search (--force-cells "
                  "to time the cells anyway)", flush=True)
            continue
        lists, seconds, fraction = timed
        line = f"{n:>9,} x {args.features} {shape}: cells {seconds:7.1f} s ({fraction:.3%} of brute-force distances)"
        if n <= args.sklearn_up_to:
            start = time.perf_counter()
            _, theirs = NearestNeighbors(n_neighbors=K).fit(x).kneighbors(x)
            sklearn = time.perf_counter() - start
            # Both lists' distances computed the same exact way (scikit-learn's own are rounded ~1e-6).
            mine = np.sort(np.linalg.norm(x[lists] - x[:, None, :], axis=2), axis=1)
            same = np.array_equal(mine, np.sort(np.linalg.norm(x[theirs] - x[:, None, :], axis=2), axis=1))
            line += f"; sklearn {sklearn:7.1f} s ({sklearn / seconds:.2f}x cells); same distances: {same}"
        print(line, flush=True)
        if args.threads:
            with threadpool_limits(1):
                one = cells.certified_knn(x, K)
            with threadpool_limits(2):
                two = cells.certified_knn(x, K)
            print(f"    1 vs 2 BLAS threads: identical lists {np.array_equal(one, two)}", flush=True)
        if args.copies:
            xc, group, planted_rows = planted(n, args.features, args.blob)
            y = np.zeros(len(xc), dtype=np.int64)
            ref, ref_y = np.zeros((0, args.features)), np.zeros(0, dtype=np.int64)
            outcome = {}
            for search in ("cells", "sklearn") if n <= args.sklearn_up_to else ("cells",):
                start = time.perf_counter()
                index = NeighbourIndex(xc, ref, 1e9, search=search)
                outcome[search] = find_copies(xc, y, group, ref, ref_y, copy_ratio=0.5, outlier_bound=1e9, index=index)
                missed = int((outcome[search].reason[planted_rows] == 0).sum())
                print(f"    find_copies ({search}): {time.perf_counter() - start:7.1f} s, planted copies missed "
                      f"{missed} of {len(planted_rows)}", flush=True)
            if len(outcome) == 2:
                print(f"    same decisions: {outcome['cells'].reason.tolist() == outcome['sklearn'].reason.tolist()}")


if __name__ == "__main__":
    main()
