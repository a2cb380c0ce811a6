"""Gaming report: what an adaptive attacker who knows our method gets, per attack, data set and method.

Usage:  python scripts/gaming_report.py [--methods tknn_shapley,knn_shapley] [--datasets ...]
            [--seeds 3] [--attacks ...] [--json report.json] [--png gaming_report.png]
            [--before before.json] [--baseline]

Each run goes through the real engine (CSV files, manifest, copy detection, valuation, kind
shares, integer allocation). On each data set (scikit-learn's breast cancer and iris, and a
synthetic imbalanced ``make_classification`` set), 30% of the rows are the round's evaluation set
and the rest is split among 10 honest contributors in registration order. Each attack is added to
that honest round (registered after the honest contributors unless its name says otherwise) and
compared with the honest round alone, for the same split:

* honest share: fraction of the emission paid to the honest contributors;
* attacker share: fraction paid to the attacker's identities;
* gain: attacker payout / a reference payout -- the victim's (copies), the attacker's own honest
  payout (sybils, the first-registered outlier), none otherwise;
* worst victim: the largest relative loss of one honest contributor against the honest round;
  for the outlier attacks, the largest relative change in either direction.

``--baseline`` runs the pre-issue-8 settings (``near_duplicate_distance`` 0.05 with pooled
standardization, ``tau: null``), to be run against that version of the package for the "before"
table; ``--before`` draws those figures next to the current ones in the PNG.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sklearn.datasets import load_breast_cancer, load_iris, make_classification
from sklearn.neighbors import NearestNeighbors

from openledger_chain.attribution import attribute

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
    if name == "synthetic":  # imbalanced 80/20, 10 features of which 5 informative
        return make_classification(1200, 10, n_informative=5, weights=[0.8, 0.2], flip_y=0.02, random_state=7)
    raise SystemExit(f"unknown data set {name!r}")


DATASETS = ("breast_cancer", "iris", "synthetic")


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


def make_split(x: np.ndarray, y: np.ndarray, seed: int, revealed_fraction: float = 0.0) -> Split:
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(y))
    n_eval = int(EVAL_FRACTION * len(y))
    n_rev = int(revealed_fraction * len(y))
    ev, rev, train = perm[:n_eval], perm[n_eval:n_eval + n_rev], perm[n_eval + n_rev:]
    std = x[ev].std(axis=0)
    split = Split(x[ev], y[ev], [(x[p], y[p]) for p in np.array_split(train, N_HONEST)], x[ev].mean(axis=0),
                  np.where(std > 0, std, 1.0), np.random.default_rng(10_000 + seed))
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
    reference_identity: str | None = None  # whose payout the gain is measured against
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
        r.reference_identity = "h0"
        x, y = split.honest[0]
        r.add("attacker", "a0", moved(split, x, split.real_x(), ratio), y)
        return r

    attack.__name__ = f"copy_one_{ratio:g}x_spacing"
    return attack


def copy_of_one_by(distance: float) -> Callable[[Split], Round]:
    """Every row moved by `distance` standardized units (the old radius was 0.05) in a random direction."""

    def attack(split: Split) -> Round:
        r = honest_round(split)
        r.reference_identity = "h0"
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
    flipped = np.array([split.rng.choice(split.classes[split.classes != v]) for v in y])
    r.add("attacker", "a0", jittered(split, x, 0.5), flipped)
    return r


ATTACKS: dict[str, Callable[[Split], Round]] = {
    a.__name__: a for a in (
        outlier_last, outlier_first,
        copy_of_one_by(0.075), copy_of_one_by(0.15),
        copy_of_one(0.1), copy_of_one(0.3), copy_of_one(0.45), copy_of_one(0.75), copy_of_one(1.0),
        copy_mix(0.3), copy_mix(0.75), late_copy_all(0.3), late_copy_all(0.75),
        eval_leak(None), eval_leak(0.6), eval_leak_hidden, revealed_leak,
        noise_swarm, noise_swarm_realistic, far_junk_majority, sybil_split, sybil_padded, label_flipper,
    )
}
#: Attacks the acceptance targets of issue 8 do not cover (moves as large as the spacing of real
#: rows make new points, not copies; a leak of the *current* evaluation set is bounded separately).
UNCOVERED = {"copy_one_1x_spacing", "copy_mix_0.75x_spacing", "late_copy_all_0.75x_spacing", "eval_leak_current",
             "eval_leak_current_0.6x_spacing", "eval_leak_hidden"}


# --- running a round through the engine ---------------------------------------------------------

def write_csv(path: Path, x: np.ndarray, y: np.ndarray) -> None:
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow([*(f"f{j}" for j in range(x.shape[1])), "label"])
        for row, lab in zip(x.tolist(), y.tolist()):
            w.writerow([*(repr(float(v)) for v in row), int(lab)])


def address(identity: str) -> str:
    return "0x" + identity.encode().hex().rjust(40, "0")


LAST_EXCLUDED: dict[str, float] = {}


def pay(rnd: Round, split: Split, method: dict, root: Path, baseline: bool, extra: dict | None = None) -> dict[str, int]:
    """Run the round through the engine; identity -> payout."""
    root.mkdir(parents=True, exist_ok=True)
    write_csv(root / "eval.csv", split.x_eval, split.y_eval)
    revealed = []
    if rnd.revealed:
        write_csv(root / "revealed.csv", split.x_revealed, split.y_revealed)
        revealed = [root / "revealed.csv"]
    manifest = []
    for i, (_, identity, x, y) in enumerate(rnd.entries):
        write_csv(root / f"c{i}.csv", x, y)
        manifest.append({"id": f"c{i}", "contributor": address(identity), "kind": "data", "path": f"c{i}.csv"})
    spec = {"label": "label", "method": method, "kind_shares_bps": {"data": 10000}}
    kwargs = {"revealed": revealed} if revealed and not baseline else {}  # the old engine had no revealed sets
    if baseline:
        spec |= BASELINE_SPEC
        if method["name"] == "tknn_shapley":
            spec["method"] = method | {"tau": None}
    spec |= extra or {}
    report = attribute(spec, manifest, root / "eval.csv", base_dir=root, emission=EMISSION, **kwargs)
    honest_rows = [c for c, (role, *_) in zip(report.contributions, rnd.entries) if role == "honest"]
    LAST_EXCLUDED[str(root)] = sum(c.rows - c.credited_rows for c in honest_rows) / max(sum(c.rows for c in honest_rows), 1)
    by_address = {a.lower(): v for a, v in report.allocations.items()}
    return {identity: by_address.get(address(identity).lower(), 0) for _, identity, _, _ in rnd.entries}


def measure(name: str, attack: Callable[[Split], Round], split_seed: int, method: dict, tmp: Path, baseline: bool) -> dict:
    x, y = load(name)
    split = make_split(x, y, split_seed, revealed_fraction=0.15 if attack is revealed_leak else 0.0)
    clean = pay(honest_round(split), split, method, tmp / "clean", baseline)
    rnd = attack(split)
    paid = pay(rnd, split, method, tmp / "attacked", baseline)
    roles = {identity: role for role, identity, _, _ in rnd.entries}
    honest = sum(v for i, v in paid.items() if roles[i] == "honest") / EMISSION
    attacker = sum(v for i, v in paid.items() if roles[i] == "attacker") / EMISSION
    gain = None
    if rnd.reference_identity is not None:
        gain = sum(v for i, v in paid.items() if roles[i] == "attacker") / max(clean[rnd.reference_identity], 1)
        if attack.__name__.startswith("copy_one"):
            gain = attacker * EMISSION / max(paid[rnd.reference_identity], 1)
    changes = [paid[i] / clean[i] - 1 for i in clean if roles.get(i) == "honest" and clean[i] > 0]
    worst = -min(changes) if changes else 0.0
    if attack.__name__.startswith("outlier"):
        worst = max(abs(c) for c in changes) if changes else 0.0
    victim_kept = paid["h0"] / clean["h0"] if attack.__name__.startswith("copy_one") and clean["h0"] else None
    return {"honest": honest, "attacker": attacker, "gain": gain, "worst_victim": worst, "victim_kept": victim_kept}


PLAIN_SPEC = {"copy_ratio": 0.0, "noise_margin": 0.0}


def honest_cost(name: str, split_seed: int, method: dict, tmp: Path) -> dict:
    """What the defences cost an honest round: rows excluded, and how far each honest
    contributor's pay moves from the same method without them (exact copies only, no noise
    test, and for tknn_shapley no radius)."""
    x, y = load(name)
    split = make_split(x, y, split_seed)
    rnd = honest_round(split)
    report_paid = pay(rnd, split, method, tmp / "defended", False)
    plain_method = method | {"tau": None} if method["name"] == "tknn_shapley" else method
    plain = pay(rnd, split, plain_method, tmp / "plain", False, extra=PLAIN_SPEC)
    changes = np.array([report_paid[i] / plain[i] - 1 for i in plain if plain[i] > 0])
    from scipy.stats import spearmanr

    ids = list(plain)
    rho = spearmanr([float(plain[i]) for i in ids], [float(report_paid[i]) for i in ids]).statistic
    return {"mean_change": float(np.mean(np.abs(changes))), "max_change": float(np.max(np.abs(changes))),
            "spearman": float(rho), "excluded": LAST_EXCLUDED.get(str(tmp / "defended"), 0.0)}


def summarize(results: list[dict]) -> dict:
    """Worst case over seeds (the attacker's best seed, the honest side's worst)."""
    out = {"honest": min(r["honest"] for r in results), "attacker": max(r["attacker"] for r in results),
           "worst_victim": max(r["worst_victim"] for r in results)}
    gains = [r["gain"] for r in results if r["gain"] is not None]
    out["gain"] = max(gains) if gains else None
    kept = [r["victim_kept"] for r in results if r["victim_kept"] is not None]
    out["victim_kept"] = min(kept) if kept else None
    return out


def run_suite(datasets: list[str], methods: list[str], attacks: list[str], seeds: int, baseline: bool = False,
              log: Callable[[str], None] = lambda s: None) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory() as tmpdir:
        for mname in methods:
            for dname in datasets:
                for aname in attacks:
                    t0 = time.perf_counter()
                    per_seed = [measure(dname, ATTACKS[aname], s, METHODS[mname], Path(tmpdir) / f"{dname}-{aname}-{s}", baseline)
                                for s in range(seeds)]
                    rows.append({"method": mname, "data": dname, "attack": aname, **summarize(per_seed),
                                 "seconds": time.perf_counter() - t0})
                    log(f"  {mname} {dname} {aname}: honest {rows[-1]['honest']:.3f} attacker {rows[-1]['attacker']:.3f}")
    return rows


def cost_table(datasets: list[str], methods: list[str], seeds: int) -> str:
    lines = ["| method | data | honest rows excluded | mean change of an honest payout | largest change | Spearman |",
             "|---|---|---:|---:|---:|---:|"]
    with tempfile.TemporaryDirectory() as tmpdir:
        for mname in methods:
            for dname in datasets:
                r = [honest_cost(dname, s, METHODS[mname], Path(tmpdir) / f"{dname}-{mname}-{s}") for s in range(seeds)]
                lines.append(f"| {mname} | {dname} | {np.mean([c['excluded'] for c in r]):.1%} | "
                             f"{np.mean([c['mean_change'] for c in r]):.1%} | {max(c['max_change'] for c in r):.1%} | "
                             f"{np.mean([c['spearman'] for c in r]):.2f} |")
    return "\n".join(lines)


def table(rows: list[dict]) -> str:
    lines = ["| method | data | attack | honest share | attacker share | gain | worst victim | victim kept |",
             "|---|---|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        gain = "" if r["gain"] is None else f"{r['gain']:.2f}x"
        kept = "" if r["victim_kept"] is None else f"{r['victim_kept']:.3f}"
        lines.append(f"| {r['method']} | {r['data']} | {r['attack']} | {r['honest']:.3f} | {r['attacker']:.3f} | {gain} | "
                     f"{r['worst_victim']:.1%} | {kept} |")
    return "\n".join(lines)


def figure(rows: list[dict], before: list[dict] | None, png: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    method = "tknn_shapley"
    attacks = list(dict.fromkeys(r["attack"] for r in rows if r["method"] == method))

    def mean_shares(source: list[dict], attack: str) -> tuple[float, float]:
        sel = [r for r in source if r["method"] == method and r["attack"] == attack]
        return (float(np.mean([r["honest"] for r in sel])), float(np.mean([r["attacker"] for r in sel]))) if sel else (np.nan, np.nan)

    fig, ax = plt.subplots(figsize=(12, 0.42 * len(attacks) + 1.5))
    ypos = np.arange(len(attacks))
    after = np.array([mean_shares(rows, a) for a in attacks])
    if before is not None:
        prev = np.array([mean_shares(before, a) for a in attacks])
        ax.barh(ypos + 0.2, prev[:, 1], 0.38, color="tab:red", alpha=0.45, label="attacker, before")
        ax.barh(ypos + 0.2, prev[:, 0], 0.38, left=prev[:, 1], color="tab:green", alpha=0.35, label="honest, before")
    ax.barh(ypos - 0.2, after[:, 1], 0.38, color="tab:red", label="attacker, now")
    ax.barh(ypos - 0.2, after[:, 0], 0.38, left=after[:, 1], color="tab:green", label="honest, now")
    ax.set_yticks(ypos, attacks, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel(f"share of the emission ({method}, mean over data sets and seeds)")
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(png, dpi=100)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--methods", default="tknn_shapley,knn_shapley")
    p.add_argument("--datasets", default=",".join(DATASETS))
    p.add_argument("--attacks", default=",".join(ATTACKS))
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--json", help="write the rows as JSON here")
    p.add_argument("--png", help="write the figure here")
    p.add_argument("--before", help="JSON of a --baseline run to draw next to this one")
    p.add_argument("--baseline", action="store_true", help="pre-issue-8 settings (run against that package version)")
    args = p.parse_args()
    rows = run_suite(args.datasets.split(","), args.methods.split(","), args.attacks.split(","), args.seeds, args.baseline,
                     log=lambda s: print(s, file=sys.stderr, flush=True))
    print(table(rows))
    if not args.baseline:
        print("\nCost to an honest round (no attacker), against the same method without the defences:\n")
        print(cost_table(args.datasets.split(","), args.methods.split(","), args.seeds))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    if args.png:
        figure(rows, json.loads(Path(args.before).read_text()) if args.before else None, args.png)
        print(f"\nfigure: {args.png}")


if __name__ == "__main__":
    main()
