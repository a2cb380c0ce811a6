"""Fabrication across rounds: what rows made from earlier, revealed data earn, valued all together or by cohort.

Usage:  python scripts/gaming_rounds.py [--seeds 3] [--datasets iris synthetic breast_cancer]

The attacks of scripts/gaming_attacks.py that no valuation of one round can stop (points between
honest rows, rows labelled by a classifier trained on them, majority-labelled rows at real places,
copies moved a whole spacing) fabricate from honest files that were public before the round
closed. This experiment assumes the other protocol: contributed files stay private to the
oracles until the round's registration cutoff and are revealed after it (as evaluation sets
already are). On each split of the gaming suite, contributors h0-h4 registered in an earlier,
revealed round (cohort 0) and h5-h9 register in the current one (cohort 1), and the attacker
registers in the current round with rows made from the revealed files only (the attack sees the
earlier contributors' rows and nothing of the current round: not its files, not its evaluation set).

Each round is run through the engine (every defence on) twice:
* "together": today's valuation, every row in one Shapley game;
* "cohorts": ``attribute(..., cohorts=...)``, each cohort valued on top of the earlier cohorts'
  rows (TKNN-Shapley with the earlier rows always present; Shapley within a cohort).

Reported per attack: the honest share of the emission, the attacker's share, the attacker's share
of what the current cohort earns, and the largest loss of an honest contributor against the same
valuation without the attack; for the honest round, the current cohort's share under each valuation
(what ordering the cohorts costs the later contributors).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gaming_attacks import (  # noqa: E402
    EMISSION, Round, Split, copy_mix, copy_of_one, load, majority_realistic, make_split, pseudo_label_swarm,
    synthetic_interp,
)
from gaming_report import address, payouts, write_csv  # noqa: E402

from openledger_chain.attribution import attribute  # noqa: E402

EARLIER = 5  # h0..h4 registered (and were revealed) in an earlier round
ATTACKS = {
    "synthetic_interp": synthetic_interp,
    "pseudo_label_swarm": pseudo_label_swarm,
    "majority_realistic": majority_realistic,
    "copy_one_1x_spacing": copy_of_one(1.0),
    "copy_mix_0.75x_spacing": copy_mix(0.75),
}
VALUATIONS = ("together", "cohorts")


def revealed_view(split: Split) -> Split:
    """What the attacker holds at the current round: the earlier round's files, nothing of this round
    (its own stand-in for the unseen evaluation set is the revealed rows themselves)."""
    x = np.vstack([x for x, _ in split.honest[:EARLIER]])
    y = np.concatenate([y for _, y in split.honest[:EARLIER]])
    return replace(split, x_eval=x, y_eval=y, honest=split.honest[:EARLIER])


def two_round(split: Split, attack_round: Round | None) -> Round:
    """Every honest contributor in registration order, then the attacker's contributions."""
    r = Round()
    for i, (x, y) in enumerate(split.honest):
        r.add("honest", f"h{i}", x, y)
    for role, identity, x, y in (attack_round.entries if attack_round else []):
        if role == "attacker":
            r.add(role, identity, x, y)
    return r


def run(rnd: Round, split: Split, root: Path, valuation: str) -> dict[str, int]:
    root.mkdir(parents=True, exist_ok=True)
    write_csv(root / "eval.csv", split.x_eval, split.y_eval)
    manifest, cohorts = [], {}
    for i, (role, identity, x, y) in enumerate(rnd.entries):
        write_csv(root / f"c{i}.csv", x, y)
        manifest.append({"id": f"c{i}", "contributor": address(identity), "kind": "data", "path": f"c{i}.csv"})
        cohorts[f"c{i}"] = 0 if role == "honest" and int(identity[1:]) < EARLIER else 1
    spec = {"label": "label", "method": {"name": "tknn_shapley"}, "kind_shares_bps": {"data": 10000}}
    report = attribute(spec, manifest, root / "eval.csv", base_dir=root, emission=EMISSION,
                       cohorts=cohorts if valuation == "cohorts" else None)
    return payouts(rnd, report)


def measure(split: Split, name: str, tmp: Path) -> dict[str, dict[str, float]]:
    clean_round = two_round(split, None)
    attacked = two_round(split, ATTACKS[name](revealed_view(split)))
    out = {}
    for valuation in VALUATIONS:
        clean = run(clean_round, split, tmp / valuation / "clean", valuation)
        paid = run(attacked, split, tmp / valuation / name, valuation)
        roles = {identity: role for role, identity, _, _ in attacked.entries}
        current = [i for i in paid if roles[i] == "attacker" or int(i[1:]) >= EARLIER]
        attacker = sum(v for i, v in paid.items() if roles[i] == "attacker")
        losses = [1 - paid[i] / clean[i] for i in clean if clean[i] > 0]
        out[valuation] = {
            "honest": sum(v for i, v in paid.items() if roles[i] == "honest") / EMISSION,
            "attacker": attacker / EMISSION,
            "of_cohort": attacker / max(sum(paid[i] for i in current), 1),
            "worst_loss": max(losses) if losses else 0.0,
            "clean_current": sum(v for i, v in clean.items() if int(i[1:]) >= EARLIER) / EMISSION,
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--datasets", nargs="+", default=["breast_cancer", "iris", "synthetic"])
    args = parser.parse_args()
    print("| data | attack | honest share: together / cohorts | attacker share: together / cohorts "
          "| attacker's part of the current cohort's pay: together / cohorts | worst honest loss: together / cohorts |")
    print("|---|---|---|---|---|---|")
    clean_current: dict[str, list[tuple[float, float]]] = {}
    for data in args.datasets:
        x, y = load(data)
        for name in ATTACKS:
            rows = []
            for seed in range(args.seeds):
                with tempfile.TemporaryDirectory() as tmp:
                    rows.append(measure(make_split(x, y, seed), name, Path(tmp)))
            clean_current[data] = [(r["together"]["clean_current"], r["cohorts"]["clean_current"]) for r in rows]

            def cell(key: str, worst: str) -> str:
                pick = min if worst == "min" else max
                return " / ".join(f"{pick(r[v][key] for r in rows):.3f}" for v in VALUATIONS)

            print(f"| {data} | {name} | {cell('honest', 'min')} | {cell('attacker', 'max')} | {cell('of_cohort', 'max')} "
                  f"| {cell('worst_loss', 'max')} |", flush=True)
    print("\nHonest rounds: the current cohort's (h5-h9) share of the emission, together / cohorts, per seed")
    for data, pairs in clean_current.items():
        print(f"- {data}: " + ", ".join(f"{a:.3f} / {b:.3f}" for a, b in pairs))


if __name__ == "__main__":
    main()
