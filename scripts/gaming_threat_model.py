"""Threat model of committee-private files: what an outsider and an insider can still do, measured.

Usage:  python scripts/gaming_threat_model.py [--datasets breast_cancer,iris,synthetic] [--seeds 3]
            [--tables outsider,insider] [--attacks NAME,...] [--json rows.json] [--list]

Contributed files and evaluation sets are encrypted to the model's committee (its oracles and
guardians); what stays public is the chain, the round files (every contribution's value and
exclusion reasons, per round), a contributor's own data and files registered with
``contribute --public``. Two tables:

* **outsider** -- an attacker that sees only that:
  - probing the evaluation set: in round 1 it registers many one-row contributions and reads their
    published values; in round 2 it fabricates rows near the positively valued probes, on a fresh
    evaluation set (the protocol) and on the same one reused (an owner breaking it); a control
    registers the same kind of rows unselected (no probing);
  - fabricating from one honest contributor's ``--public`` file (interpolated, jittered,
    pseudo-labelled, mixup, class centroids), contributed privately;
  - registering a copy of the public file (exact, moved a quarter and one spacing of real rows)
    after and before its owner;
  - padding one's own data with synthetic neighbours (its target belongs to a later issue);
  - fabricating from a revealed evaluation set (only while revealed sets are published);
  - the suite's noise swarm and sybil splits;
* **insider** -- a committee key holder that also contributes reads every file: the suite's
  fabrication attacks (interpolated, pseudo-labelled, majority-labelled, copies moved a whole
  spacing, copies mixed at 0.75x), mixup and class centroids, the current evaluation set hidden in
  its own file (the committee holds it), and registering a read file first.

Every round goes through the real engine (``gaming_report.run_round``: CSV files, manifest, copy
detection, valuation, noise test, second pass, integer allocation), all spec defaults, default
method. Each figure is given as its mean and range over the seeds; a target is met when every seed
meets it. For the insider the protocol sets no target (the residual threat, published); its target
column holds the bar the same figure is held to for an outsider, for comparison.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from sklearn.cluster import KMeans
from sklearn.neighbors import KNeighborsClassifier

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gaming_attacks import (  # noqa: E402
    ATTACKS, DATASETS, EMISSION, METHODS, N_HONEST, Round, Split, copy_mix, copy_of_one, honest_round, load,
    majority_realistic, make_split, moved, pseudo_label_swarm, synthetic_interp,
)
from gaming_report import payouts, run_round  # noqa: E402

from openledger_chain.attribution import AttributionReport  # noqa: E402

METHOD = METHODS["tknn_shapley"]  # the default, every parameter at its default
PROBES = 100  # one-row contributions the prober registers in round 1
PROBE_EVAL_FRACTION = 0.2  # two disjoint evaluation sets of 20% (rounds 1 and 2), 60% honest data
REVEALED_FRACTION = 0.15  # as gaming_report's revealed-set attacks
ATTACKER_OWN = N_HONEST - 1  # the outsider that owns data owns contributor h9's file


# --- what an outsider sees ----------------------------------------------------------------------

def view(split: Split, files: list[tuple[np.ndarray, np.ndarray]]) -> Split:
    """The split as an attacker that holds only `files` sees it: they stand in for everyone's data and
    for the evaluation set, standardized by their own statistics. The suite's attacks run on it
    fabricate from those files alone."""
    x = np.vstack([f[0] for f in files])
    y = np.concatenate([f[1] for f in files])
    std = x.std(axis=0)
    return replace(split, x_eval=x, y_eval=y, honest=list(files), mean=x.mean(axis=0),
                   std=np.where(std > 0, std, 1.0), x_revealed=None, y_revealed=None)


def pairable(files: list[tuple[np.ndarray, np.ndarray]]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Files without the rows of classes that have a single row in them (nothing to interpolate with)."""
    out = []
    for x, y in files:
        labels, counts = np.unique(y, return_counts=True)
        keep = np.isin(y, labels[counts >= 2])
        out.append((x[keep], y[keep]))
    return out


def attacker_entries(rnd: Round, identity: str | None = None) -> list[tuple[str, str, np.ndarray, np.ndarray]]:
    """The attacker's contributions of a suite round (optionally all under one identity)."""
    return [("attacker", identity or i, x, y) for role, i, x, y in rnd.entries if role == "attacker"]


# --- attacks the suite does not have (Split -> Round, like gaming_attacks) ------------------------

def mixup(split: Split) -> Round:
    """Mixup (Zhang et al., 2018) of the honest rows: for each, a convex combination with a random
    other honest row, weight ~ Beta(0.4, 0.4), labelled with the class of the heavier end."""
    r = honest_round(split)
    x = split.z(split.honest_x())
    y = np.concatenate([yy for _, yy in split.honest])
    other = split.rng.integers(0, len(y), len(y))
    lam = split.rng.beta(0.4, 0.4, len(y))
    r.add("attacker", "a0", split.raw(lam[:, None] * x + (1 - lam[:, None]) * x[other]), np.where(lam >= 0.5, y, y[other]))
    return r


def class_centroids(split: Split) -> Round:
    """Rows at the centroids of the honest rows of each class: k-means with one centre per 4 rows of
    the class, each centre labelled with the class (means of a handful of real rows, no new row)."""
    r = honest_round(split)
    x = split.z(split.honest_x())
    y = np.concatenate([yy for _, yy in split.honest])
    xs, ys = [], []
    for c in np.unique(y):
        rows = x[y == c]
        km = KMeans(max(1, len(rows) // 4), n_init=1, random_state=int(split.rng.integers(2**31))).fit(rows)
        xs.append(km.cluster_centers_)
        ys.append(np.full(len(km.cluster_centers_), c))
    r.add("attacker", "a0", split.raw(np.vstack(xs)), np.concatenate(ys))
    return r


def exact_copy_of_one(split: Split) -> Round:
    """Contributor 0's file, byte for byte (the registry refuses a content hash registered before)."""
    r = honest_round(split)
    r.victim = "h0"
    x, y = split.honest[0]
    r.add("attacker", "a0", x.copy(), y.copy())
    return r


def registered_first(attack: Callable[[Split], Round]) -> Callable[[Split], Round]:
    """The attack's contributions registered before every honest file."""

    def first(split: Split) -> Round:
        r = attack(split)
        r.entries = [e for e in r.entries if e[0] == "attacker"] + [e for e in r.entries if e[0] != "attacker"]
        return r

    return first


def from_visible(fabricate: Callable[[Split], Round], files: Callable[[Split], list], victim: str | None = "h0",
                 as_identity: str | None = None) -> Callable[[Split], Round]:
    """`fabricate` run on what the attacker sees (`files(split)`), its rows added to the honest round."""

    def attack(split: Split) -> Round:
        r = honest_round(split)
        r.victim = victim
        r.entries += attacker_entries(fabricate(view(split, files(split))), as_identity)
        return r

    return attack


def own_padding(fabricate: Callable[[Split], Round], pairs: bool = False) -> Callable[[Split], Round]:
    """Contributor 9 adds, as a second file of its own, rows fabricated from its own file alone
    (`pairs`: without its classes of one row, for interpolation)."""

    def attack(split: Split) -> Round:
        own = split.honest[ATTACKER_OWN]
        r = Round(reference_identity=f"h{ATTACKER_OWN}")
        for i, (x, y) in enumerate(split.honest[:ATTACKER_OWN]):
            r.add("honest", f"h{i}", x, y)
        r.add("attacker", f"h{ATTACKER_OWN}", *own)
        r.entries += attacker_entries(fabricate(view(split, pairable([own]) if pairs else [own])), f"h{ATTACKER_OWN}")
        return r

    return attack


# --- running ----------------------------------------------------------------------------------------

@dataclass
class Context:
    """One data set and seed: runs rounds through the engine, caching honest rounds."""

    dataset: str
    seed: int
    tmp: Path
    x: np.ndarray = field(init=False)
    y: np.ndarray = field(init=False)
    _clean: dict = field(default_factory=dict)
    _n: int = 0

    def __post_init__(self) -> None:
        self.x, self.y = load(self.dataset)

    def split(self, revealed: bool = False) -> Split:
        """A fresh split of the suite (fresh random stream: every attack starts from the same state)."""
        return make_split(self.x, self.y, self.seed, revealed_fraction=REVEALED_FRACTION if revealed else 0.0)

    def report(self, rnd: Round, split: Split) -> AttributionReport:
        self._n += 1
        root = self.tmp / f"r{self._n}"
        try:
            return run_round(rnd, split, METHOD, root, False)
        finally:
            shutil.rmtree(root, ignore_errors=True)

    def paid(self, rnd: Round, split: Split) -> dict[str, int]:
        return payouts(rnd, self.report(rnd, split))

    def clean(self, split: Split, key: str) -> dict[str, int]:
        if key not in self._clean:
            self._clean[key] = self.paid(honest_round(split), split)
        return self._clean[key]


def ratio(a: float, b: float) -> float:
    return a / b if b > 0 else (0.0 if a == 0 else math.inf)


def round_figures(attack: Callable[[Split], Round], revealed: bool = False) -> Callable[[Context], dict[str, float]]:
    """Figures of one attacked round against the honest round of the same split."""

    def measure(ctx: Context) -> dict[str, float]:
        split = ctx.split(revealed)
        clean = ctx.clean(split, f"suite-{revealed}")
        rnd = attack(split)
        paid = ctx.paid(rnd, split)
        roles = {i: role for role, i, _, _ in rnd.entries}
        attacker = sum(v for i, v in paid.items() if roles[i] == "attacker")
        honest = sum(v for i, v in paid.items() if roles[i] == "honest")
        out = {"honest share": honest / EMISSION, "attacker share": attacker / EMISSION}
        if rnd.victim is not None:
            out["copier / victim"] = ratio(attacker, paid[rnd.victim])
            out["copier / victim's clean pay"] = ratio(attacker, clean[rnd.victim])
            out["victim kept"] = ratio(paid[rnd.victim], clean[rnd.victim])
        if rnd.reference_identity is not None:
            out["gain"] = ratio(attacker, clean[rnd.reference_identity])
            others = [i for i in clean if roles.get(i) == "honest"]
            out["others kept"] = ratio(sum(paid[i] for i in others), sum(clean[i] for i in others))
        return out

    return measure


def probe_splits(x: np.ndarray, y: np.ndarray, seed: int) -> tuple[Split, Split]:
    """Rounds 1 and 2 of one seed: the same honest files (60% of the rows), two disjoint evaluation
    sets of 20% each (the owner's private pool; a fresh set per round, as the protocol commits)."""
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(y))
    n = int(PROBE_EVAL_FRACTION * len(y))
    honest = [(x[p], y[p]) for p in np.array_split(perm[2 * n:], N_HONEST)]
    stream = np.random.default_rng(10_000 + seed)

    def on(ev: np.ndarray) -> Split:
        std = x[ev].std(axis=0)
        return Split(x[ev], y[ev], honest, x[ev].mean(axis=0), np.where(std > 0, std, 1.0), stream)

    return on(perm[:n]), on(perm[n:2 * n])


def probing(labels: str, reuse: bool) -> Callable[[Context], dict[str, float]]:
    """The prober owns contributor 9's file. Round 1: PROBES one-row contributions at its own rows moved
    one (own) spacing, labelled at random or by a 5-NN on its own rows ("chosen"); it reads each
    one's value in the round file. Round 2 (fresh evaluation set, or the same one reused): the probes
    are withdrawn and a new identity registers as many rows as its own file holds: the positively
    valued probes (with their labels), then rows 0.5 spacing around them, cycling over them.
    "control": no round 1; the first probes of the "chosen" kind, as many as its own file holds, are
    registered in round 2 unselected (what the same fabrication earns without reading any value)."""

    def measure(ctx: Context) -> dict[str, float]:
        r1, r2 = probe_splits(ctx.x, ctx.y, ctx.seed)
        target = r1 if reuse else r2
        own_x, own_y = r1.honest[ATTACKER_OWN]
        seen = view(r1, [(own_x, own_y)])
        n = len(own_y)
        pos = moved(seen, own_x[np.arange(PROBES) % n], seen.real_x(), 1.0)
        if labels == "random":
            lab = seen.rng.choice(seen.classes, PROBES)
        else:
            lab = KNeighborsClassifier(min(5, n)).fit(seen.z(own_x), own_y).predict(seen.z(pos))
        out: dict[str, float] = {}
        if labels == "control":
            fab_x, fab_y = pos[:n], lab[:n]
        else:
            rnd1 = honest_round(r1)
            for i in range(PROBES):
                rnd1.add("attacker", "p0", pos[i:i + 1], lab[i:i + 1])
            report = ctx.report(rnd1, r1)
            values = np.array([c.value for c in report.contributions[N_HONEST:]])
            good = np.flatnonzero(values > 0)
            out["positive probes"] = len(good) / PROBES
            out["probes' share in round 1"] = payouts(rnd1, report)["p0"] / EMISSION
            # the positive probes themselves first, then rows 0.5 spacing around them (none: nothing to register)
            pick = np.arange(n if len(good) else 0) % max(len(good), 1)
            fab_x, fab_y = pos[good][pick], lab[good][pick]
            if len(pick) > len(good):
                near = moved(seen, fab_x, np.vstack([own_x, pos]), 0.5)
                fab_x = np.where((np.arange(len(pick)) < len(good))[:, None], fab_x, near)
        rnd2 = honest_round(target)
        if len(fab_y):
            rnd2.add("attacker", "a0", fab_x, fab_y)
        paid = ctx.paid(rnd2, target)
        honest = sum(paid[f"h{i}"] for i in range(N_HONEST))
        per_row = honest / sum(len(yy) for _, yy in target.honest)
        out["pay vs honest of same rows"] = ratio(paid.get("a0", 0), per_row * n)
        out["honest share"] = honest / EMISSION
        return out

    return measure


# --- the two tables -----------------------------------------------------------------------------------

Target = tuple[str, float] | str  # (">=" or "<=", bound), or a note for a target owned elsewhere


@dataclass(frozen=True)
class Threat:
    name: str
    table: str
    measure: Callable[[Context], dict[str, float]]
    figures: tuple[str, ...]
    targets: dict[str, Target] = field(default_factory=dict)
    note: str = ""


HONEST = (">=", 0.95)
COPY = ("<=", 0.10)
PUBLIC = lambda split: [split.honest[0]]  # noqa: E731 -- contributor 0 registered its file with --public
PUBLIC_PAIRABLE = lambda split: pairable([split.honest[0]])  # noqa: E731
REVEALED = lambda split: pairable([(split.x_revealed, split.y_revealed)])  # noqa: E731


def _threats() -> list[Threat]:
    out = []

    def add(name: str, table: str, measure: Callable, figures: tuple[str, ...], targets: dict | None = None, note: str = "") -> None:
        out.append(Threat(name, table, measure, figures, targets or {}, note))

    probe_figs = ("pay vs honest of same rows", "honest share", "positive probes", "probes' share in round 1")
    for reuse, tag in ((False, "fresh_eval"), (True, "reused_eval")):
        note = "the protocol" if not reuse else "an owner reusing the set (the chain lets it, visibly)"
        add(f"probe_random_{tag}", "outsider", probing("random", reuse), probe_figs, {"honest share": HONEST}, note)
        add(f"probe_chosen_{tag}", "outsider", probing("chosen", reuse), probe_figs, {"honest share": HONEST}, note)
        add(f"probe_control_{tag}", "outsider", probing("control", reuse), probe_figs[:2], {"honest share": HONEST},
            "no probing: the same kind of rows, unselected")
    public = {
        "interpolated": (synthetic_interp, PUBLIC_PAIRABLE), "pseudo_labelled": (pseudo_label_swarm, PUBLIC),
        "jittered_0.5x": (copy_of_one(0.5), PUBLIC), "jittered_1x": (copy_of_one(1.0), PUBLIC),
        "mixup": (mixup, PUBLIC), "class_centroids": (class_centroids, PUBLIC),
    }
    for name, (fabricate, files) in public.items():
        add(f"public_{name}", "outsider", round_figures(from_visible(fabricate, files)), ("copier / victim", "honest share"),
            {"copier / victim": COPY, "honest share": HONEST}, "jitter in the public file's own spacing" if "jitter" in name else "")
    copies = {"exact": exact_copy_of_one, "0.25x": copy_of_one(0.25), "1x": copy_of_one(1.0)}
    for name, attack in copies.items():
        add(f"public_copy_{name}_after", "outsider", round_figures(attack), ("copier / victim", "honest share"),
            {"copier / victim": COPY}, "moves in the spacing of real rows" if name != "exact" else
            "the registry refuses the same content hash")
    for name, attack in copies.items():
        add(f"public_copy_{name}_first", "outsider", round_figures(registered_first(attack)),
            ("copier / victim's clean pay", "victim kept"), {}, "the price of --public")
    for name, padding in (("interpolated", own_padding(synthetic_interp, pairs=True)), ("moved_1x", own_padding(copy_of_one(1.0)))):
        add(f"own_padding_{name}", "outsider", round_figures(padding), ("gain", "others kept"),
            {"gain": "later issue"}, "gain: pay with the padding / own clean pay")
    add("revealed_eval_interpolated", "outsider",
        round_figures(from_visible(synthetic_interp, REVEALED, victim=None), revealed=True),
        ("attacker share", "honest share"), {"honest share": HONEST}, "only while revealed sets are published")
    add("noise_swarm", "outsider", round_figures(ATTACKS["noise_swarm"][0]), ("attacker share",), {"attacker share": ("<=", 0.01)})
    for name in ("sybil_split", "sybil_padded"):
        add(name, "outsider", round_figures(ATTACKS[name][0]), ("gain",), {"gain": ("<=", 1.02)})

    for name, attack in (("interpolated", synthetic_interp), ("pseudo_labelled", pseudo_label_swarm),
                         ("majority_labelled", majority_realistic), ("mixup", mixup), ("class_centroids", class_centroids),
                         ("copies_mixed_0.75x", copy_mix(0.75))):
        add(f"insider_{name}", "insider", round_figures(attack), ("attacker share", "honest share"), {"honest share": HONEST})
    add("insider_copy_moved_1x", "insider", round_figures(copy_of_one(1.0)), ("copier / victim", "honest share"),
        {"copier / victim": COPY})
    add("insider_eval_leak_hidden", "insider", round_figures(ATTACKS["eval_leak_hidden"][0]), ("gain", "honest share"),
        {"honest share": HONEST}, "the committee holds the current evaluation set; gain: pay / own clean pay")
    for name, attack in (("exact", exact_copy_of_one), ("0.25x", copy_of_one(0.25))):
        add(f"insider_read_file_first_{name}", "insider", round_figures(registered_first(attack)),
            ("copier / victim's clean pay", "victim kept"), {"copier / victim's clean pay": COPY, "victim kept": HONEST},
            "only if the file reaches the committee before its owner's commitment")
    return out


THREATS = {t.name: t for t in _threats()}


def meets(target: Target | None, values: list[float]) -> bool | None:
    if not isinstance(target, tuple):
        return None
    op, bound = target
    return max(values) <= bound if op == "<=" else min(values) >= bound


def run(threats: list[Threat], datasets: list[str], seeds: int, log: Callable[[str], None] = lambda s: None) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for dataset in datasets:
            contexts = [Context(dataset, s, Path(tmp) / f"{dataset}-{s}") for s in range(seeds)]
            for threat in threats:
                t0 = time.perf_counter()
                per_seed = [threat.measure(ctx) for ctx in contexts]
                for fig in threat.figures:
                    values = [float(p[fig]) for p in per_seed]
                    target = threat.targets.get(fig)
                    rows.append({"table": threat.table, "attack": threat.name, "data": dataset, "figure": fig,
                                 "values": values, "mean": float(np.mean(values)), "min": min(values), "max": max(values),
                                 "target": list(target) if isinstance(target, tuple) else target,
                                 "met": meets(target, values), "note": threat.note})
                log(f"  {dataset} {threat.name}: {time.perf_counter() - t0:.1f} s")
    return rows


# --- rendering -----------------------------------------------------------------------------------------

def fmt(v: float, figure: str) -> str:
    if math.isinf(v):
        return "inf"
    return f"{v:.2f}x" if figure in ("copier / victim", "copier / victim's clean pay", "gain", "pay vs honest of same rows") \
        else f"{v:.3f}"


def target_text(t: Target | list | None) -> str:
    if t is None:
        return "-"
    if isinstance(t, str):
        return t
    return f"{'≤' if t[0] == '<=' else '≥'} {t[1]:g}"


def table(rows: list[dict], which: str) -> str:
    """One line per attack and figure, a cell per data set: mean [min-max] over the seeds."""
    sel = [r for r in rows if r["table"] == which]
    datasets = list(dict.fromkeys(r["data"] for r in sel))
    lines = [f"| attack | figure | {' | '.join(datasets)} | target | met |", "|---|---|" + "---|" * len(datasets) + "---|---|"]
    for attack, fig in dict.fromkeys((r["attack"], r["figure"]) for r in sel):
        cells, met = [], []
        for d in datasets:
            r = next((r for r in sel if r["attack"] == attack and r["figure"] == fig and r["data"] == d), None)
            if r is None:
                cells.append("")
                continue
            cells.append(fmt(r["mean"], fig) if len(r["values"]) == 1 else
                         f"{fmt(r['mean'], fig)} [{fmt(r['min'], fig)}-{fmt(r['max'], fig)}]")
            if r["met"] is not None:
                met.append((d, r["met"]))
        verdict = "-" if not met else "met" if all(m for _, m in met) else \
            "**missed** on " + ", ".join(d for d, m in met if not m)
        first = next(r for r in sel if r["attack"] == attack and r["figure"] == fig)
        lines.append(f"| {attack} | {fig} | {' | '.join(cells)} | {target_text(first['target'])} | {verdict} |")
    return "\n".join(lines)


def json_safe(o: object) -> object:
    """Infinite ratios (a victim paid nothing) as the string "inf": JSON has no infinity; numpy booleans
    as booleans."""
    if isinstance(o, float) and math.isinf(o):
        return "inf"
    if isinstance(o, dict):
        return {k: json_safe(v) for k, v in o.items()}
    if isinstance(o, list | tuple):
        return [json_safe(v) for v in o]
    if isinstance(o, np.bool_ | bool):
        return bool(o)
    return o


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--datasets", default=",".join(DATASETS))
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--tables", default="outsider,insider")
    p.add_argument("--attacks", help="only these attacks (comma-separated names; see --list)")
    p.add_argument("--json", help="write the rows (every seed's value) as JSON here")
    p.add_argument("--list", action="store_true", help="list the attacks and exit")
    args = p.parse_args()
    if args.list:
        for t in THREATS.values():
            print(f"{t.table:8} {t.name}")
        return
    tables = args.tables.split(",")
    names = args.attacks.split(",") if args.attacks else [n for n, t in THREATS.items() if t.table in tables]
    unknown = [n for n in names if n not in THREATS]
    if unknown:
        raise SystemExit(f"unknown attack(s): {', '.join(unknown)} (see --list)")
    t0 = time.perf_counter()
    rows = run([THREATS[n] for n in names], args.datasets.split(","), args.seeds,
               log=lambda s: print(s, file=sys.stderr, flush=True))
    for which in ("outsider", "insider"):
        if any(r["table"] == which for r in rows):
            print(f"\n{which.capitalize()} ({args.seeds} seeds; mean [min-max]):\n")
            print(table(rows, which))
    elapsed = time.perf_counter() - t0
    print(f"\n{elapsed:.0f} s", file=sys.stderr)
    if args.json:
        Path(args.json).write_text(json.dumps({"seconds": elapsed, "rows": json_safe(rows)}, indent=1))


if __name__ == "__main__":
    main()
