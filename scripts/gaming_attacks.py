"""The attacks of the gaming report: honest rounds of real data, and what an adaptive attacker adds.

Each attack is a function ``Split -> Round``: the honest round of one seed's split plus the
attacker's contributions, in registration order. On each data set (scikit-learn's breast cancer
and iris, and a synthetic imbalanced ``make_classification`` set; for ``task: "regression"``
scikit-learn's diabetes set), 30% of the rows are the round's evaluation set and the rest is split
among 10 honest contributors. On a regression set a "label" is the numeric target: a flip reflects
it about the evaluation mean, random labels are evaluation targets drawn at random. The attacks after "red team"
were written by an adversary who had read the defences (docs/attribution.md, "Gaming").
All moves happen in the evaluation set's standardization, the space copy detection works in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris, make_classification
from sklearn.neighbors import NearestNeighbors

EMISSION = 10**24
N_HONEST = 10
EVAL_FRACTION = 0.3
METHODS = {
    "tknn_shapley": {"name": "tknn_shapley"},  # the default, all parameters at their defaults
    "knn_shapley": {"name": "knn_shapley", "k": 5},
    "tmc_shapley": {"name": "tmc_shapley", "permutations": 20, "truncation_tolerance": 0.01},
    "banzhaf": {"name": "banzhaf", "samples": 300},
    "loo": {"name": "loo"},
}
BASELINE_SPEC = {"near_duplicate_distance": 0.05}


def load(name: str) -> tuple[np.ndarray, np.ndarray]:
    if name == "breast_cancer":
        return load_breast_cancer(return_X_y=True)
    if name == "iris":
        return load_iris(return_X_y=True)
    if name == "diabetes":  # 442 patients, 10 features, disease progression after a year (25..346)
        return load_diabetes(return_X_y=True)
    if name in REPRESENTATIONS:
        return load_representation(name)
    if name == "synthetic":  # imbalanced 80/20, 10 features of which 5 informative
        return make_classification(1200, 10, n_informative=5, weights=[0.8, 0.2], flip_y=0.02, random_state=7)
    raise SystemExit(f"unknown data set {name!r}")


DATASETS = ("breast_cancer", "iris", "synthetic")
#: Data set -> its task when not classification (the suite runs only methods that value the task).
TASKS = {"diabetes": "regression"}
#: Data set -> its representation when not numeric CSV columns (issue 26): "digits_emb" is scikit-learn's
#: digits through examples/embeddings' random-feature model (128 dimensions, l2-normalised, cosine);
#: "tickets" is examples/text's generator of support tickets (hashed TF-IDF fitted on the evaluation set).
REPRESENTATIONS = {"digits_emb": "embedding", "tickets": "text"}


def _example_module(name: str):
    """examples/<name>/generate.py as a module (the gaming suite uses the examples' generators)."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "examples" / name / "generate.py"
    spec = importlib.util.spec_from_file_location(f"_example_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_representation(name: str) -> tuple[np.ndarray, np.ndarray]:
    if name == "digits_emb":  # 1,797 images -> 128-dimensional unit vectors
        from sklearn.datasets import load_digits

        gen = _example_module("embeddings")
        pixels, y = load_digits(return_X_y=True)
        return gen.embed(gen.model_weights(), pixels), y
    if name == "tickets":  # 1,500 generated tickets, 4 topics (an object array of str)
        gen = _example_module("text")
        texts, labels = gen.tickets(np.random.default_rng(2026), 1500)
        return np.array(texts, dtype=object), np.array(labels)
    raise SystemExit(f"unknown data set {name!r}")
REGRESSION_METHODS = ("knn_shapley",)


@dataclass
class Split:
    """One seed's split of a data set: evaluation rows and honest contributors' rows (raw units)."""

    x_eval: np.ndarray
    y_eval: np.ndarray
    honest: list[tuple[np.ndarray, np.ndarray]]
    mean: np.ndarray
    std: np.ndarray
    rng: np.random.Generator
    x_revealed: np.ndarray | None = None
    y_revealed: np.ndarray | None = None
    task: str = "classification"
    #: "columns", "embedding" (moves happen after one isotropic scale, the engine's copy space) or "text".
    representation: str = "columns"

    @property
    def classes(self) -> np.ndarray:
        return np.unique(self.y_eval)

    def z(self, x: np.ndarray) -> np.ndarray:
        return (x - self.mean) / self.std

    def raw(self, z: np.ndarray) -> np.ndarray:
        return z * self.std + self.mean

    def honest_x(self) -> np.ndarray:
        return np.vstack([x for x, _ in self.honest])

    def real_x(self) -> np.ndarray:
        """Every real row: the honest contributors' and the evaluation set's."""
        return np.vstack([self.honest_x(), self.x_eval])


def make_split(x: np.ndarray, y: np.ndarray, seed: int, revealed_fraction: float = 0.0,
               representation: str = "columns") -> Split:
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(y))
    n_eval = int(EVAL_FRACTION * len(y))
    n_rev = int(revealed_fraction * len(y))
    ev, rev, train = perm[:n_eval], perm[n_eval:n_eval + n_rev], perm[n_eval + n_rev:]
    if x.dtype == object:  # texts: no coordinates to move (the text attacks edit words)
        mean, std = np.zeros(1), np.ones(1)
    elif representation == "embedding":  # one scale for every dimension, as the engine's copy space
        mean = x[ev].mean(axis=0)
        std = np.full(x.shape[1], float(np.sqrt(np.mean(x[ev].var(axis=0)))))
    else:
        mean, std = x[ev].mean(axis=0), x[ev].std(axis=0)
    split = Split(x[ev], y[ev], [(x[p], y[p]) for p in np.array_split(train, N_HONEST)], mean,
                  np.where(std > 0, std, 1.0), np.random.default_rng(10_000 + seed), representation=representation)
    if n_rev:
        split.x_revealed, split.y_revealed = x[rev], y[rev]
    return split


def moved(split: Split, x: np.ndarray, reference: np.ndarray, ratio: float) -> np.ndarray:
    """Move each row of `x` in a random direction by `ratio` times the distance from it to its
    nearest row of `reference` elsewhere (standardized units): a copy 'ratio of the spacing' away."""
    z, zr = split.z(x), split.z(reference)
    dist, _ = NearestNeighbors(n_neighbors=min(8, len(zr))).fit(zr).kneighbors(z)
    spacing = np.array([row[row > 0][0] if (row > 0).any() else 0.0 for row in dist])
    u = split.rng.normal(size=z.shape)
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    return split.raw(z + ratio * spacing[:, None] * u)


def jittered(split: Split, x: np.ndarray, sigma: float) -> np.ndarray:
    """Each feature moved by `sigma` evaluation standard deviations of Gaussian noise."""
    return split.raw(split.z(x) + sigma * split.rng.normal(size=x.shape))


def random_rows(split: Split, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Features drawn around the data (Gaussian, evaluation mean and spread), random labels."""
    return split.raw(split.rng.normal(size=(n, len(split.mean)))), split.rng.choice(split.classes, n)


@dataclass
class Round:
    """Contributions in registration order: (role, identity, x, y); role 'honest' or 'attacker'."""

    entries: list[tuple[str, str, np.ndarray, np.ndarray]] = field(default_factory=list)
    reference_identity: str | None = None  # gain = attacker payout / this identity's clean payout
    victim: str | None = None  # copies: gain = attacker payout / this identity's payout in the same round
    reference_from_clean: bool = True
    revealed: bool = False

    def add(self, role: str, identity: str, x: np.ndarray, y: np.ndarray) -> None:
        self.entries.append((role, identity, x, y))


def honest_round(split: Split) -> Round:
    r = Round(revealed=split.x_revealed is not None)
    for i, (x, y) in enumerate(split.honest):
        r.add("honest", f"h{i}", x, y)
    return r


# --- attacks: each returns the attacked round ---------------------------------------------------

def outlier_last(split: Split) -> Round:
    r = honest_round(split)
    x = split.mean + 1e6 * split.std * np.sign(split.rng.normal(size=len(split.mean)))
    r.add("attacker", "a0", x[None, :], split.classes[:1])
    return r


def outlier_first(split: Split) -> Round:
    """The attacker registers first: its own honest rows, plus one far-out row under a second identity."""
    r = Round(reference_identity="h0")
    r.add("attacker", "h0", *split.honest[0])
    x = split.mean + 1e6 * split.std * np.sign(split.rng.normal(size=len(split.mean)))
    r.add("attacker", "a1", x[None, :], split.classes[:1])
    for i, (x, y) in enumerate(split.honest[1:], start=1):
        r.add("honest", f"h{i}", x, y)
    return r


def copy_of_one(ratio: float) -> Callable[[Split], Round]:
    def attack(split: Split) -> Round:
        r = honest_round(split)
        r.victim = "h0"
        x, y = split.honest[0]
        r.add("attacker", "a0", moved(split, x, split.real_x(), ratio), y)
        return r

    attack.__name__ = f"copy_one_{ratio:g}x_spacing"
    return attack


def copy_of_one_by(distance: float) -> Callable[[Split], Round]:
    """Every row moved by `distance` standardized units (the old radius was 0.05) in a random direction."""

    def attack(split: Split) -> Round:
        r = honest_round(split)
        r.victim = "h0"
        x, y = split.honest[0]
        u = split.rng.normal(size=x.shape)
        u /= np.linalg.norm(u, axis=1, keepdims=True)
        r.add("attacker", "a0", split.raw(split.z(x) + distance * u), y)
        return r

    attack.__name__ = f"copy_one_moved_{distance:g}"
    return attack


def copy_mix(ratio: float) -> Callable[[Split], Round]:
    """A third of each of three contributors' rows, moved `ratio` x spacing, in one file: no single
    source holds half of it, so only the row-level test applies."""

    def attack(split: Split) -> Round:
        r = honest_round(split)
        parts = [(x[: len(y) // 3], y[: len(y) // 3]) for x, y in split.honest[:3]]
        x = np.vstack([p[0] for p in parts])
        r.add("attacker", "a0", moved(split, x, split.real_x(), ratio), np.concatenate([p[1] for p in parts]))
        return r

    attack.__name__ = f"copy_mix_{ratio:g}x_spacing"
    return attack


def late_copy_all(ratio: float) -> Callable[[Split], Round]:
    def attack(split: Split) -> Round:
        r = honest_round(split)
        for x, y in split.honest:
            r.add("attacker", "a0", moved(split, x, split.real_x(), ratio), y)
        return r

    attack.__name__ = f"late_copy_all_{ratio:g}x_spacing"
    return attack


def eval_leak(ratio: float | None) -> Callable[[Split], Round]:
    """5 copies of each current evaluation row with its true label: 0.01 sd jitter, or moved
    `ratio` times the row's distance to the nearest honest row (to slip past the copy test)."""

    def attack(split: Split) -> Round:
        r = honest_round(split)
        xs = [jittered(split, split.x_eval, 0.01) if ratio is None else moved(split, split.x_eval, split.real_x(), ratio)
              for _ in range(5)]
        r.add("attacker", "a0", np.vstack(xs), np.tile(split.y_eval, 5))
        return r

    attack.__name__ = "eval_leak_current" if ratio is None else f"eval_leak_current_{ratio:g}x_spacing"
    return attack


def eval_leak_hidden(split: Split) -> Round:
    """Honest contributor 9 adds, to its own rows, one copy of as many evaluation rows as it has
    rows less one, each moved 0.6 x the spacing: most of the file is not near the evaluation set,
    so the contribution-level test does not fire."""
    r = Round(reference_identity="h9", revealed=split.x_revealed is not None)
    for i, (x, y) in enumerate(split.honest[:-1]):
        r.add("honest", f"h{i}", x, y)
    x, y = split.honest[-1]
    leak = np.arange(min(len(y) - 1, len(split.y_eval)))
    r.add("attacker", "h9", np.vstack([x, moved(split, split.x_eval[leak], split.real_x(), 0.6)]),
          np.concatenate([y, split.y_eval[leak]]))
    return r


def revealed_leak(split: Split) -> Round:
    """5 jittered copies of each row of an earlier round's evaluation set, revealed after that round."""
    r = honest_round(split)
    xs = [jittered(split, split.x_revealed, 0.01) for _ in range(5)]
    r.add("attacker", "a0", np.vstack(xs), np.tile(split.y_revealed, 5))
    return r


def noise_swarm(split: Split) -> Round:
    r = honest_round(split)
    for i in range(20):
        r.add("attacker", f"n{i}", *random_rows(split, 5))
    return r


def noise_swarm_realistic(split: Split) -> Round:
    """20 identities x 5 rows where real data lies (honest rows moved by one spacing), random labels."""
    r = honest_round(split)
    xs = split.honest_x()
    for i in range(20):
        pick = split.rng.choice(len(xs), 5, replace=False)
        r.add("attacker", f"n{i}", moved(split, xs[pick], split.real_x(), 1.0), split.rng.choice(split.classes, 5))
    return r


def far_junk_majority(split: Split) -> Round:
    """50 rows far from all real data (6 sd on every feature, random signs), all with the majority label."""
    r = honest_round(split)
    labels, counts = np.unique(split.y_eval, return_counts=True)
    signs = np.sign(split.rng.normal(size=(50, len(split.mean))))
    r.add("attacker", "a0", split.raw(6.0 * signs), np.full(50, labels[np.argmax(counts)]))
    return r


def sybil_padded(split: Split) -> Round:
    """Honest contributor 0 splits its rows over 10 identities, each padded with 5 random rows."""
    r = Round(reference_identity="h0")
    x, y = split.honest[0]
    for j, part in enumerate(np.array_split(np.arange(len(y)), 10)):
        px, py = random_rows(split, 5)
        r.add("attacker", f"s{j}", np.vstack([x[part], px]), np.concatenate([y[part], py]))
    for i, (x, y) in enumerate(split.honest[1:], start=1):
        r.add("honest", f"h{i}", x, y)
    return r


def sybil_split(split: Split) -> Round:
    r = Round(reference_identity="h0")
    x, y = split.honest[0]
    for j, part in enumerate(np.array_split(np.arange(len(y)), 5)):
        r.add("attacker", f"s{j}", x[part], y[part])
    for i, (x, y) in enumerate(split.honest[1:], start=1):
        r.add("honest", f"h{i}", x, y)
    return r


def label_flipper(split: Split) -> Round:
    """Rows drawn like the honest ones (a held-back tenth of contributor 9's), every label flipped."""
    r = honest_round(split)
    x, y = split.honest[N_HONEST - 1]
    flipped = flip(split, y)
    r.add("attacker", "a0", jittered(split, x, 0.5), flipped)
    return r


# --- red team ------------------------------------------------------------------------------------

def spacing_z(split: Split, x: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Distance (standardized) from each row of x to its nearest row of `reference` at distance > 0."""
    z, zr = split.z(x), split.z(reference)
    dist, _ = NearestNeighbors(n_neighbors=min(8, len(zr))).fit(zr).kneighbors(z)
    return np.array([row[row > 0][0] if (row > 0).any() else 0.0 for row in dist])


def orthonormal(split: Split, n: int, dim: int, k: int) -> np.ndarray:
    """(n, k, dim): k random orthonormal directions per row."""
    out = np.empty((n, k, dim))
    for i in range(n):
        q, _ = np.linalg.qr(split.rng.normal(size=(dim, k)))
        out[i] = q.T[:k]
    return out


def chain_levels(split: Split, x: np.ndarray, reference: np.ndarray, levels: int, ratio: float = 0.6) -> list[np.ndarray]:
    """Copies of each row of x at distances ratio^k * spacing, k = 1..levels, each level meant for its
    own (later) contribution. Level k lies on +/- the ceil(k/2)-th orthonormal direction, so the
    original stays the nearest earlier kept row of every level; the spacing of the original, once
    level k-1 is kept, is ratio^(k-1) * spacing, so every level passes the ratio test at `ratio`."""
    z = split.z(x)
    s = spacing_z(split, x, reference)
    dirs = orthonormal(split, len(z), z.shape[1], min(z.shape[1], (levels + 1) // 2))
    out = []
    for k in range(1, levels + 1):
        j = min((k - 1) // 2, dirs.shape[1] - 1)
        sign = 1.0 if k % 2 else -1.0
        out.append(split.raw(z + sign * (ratio ** k) * s[:, None] * dirs[:, j, :]))
    return out


def padded(split: Split, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """x followed by padding that defeats rule 3 at no cost: one far "anchor" row (12 evaluation sd out
    on every feature, under the 25 sd outlier bound, worth 0) and len(x) exact duplicates of it. Each
    duplicate is a copy of the attacker's *own* row, so it never counts as "copied" toward another
    source, but it is in the rule-3 denominator (only outliers are left out), so the copied fraction
    stays <= 1/2 < (1 + p)/2. A fresh anchor per file (random signs and offset) so files do not copy
    each other."""
    anchor = split.raw(12.0 * np.sign(split.rng.normal(size=x.shape[1])) + split.rng.uniform(-1, 1, size=x.shape[1]))
    pad = np.repeat(anchor[None, :], len(x) + 1, axis=0)
    return np.vstack([x, pad]), np.concatenate([y, np.full(len(x) + 1, y[0])])


def flip(split: Split, y: np.ndarray) -> np.ndarray:
    """Another class for each label; a regression target reflected about the evaluation mean."""
    if split.task == "regression":
        return 2.0 * split.y_eval.mean() - y
    return np.array([split.rng.choice(split.classes[split.classes != v]) for v in y])


# --- 1. rule-3 dodge by self-padding --------------------------------------------------------------

def copy_one_padded(ratio: float) -> Callable[[Split], Round]:
    """Copy of contributor 0 moved `ratio` x spacing (random direction), padded with exact self-duplicates."""

    def attack(split: Split) -> Round:
        r = honest_round(split)
        r.victim = "h0"
        x, y = split.honest[0]
        r.add("attacker", "a0", *padded(split, moved(split, x, split.real_x(), ratio), y))
        return r

    attack.__name__ = f"copy_one_padded_{ratio:g}x"
    return attack


# --- 2. spacing planting: a chain of ever closer copies, one file per level --------------------------

def copy_chain_one(levels: int) -> Callable[[Split], Round]:
    """`levels` files by one identity, each a padded level of the 0.6^k-spacing chain on contributor 0's rows."""

    def attack(split: Split) -> Round:
        r = honest_round(split)
        r.victim = "h0"
        x, y = split.honest[0]
        for lv in chain_levels(split, x, split.real_x(), levels):
            r.add("attacker", "a0", *padded(split, lv, y))
        return r

    attack.__name__ = f"copy_chain_one_{levels}lv"
    return attack


def copy_chain_all(levels: int) -> Callable[[Split], Round]:
    """Chain of copies of every honest row (no padding needed: sources are mixed), one identity."""

    def attack(split: Split) -> Round:
        r = honest_round(split)
        x = split.honest_x()
        y = np.concatenate([yy for _, yy in split.honest])
        for lv in chain_levels(split, x, split.real_x(), levels):
            r.add("attacker", "a0", lv, y)
        return r

    attack.__name__ = f"copy_chain_all_{levels}lv"
    return attack


def copy_all_mixed(ratio: float) -> Callable[[Split], Round]:
    """One file: every honest row moved `ratio` x spacing (sources mixed, rule 3 cannot fire)."""

    def attack(split: Split) -> Round:
        r = honest_round(split)
        x = split.honest_x()
        y = np.concatenate([yy for _, yy in split.honest])
        r.add("attacker", "a0", moved(split, x, split.real_x(), ratio), y)
        return r

    attack.__name__ = f"copy_all_mixed_{ratio:g}x"
    return attack


def copy_one_lowvar(ratio: float) -> Callable[[Split], Round]:
    """Padded copy of contributor 0 moved `ratio` x spacing along the least-variance principal axis of
    the real data (the direction evaluation points differ least along), instead of a random one."""

    def attack(split: Split) -> Round:
        r = honest_round(split)
        r.victim = "h0"
        x, y = split.honest[0]
        zr = split.z(split.real_x())
        _, _, vt = np.linalg.svd(zr - zr.mean(axis=0), full_matrices=False)
        u = vt[-1]
        s = spacing_z(split, x, split.real_x())
        sign = np.where(split.rng.random(len(y)) < 0.5, -1.0, 1.0)
        r.add("attacker", "a0", *padded(split, split.raw(split.z(x) + (ratio * s * sign)[:, None] * u[None, :]), y))
        return r

    attack.__name__ = f"copy_one_lowvar_{ratio:g}x"
    return attack


def ring_copies(split: Split, x: np.ndarray, reference: np.ndarray, m: int, ratio: float = 0.6) -> np.ndarray:
    """m copies of each row of x at ratio x spacing along +/- orthonormal directions (row-major: all
    rows' first copy, then all rows' second copy...). In ONE file every copy passes: its nearest kept
    row is the original (ratio x spacing) and the original's spacing ignores the file's own rows;
    the other copies are >= sqrt(2) x ratio x spacing away."""
    z = split.z(x)
    s = spacing_z(split, x, reference)
    k = min(z.shape[1], (m + 1) // 2)
    dirs = orthonormal(split, len(z), z.shape[1], k)
    out = [z + (1.0 if j % 2 == 0 else -1.0) * ratio * s[:, None] * dirs[:, j // 2, :] for j in range(min(m, 2 * k))]
    return split.raw(np.vstack(out))


def copy_ring_one(m: int) -> Callable[[Split], Round]:
    """One padded file: m ring copies (0.6 x spacing, orthogonal directions) of each of contributor 0's rows."""

    def attack(split: Split) -> Round:
        r = honest_round(split)
        r.victim = "h0"
        x, y = split.honest[0]
        rx = ring_copies(split, x, split.real_x(), m)
        r.add("attacker", "a0", *padded(split, rx, np.tile(y, len(rx) // len(y))))
        return r

    attack.__name__ = f"copy_ring_one_{m}"
    return attack


def flipped_ring_after(m: int) -> Callable[[Split], Round]:
    """Griefing: one padded file of m flipped-label ring copies of each of contributor 0's rows."""

    def attack(split: Split) -> Round:
        r = honest_round(split)
        r.victim = "h0"
        x, y = split.honest[0]
        rx = ring_copies(split, x, split.real_x(), m)
        r.add("attacker", "a0", *padded(split, rx, flip(split, np.tile(y, len(rx) // len(y)))))
        return r

    attack.__name__ = f"flipped_ring_after_{m}"
    return attack


# --- 3. leaks of the current evaluation set -----------------------------------------------------

def eval_leak_padded(levels: int) -> Callable[[Split], Round]:
    """Every current evaluation row, true label, as a `levels`-level chain (one padded file per level),
    by an identity with no data of its own."""

    def attack(split: Split) -> Round:
        r = honest_round(split)
        for lv in chain_levels(split, split.x_eval, split.real_x(), levels):
            r.add("attacker", "a0", *padded(split, lv, split.y_eval))
        return r

    attack.__name__ = f"eval_leak_padded_{levels}lv"
    return attack


def eval_leak_few(n: int, levels: int) -> Callable[[Split], Round]:
    """Only `n` evaluation rows leaked (chain of `levels`, padded): value per leaked row at small n."""

    def attack(split: Split) -> Round:
        r = honest_round(split)
        pick = split.rng.choice(len(split.y_eval), n, replace=False)
        for lv in chain_levels(split, split.x_eval[pick], split.real_x(), levels):
            r.add("attacker", "a0", *padded(split, lv, split.y_eval[pick]))
        return r

    attack.__name__ = f"eval_leak_{n}rows_{levels}lv"
    return attack


def eval_leak_ring(m: int) -> Callable[[Split], Round]:
    """Every current evaluation row, true label, m ring copies each (0.6 x spacing), one padded file."""

    def attack(split: Split) -> Round:
        r = honest_round(split)
        rx = ring_copies(split, split.x_eval, split.real_x(), m)
        r.add("attacker", "a0", *padded(split, rx, np.tile(split.y_eval, len(rx) // len(split.y_eval))))
        return r

    attack.__name__ = f"eval_leak_ring_{m}"
    return attack


# --- 4. griefing ----------------------------------------------------------------------------------

def frontrun_flipped(split: Split) -> Round:
    """Registered before contributor 0: its rows (e.g. public data) moved 0.3 x spacing, every label
    flipped. Contributor 0's rows become copies of them; the attacker's rows are worth < 0 and floored."""
    r = Round()
    x, y = split.honest[0]
    r.add("attacker", "a0", moved(split, x, split.real_x(), 0.3), flip(split, y))
    for i, (hx, hy) in enumerate(split.honest):
        r.add("honest", f"h{i}", hx, hy)
    r.victim = "h0"
    return r


def flipped_chain_after(levels: int) -> Callable[[Split], Round]:
    """After the honest rounds: a chain of flipped-label copies of contributor 0's rows (padded files)."""

    def attack(split: Split) -> Round:
        r = honest_round(split)
        x, y = split.honest[0]
        for lv in chain_levels(split, x, split.real_x(), levels):
            r.add("attacker", "a0", *padded(split, lv, flip(split, y)))
        r.victim = "h0"
        return r

    attack.__name__ = f"flipped_chain_after_{levels}lv"
    return attack


def crowd_chain_after(levels: int) -> Callable[[Split], Round]:
    """Like flipped_chain_after but with the true labels, each level under its own throwaway identity
    (diluting contributor 0's K slots; the attacker is paid too)."""

    def attack(split: Split) -> Round:
        r = honest_round(split)
        x, y = split.honest[0]
        for k, lv in enumerate(chain_levels(split, x, split.real_x(), levels)):
            r.add("attacker", f"c{k}", *padded(split, lv, y))
        r.victim = "h0"
        return r

    attack.__name__ = f"crowd_chain_sybil_{levels}lv"
    return attack


# --- 5. fabricated data / label-noise test ------------------------------------------------------

def synthetic_interp(split: Split) -> Round:
    """Fabrication from public (registered) rows: for every honest row, a point 30-70% of the way to a
    random one of its 5 nearest same-class honest rows, with that class: no new information."""
    r = honest_round(split)
    x = split.honest_x()
    y = np.concatenate([yy for _, yy in split.honest])
    z = split.z(x)
    out = []
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        nn = NearestNeighbors(n_neighbors=min(6, len(idx))).fit(z[idx]).kneighbors(z[idx], return_distance=False)
        partner = idx[nn[np.arange(len(idx)), split.rng.integers(1, nn.shape[1], len(idx))]]
        lam = split.rng.uniform(0.3, 0.7, len(idx))[:, None]
        out.append((z[idx] + lam * (z[partner] - z[idx]), np.full(len(idx), c)))
    zs = np.vstack([o[0] for o in out])
    r.add("attacker", "a0", split.raw(zs), np.concatenate([o[1] for o in out]))
    return r


def pseudo_label_swarm(split: Split) -> Round:
    """noise_swarm_realistic's 20 x 5 rows (real locations, moved one spacing) but labelled by a 5-NN
    classifier trained on the registered honest rows instead of at random."""
    from sklearn.neighbors import KNeighborsClassifier

    r = honest_round(split)
    xs = split.honest_x()
    ys = np.concatenate([yy for _, yy in split.honest])
    clf = KNeighborsClassifier(5).fit(split.z(xs), ys)
    for i in range(20):
        pick = split.rng.choice(len(xs), 5, replace=False)
        rows = moved(split, xs[pick], split.real_x(), 1.0)
        r.add("attacker", f"n{i}", rows, clf.predict(split.z(rows)))
    return r


def majority_realistic(split: Split) -> Round:
    """100 rows at real-data locations (honest rows moved one spacing), all with the majority label."""
    r = honest_round(split)
    xs = split.honest_x()
    labels, counts = np.unique(split.y_eval, return_counts=True)
    pick = split.rng.choice(len(xs), 100, replace=len(xs) < 100)
    r.add("attacker", "a0", moved(split, xs[pick], split.real_x(), 1.0), np.full(100, labels[np.argmax(counts)]))
    return r


def junk_merged(split: Split) -> Round:
    """Contributor 9 adds 100 random-label rows at real-data locations to its own file: its own rows'
    Z carries the junk (the lucky rows are paid, no per-identity floor of the junk)."""
    r = Round(reference_identity="h9")
    for i, (x, y) in enumerate(split.honest[:-1]):
        r.add("honest", f"h{i}", x, y)
    x, y = split.honest[-1]
    xs = split.honest_x()
    pick = split.rng.choice(len(xs), 100, replace=len(xs) < 100)
    jx = moved(split, xs[pick], split.real_x(), 1.0)
    r.add("attacker", "h9", np.vstack([x, jx]), np.concatenate([y, split.rng.choice(split.classes, 100)]))
    return r


def junk_swarm_carrier(split: Split) -> Round:
    """One identity registers ~20 padded-copy rows of evaluation-free *public* data (a 0.6x chain level of
    5 honest rows) to lift Z, plus 100 random-label realistic rows in a second file."""
    r = honest_round(split)
    xs = split.honest_x()
    ys = np.concatenate([yy for _, yy in split.honest])
    pick = split.rng.choice(len(xs), 20, replace=False)
    r.add("attacker", "a0", moved(split, xs[pick], split.real_x(), 0.6), ys[pick])
    pick2 = split.rng.choice(len(xs), 100, replace=len(xs) < 100)
    r.add("attacker", "a0", moved(split, xs[pick2], split.real_x(), 1.0), split.rng.choice(split.classes, 100))
    return r


# --- 6. outliers just under the bound -------------------------------------------------------------

def outlier_under_bound(split: Split) -> Round:
    """Contributor 0's rows with one random feature set to +/-24.9 evaluation sd (bound 25), registered
    first by the attacker, the originals registered later by contributor 0."""
    r = Round()
    x, y = split.honest[0]
    z = split.z(x).copy()
    j = split.rng.integers(0, z.shape[1], len(y))
    z[np.arange(len(y)), j] = 24.9 * np.sign(split.rng.normal(size=len(y)))
    r.add("attacker", "a0", split.raw(z), y)
    for i, (hx, hy) in enumerate(split.honest):
        r.add("honest", f"h{i}", hx, hy)
    r.victim = "h0"
    return r


# --- 7. planted before the honest files (against rule 4's count over files as registered) ------------

def _planted_first(split: Split, x: np.ndarray, y: np.ndarray) -> Round:
    r = Round(revealed=split.x_revealed is not None)
    r.add("attacker", "a0", np.vstack([jittered(split, x, 0.01) for _ in range(5)]), np.tile(y, 5))
    for i, (hx, hy) in enumerate(split.honest):
        r.add("honest", f"h{i}", hx, hy)
    return r


def eval_leak_first(split: Split) -> Round:
    """5 jittered copies of each current evaluation row, registered *before* every honest file: the
    copies are excluded, but they still count when later files are compared with earlier files as
    registered -- can they make an honest file look derived from the attacker's?"""
    return _planted_first(split, split.x_eval, split.y_eval)


def revealed_leak_first(split: Split) -> Round:
    """eval_leak_first with a revealed (public) evaluation set: anyone can plant these."""
    return _planted_first(split, split.x_revealed, split.y_revealed)


revealed_leak_first.needs_revealed = True  # type: ignore[attr-defined]


# --- regression: targets shuffled, negated, or far out -------------------------------------------

def target_shuffled(split: Split) -> Round:
    """Rows drawn like the honest ones (contributor 9's, jittered 0.5 sd), the targets shuffled among them:
    the right target distribution, paired with the features at random."""
    r = honest_round(split)
    x, y = split.honest[N_HONEST - 1]
    r.add("attacker", "a0", jittered(split, x, 0.5), split.rng.permutation(y))
    return r


def target_noise(split: Split) -> Round:
    """Contributor 9's rows jittered 0.5 sd, each target plus Gaussian noise of 2 evaluation sd."""
    r = honest_round(split)
    x, y = split.honest[N_HONEST - 1]
    r.add("attacker", "a0", jittered(split, x, 0.5), y + 2.0 * split.y_eval.std() * split.rng.normal(size=len(y)))
    return r


def target_outlier(split: Split) -> Round:
    """One row at a real location (contributor 0's first, moved one spacing) with a target 1e6 evaluation sd out."""
    r = honest_round(split)
    x, _ = split.honest[0]
    r.add("attacker", "a0", moved(split, x[:1], split.real_x(), 1.0), np.array([split.y_eval.mean() + 1e6 * split.y_eval.std()]))
    return r


def far_junk_mean(split: Split) -> Round:
    """50 rows far from all real data (6 sd on every feature, random signs), all with the evaluation mean target."""
    r = honest_round(split)
    signs = np.sign(split.rng.normal(size=(50, len(split.mean))))
    r.add("attacker", "a0", split.raw(6.0 * signs), np.full(50, split.y_eval.mean()))
    return r


#: The attacks run on regression sets: those whose moves mean the same for numeric targets.
REGRESSION_ATTACKS = (
    "outlier_last", "outlier_first", "target_outlier", "outlier_under_bound",
    "copy_one_moved_0.075", "copy_one_moved_0.15", "copy_one_0.1x_spacing", "copy_one_0.3x_spacing",
    "copy_one_0.45x_spacing", "copy_one_padded_0.55x", "copy_one_lowvar_0.55x", "copy_mix_0.3x_spacing",
    "late_copy_all_0.3x_spacing", "copy_chain_all_4lv", "copy_all_mixed_0.55x", "eval_leak_current", "revealed_leak",
    "noise_swarm", "noise_swarm_realistic", "far_junk_mean", "junk_swarm_carrier", "junk_merged",
    "sybil_split", "sybil_padded", "label_flipper", "target_shuffled", "target_noise", "frontrun_flipped",
    "flipped_chain_after_4lv", "flipped_ring_after_8",
)
#: Attacks that only make sense for numeric targets.
REGRESSION_ONLY = ("target_shuffled", "target_noise", "target_outlier", "far_junk_mean")

#: Attack -> the acceptance target of issue 8 it is held to (docs/attribution.md, "Gaming"):
#: "copy": copier <= 0.10x its victim, victim keeps >= 0.95 of its clean pay, honest share >= 0.95;
#: "late_copy": attacker <= 0.05 of the emission; "outlier": no honest payout moves more than 1%;
#: "noise": attacker <= 0.01 of the emission; "sybil": gain <= 1.02x; "honest": honest share >= 0.95;
#: None: measured and published, no target (moves about the spacing of real rows make new points,
#: not copies; a leak of the current evaluation set; fabricated rows).
ATTACKS: dict[str, tuple[Callable[[Split], Round], str | None]] = {
    a.__name__: (a, target) for a, target in (
        (outlier_last, "outlier"), (outlier_first, "outlier"),
        (copy_of_one_by(0.075), "copy"), (copy_of_one_by(0.15), "copy"),
        (copy_of_one(0.1), "copy"), (copy_of_one(0.3), "copy"), (copy_of_one(0.45), "copy"),
        (copy_of_one(0.75), None), (copy_of_one(1.0), None),
        (copy_mix(0.3), "honest"), (copy_mix(0.75), None), (late_copy_all(0.3), "late_copy"), (late_copy_all(0.75), None),
        (eval_leak(None), "honest"), (eval_leak(0.6), "honest"), (eval_leak_hidden, None), (revealed_leak, "honest"),
        (noise_swarm, "noise"), (noise_swarm_realistic, "noise"), (far_junk_majority, "noise"),
        (sybil_split, "sybil"), (sybil_padded, "sybil"), (label_flipper, "honest"),
        # red team
        (copy_one_padded(0.55), "copy"), (copy_one_padded(0.75), None), (copy_one_lowvar(0.55), "copy"),
        (copy_chain_one(4), None), (copy_ring_one(8), None), (crowd_chain_after(4), None),
        (copy_chain_all(4), "late_copy"), (copy_all_mixed(0.55), "late_copy"),
        (eval_leak_padded(4), None), (eval_leak_ring(8), None), (eval_leak_few(5, 4), None),
        (frontrun_flipped, "honest"), (flipped_ring_after(8), "honest"), (flipped_chain_after(4), "honest"),
        (synthetic_interp, None), (pseudo_label_swarm, None), (majority_realistic, None),
        (junk_merged, "sybil"), (junk_swarm_carrier, "noise"), (outlier_under_bound, "outlier"),
        (eval_leak_first, None), (revealed_leak_first, "honest"),
        # regression
        (target_shuffled, "honest"), (target_noise, "noise"), (target_outlier, "outlier"), (far_junk_mean, "noise"),
    )
}


# --- text (issue 26): attacks that edit words instead of moving coordinates --------------------------

_FILLER = ("kindly", "again", "today", "still", "now", "asap", "really", "also")


def words_changed(split: Split, texts: np.ndarray, n: int) -> np.ndarray:
    """Each text with `n` of its words replaced by filler words (a paraphrase-free near copy)."""
    out = []
    for t in texts:
        words = str(t).split(" ")
        for j in split.rng.choice(len(words), min(n, len(words)), replace=False):
            words[j] = str(split.rng.choice(_FILLER))
        out.append(" ".join(words))
    return np.array(out, dtype=object)


def fresh_tickets(split: Split, n: int) -> tuple[np.ndarray, np.ndarray]:
    """New tickets from the generator (realistic text the attacker wrote itself), with their true topics."""
    gen = _example_module("text")
    texts, labels = gen.tickets(split.rng, n)
    return np.array(texts, dtype=object), np.array(labels)


def text_copy_one(n_words: int) -> Callable[[Split], Round]:
    """Contributor 0's texts, registered later with `n_words` words changed (0: verbatim)."""

    def attack(split: Split) -> Round:
        r = honest_round(split)
        r.victim = "h0"
        x, y = split.honest[0]
        r.add("attacker", "a0", words_changed(split, x, n_words) if n_words else x.copy(), y)
        return r

    attack.__name__ = f"text_copy_one_{n_words}w"
    return attack


def text_late_copy_all(n_words: int) -> Callable[[Split], Round]:
    def attack(split: Split) -> Round:
        r = honest_round(split)
        for x, y in split.honest:
            r.add("attacker", "a0", words_changed(split, x, n_words), y)
        return r

    attack.__name__ = f"text_late_copy_all_{n_words}w"
    return attack


def text_noise_swarm(split: Split) -> Round:
    """20 identities x 5 realistic new tickets, random topics."""
    r = honest_round(split)
    for i in range(20):
        texts, _ = fresh_tickets(split, 5)
        r.add("attacker", f"n{i}", texts, split.rng.choice(split.classes, 5))
    return r


def text_junk(split: Split) -> Round:
    """50 texts of random letter strings (no word the evaluation set knows), all with the majority topic."""
    r = honest_round(split)
    labels, counts = np.unique(split.y_eval, return_counts=True)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    texts = np.array([" ".join("".join(split.rng.choice(letters, 6)) for _ in range(8)) for _ in range(50)], dtype=object)
    r.add("attacker", "a0", texts, np.full(50, labels[np.argmax(counts)]))
    return r


def text_flipper(split: Split) -> Round:
    """120 realistic new tickets, every topic replaced by another."""
    r = honest_round(split)
    texts, labels = fresh_tickets(split, 120)
    r.add("attacker", "a0", texts, flip(split, labels))
    return r


def text_eval_leak(split: Split) -> Round:
    """Every evaluation ticket with one word changed, 3 times over, with its true topic."""
    r = honest_round(split)
    r.add("attacker", "a0", np.concatenate([words_changed(split, split.x_eval, 1) for _ in range(3)]),
          np.tile(split.y_eval, 3))
    return r


#: The attacks run on the text data set: text edits instead of coordinate moves, plus the plain sybil splits.
#: Targets as for coordinate moves: on the generated tickets (1024 hashed dimensions, unigrams and bigrams) one
#: changed word moves a ticket a median 0.57-0.60x the spacing of real tickets, two words 0.76-0.81x, four
#: 1.03-1.05x (3 splits); copies are held to the copy target up to one word (as coordinate moves up to 0.55x), and
#: the rest is measured without a target (as moves of 0.75x and more: a new point, not a copy).
TEXT_ATTACKS = (
    "text_copy_one_0w", "text_copy_one_1w", "text_copy_one_2w", "text_copy_one_4w", "text_late_copy_all_1w",
    "text_noise_swarm", "text_junk", "text_flipper", "text_eval_leak", "sybil_split",
)
#: Attacks only the text data set runs.
TEXT_ONLY = tuple(a for a in TEXT_ATTACKS if a.startswith("text_"))
ATTACKS.update({a.__name__: (a, target) for a, target in (
    (text_copy_one(0), "copy"), (text_copy_one(1), "copy"), (text_copy_one(2), None), (text_copy_one(4), None),
    (text_late_copy_all(1), "late_copy"), (text_noise_swarm, "noise"), (text_junk, "noise"),
    (text_flipper, "honest"), (text_eval_leak, "honest"),
)})
