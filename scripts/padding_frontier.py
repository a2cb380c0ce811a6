"""Padding frontier (issue 21): what padding one's own file and splitting it over identities pay under
candidate valuations, measured through the real engine. An experiment, not a new default.

Usage:  python scripts/padding_frontier.py [--quick] [--candidates A,B,C,D,E] [--datasets ...] [--seeds 3]
            [--json frontier.json] [--no-timing] [--no-suite] [--time-rows 100000] [--time-eval 1000]
            [--time-contributors 10,1000]
        python scripts/padding_frontier.py --from-json run1.json[,run2.json] [--json merged.json]   # tables only

The full run (5 candidates, 3 data sets, 3 seeds, the suite's 14 copy/noise/sybil attacks, timing)
takes about 40 minutes on 2 shared cores; ``--quick`` (breast cancer, 1 seed) about 2.

The attacker is honest contributor h9 of the gaming suite's split (scripts/gaming_attacks.py: 30% of
the rows are the evaluation set, the rest split over 10 contributors; breast cancer, iris, synthetic
imbalanced; every spec default). Its *padding*: each of its real rows moved ``jitter`` times the
spacing of real rows (gaming_attacks.moved: the distance to the nearest other real row, evaluation
standardization) in a random direction, ``amount`` such rows per real row, labelled by a 5-NN
classifier fitted on its own rows, appended to its own file. Figures, per seed, against the same
seed's honest round (the attacker's pay there is P):

* padding gain: its pay with the padding / P, jitter in {0.5, 1, 2, 3}, amount in {1, 3, 10}x;
* sybil gain: the pay of its real rows split over 2, 4, 8 identities / P;
* padded-sybil gain: the same splits, each piece with its own rows' padding (jitter 1, amount 1x
  and 3x), / the unsplit file with the same padding (the splitting gain on top of padding);
* attack total: the best of every combination above against P, including the padding registered
  under a second identity of its own (jitter 1, 2, 3; 1x and 3x);
* sybil gain without the noise test (``noise_margin: 0``, against the unsplit file without it): the
  game's own splitting gain, which the noise test hides only while the pieces are small (its Z grows
  with a piece's useful rows, so a larger attacker's pieces pass it);
* fairness: in the honest round, the largest relative change of an honest contributor's pay
  against candidate A (today's default) and the Spearman correlation of the pays; in a *skewed*
  honest round (the same rows over 10 contributors of sizes ~ 1:1:2:2:4:4:8:8:16:16), the pay of the
  two smallest against A's and whether they are paid at all;
* the suite's copy, noise and sybil attacks (gaming_report.measure, targets of gaming_attacks.ATTACKS);
* time of the valuation (values and relabelled values, what the engine runs) at 100,000 x 1,000
  rows against tknn_shapley in the same process.

Candidates. Every one runs inside the unchanged engine (copy detection, noise test, second pass,
flooring, integer allocation); for B-D this process replaces the engine's valuation step (its
``_method``) and hands the valuation each row's contributor (through ``_row_cohorts``, which the
engine calls on every run) -- nothing in the package changes.

* A: today's default, row-level ``tknn_shapley`` (k 5, tau auto).
* B: the contributor-level game of ``methods/contributor_knn.py``: per evaluation point each
  contributor is its nearest row, contributors are the players of the TKNN game over those rows
  (exact Shapley, closed form over C players).
* C: each contributor's rows valued with ``methods/tknn_baseline.py`` on top of every other
  contributor's rows (its total is U(all) - U(all without it): its marginal on top of the others).
  One baseline valuation per contributor.
* D: density-weighted rows: each row's exact TKNN-Shapley value divided by the number of credited
  rows (any contributor's, itself included) within R of it, R = tau / 3 (the median distance from
  an evaluation point to its 5th-nearest other evaluation point: the evaluation set fixes it). The
  weight depends on the pooled rows only, never on who registered them, so splitting one's rows over
  identities leaves every row's value exactly as it was (sybil gain <= 1 up to the identity-level
  noise test, which only lowers pieces); padding near one's own rows lowers the weight of every row
  of the crowd it joins.
* E: each contributor's leave-one-out in B's contributor-level game, U(all) - U(all without it) per
  evaluation point (closed form: only the K voting representatives can matter, and without voter j
  the (K+1)-th representative votes instead), credited to its representative row. Splits of similar
  rows are substitutes, so a piece's marginal on top of the other pieces is small.

The identity fee: per kind of attack, the smallest per-identity fee f (in units of P, the attacker's
honest pay under the candidate) with which it stops paying: for s identities whose pays sum to G P,
(G - s f) <= 1.02 (1 - f) (splits, as measured and without the noise test; padded splits against the
padded unsplit file likewise), and (G - 2 f) <= 1.10 (1 - f) for padding under a second identity. A
fee cannot touch padding within one identity. Its cost: how many honest contributors of the skewed
round are paid less than the fee (they would lose by registering).
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import spearmanr
from sklearn.neighbors import KNeighborsClassifier

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gaming_attacks import ATTACKS, EMISSION, METHODS, N_HONEST, Round, Split, load, make_split, moved  # noqa: E402
from gaming_report import measure as suite_measure  # noqa: E402
from gaming_report import meets as suite_meets  # noqa: E402
from gaming_report import payouts, run_round  # noqa: E402
from gaming_threat_model import json_safe  # noqa: E402
from gaming_report import summarize as suite_summarize  # noqa: E402

from openledger_chain.attribution import engine  # noqa: E402
from openledger_chain.attribution.base import Valuation  # noqa: E402
from openledger_chain.attribution.dataset import Dataset  # noqa: E402
from openledger_chain.attribution.methods import TKNNShapley  # noqa: E402
from openledger_chain.attribution.methods.contributor_knn import (  # noqa: E402
    ContributorKNN, representatives, stack_label_slopes,
)
from openledger_chain.attribution.kernel import ChunkKernel, sum_over_eval_chunks  # noqa: E402
from openledger_chain.attribution.methods.knn_shapley import distance_order, label_count, relabel_values  # noqa: E402
from openledger_chain.attribution.methods.tknn_baseline import tknn_shapley_values_on_baseline  # noqa: E402
from openledger_chain.attribution.methods.tknn_shapley import AUTO_TAU_FACTOR, auto_tau  # noqa: E402
from openledger_chain.attribution.utility import squared_distances, squared_norms  # noqa: E402

METHOD = METHODS["tknn_shapley"]  # every spec default; B-D replace only the valuation step
ATTACKER = N_HONEST - 1  # h9 pads / splits its own file
JITTERS = (0.5, 1.0, 2.0, 3.0)
AMOUNTS = (1, 3, 10)
SPLITS = (2, 4, 8)
PADDED_SPLIT_JITTER = 1.0
PADDED_SPLIT_AMOUNTS = (1, 3)
PAD_IDENTITY_JITTERS = (1.0, 2.0, 3.0)
SKEW = (1, 1, 2, 2, 4, 4, 8, 8, 16, 16)
SUITE_TARGETS = ("copy", "noise", "sybil")
QUICK_SUITE = ("copy_one_0.45x_spacing", "copy_one_padded_0.55x", "noise_swarm", "noise_swarm_realistic", "sybil_split")
SYBIL_BOUND, PADDING_BOUND = 1.02, 1.10
NO_NOISE_TEST = {"noise_margin": 0.0}


# --- candidates: valuations the engine runs instead of its own -------------------------------------

class _OwnerAware(Valuation):
    """A candidate that knows which contributor owns each row (the engine's valuations do not)."""

    def __init__(self, eval_data: Dataset, owner: np.ndarray, tau: float | None, k: int | None, n_classes: int) -> None:
        super().__init__(None)
        self.eval_data, self.owner, self.tau, self.k, self.n_classes = eval_data, np.asarray(owner), tau, k, n_classes

    def params(self) -> dict[str, Any]:
        return {"tau": self.tau, "k": self.k}


class OthersBaseline(_OwnerAware):
    """C: every contributor's rows valued by exact TKNN-Shapley on top of all the other contributors' rows."""

    algorithm_name = "tknn_on_others"

    def fit(self, data: Dataset) -> OthersBaseline:
        n_labels = label_count(data, self.eval_data)
        stacked = np.zeros((1 + n_labels, len(data)))
        for who in np.unique(self.owner):
            mine = self.owner == who
            stacked[:, mine] = tknn_shapley_values_on_baseline(
                data.subset(np.flatnonzero(~mine)), data.subset(np.flatnonzero(mine)), self.eval_data, self.tau, self.k,
                n_classes=self.n_classes, n_labels=n_labels).reshape(1 + n_labels, -1)
        values, relabelled = relabel_values(stacked, data.y)
        u_none = 1.0 / self.n_classes
        # utility_all is only reported: these values are not efficient (they sum the contributors' marginals).
        self._result = self._make_result(data, values, utility_all=u_none + float(values.sum()), utility_none=u_none,
                                         relabel_values=relabelled)
        return self


def crowd_counts(x: np.ndarray, radius: float, block: int = 256) -> np.ndarray:
    """Per row, the number of rows (itself included) within `radius` (blocks of rows against all)."""
    norms = squared_norms(x)
    out = np.empty(len(x), dtype=np.int64)
    for start in range(0, len(x), block):
        d2 = squared_distances(x[start:start + block], x, norms)
        out[start:start + block] = (d2 <= radius * radius).sum(axis=1)
    return np.maximum(out, 1)


class DensityWeighted(Valuation):
    """D: exact TKNN-Shapley values, each row's divided by the number of rows within R of it."""

    algorithm_name = "tknn_density_weighted"

    def __init__(self, eval_data: Dataset, tau: float | None, k: int | None, n_classes: int, radius: float) -> None:
        super().__init__(None)
        self.eval_data, self.tau, self.k, self.n_classes, self.radius = eval_data, tau, k, n_classes, radius

    def params(self) -> dict[str, Any]:
        return {"tau": self.tau, "k": self.k}

    def fit(self, data: Dataset) -> DensityWeighted:
        inner = TKNNShapley(self.eval_data, self.tau, self.k, n_classes=self.n_classes).fit(data).result
        weight = 1.0 / crowd_counts(data.x, self.radius)
        values = inner.values * weight
        # Scaling a row's relabelled values by its (label-free) weight keeps the noise test exact.
        relabelled = inner.relabel_values * weight[:, None]
        u_none = inner.utility_none
        self._result = self._make_result(data, values, utility_all=u_none + float(values.sum()), utility_none=u_none,
                                         relabel_values=relabelled)
        return self


def _loo_chunk(x_train, y_train, x_eval, y_eval, starts, tau, k, n_classes, n_labels=0, *, train_norms=None):  # type: ignore[no-untyped-def]
    """E's summed row values over the given evaluation points (rows grouped by contributor from `starts`)."""
    n, g = len(y_train), len(starts)
    dmin, rep = representatives(squared_distances(x_eval, x_train, train_norms), starts)
    order = distance_order(dmin)
    rep = np.take_along_axis(rep, order, axis=1)
    c = np.full(len(y_eval), g) if tau is None else (dmin <= tau * tau).sum(axis=1)
    rank = np.arange(1, g + 1)
    m = ((y_train[rep] == y_eval[:, None]) & (rank[None, :] <= c[:, None])).astype(np.float64)
    kk = np.minimum(c, k if k is not None else g)  # voters with everyone
    hits = np.cumsum(m, axis=1)
    h_all = np.take_along_axis(hits, np.maximum(kk - 1, 0)[:, None], 1)[:, 0] * (kk > 0)
    u_all = np.where(kk > 0, h_all / np.maximum(kk, 1), 1.0 / n_classes)
    # Without voter j: the first min(k, c - 1) of the others vote, i.e. the first kk + 1 minus j when c > kk.
    extra = np.where(c > kk, np.take_along_axis(m, np.minimum(kk, g - 1)[:, None], 1)[:, 0], 0.0)
    k_without = np.minimum(c - 1, kk)
    u_without = np.where(k_without[:, None] > 0, (h_all[:, None] - m + extra[:, None]) / np.maximum(k_without, 1)[:, None],
                         1.0 / n_classes)
    voter = rank[None, :] <= kk[:, None]
    values_sorted = np.where(voter, u_all[:, None] - u_without, 0.0)
    values = np.bincount(rep.ravel(), weights=values_sorted.ravel(), minlength=n)
    if not n_labels:
        return values
    slope = np.where(voter, 1.0 / np.maximum(kk, 1)[:, None], 0.0)  # U(all) moves by 1/K per hit; U(all - j) not at all
    return stack_label_slopes(values, rep, slope, y_eval, n_labels)


class ContributorLOO(_OwnerAware):
    """E: each contributor's leave-one-out in B's contributor-level game, U(all) - U(all without it), per
    evaluation point, credited to its representative row."""

    algorithm_name = "contributor_loo"

    def fit(self, data: Dataset) -> ContributorLOO:
        n_labels = label_count(data, self.eval_data)
        _, group = np.unique(self.owner, return_inverse=True)
        perm = np.argsort(group, kind="stable")
        starts = np.concatenate([[0], np.cumsum(np.bincount(group))[:-1]]).astype(np.int64)
        chunk = ChunkKernel(_loo_chunk, data.subset(perm), self.eval_data, (starts, self.tau, self.k, self.n_classes, n_labels))
        stacked = sum_over_eval_chunks(len(data), len(self.eval_data), chunk)
        unpermuted = np.empty_like(stacked)
        unpermuted[..., perm] = stacked
        values, relabelled = relabel_values(unpermuted.reshape(1 + n_labels, len(data)), data.y)
        u_none = 1.0 / self.n_classes
        self._result = self._make_result(data, values, utility_all=u_none + float(values.sum()), utility_none=u_none,
                                         relabel_values=relabelled)
        return self


def build(name: str, eval_data: Dataset, owner: np.ndarray, tau: float | None, k: int | None, n_classes: int) -> Valuation:
    if name == "A":
        return TKNNShapley(eval_data, tau, k, n_classes=n_classes)
    if name == "B":
        return ContributorKNN(eval_data, owner, tau, k, n_classes=n_classes)
    if name == "C":
        return OthersBaseline(eval_data, owner, tau, k, n_classes)
    if name == "E":
        return ContributorLOO(eval_data, owner, tau, k, n_classes)
    if name == "D":
        return DensityWeighted(eval_data, tau, k, n_classes, (tau if tau is not None else auto_tau(eval_data.x, k)) / AUTO_TAU_FACTOR)
    raise SystemExit(f"unknown candidate {name!r}")


CANDIDATES = {
    "A": "row-level tknn_shapley (today's default)",
    "B": "contributor-level TKNN game (nearest row per contributor)",
    "C": "own rows on top of every other contributor's (tknn_baseline)",
    "D": "TKNN values / rows within tau/3 (identity-free density weight)",
    "E": "contributor-level leave-one-out in B's game",
}


@contextmanager
def candidate(name: str) -> Iterator[None]:
    """Inside: the engine values rows with candidate `name` (A: the engine untouched)."""
    if name == "A":
        yield
        return
    saved = engine._method, engine._row_cohorts

    def row_owner(cohorts, spec, row_entries, owner, manifest):  # type: ignore[no-untyped-def]
        ids: dict[str, int] = {}
        per_entry = [ids.setdefault(c.contributor.lower(), len(ids)) for c in row_entries]
        return np.array(per_entry, dtype=np.int64)[owner] if per_entry else np.zeros(0, dtype=np.int64)

    def method(spec, eval_data, seed, report, n_classes, cohort=None):  # type: ignore[no-untyped-def]
        p = spec.method.params
        tau = auto_tau(eval_data.x, p["k"]) if p["tau"] == "auto" else p["tau"]
        return build(name, eval_data, cohort, tau, p["k"], n_classes)

    engine._method, engine._row_cohorts = method, row_owner
    try:
        yield
    finally:
        engine._method, engine._row_cohorts = saved


# --- the rounds ---------------------------------------------------------------------------------------

def padding_of(split: Split, x: np.ndarray, y: np.ndarray, jitter: float, amount: int) -> tuple[np.ndarray, np.ndarray]:
    """`amount` padded rows per row of x (row-major: every row's first copy, then every row's second...),
    each moved `jitter` x the spacing of real rows, labelled by a 5-NN on (x, y)."""
    clf = KNeighborsClassifier(min(5, len(y))).fit(split.z(x), y)
    px = moved(split, np.tile(x, (amount, 1)), split.real_x(), jitter)
    return px, clf.predict(split.z(px))


def base_round(split: Split) -> Round:
    r = Round(reference_identity=f"h{ATTACKER}")
    for i, (x, y) in enumerate(split.honest[:ATTACKER]):
        r.add("honest", f"h{i}", x, y)
    return r


def attacker_round(split: Split, pieces: int, jitter: float | None, amount: int, pad_identity: bool = False) -> Round:
    """h9's real rows over `pieces` identities, each with the padding of its own rows (jitter None: none);
    `pad_identity`: the padding under an identity of its own instead."""
    r = base_round(split)
    x, y = split.honest[ATTACKER]
    px, py = padding_of(split, x, y, jitter, amount) if jitter is not None else (x[:0], y[:0])
    source = np.tile(np.arange(len(y)), amount)[: len(py)]
    names = [f"h{ATTACKER}"] if pieces == 1 else [f"s{j}" for j in range(pieces)]
    for name, part in zip(names, np.array_split(np.arange(len(y)), pieces)):
        pad = np.isin(source, part) & (not pad_identity)
        r.add("attacker", name, np.vstack([x[part], px[pad]]), np.concatenate([y[part], py[pad]]))
    if pad_identity and len(py):
        r.add("attacker", "p0", px, py)
    return r


def honest_round(split: Split) -> Round:
    r = base_round(split)
    r.add("honest", f"h{ATTACKER}", *split.honest[ATTACKER])
    r.entries = [("honest", i, x, y) for _, i, x, y in r.entries]
    return r


def skewed_round(split: Split) -> Round:
    """The same honest rows over 10 contributors of sizes ~ SKEW (at least one row each)."""
    x = split.honest_x()
    y = np.concatenate([yy for _, yy in split.honest])
    sizes = np.maximum(1, np.floor(np.array(SKEW) / sum(SKEW) * len(y)).astype(int))
    sizes[-1] = len(y) - sizes[:-1].sum()
    r = Round()
    for i, part in enumerate(np.split(np.arange(len(y)), np.cumsum(sizes)[:-1])):
        r.add("honest", f"h{i}", x[part], y[part])
    return r


class Runner:
    """Runs rounds of one data set and seed through the engine (a fresh split per round, so every round
    draws its random moves from the same stream state)."""

    def __init__(self, dataset: str, seed: int, tmp: Path) -> None:
        self.x, self.y = load(dataset)
        self.seed, self.tmp, self.n = seed, tmp, 0

    def split(self) -> Split:
        return make_split(self.x, self.y, self.seed)

    def paid(self, build_round: Callable[[Split], Round], extra: dict | None = None) -> dict[str, int]:
        split = self.split()
        rnd = build_round(split)
        self.n += 1
        root = self.tmp / f"r{self.n}"
        try:
            return payouts(rnd, run_round(rnd, split, METHOD, root, False, extra=extra))
        finally:
            shutil.rmtree(root, ignore_errors=True)


def attacker_pay(paid: dict[str, int]) -> int:
    return sum(v for i, v in paid.items() if not (i.startswith("h") and i != f"h{ATTACKER}"))


def ratio(a: float, b: float) -> float:
    return a / b if b > 0 else (1.0 if a == 0 else math.inf)


def measure_seed(run: Runner) -> dict[str, Any]:
    """Every figure of one candidate on one data set and seed (the candidate is active)."""
    clean = run.paid(honest_round)
    p = clean[f"h{ATTACKER}"]
    out: dict[str, Any] = {"clean": clean, "attacker_clean": p, "padding": {}, "sybil": {}, "padded_sybil": {},
                           "padded_sybil_total": {}, "pad_identity": {}}
    padded_unsplit = {}
    for jitter in JITTERS:
        for amount in AMOUNTS:
            pay = attacker_pay(run.paid(lambda s: attacker_round(s, 1, jitter, amount)))
            out["padding"][f"{jitter:g}x{amount}"] = ratio(pay, p)
            if jitter == PADDED_SPLIT_JITTER:
                padded_unsplit[amount] = pay
    for pieces in SPLITS:
        out["sybil"][str(pieces)] = ratio(attacker_pay(run.paid(lambda s: attacker_round(s, pieces, None, 0))), p)
        for amount in PADDED_SPLIT_AMOUNTS:
            pay = attacker_pay(run.paid(lambda s: attacker_round(s, pieces, PADDED_SPLIT_JITTER, amount)))
            out["padded_sybil"][f"{pieces}x{amount}"] = ratio(pay, padded_unsplit[amount])
            out["padded_sybil_total"][f"{pieces}x{amount}"] = ratio(pay, p)
    for jitter in PAD_IDENTITY_JITTERS:
        for amount in PADDED_SPLIT_AMOUNTS:
            pay = attacker_pay(run.paid(lambda s: attacker_round(s, 1, jitter, amount, pad_identity=True)))
            out["pad_identity"][f"{jitter:g}x{amount}"] = ratio(pay, p)
    out["padded_unsplit"] = {str(a): ratio(v, p) for a, v in padded_unsplit.items()}
    # The game's own splitting gain: the noise test (which discounts small pieces) off.
    plain = attacker_pay(run.paid(lambda s: attacker_round(s, 1, None, 0), NO_NOISE_TEST))
    out["sybil_no_noise_test"] = {str(n): ratio(attacker_pay(run.paid(lambda s: attacker_round(s, n, None, 0), NO_NOISE_TEST)), plain)
                                  for n in SPLITS}
    out["skewed"] = run.paid(skewed_round)
    return out


def fee_parts(seed: dict[str, Any]) -> dict[str, float]:
    """Per kind of attack, the smallest per-identity fee (units of P) under which it does not pay (module docstring)."""
    def split_fee(items: Any) -> float:
        return max([0.0, *((g - SYBIL_BOUND) / (int(pieces) - SYBIL_BOUND) for pieces, g in items)])

    padded = [0.0]
    for key, g in seed["padded_sybil_total"].items():
        pieces, amount = key.split("x")
        padded.append((g - SYBIL_BOUND * seed["padded_unsplit"][amount]) / (int(pieces) - SYBIL_BOUND))
    return {"splits": split_fee(seed["sybil"].items()), "padded_splits": max(padded),
            "splits_no_noise_test": split_fee(seed["sybil_no_noise_test"].items()),
            "pad_identity": max([0.0, *((g - PADDING_BOUND) / (2 - PADDING_BOUND) for g in seed["pad_identity"].values())])}


FEE_SYBIL = ("splits", "padded_splits")  # the sybil target, as measured (defences on)
FEE_ALL = ("splits", "padded_splits", "splits_no_noise_test", "pad_identity")


def fairness(seed: dict[str, Any], reference: dict[str, Any]) -> dict[str, Any]:
    """Honest-round figures against candidate A's (the same data set and seed)."""
    def compare(mine: dict[str, int], ref: dict[str, int]) -> tuple[float, float]:
        ids = list(ref)
        changes = [abs(mine[i] / ref[i] - 1) for i in ids if ref[i] > 0]
        rho = spearmanr([float(ref[i]) for i in ids], [float(mine[i]) for i in ids]).statistic
        return max(changes) if changes else 0.0, float(rho) if not math.isnan(rho) else 1.0

    max_change, rho = compare(seed["clean"], reference["clean"])
    skew_change, skew_rho = compare(seed["skewed"], reference["skewed"])
    small = ["h0", "h1"]
    return {"max_change": max_change, "spearman": rho, "skew_max_change": skew_change, "skew_spearman": skew_rho,
            "small_vs_A": [ratio(seed["skewed"][i], reference["skewed"][i]) for i in small],
            "small_share": [seed["skewed"][i] / EMISSION for i in small],
            "small_paid": [seed["skewed"][i] > 0 for i in small]}


def suite(dataset: str, seeds: int, attacks: list[str], tmp: Path) -> list[dict[str, Any]]:
    """The gaming suite's targeted attacks through the active candidate (gaming_report's own measure)."""
    rows = []
    for name in attacks:
        attack, target = ATTACKS[name]
        per_seed = [suite_measure(dataset, attack, s, METHOD, tmp / f"{name}-{s}", False) for s in range(seeds)]
        row = suite_summarize(per_seed)
        rows.append({"attack": name, "target": target, **row, "met": suite_meets(target, row)})
    return rows


# --- timing ---------------------------------------------------------------------------------------------

def timing(candidates: list[str], rows: int, n_eval: int, contributors: tuple[int, ...], log: Callable[[str], None]) -> list[dict]:
    """Seconds of each candidate's valuation (values + relabelled values) against A's, same process,
    same data (bench_attribution's: 30 features, 2 classes), tau auto, k 5."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_attribution import make

    xtr, ytr, xev, yev = make(rows, n_eval, 30, 1)
    train, ev = Dataset(xtr, ytr), Dataset(xev, yev)
    tau = auto_tau(ev.x, 5)
    out = []

    def clock(name: str, owner: np.ndarray) -> float:
        t0 = time.perf_counter()
        build(name, ev, owner, tau, 5, 2).fit(train)
        return time.perf_counter() - t0

    for n_contrib in contributors:
        owner = np.arange(rows) * n_contrib // rows
        t_a = clock("A", owner)
        for name in candidates:
            if name == "A":
                continue
            if name == "C" and n_contrib > 10:
                # One baseline valuation per contributor, each over all rows: time 2 and scale (not measured).
                few = np.where(owner < 2, owner, 2)
                t0 = time.perf_counter()
                for who in (0, 1):
                    mine = few == who
                    tknn_shapley_values_on_baseline(train.subset(np.flatnonzero(~mine)), train.subset(np.flatnonzero(mine)),
                                                    ev, tau, 5, n_classes=2, n_labels=2)
                seconds, measured = (time.perf_counter() - t0) / 2 * n_contrib, False
            else:
                seconds, measured = clock(name, owner), True
            out.append({"candidate": name, "rows": rows, "eval": n_eval, "contributors": n_contrib, "seconds": seconds,
                        "A_seconds": t_a, "ratio": seconds / t_a, "measured": measured})
            log(f"  time {name} {rows}x{n_eval}, {n_contrib} contributors: {seconds:.1f} s vs A {t_a:.1f} s"
                f"{'' if measured else ' (extrapolated from 2 contributors)'}")
    return out


# --- summary and rendering -------------------------------------------------------------------------------

def summary(name: str, dataset: str, seeds: list[dict], fair: list[dict], suite_rows: list[dict]) -> dict[str, Any]:
    def grid(key: str) -> dict[str, dict[str, float]]:
        return {c: {"max": max(s[key][c] for s in seeds), "mean": float(np.mean([s[key][c] for s in seeds]))}
                for c in seeds[0][key]}

    padding, sybil, padded = grid("padding"), grid("sybil"), grid("padded_sybil")
    totals = [max([*s["padding"].values(), *s["sybil"].values(), *s["padded_sybil_total"].values(), *s["pad_identity"].values()])
              for s in seeds]
    parts = [fee_parts(s) for s in seeds]
    p_share = [s["attacker_clean"] / EMISSION for s in seeds]
    small_share = [min(f["small_share"]) for f in fair]

    def fee(kinds: tuple[str, ...]) -> tuple[float, float]:
        """(fee in units of P, fee as a share of the emission), worst seed."""
        per_seed_fee = [max(part[k] for k in kinds) for part in parts]
        shares = [f * p for f, p in zip(per_seed_fee, p_share) if math.isfinite(f)]
        return max(per_seed_fee), max(shares) if shares else math.nan
    return {
        "candidate": name, "data": dataset,
        "padding": padding, "padding_max": max(v["max"] for v in padding.values()),
        "padding_mean_max": max(v["mean"] for v in padding.values()),
        "sybil": sybil, "sybil_max": max(v["max"] for v in sybil.values()),
        "padded_sybil": padded, "padded_sybil_max": max(v["max"] for v in padded.values()),
        "pad_identity": grid("pad_identity"), "pad_identity_max": max(max(s["pad_identity"].values()) for s in seeds),
        "attack_total_max": max(totals),
        "honest_max_change": max(f["max_change"] for f in fair), "spearman": float(np.mean([f["spearman"] for f in fair])),
        "skew_max_change": max(f["skew_max_change"] for f in fair), "skew_spearman": float(np.mean([f["skew_spearman"] for f in fair])),
        "small_vs_A": min(min(f["small_vs_A"]) for f in fair), "small_paid": all(all(f["small_paid"]) for f in fair),
        "sybil_no_noise_test": grid("sybil_no_noise_test"),
        "sybil_no_noise_test_max": max(max(s["sybil_no_noise_test"].values()) for s in seeds),
        "fee_parts": {k: max(part[k] for part in parts) for k in FEE_ALL},
        "fee_sybil": fee(FEE_SYBIL), "fee_all": fee(FEE_ALL),
        "honest_shares_skewed": [sorted(v / EMISSION for v in s["skewed"].values()) for s in seeds],
        "attacker_share": float(np.mean(p_share)), "smallest_share": min(small_share),
        "suite": suite_rows,
        "suite_met": {t: all(r["met"] for r in suite_rows if r["target"] == t) for t in SUITE_TARGETS
                      if any(r["target"] == t for r in suite_rows)},
        "targets_met": max(v["max"] for v in padding.values()) <= PADDING_BOUND
        and max(v["max"] for v in sybil.values()) <= SYBIL_BOUND and max(v["max"] for v in padded.values()) <= SYBIL_BOUND,
    }


def x(v: float) -> str:
    return "inf" if math.isinf(v) else f"{v:.2f}x"


def frontier_table(rows: list[dict], timings: list[dict]) -> str:
    ratio_of = {}
    for t in timings:
        ratio_of.setdefault(t["candidate"], []).append(f"{t['ratio']:.1f}x@{t['contributors']}{'' if t['measured'] else '*'}")
    lines = ["| candidate | data | padding gain max (mean) | sybil max | padded-sybil max | pad as 2nd identity max | "
             "attack total max | sybil max, no noise test | honest max change vs A | Spearman vs A | skewed: max change / Spearman | smallest two vs A | "
             "suite targets | time vs A | both targets |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---|---|---|"]
    for r in rows:
        met = ", ".join(f"{t} {'met' if ok else '**missed**'}" for t, ok in r["suite_met"].items()) or "-"
        lines.append(
            f"| {r['candidate']} | {r['data']} | {x(r['padding_max'])} ({x(r['padding_mean_max'])}) | {x(r['sybil_max'])} | "
            f"{x(r['padded_sybil_max'])} | {x(r['pad_identity_max'])} | {x(r['attack_total_max'])} | "
            f"{x(r['sybil_no_noise_test_max'])} | {r['honest_max_change']:.0%} | {r['spearman']:.2f} | {r['skew_max_change']:.0%} / {r['skew_spearman']:.2f} | "
            f"{r['small_vs_A']:.2f}x{'' if r['small_paid'] else ' (one unpaid)'} | {met} | "
            f"{', '.join(ratio_of.get(r['candidate'], ['1.0x'])) if r['candidate'] != 'A' else '1.0x'} | "
            f"{'**yes**' if r['targets_met'] else 'no'} |")
    return "\n".join(lines)


def padding_table(rows: list[dict]) -> str:
    keys = list(rows[0]["padding"])
    lines = [f"| candidate | data | {' | '.join(keys)} |", "|---|---|" + "---:|" * len(keys)]
    for r in rows:
        lines.append(f"| {r['candidate']} | {r['data']} | " +
                     " | ".join(f"{x(r['padding'][k]['max'])} ({x(r['padding'][k]['mean'])})" for k in keys) + " |")
    return "\n".join(lines)


def split_table(rows: list[dict]) -> str:
    skeys, pkeys = list(rows[0]["sybil"]), list(rows[0]["padded_sybil"])
    lines = [f"| candidate | data | {' | '.join(f'split {k}' for k in skeys)} | {' | '.join(f'split {k}, no noise test' for k in skeys)} | {' | '.join(f'padded split {k}' for k in pkeys)} | "
             f"{' | '.join(f'pad identity {k}' for k in rows[0]['pad_identity'])} |",
             "|---|---|" + "---:|" * (2 * len(skeys) + len(pkeys) + len(rows[0]["pad_identity"]))]
    for r in rows:
        lines.append(f"| {r['candidate']} | {r['data']} | " + " | ".join(x(r["sybil"][k]["max"]) for k in skeys) + " | " +
                     " | ".join(x(r["sybil_no_noise_test"][k]["max"]) for k in skeys) + " | " +
                     " | ".join(x(r["padded_sybil"][k]["max"]) for k in pkeys) + " | " +
                     " | ".join(x(v["max"]) for v in r["pad_identity"].values()) + " |")
    return "\n".join(lines)


def fee_table(rows: list[dict]) -> str:
    lines = ["| candidate | data | splits | padded splits | splits, no noise test | padding as 2nd identity (to 1.10x) | "
             "fee for the sybil target (splits, padded splits): x P / share of emission | fee for all four | "
             "honest contributors of the skewed round paid less (sybil fee / all four) | attacker's honest share P |",
             "|---|---|---:|---:|---:|---:|---|---|---|---:|"]
    for r in rows:
        def below(share: float) -> int:
            return max(sum(0 < v < share for v in shares) for shares in r["honest_shares_skewed"]) if math.isfinite(share) else 0

        (fs, fs_share), (fa, fa_share) = r["fee_sybil"], r["fee_all"]
        parts = " | ".join(f"{r['fee_parts'][k]:.2f}" for k in FEE_ALL)
        lines.append(f"| {r['candidate']} | {r['data']} | {parts} | {fs:.2f} / {fs_share:.3f} | {fa:.2f} / {fa_share:.3f} | "
                     f"{below(fs_share)} / {below(fa_share)} of 10 | {r['attacker_share']:.3f} |")
    return "\n".join(lines)


def suite_table(rows: list[dict]) -> str:
    lines = ["| candidate | data | attack | target | attacker share | gain | met |", "|---|---|---|---|---:|---:|---|"]
    for r in rows:
        for s in r["suite"]:
            gain = "" if s["gain"] is None else "inf (P = 0)" if s["gain"] > 1e6 else f"{s['gain']:.2f}x"
            lines.append(f"| {r['candidate']} | {r['data']} | {s['attack']} | {s['target']} | {s['attacker']:.3f} | {gain} | "
                         f"{'met' if s['met'] else '**missed**'} |")
    return "\n".join(lines)


def json_load(o: object) -> object:
    """The inverse of :func:`json_safe` for infinities."""
    if o == "inf":
        return math.inf
    if isinstance(o, dict):
        return {k: json_load(v) for k, v in o.items()}
    if isinstance(o, list):
        return [json_load(v) for v in o]
    return o


def render(per_seed: dict[tuple[str, str], list[dict]], suites: dict[tuple[str, str], list[dict]], timings: list[dict],
           datasets: list[str], names: list[str], seeds: int) -> list[dict]:
    """Summaries of every (candidate, data set) and the printed tables."""
    rows = []
    for dataset in datasets:
        for name in names:
            fair = [fairness(mine, ref) for mine, ref in zip(per_seed[(name, dataset)], per_seed[("A", dataset)])]
            rows.append(summary(name, dataset, per_seed[(name, dataset)], fair, suites.get((name, dataset), [])))
    rows.sort(key=lambda r: (r["candidate"], datasets.index(r["data"])))
    for n in names:
        print(f"{n}: {CANDIDATES[n]}")
    print(f"\nFrontier ({seeds} seed(s); worst seed unless noted; targets: padding <= {PADDING_BOUND}x, sybil <= {SYBIL_BOUND}x):\n")
    print(frontier_table(rows, timings))
    print("\nPadding gain by jitter x amount (max (mean) over seeds):\n")
    print(padding_table(rows))
    print("\nSplits (sybil: / unsplit; padded split: / the unsplit file with the same padding; pad identity: / honest pay):\n")
    print(split_table(rows))
    print("\nPer-identity fee (x the attacker's honest pay P, worst seed) under which each attack stops paying "
          "(splits to 1.02x, padding under a second identity to 1.10x):\n")
    print(fee_table(rows))
    if any(r["suite"] for r in rows):
        print("\nThe gaming suite's copy, noise and sybil attacks (worst seed):\n")
        print(suite_table(rows))
    if timings:
        print("\nValuation time (values + relabelled values), same process:\n")
        print("| candidate | rows x eval | contributors | seconds | A (s) | ratio |\n|---|---|---:|---:|---:|---:|")
        for t in timings:
            print(f"| {t['candidate']} | {t['rows']} x {t['eval']} | {t['contributors']} | {t['seconds']:.1f}"
                  f"{'' if t['measured'] else ' (extrapolated)'} | {t['A_seconds']:.1f} | {t['ratio']:.2f}x |")
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="breast cancer, 1 seed, 5 suite attacks, timing at 20,000 x 200")
    p.add_argument("--candidates", default=",".join(CANDIDATES))
    p.add_argument("--datasets", default="breast_cancer,iris,synthetic")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--json", help="write every figure (per seed too) here")
    p.add_argument("--from-json", help="print the tables of earlier --json runs (comma-separated; later files win) instead of running")
    p.add_argument("--no-timing", action="store_true")
    p.add_argument("--no-suite", action="store_true", help="skip the gaming suite's copy/noise/sybil attacks")
    p.add_argument("--time-rows", type=int, default=100_000)
    p.add_argument("--time-eval", type=int, default=1_000)
    p.add_argument("--time-contributors", default="10,1000")
    args = p.parse_args()
    datasets, seeds = args.datasets.split(","), args.seeds
    attacks = [a for a, (_, t) in ATTACKS.items() if t in SUITE_TARGETS]
    time_rows, time_eval = args.time_rows, args.time_eval
    if args.quick:
        datasets, seeds, attacks, time_rows, time_eval = ["breast_cancer"], 1, list(QUICK_SUITE), 20_000, 200
    if args.no_suite:
        attacks = []
    names = [n for n in CANDIDATES if n in {"A", *args.candidates.split(",")}]  # A: the reference of the fairness figures
    log = lambda s: print(s, file=sys.stderr, flush=True)  # noqa: E731
    t_start = time.perf_counter()
    per_seed: dict[tuple[str, str], list[dict]] = {}
    suites: dict[tuple[str, str], list[dict]] = {}
    timings: list[dict] = []
    if args.from_json:
        for path in args.from_json.split(","):
            doc = json_load(json.loads(Path(path).read_text()))
            seeds = doc["seeds"]
            for entry in doc["per_seed"]:
                per_seed[(entry["candidate"], entry["data"])] = entry["seeds"]
            for row in doc["rows"]:
                suites[(row["candidate"], row["data"])] = row["suite"]
            done = {(t["candidate"], t["contributors"]) for t in doc["timing"]}
            timings = [t for t in timings if (t["candidate"], t["contributors"]) not in done] + doc["timing"]
        names = [n for n in CANDIDATES if any(c == n for c, _ in per_seed)]
        datasets = [d for d in datasets if all((n, d) in per_seed for n in names)]
        rows = render(per_seed, suites, timings, datasets, names, seeds)
        if args.json:
            write_json(args.json, rows, per_seed, timings, names, seeds, 0.0)
        return
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        for dataset in datasets:
            for name in names:
                t0 = time.perf_counter()
                with candidate(name):
                    per_seed[(name, dataset)] = [measure_seed(Runner(dataset, s, tmp / f"{name}-{dataset}-{s}")) for s in range(seeds)]
                    suites[(name, dataset)] = suite(dataset, seeds, attacks, tmp / f"suite-{name}-{dataset}")
                log(f"{dataset} {name}: {time.perf_counter() - t0:.0f} s")
    if not args.no_timing:
        timings = timing(names, time_rows, time_eval, tuple(int(c) for c in args.time_contributors.split(",")), log)
    rows = render(per_seed, suites, timings, datasets, names, seeds)
    elapsed = time.perf_counter() - t_start
    log(f"{elapsed:.0f} s")
    if args.json:
        write_json(args.json, rows, per_seed, timings, names, seeds, elapsed)


def write_json(path: str, rows: list[dict], per_seed: dict, timings: list[dict], names: list[str], seeds: int, elapsed: float) -> None:
    Path(path).write_text(json.dumps(json_safe({
        "seconds": elapsed, "seeds": seeds, "candidates": {n: CANDIDATES[n] for n in names}, "rows": rows,
        "per_seed": [{"candidate": c, "data": d, "seeds": s} for (c, d), s in per_seed.items()], "timing": timings,
    }), indent=1))


if __name__ == "__main__":
    main()
