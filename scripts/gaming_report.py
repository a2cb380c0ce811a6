"""Gaming report: what an adaptive attacker who knows our method gets, per attack, data set and method.

Usage:  python scripts/gaming_report.py [--methods tknn_shapley,knn_shapley] [--datasets ...]
            [--seeds 3] [--attacks ...] [--json report.json] [--png gaming_report.png]
            [--before before.json] [--baseline] [--check] [--rows report.json]

Each run goes through the real engine (CSV files, manifest, copy detection, valuation, kind
shares, integer allocation). The attacks and the honest rounds they are added to are in
scripts/gaming_attacks.py. Each attacked round is compared with the honest round alone, for the
same split (worst case over the seeds: the attacker's best seed, the honest side's worst):

* honest share: fraction of the emission paid to the honest contributors;
* attacker share: fraction paid to the attacker's identities;
* gain: attacker payout / a reference payout -- the victim's (copies), the attacker's own honest
  payout (sybils, the first-registered outlier), none otherwise;
* worst victim: the largest relative loss of one honest contributor against the honest round;
  for the outlier attacks, the largest relative change in either direction;
* target: the acceptance target the attack is held to (gaming_attacks.ATTACKS) and whether it is
  met ("-" for attacks measured without a target).

With ``--check`` the process exits 1 when a targeted attack misses its target (the fast subset in
tests/test_gaming_report.py runs this way).

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
from pathlib import Path

import numpy as np
from gaming_attacks import (
    ATTACKS,
    BASELINE_SPEC,
    DATASETS,
    EMISSION,
    METHODS,
    N_HONEST,
    REGRESSION_ATTACKS,
    REGRESSION_METHODS,
    REGRESSION_ONLY,
    REPRESENTATIONS,
    TASKS,
    TEXT_ATTACKS,
    TEXT_ONLY,
    Round,
    Split,
    honest_round,
    load,
    make_split,
    revealed_leak,
)

from openledger_chain.attribution import AttributionReport, attribute
from openledger_chain.attribution.bonds import decide_bonds

#: Contribution bonds (issue 23) as fractions of the expected pay of one contribution in the honest round
#: (EMISSION / N_HONEST); the first is the default (scripts/bond_report.py prices the attacks at the same three).
BONDS = (0.25, 0.05, 1.0)

# --- running a round through the engine ---------------------------------------------------------

def write_csv(path: Path, x: np.ndarray, y: np.ndarray) -> None:
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow([*(f"f{j}" for j in range(x.shape[1])), "label"])
        for row, lab in zip(x.tolist(), y.tolist()):
            w.writerow([*(repr(float(v)) for v in row), int(lab) if float(lab).is_integer() else repr(float(lab))])


def write_rows(path: Path, split: Split, x: np.ndarray, y: np.ndarray) -> Path:
    """One contribution's file in the split's representation; returns its path (suffix chosen here)."""
    if split.representation == "embedding":
        import pyarrow as pa
        import pyarrow.parquet as pq

        # The attacker complies with the format: rows are l2-normalised as the spec asks (a move's radial part,
        # ~1/sqrt(128) of it, is lost; the rest of every move stays).
        unit = np.asarray(x, dtype=np.float64) / np.linalg.norm(x, axis=1, keepdims=True)
        flat = pa.array(np.ascontiguousarray(unit, dtype=np.float32).ravel())
        path = path.with_suffix(".parquet")
        pq.write_table(pa.table({"embedding": pa.FixedSizeListArray.from_arrays(flat, unit.shape[1]),
                                 "label": pa.array(np.asarray(y).astype(np.int64))}), path)
        return path
    path = path.with_suffix(".csv")
    if split.representation == "text":
        with path.open("w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["text", "label"])
            w.writerows(zip((str(t) for t in x), (str(v) for v in y)))
        return path
    write_csv(path, x, y)
    return path


#: The spec fields of each representation in the suite.
REPRESENTATION_SPECS = {
    "embedding": {"embedding": {"model": "openledger/digits-rff-128", "model_hash": "0x" + "00" * 32, "dimension": 128,
                                "normalization": "l2", "distance": "cosine"}},
    "text": {"text": {"column": "text", "n_features": 1024, "ngram_range": [1, 2]}},
}


def address(identity: str) -> str:
    return "0x" + identity.encode().hex().rjust(40, "0")


def run_round(rnd: Round, split: Split, method: dict, root: Path, baseline: bool, extra: dict | None = None) -> AttributionReport:
    """Write the round's files and run it through the engine."""
    root.mkdir(parents=True, exist_ok=True)
    eval_path = write_rows(root / "eval", split, split.x_eval, split.y_eval)
    revealed = []
    if rnd.revealed:
        revealed = [write_rows(root / "revealed", split, split.x_revealed, split.y_revealed)]
    manifest = []
    for i, (_, identity, x, y) in enumerate(rnd.entries):
        path = write_rows(root / f"c{i}", split, x, y)
        manifest.append({"id": f"c{i}", "contributor": address(identity), "kind": "data", "path": path.name})
    spec = {"label": "label", "method": method, "kind_shares_bps": {"data": 10000}}
    spec |= REPRESENTATION_SPECS.get(split.representation, {})
    if split.task != "classification":
        spec["task"] = split.task
    kwargs = {"revealed": revealed} if revealed and not baseline else {}  # the old engine had no revealed sets
    if baseline:
        spec |= BASELINE_SPEC
        if method["name"] == "tknn_shapley":
            spec["method"] = method | {"tau": None}
    spec |= extra or {}
    return attribute(spec, manifest, eval_path, base_dir=root, emission=EMISSION, **kwargs)


def payouts(rnd: Round, report: AttributionReport) -> dict[str, int]:
    """Identity -> payout."""
    by_address = {a.lower(): v for a, v in report.allocations.items()}
    return {identity: by_address.get(address(identity).lower(), 0) for _, identity, _, _ in rnd.entries}


def measure(name: str, attack: Callable[[Split], Round], split_seed: int, method: dict, tmp: Path, baseline: bool) -> dict:
    x, y = load(name)
    needs_revealed = attack is revealed_leak or getattr(attack, "needs_revealed", False)
    split = make_split(x, y, split_seed, revealed_fraction=0.15 if needs_revealed else 0.0,
                       representation=REPRESENTATIONS.get(name, "columns"))
    split.task = TASKS.get(name, "classification")
    clean_round = honest_round(split)
    clean = payouts(clean_round, run_round(clean_round, split, method, tmp / "clean", baseline))
    rnd = attack(split)
    attacked = run_round(rnd, split, method, tmp / "attacked", baseline)
    paid = payouts(rnd, attacked)
    roles = {identity: role for role, identity, _, _ in rnd.entries}
    honest = sum(v for i, v in paid.items() if roles[i] == "honest") / EMISSION
    attacker = sum(v for i, v in paid.items() if roles[i] == "attacker") / EMISSION
    attacker_paid = sum(v for i, v in paid.items() if roles[i] == "attacker")
    gain = victim_kept = None
    if rnd.victim is not None:
        gain = attacker_paid / max(paid[rnd.victim], 1)
        victim_kept = paid[rnd.victim] / clean[rnd.victim] if clean[rnd.victim] else None
    elif rnd.reference_identity is not None:
        gain = attacker_paid / max(clean[rnd.reference_identity], 1)
    changes = [paid[i] / clean[i] - 1 for i in clean if roles.get(i) == "honest" and clean[i] > 0]
    worst = -min(changes) if changes else 0.0
    if attack.__name__.startswith("outlier"):
        worst = max(abs(c) for c in changes) if changes else 0.0
    return {"honest": honest, "attacker": attacker, "gain": gain, "worst_victim": worst, "victim_kept": victim_kept,
            **bond_counts(rnd, attacked)}


def bond_counts(rnd: Round, report: AttributionReport) -> dict:
    """Bonds posted and forfeited in the attacked round (one bond per contribution), by role."""
    decisions = decide_bonds(report)
    lost = [decisions[f"c{i}"].outcome == "forfeited" for i in range(len(rnd.entries))]
    roles = [role for role, *_ in rnd.entries]
    return {"posted": roles.count("attacker"),
            "forfeited": sum(f for f, r in zip(lost, roles) if r == "attacker"),
            "honest_forfeited": sum(f for f, r in zip(lost, roles) if r == "honest"),
            "honest_posted": roles.count("honest")}


def net_of_bonds(attacker_share: float, forfeited: int) -> list[float]:
    """The attacker's pay minus its forfeited bonds at each of BONDS, in units of one honest contribution's
    expected pay (EMISSION / N_HONEST)."""
    return [attacker_share * N_HONEST - forfeited * b for b in BONDS]


def meets(target: str | None, r: dict) -> bool | None:
    """Whether a summarized row meets its attack's acceptance target (None: no target)."""
    if target == "copy":
        # A victim paid nothing in the clean round (possible with sampled methods) cannot lose.
        return r["gain"] <= 0.10 and (r["victim_kept"] is None or r["victim_kept"] >= 0.95) and r["honest"] >= 0.95
    if target == "late_copy":
        return r["attacker"] <= 0.05
    if target == "outlier":
        return r["worst_victim"] <= 0.01
    if target == "noise":
        return r["attacker"] <= 0.01
    if target == "sybil":
        return r["gain"] <= 1.02
    if target == "honest":
        return r["honest"] >= 0.95
    return None


PLAIN_SPEC = {"copy_ratio": 0.0, "noise_margin": 0.0}


def honest_cost(name: str, split_seed: int, method: dict, tmp: Path) -> dict:
    """What the defences cost an honest round: rows excluded, and how far each honest
    contributor's pay moves from the same method without them (exact copies only, no noise
    test, and for tknn_shapley no radius)."""
    x, y = load(name)
    split = make_split(x, y, split_seed, representation=REPRESENTATIONS.get(name, "columns"))
    split.task = TASKS.get(name, "classification")
    rnd = honest_round(split)
    defended = run_round(rnd, split, method, tmp / "defended", False)
    report_paid = payouts(rnd, defended)
    honest_rows = [c for c, (role, *_) in zip(defended.contributions, rnd.entries) if role == "honest"]
    excluded = sum(c.rows - c.credited_rows for c in honest_rows) / max(sum(c.rows for c in honest_rows), 1)
    plain_method = method | {"tau": None} if method["name"] == "tknn_shapley" else method
    plain = payouts(rnd, run_round(rnd, split, plain_method, tmp / "plain", False, extra=PLAIN_SPEC))
    changes = np.array([report_paid[i] / plain[i] - 1 for i in plain if plain[i] > 0])
    from scipy.stats import spearmanr

    ids = list(plain)
    rho = spearmanr([float(plain[i]) for i in ids], [float(report_paid[i]) for i in ids]).statistic
    return {"mean_change": float(np.mean(np.abs(changes))), "max_change": float(np.max(np.abs(changes))),
            "spearman": float(rho), "excluded": excluded}


def summarize(results: list[dict]) -> dict:
    """Worst case over seeds (the attacker's best seed, the honest side's worst)."""
    out = {"honest": min(r["honest"] for r in results), "attacker": max(r["attacker"] for r in results),
           "worst_victim": max(r["worst_victim"] for r in results)}
    gains = [r["gain"] for r in results if r["gain"] is not None]
    out["gain"] = max(gains) if gains else None
    kept = [r["victim_kept"] for r in results if r["victim_kept"] is not None]
    out["victim_kept"] = min(kept) if kept else None
    if "posted" in results[0]:  # net of bonds: the attacker's best seed at each bond
        nets = [net_of_bonds(r["attacker"], r["forfeited"]) for r in results]
        out["net"] = [max(n[i] for n in nets) for i in range(len(BONDS))]
        out["posted"] = max(r["posted"] for r in results)
        out["forfeited"] = min(r["forfeited"] for r in results)
        out["honest_forfeited"] = max(r["honest_forfeited"] for r in results)
        out["honest_posted"] = max(r["honest_posted"] for r in results)
    return out


def applies(method: str, data: str, attack: str | None = None) -> bool:
    """Whether the suite runs this method (and attack) on this data set: a regression set takes only the
    methods that value regression and the attacks of gaming_attacks.REGRESSION_ATTACKS."""
    if data in TASKS:
        return method in REGRESSION_METHODS and (attack is None or attack in REGRESSION_ATTACKS)
    if REPRESENTATIONS.get(data) == "text":
        return attack is None or attack in TEXT_ATTACKS
    return attack not in REGRESSION_ONLY and attack not in TEXT_ONLY


def run_suite(datasets: list[str], methods: list[str], attacks: list[str], seeds: int, baseline: bool = False,
              log: Callable[[str], None] = lambda s: None) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory() as tmpdir:
        for mname in methods:
            for dname in datasets:
                for aname in attacks:
                    if not applies(mname, dname, aname):
                        continue
                    t0 = time.perf_counter()
                    attack, target = ATTACKS[aname]
                    per_seed = [measure(dname, attack, s, METHODS[mname], Path(tmpdir) / f"{dname}-{aname}-{s}", baseline)
                                for s in range(seeds)]
                    row = {"method": mname, "data": dname, "attack": aname, **summarize(per_seed), "target": target}
                    rows.append(row | {"met": meets(target, row), "seconds": time.perf_counter() - t0})
                    log(f"  {mname} {dname} {aname}: honest {rows[-1]['honest']:.3f} attacker {rows[-1]['attacker']:.3f}")
    return rows


def cost_table(datasets: list[str], methods: list[str], seeds: int) -> str:
    lines = ["| method | data | honest rows excluded | mean change of an honest payout | largest change | Spearman |",
             "|---|---|---:|---:|---:|---:|"]
    with tempfile.TemporaryDirectory() as tmpdir:
        for mname in methods:
            for dname in datasets:
                if not applies(mname, dname):
                    continue
                r = [honest_cost(dname, s, METHODS[mname], Path(tmpdir) / f"{dname}-{mname}-{s}") for s in range(seeds)]
                lines.append(f"| {mname} | {dname} | {np.mean([c['excluded'] for c in r]):.1%} | "
                             f"{np.mean([c['mean_change'] for c in r]):.1%} | {max(c['max_change'] for c in r):.1%} | "
                             f"{np.mean([c['spearman'] for c in r]):.2f} |")
    return "\n".join(lines)


def table(rows: list[dict]) -> str:
    lines = ["| method | data | attack | honest share | attacker share | gain | worst victim | victim kept | target |",
             "|---|---|---|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        gain = "" if r["gain"] is None else f"{r['gain']:.2f}x"
        kept = "" if r["victim_kept"] is None else f"{r['victim_kept']:.3f}"
        met = "-" if r.get("met") is None else f"{r['target']}: {'met' if r['met'] else '**missed**'}"
        lines.append(f"| {r['method']} | {r['data']} | {r['attack']} | {r['honest']:.3f} | {r['attacker']:.3f} | {gain} | "
                     f"{r['worst_victim']:.1%} | {kept} | {met} |")
    return "\n".join(lines)


def bond_table(rows: list[dict]) -> str:
    """Net of bonds (issue 23): the attacker's pay minus its forfeited bonds, in units of one honest contribution's
    expected pay, at the attacker's best seed. The attack column comes first, so this table's rows are not read as
    the main table's."""
    head = " | ".join(f"net at {b}" + (" (default)" if i == 0 else "") for i, b in enumerate(BONDS))
    lines = [f"| attack | method | data | attacker bonds forfeited / posted | {head} | honest bonds forfeited |",
             "|---|---|---|---:|" + "---:|" * len(BONDS) + "---:|"]
    for r in rows:
        if "net" not in r:
            continue
        nets = " | ".join(f"{n:+.3f}" for n in r["net"])
        lines.append(f"| {r['attack']} | {r['method']} | {r['data']} | {r['forfeited']} / {r['posted']} | {nets} | "
                     f"{r['honest_forfeited']} / {r['honest_posted']} |")
    return "\n".join(lines)


def before_after_table(rows: list[dict], before: list[dict], method: str = "tknn_shapley") -> str:
    """One line per attack: attacker share per data set before and now, and the targets met now."""
    datasets = list(dict.fromkeys(r["data"] for r in rows))
    lines = [f"| attack | target | attacker share before ({' / '.join(datasets)}) | now | gain now | worst victim before | now | met now |",
             "|---|---|---|---|---|---|---|---|"]

    def cell(source: list[dict], attack: str, key: str, fmt: str) -> str:
        values = [next((r[key] for r in source if r["method"] == method and r["attack"] == attack and r["data"] == d), None)
                  for d in datasets]
        if all(v is None for v in values):
            return "-"  # an attack the other run did not have
        return " / ".join("" if v is None else format(v, fmt) for v in values)

    for attack in dict.fromkeys(r["attack"] for r in rows if r["method"] == method):
        sel = [r for r in rows if r["method"] == method and r["attack"] == attack]
        met = [r["met"] for r in sel if r["met"] is not None]
        verdict = "-" if not met else f"{sum(met)}/{len(met)}"
        gain = cell(rows, attack, "gain", ".2f") if any(r["gain"] is not None for r in sel) else ""
        lines.append(f"| {attack} | {sel[0]['target'] or '-'} | {cell(before, attack, 'attacker', '.3f')} | "
                     f"{cell(rows, attack, 'attacker', '.3f')} | {gain} | {cell(before, attack, 'worst_victim', '.0%')} | "
                     f"{cell(rows, attack, 'worst_victim', '.0%')} | {verdict} |")
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
    ax.set_xlabel(f"share of the emission ({method}; per data set the worst of the seeds, averaged over the data sets)")
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
    p.add_argument("--check", action="store_true", help="exit 1 if a targeted attack misses its target")
    p.add_argument("--rows", help="report on the rows of an earlier --json run instead of running the suite")
    args = p.parse_args()
    if args.rows:
        rows = json.loads(Path(args.rows).read_text())
    else:
        rows = run_suite(args.datasets.split(","), args.methods.split(","), args.attacks.split(","), args.seeds, args.baseline,
                         log=lambda s: print(s, file=sys.stderr, flush=True))
    print(table(rows))
    if not args.baseline and any("net" in r for r in rows):
        print("\nNet of bonds (pay - forfeited bonds, in units of one honest contribution's expected pay; the "
              "attacker's best seed):\n")
        print(bond_table(rows))
    if not args.baseline and not args.rows:
        print("\nCost to an honest round (no attacker), against the same method without the defences:\n")
        print(cost_table(args.datasets.split(","), args.methods.split(","), args.seeds))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    if args.before:
        print("\nBefore (the pre-issue-8 engine and settings) and now, default method:\n")
        print(before_after_table(rows, json.loads(Path(args.before).read_text())))
    if args.png:
        figure(rows, json.loads(Path(args.before).read_text()) if args.before else None, args.png)
        print(f"\nfigure: {args.png}")
    missed = [f"{r['method']}/{r['data']}/{r['attack']}" for r in rows if r.get("met") is False]
    if missed and not args.baseline:
        print(f"\n{len(missed)} targets missed: {', '.join(missed)}", file=sys.stderr)
        if args.check:
            sys.exit(1)


if __name__ == "__main__":
    main()
