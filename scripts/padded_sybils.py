"""Padded sybils (issue 26 item 4): where the gain of `sybil_padded` comes from, and what variants of it pay.

Usage:  python scripts/padded_sybils.py explain [--data digits_emb] [--seeds 0,1,2] [--method tknn_shapley]
        python scripts/padded_sybils.py redteam [--data digits_emb] [--seeds 0,1,2] [--variants ...]
        python scripts/padded_sybils.py honest [--data breast_cancer,iris,synthetic,digits_emb,tickets] [--seeds 0,1,2]

``explain`` runs the gaming suite's ``sybil_padded`` round through the real engine (its honest round of the
same split for the reference) and prints, per identity, the value of its real rows and of its padding rows,
each part's null mean (what the same rows earn in expectation with uniformly random labels, the noise test's
baseline), the identity's Z and paid fraction, and its payout; then the same padding without the split (one
identity) and the split without padding, which separate the two causes.

``redteam`` runs variants an adversary who knows the method would try (split count, padding count, where the
padding sits, its labels) and prints each one's gain against the unsplit, unpadded honest contributor.

``honest`` measures what paying rows only above the random-label baseline moves in honest rounds: each honest
contributor's share paid above the baseline against its share on its whole value (the rule before), both from
the same report (each contribution's value and baseline; under ``tknn_shapley`` the first is what the engine
pays, under ``knn_shapley`` what it would pay with the rule).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gaming_attacks import METHODS, REPRESENTATIONS, Round, Split, load, make_split, moved, sybil_padded  # noqa: E402
from gaming_report import EMISSION, address, payouts, run_round  # noqa: E402

from openledger_chain.attribution import engine  # noqa: E402


class Capture:
    """Records every valuation pass of the engine (the last is the one the round pays)."""

    def __init__(self) -> None:
        self.passes: list[engine._RowValues] = []

    def __enter__(self) -> Capture:
        self._original = engine._RowValuer.value

        def value(valuer: engine._RowValuer, mask: np.ndarray) -> engine._RowValues:
            out = self._original(valuer, mask)
            self.passes.append(out)
            return out

        engine._RowValuer.value = value
        return self

    def __exit__(self, *exc: object) -> None:
        engine._RowValuer.value = self._original


# --- padding ---------------------------------------------------------------------------------------

def pad_centre(scale: float) -> Callable[[Split, int], np.ndarray]:
    """Gaussian around the evaluation mean, `scale` evaluation standard deviations (the suite's is 1)."""
    def rows(split: Split, n: int) -> np.ndarray:
        return split.raw(scale * split.rng.normal(size=(n, len(split.mean))))
    return rows


def pad_own(ratio: float) -> Callable[[Split, int], np.ndarray]:
    """Near the attacker's own real rows, moved `ratio` x the spacing of real rows."""
    def rows(split: Split, n: int) -> np.ndarray:
        x = split.honest[0][0]
        return moved(split, x[split.rng.choice(len(x), n, replace=True)], split.real_x(), ratio)
    return rows


def pad_eval(ratio: float) -> Callable[[Split, int], np.ndarray]:
    """Near evaluation rows (an attacker who has seen some), moved `ratio` x the spacing of real rows."""
    def rows(split: Split, n: int) -> np.ndarray:
        pick = split.rng.choice(len(split.x_eval), n, replace=False)
        return moved(split, split.x_eval[pick], split.real_x(), ratio)
    return rows


def labels_random(split: Split, n: int) -> np.ndarray:
    return split.rng.choice(split.classes, n)


def labels_majority(split: Split, n: int) -> np.ndarray:
    values, counts = np.unique(split.honest[0][1], return_counts=True)
    return np.full(n, values[np.argmax(counts)])


def padded_split(n_split: int, n_pad: int, where: Callable[[Split, int], np.ndarray],
                 labels: Callable[[Split, int], np.ndarray] = labels_random) -> Callable[[Split], Round]:
    """Honest contributor 0's rows over `n_split` identities, each with `n_pad` padding rows."""
    def attack(split: Split) -> Round:
        r = Round(reference_identity="h0")
        x, y = split.honest[0]
        for j, part in enumerate(np.array_split(np.arange(len(y)), n_split)):
            r.add("attacker", f"s{j}", np.vstack([x[part], where(split, n_pad)]), np.concatenate([y[part], labels(split, n_pad)]))
        for i, (hx, hy) in enumerate(split.honest[1:], start=1):
            r.add("honest", f"h{i}", hx, hy)
        return r
    return attack


# --- measuring ---------------------------------------------------------------------------------------

def run(data: str, seed: int, method: dict, attack: Callable[[Split], Round], tmp: Path, extra: dict | None = None) -> dict:
    x, y = load(data)
    split = make_split(x, y, seed, representation=REPRESENTATIONS.get(data, "columns"))
    clean_round = Round(reference_identity="h0")
    for i, (hx, hy) in enumerate(split.honest):
        clean_round.add("honest", f"h{i}", hx, hy)
    with Capture() as cap:
        clean_report = run_round(clean_round, split, method, tmp / "clean", False, extra)
    clean_rows = cap.passes[-1]
    clean = payouts(clean_round, clean_report)
    n0 = len(split.honest[0][1])
    rnd = attack(split)
    with Capture() as cap:
        report = run_round(rnd, split, method, tmp / "attacked", False, extra)
    final = cap.passes[-1]
    paid = payouts(rnd, report)
    by_addr = {c.address.lower(): c for c in report.contributors}
    ident = []
    start = 0
    for role, identity, ex, ey in rnd.entries:
        n = len(ey)
        sl = slice(start, start + n)
        n_real = n - _pad_count(rnd, identity)  # an attacker file: its real rows, then its padding
        v, mu, var = report.row_values[sl], final.null_mean[sl], final.null_var[sl]
        c = by_addr[address(identity).lower()]
        ident.append({"identity": identity, "role": role, "real": float(v[:n_real].sum()), "pad": float(v[n_real:].sum()),
                      "null_real": float(mu[:n_real].sum()), "null_pad": float(mu[n_real:].sum()),
                      "sd": float(np.sqrt(var.sum())), "z": c.noise_z, "weight": c.paid_fraction, "paid": paid[identity] / EMISSION})
        start += n
    h0 = slice(0, n0)
    clean_c = {c.address.lower(): c for c in clean_report.contributors}[address("h0").lower()]
    attacker = sum(p for i, p in paid.items() if i.startswith("s") or i.startswith("a"))
    honest_changes = [paid[i] / clean[i] - 1 for i in clean if i in paid and i != "h0" and clean[i] > 0]
    return {"clean_h0": {"value": float(clean_report.row_values[h0].sum()), "null": float(clean_rows.null_mean[h0].sum()),
                         "z": clean_c.noise_z, "paid": clean["h0"] / EMISSION},
            "identities": ident, "gain": attacker / max(clean["h0"], 1),
            "revalued_without": report.method.get("revalued_without", []),
            "worst_honest_loss": -min(honest_changes) if honest_changes else 0.0}


def _pad_count(rnd: Round, identity: str) -> int:
    return getattr(rnd, "pad_counts", {}).get(identity, 0)


def with_pads(attack: Callable[[Split], Round], n_pad: int) -> Callable[[Split], Round]:
    def wrapped(split: Split) -> Round:
        r = attack(split)
        r.pad_counts = {identity: n_pad for role, identity, _, _ in r.entries if role == "attacker"}
        return r
    return wrapped


def explain(args: argparse.Namespace) -> None:
    method = METHODS[args.method]
    cases = [("suite sybil_padded (10 identities x 5 padding rows)", with_pads(sybil_padded, 5)),
             ("padding unsplit (1 identity, 50 padding rows)", with_pads(padded_split(1, 50, pad_centre(1.0)), 50)),
             ("split unpadded (10 identities)", with_pads(padded_split(10, 0, pad_centre(1.0)), 0))]
    with tempfile.TemporaryDirectory() as tmp:
        for seed in map(int, args.seeds.split(",")):
            for title, attack in cases:
                r = run(args.data, seed, method, attack, Path(tmp) / f"{seed}-{len(title)}")
                c = r["clean_h0"]
                print(f"\n{args.data} {args.method} seed {seed}: {title}: gain {r['gain']:.3f}x; "
                      f"honest h0 alone: value {c['value']:+.5f} (null mean {c['null']:+.5f}), Z {c['z']:.1f}, paid {c['paid']:.4f}; "
                      f"revalued without {len(r['revalued_without'])}; worst honest loss {r['worst_honest_loss']:.2%}")
                print("| identity | real rows' value | their null mean | padding's value | its null mean | sd | Z | paid fraction | payout |")
                print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
                tot = np.zeros(5)
                for i in r["identities"]:
                    if i["role"] != "attacker":
                        continue
                    tot += [i["real"], i["null_real"], i["pad"], i["null_pad"], i["paid"]]
                    z = "-" if i["z"] is None else f"{i['z']:.1f}"
                    print(f"| {i['identity']} | {i['real']:+.5f} | {i['null_real']:+.5f} | {i['pad']:+.5f} | {i['null_pad']:+.5f} | "
                          f"{i['sd']:.5f} | {z} | {i['weight']:.2f} | {i['paid']:.4f} |")
                print(f"| total | {tot[0]:+.5f} | {tot[1]:+.5f} | {tot[2]:+.5f} | {tot[3]:+.5f} | | | | {tot[4]:.4f} |")


VARIANTS: dict[str, Callable[[Split], Round]] = {}


def _variants() -> None:
    for n_split, n_pad in ((10, 5), (10, 30), (40, 3), (2, 25), (1, 50)):
        VARIANTS[f"split{n_split}_pad{n_pad}_centre1"] = with_pads(padded_split(n_split, n_pad, pad_centre(1.0)), n_pad)
    for scale in (0.0, 0.3, 1.5):
        VARIANTS[f"split10_pad5_centre{scale:g}"] = with_pads(padded_split(10, 5, pad_centre(scale)), 5)
    VARIANTS["split10_pad5_centre1_majority"] = with_pads(padded_split(10, 5, pad_centre(1.0), labels_majority), 5)
    VARIANTS["split10_pad30_centre1_majority"] = with_pads(padded_split(10, 30, pad_centre(1.0), labels_majority), 30)
    VARIANTS["split1_pad300_centre1_majority"] = with_pads(padded_split(1, 300, pad_centre(1.0), labels_majority), 300)
    VARIANTS["split10_pad5_own1"] = with_pads(padded_split(10, 5, pad_own(1.0)), 5)
    VARIANTS["split10_pad5_eval1"] = with_pads(padded_split(10, 5, pad_eval(1.0)), 5)


_variants()


def redteam(args: argparse.Namespace) -> None:
    method = METHODS[args.method]
    names = args.variants.split(",") if args.variants else list(VARIANTS)
    seeds = list(map(int, args.seeds.split(",")))
    print(f"| variant ({args.data}, {args.method}) | gain per seed | worst | padding's value / real rows' value | worst honest loss |")
    print("|---|---|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            gains, ratios, losses = [], [], []
            for seed in seeds:
                r = run(args.data, seed, method, VARIANTS[name], Path(tmp) / f"{name}-{seed}")
                att = [i for i in r["identities"] if i["role"] == "attacker"]
                gains.append(r["gain"])
                ratios.append(sum(i["pad"] for i in att) / max(sum(i["real"] for i in att), 1e-12))
                losses.append(r["worst_honest_loss"])
            print(f"| {name} | {' / '.join(f'{g:.3f}' for g in gains)} | {max(gains):.3f}x | "
                  f"{' / '.join(f'{q:+.1%}' for q in ratios)} | {max(losses):.2%} |", flush=True)


def honest(args: argparse.Namespace) -> None:
    """What the rule moves in honest rounds: each contributor's share paid on its whole value (the rule
    before) against its share paid above the random-label baseline (the engine's), from one report."""
    method = METHODS[args.method]
    print("| data | seeds | rows with a positive null mean | their baseline / all value | mean change of an honest payout | largest change |")
    print("|---|---|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for data in args.data.split(","):
            changes, positive, share = [], [], []
            for seed in map(int, args.seeds.split(",")):
                x, y = load(data)
                split = make_split(x, y, seed, representation=REPRESENTATIONS.get(data, "columns"))
                rnd = Round()
                for i, (hx, hy) in enumerate(split.honest):
                    rnd.add("honest", f"h{i}", hx, hy)
                with Capture() as cap:
                    report = run_round(rnd, split, method, Path(tmp) / f"{data}-{seed}", False)
                positive.append(float(np.mean(cap.passes[-1].null_mean > 0)))
                share.append(sum(c.baseline for c in report.contributions) / sum(c.value for c in report.contributions))
                # Both shares from the report's fields, so a method the engine pays on its whole value (knn_shapley)
                # is measured too: each contribution is one honest contributor's file.
                weight = {c.address: c.paid_fraction for c in report.contributors}
                whole = {c.contributor: max(0, c.fixed) * weight[c.contributor] for c in report.contributions}
                above = {c.contributor: max(0, c.fixed - c.baseline_fixed) * weight[c.contributor] for c in report.contributions}
                w, a = sum(whole.values()), sum(above.values())
                changes += [(above[k] / a) / (whole[k] / w) - 1 for k in whole if whole[k]]
            print(f"| {data} | {args.seeds} | {np.mean(positive):.1%} | {np.mean(share):.2%} | {np.mean(np.abs(changes)):.2%} | "
                  f"{np.max(np.abs(changes)):.2%} |", flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("mode", choices=("explain", "redteam", "honest"))
    p.add_argument("--data", default="digits_emb")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--method", default="tknn_shapley")
    p.add_argument("--variants", default="")
    args = p.parse_args()
    {"explain": explain, "redteam": redteam, "honest": honest}[args.mode](args)


if __name__ == "__main__":
    main()
