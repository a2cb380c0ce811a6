"""The relevance radius of tknn_shapley on text (issue 26): what each radius pays junk and costs honest contributors.

Usage:  python scripts/text_radius.py [--taus auto,1.4,1.3,1.2] [--seeds 3] [--attacks ...]

Hashed TF-IDF rows are unit vectors, so every distance is in [0, 2] and a radius `tau` means a cosine of
`1 - tau^2 / 2` (orthogonal rows sit at sqrt(2) = 1.414). `tau: "auto"` (3x the median distance from an
evaluation point to its 5th-nearest other one) lands above 2 on the generated tickets: no radius at all. For each
radius this runs the gaming suite's text attacks (scripts/gaming_attacks.py, the worst case over the seeds, as
scripts/gaming_report.py does) and its cost to an honest round (against the same method without the defences:
exact copies only, no noise test, no radius), and prints the geometry behind them: where junk and honest rows
sit relative to the evaluation set, and how far the farthest row is in the outlier bound's unit. One attack is
this script's own, `text_junk_uncovered`: junk labelled with a topic no honest contributor covers.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import gaming_report
from gaming_attacks import ATTACKS, TEXT_ATTACKS, Round, Split, load, make_split, text_junk
from gaming_report import REPRESENTATION_SPECS, honest_cost, measure, meets, summarize

from openledger_chain.attribution.methods.tknn_shapley import auto_tau
from openledger_chain.attribution.representation import TextFeaturizer, parse_text

DATA = "tickets"
_run_round = gaming_report.run_round
_rounds: dict[str, object] = {}


def cached_run_round(rnd, split, method, root, baseline, extra=None):  # noqa: ANN001, ANN201 (gaming_report's own)
    """gaming_report.run_round, once per distinct round: every attack of a seed re-runs the same honest round, and
    the cost measure runs it again (the engine is deterministic, so the report is the same)."""
    digest = hashlib.sha256(json.dumps([method, extra, baseline, rnd.revealed], sort_keys=True).encode())
    for part in (split.x_eval, split.y_eval, *(a for _, i, x, y in rnd.entries for a in (np.array([i]), x, y))):
        digest.update(repr(np.asarray(part).tolist()).encode())
    key = digest.hexdigest()
    if key not in _rounds:
        _rounds[key] = _run_round(rnd, split, method, root, baseline, extra)
    return _rounds[key]


gaming_report.run_round = cached_run_round


def text_junk_uncovered(split: Split) -> Round:
    """100 texts of random letter strings labelled with the one topic no honest contributor covers (each honest
    contributor's tickets of the evaluation set's rarest topic are left out of the round): the junk rows are
    then the only rows of that topic, and nothing but a radius keeps them out of its evaluation tickets' votes."""
    labels, counts = np.unique(split.y_eval, return_counts=True)
    topic = labels[np.argmin(counts)]
    r = Round()
    for i, (x, y) in enumerate(split.honest):
        r.add("honest", f"h{i}", x[y != topic], y[y != topic])
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    texts = np.array([" ".join("".join(split.rng.choice(letters, 6)) for _ in range(8)) for _ in range(100)], dtype=object)
    r.add("attacker", "a0", texts, np.full(100, topic))
    return r


ATTACKS["text_junk_uncovered"] = (text_junk_uncovered, "noise")


def geometry(seed: int, taus: list[float]) -> dict:
    """Distances on the unit sphere for one split: the automatic radius, each honest and junk row's nearest
    evaluation row, the share of honest rows with no evaluation row within each radius, and how far the
    farthest row is from the evaluation mean in RMS radii (the outlier bound's unit)."""
    from sklearn.neighbors import NearestNeighbors

    texts, labels = load(DATA)
    split = make_split(texts, labels, seed, representation="text")
    featurizer = TextFeaturizer(parse_text(REPRESENTATION_SPECS["text"]["text"], "spec"), seed).fit(list(split.x_eval))
    x_eval = featurizer.transform(list(split.x_eval))
    honest = featurizer.transform(list(np.concatenate([x for x, _ in split.honest])))
    junk_round = text_junk(split)
    junk = featurizer.transform(list(junk_round.entries[-1][2]))
    index = NearestNeighbors(n_neighbors=1).fit(x_eval)
    d_honest = index.kneighbors(honest)[0][:, 0]
    d_junk = index.kneighbors(junk)[0][:, 0]
    mean = x_eval.mean(axis=0)
    rms = float(np.sqrt(np.mean(np.sum((x_eval - mean) ** 2, axis=1))))
    far = float(max(np.linalg.norm(honest - mean, axis=1).max(), np.linalg.norm(junk - mean, axis=1).max()) / rms)
    return {"auto": auto_tau(x_eval, 5), "honest_nearest": d_honest, "junk_nearest": d_junk,
            "honest_outside": {t: float(np.mean(d_honest > t)) for t in taus}, "farthest_in_rms_radii": far}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--taus", default="auto,1.4,1.35,1.3,1.2")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--attacks", default=",".join((*TEXT_ATTACKS, "text_junk_uncovered")))
    args = p.parse_args()
    taus: list[str | float] = [t if t == "auto" else float(t) for t in args.taus.split(",")]
    numeric = [t for t in taus if t != "auto"]
    print(f"load before: {os.getloadavg()[0]:.1f} / {os.getloadavg()[1]:.1f} / {os.getloadavg()[2]:.1f}")
    print("\nGeometry (each seed's split; distances between unit vectors, sqrt(2) = 1.414 is orthogonal):\n")
    print("| seed | auto radius | honest rows' nearest evaluation row: median / 95% / max | junk rows' nearest: min / "
          "median | honest rows with no evaluation row within " + " / ".join(f"{t}" for t in numeric) +
          " | farthest row, RMS radii |")
    print("|---:|---:|---|---|---|---:|")
    for seed in range(args.seeds):
        g = geometry(seed, numeric)
        h, j = g["honest_nearest"], g["junk_nearest"]
        print(f"| {seed} | {g['auto']:.2f} | {np.median(h):.3f} / {np.quantile(h, 0.95):.3f} / {h.max():.3f} | "
              f"{j.min():.3f} / {np.median(j):.3f} | " + " / ".join(f"{g['honest_outside'][t]:.1%}" for t in numeric) +
              f" | {g['farthest_in_rms_radii']:.2f} |", flush=True)
    print("\nAttacks (worst over the seeds) and the cost to an honest round, per radius:\n")
    attacks = args.attacks.split(",")
    print("| tau | " + " | ".join(attacks) + " | targets met | lowest honest share | honest rows excluded | "
          "mean change of an honest payout | largest | Spearman |")
    print("|---|" + "---|" * len(attacks) + "---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for tau in taus:
            method = {"name": "tknn_shapley", "k": 5, "tau": tau}
            cells, met, honest = [], [], []
            for attack_name in attacks:
                attack, target = ATTACKS[attack_name]
                row = summarize([measure(DATA, attack, s, method, Path(tmp) / f"{tau}-{attack_name}-{s}", False)
                                 for s in range(args.seeds)])
                ok = meets(target, row)
                met.append(ok)
                honest.append(row["honest"])
                gain = f" ({row['gain']:.2f}x)" if row["gain"] is not None else ""
                cells.append(f"{row['attacker']:.3f}{gain}" + ("" if ok is None else (" ✓" if ok else " **✗**")))
                print(f"  tau {tau} {attack_name}: {cells[-1]}", file=sys.stderr, flush=True)
            cost = [honest_cost(DATA, s, method, Path(tmp) / f"{tau}-cost-{s}") for s in range(args.seeds)]
            targeted = [m for m in met if m is not None]
            print(f"| {tau} | " + " | ".join(cells) + f" | {sum(targeted)}/{len(targeted)} | {min(honest):.3f} | "
                  f"{np.mean([c['excluded'] for c in cost]):.1%} | {np.mean([c['mean_change'] for c in cost]):.1%} | "
                  f"{max(c['max_change'] for c in cost):.1%} | {np.mean([c['spearman'] for c in cost]):.2f} |", flush=True)
    print(f"\nload after: {os.getloadavg()[0]:.1f} / {os.getloadavg()[1]:.1f} / {os.getloadavg()[2]:.1f}")


if __name__ == "__main__":
    main()
