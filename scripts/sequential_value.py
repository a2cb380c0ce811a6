"""What valuing contributions in registration order would do to fabricated rows, and to honest ones.

Usage:  python scripts/sequential_value.py [--seeds 3]

An experiment, not a method of the engine: docs/attribution.md lists "gain over the rows registered
before" as the candidate answer to fabricated rows (points interpolated between others' rows, rows
labelled by a classifier trained on others' rows), which the Shapley value of the KNN utilities
pays like real data. For each split of scripts/gaming_attacks.py it computes, on the default
utility (threshold-KNN soft accuracy, k = 5, tau "auto", evaluation-set standardization):

* sequential value: U(contributions 1..i) - U(contributions 1..i-1), in registration order,
  floored at 0 and normalized (efficient by telescoping; no copy detection, no noise test);
* for the honest round, how much the order alone moves honest pay: the share of the first and of
  the last registered contributor, and the Spearman correlation with the engine's default payouts;
* for each fabrication attack, the attacker's share under sequential values and under the
  engine's default (Shapley with every defence).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gaming_attacks import DATASETS, EMISSION, Round, Split, honest_round, load, make_split, pseudo_label_swarm, synthetic_interp  # noqa: E402
from gaming_report import payouts, run_round  # noqa: E402

from openledger_chain.attribution.dataset import Dataset  # noqa: E402
from openledger_chain.attribution.methods.tknn_shapley import auto_tau  # noqa: E402
from openledger_chain.attribution.utility import TKNNUtility  # noqa: E402

ATTACKS = {"synthetic_interp": synthetic_interp, "pseudo_label_swarm": pseudo_label_swarm}


def sequential_shares(rnd: Round, split: Split) -> dict[str, float]:
    """Identity -> share of the emission under registration-order marginal gains, floored at 0."""
    z_eval = split.z(split.x_eval)
    labels = {c: i for i, c in enumerate(split.classes)}
    x = np.vstack([split.z(xx) for _, _, xx, _ in rnd.entries])
    y = np.array([labels[v] for _, _, _, yy in rnd.entries for v in yy])
    owner = np.repeat(np.arange(len(rnd.entries)), [len(yy) for _, _, _, yy in rnd.entries])
    utility = TKNNUtility(Dataset(x, y), Dataset(z_eval, np.array([labels[v] for v in split.y_eval])),
                          auto_tau(z_eval, 5), k=5, n_classes=len(labels))
    gains: dict[str, float] = {}
    before = utility(np.zeros(0, dtype=np.int64))
    for i, (_, identity, _, _) in enumerate(rnd.entries):
        after = utility(np.flatnonzero(owner <= i))
        gains[identity] = gains.get(identity, 0.0) + max(0.0, after - before)
        before = after
    total = sum(gains.values())
    return {k: v / total if total else 0.0 for k, v in gains.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    print("| data | seed | first / last honest share, sequential | same, default | Spearman vs default |"
          + "".join(f" {a}: attacker sequential / default |" for a in ATTACKS))
    print("|---|---:|---|---|---:|" + "---|" * len(ATTACKS))
    for name in DATASETS:
        x, y = load(name)
        for seed in range(args.seeds):
            split = make_split(x, y, seed)
            honest = honest_round(split)
            seq = sequential_shares(honest, split)
            with tempfile.TemporaryDirectory() as tmp:
                default = {k: v / EMISSION for k, v in payouts(honest, run_round(honest, split, {"name": "tknn_shapley"}, Path(tmp), False)).items()}
                cells = []
                for attack in ATTACKS.values():
                    rnd = attack(split)
                    paid = payouts(rnd, run_round(rnd, split, {"name": "tknn_shapley"}, Path(tmp) / "a", False))
                    attacker = [identity for role, identity, _, _ in rnd.entries if role == "attacker"]
                    s = sequential_shares(rnd, split)
                    cells.append(f" {sum(s[a] for a in set(attacker)):.3f} / {sum(paid[a] for a in set(attacker)) / EMISSION:.3f} |")
            ids = list(default)
            rho = spearmanr([seq[i] for i in ids], [default[i] for i in ids]).statistic
            print(f"| {name} | {seed} | {seq[ids[0]]:.3f} / {seq[ids[-1]]:.3f} | {default[ids[0]]:.3f} / {default[ids[-1]]:.3f} "
                  f"| {rho:.2f} |" + "".join(cells), flush=True)


if __name__ == "__main__":
    main()
