"""Contribution level: dedup, flooring, sybil neutrality, kind shares, recipes, attestations."""

from __future__ import annotations

import json

import numpy as np
import pytest
from _project import Project, addr
from eth_account import Account
from eth_account.messages import encode_defunct

from openledger_chain.attribution import attestation_message, attribute
from openledger_chain.errors import AttributionError, InputError

EMISSION = 10**24


def run(p: Project, **kw):  # type: ignore[no-untyped-def]
    return attribute(p.spec, p.manifest, p.root / "eval.csv", base_dir=p.root, **kw)


def by_id(report) -> dict:  # type: ignore[no-untyped-def]
    return {c.id: c for c in report.contributions}


def test_sum_of_allocations_is_emission_and_flipper_gets_nothing(basic: Project) -> None:
    report = run(basic, emission=EMISSION)
    assert sum(report.allocations.values()) == EMISSION
    flip = by_id(report)["flip"]
    assert flip.value < 0
    assert report.allocations[flip.contributor] == 0
    assert sum(c.share for c in report.contributors) == pytest.approx(1.0)
    # Efficiency of KNN-Shapley carries to the totals of the contributions valued in the second pass.
    assert "earns_nothing" in flip.excluded
    revalued = [c for c in report.contributions if "earns_nothing" not in c.excluded]
    assert sum(c.value for c in revalued) == pytest.approx(report.utility["all"], abs=1e-12)


def test_identities_that_earn_nothing_cannot_lower_anyone(basic: Project) -> None:
    """The flipper's rows lower its neighbours' values in the first pass; the second pass values
    the round without it, so everyone else's values are exactly those of a round without it."""
    with_flipper = by_id(run(basic))
    basic.manifest.pop()
    without = by_id(run(basic))
    for cid in ("c0", "c1", "c2"):
        assert with_flipper[cid].value == without[cid].value


def test_exact_copy_by_other_contributor_earns_nothing_and_changes_nothing(basic: Project) -> None:
    before = by_id(run(basic))
    x, y = basic.rows(0, 40)
    basic.add("copy", addr(7), x, y)
    after = by_id(run(basic))
    assert after["copy"].credited_rows == 0 and after["copy"].value == 0.0
    for cid in ("c0", "c1", "c2", "flip"):
        assert after[cid].value == before[cid].value


def test_self_duplication_earns_nothing(basic: Project) -> None:
    before = by_id(run(basic))["c0"]
    x, y = basic.rows(0, 40)
    basic.manifest[0]["path"] = "c0dup.csv"
    from _project import write_csv

    write_csv(basic.root / "c0dup.csv", np.vstack([x, x]), np.concatenate([y, y]))
    after = by_id(run(basic))["c0"]
    assert after.rows == 80 and after.credited_rows == before.credited_rows
    assert after.value == before.value


def test_jittered_copy_dropped_unless_copy_ratio_is_zero(basic: Project) -> None:
    x, y = basic.rows(0, 40)
    jitter = x * (1 + np.random.default_rng(1).normal(scale=1e-3, size=x.shape))
    basic.add("jit", addr(7), jitter, y)
    report = by_id(run(basic))
    assert report["jit"].credited_rows == 0 and report["jit"].derivative_of == "c0"
    basic.spec["copy_ratio"] = 0.0
    assert by_id(run(basic))["jit"].credited_rows == 40


def test_outlier_row_is_excluded_and_moves_no_honest_value(basic: Project) -> None:
    before = by_id(run(basic))
    x, y = basic.rows(0, 1)
    basic.add("outlier", addr(7), x * 1e6, y)
    after = by_id(run(basic))
    assert after["outlier"].excluded == {"outlier": 1}
    for cid in ("c0", "c1", "c2", "flip"):
        assert after[cid].value == before[cid].value


def test_replaced_spec_field_names_its_replacement(basic: Project) -> None:
    basic.spec["near_duplicate_distance"] = 0.1
    with pytest.raises(InputError, match="replaced by copy_ratio"):
        run(basic)


def _split_second_contributor(p: Project) -> None:
    """Replace c1 by three identities holding its rows, at its place in registration order."""
    x, y = p.rows(40, 80)
    pieces = []
    for j, (a, b) in enumerate([(0, 10), (10, 25), (25, 40)]):
        p.add(f"syb{j}", addr(60 + j), x[a:b], y[a:b])
        pieces.append(p.manifest.pop())
    p.manifest[1:2] = pieces


def test_sybil_split_is_value_neutral_and_rounding_bounded_without_defences(basic: Project) -> None:
    basic.spec |= {"copy_ratio": 0.0, "noise_margin": 0.0}
    whole = run(basic, emission=EMISSION)
    target = basic.manifest[1]
    _split_second_contributor(basic)
    split = run(basic, emission=EMISSION)
    split_value = sum(c.value for c in split.contributions if c.id.startswith("syb"))
    assert split_value == pytest.approx(by_id(whole)["c1"].value, abs=1e-12)
    split_amount = sum(split.allocations[addr(60 + j)] for j in range(3))
    # All three pieces are positive here, so shares add up; rounding adds at most 3 wei.
    assert split_amount <= whole.allocations[target["contributor"]] + 3


def test_sybil_split_never_gains_with_the_default_noise_test(basic: Project) -> None:
    whole = run(basic, emission=EMISSION)
    target = basic.manifest[1]
    _split_second_contributor(basic)
    split = run(basic, emission=EMISSION)
    split_amount = sum(split.allocations[addr(60 + j)] for j in range(3))
    # Smaller identities are harder to tell from random labels: the split is paid less.
    assert split_amount < whole.allocations[target["contributor"]]
    (piece,) = [c for c in split.contributors if c.address == addr(60)]
    assert piece.noise_z is not None and piece.paid_fraction < 1.0


def test_negative_total_floors_per_contributor(basic: Project) -> None:
    # The flipper also has a good contribution: negative rows offset positive ones.
    x, y = basic.rows(160, 200)
    basic.add("flip-good", addr(9), x, y)
    report = run(basic)
    flip = next(c for c in report.contributors if c.address == addr(9))
    assert flip.value == pytest.approx(by_id(report)["flip"].value + by_id(report)["flip-good"].value)


def test_unused_kind_share_is_redistributed(basic: Project) -> None:
    basic.spec["kind_shares_bps"] = {"data": 5000, "annotation": 5000}
    report = run(basic, emission=1000)
    assert sum(report.allocations.values()) == 1000
    x, y = basic.rows(200, 230)
    basic.add("ann", addr(8), x, y, kind="annotation")
    report = run(basic, emission=1000)
    assert report.allocations[addr(8)] == 500


def test_finetune_gain_over_best_earlier_recipe(basic: Project) -> None:
    basic.spec["estimator"] = {"name": "KNeighborsClassifier", "params": {"n_neighbors": 1}}
    basic.add_json("ft-base", addr(20), "finetune", {"params": {"n_neighbors": 1}})
    basic.add_json("ft-good", addr(21), "finetune", {"params": {"n_neighbors": 15}})
    basic.add_json("ft-copy", addr(22), "finetune", {"estimator": "KNeighborsClassifier", "params": {"n_neighbors": 15}})
    values = by_id(run(basic))
    assert values["ft-base"].value == 0.0
    assert values["ft-good"].value > 0.0
    assert values["ft-copy"].value == 0.0


@pytest.mark.parametrize(
    "recipe",
    [{"params": {"algorithm": "brute"}}, {"params": {"n_neighbors": "5"}}, {"estimator": "SVC", "params": {}},
     {"params": {}, "code": "import os"}],
)
def test_bad_recipe_rejected(basic: Project, recipe: dict) -> None:
    basic.add_json("ft", addr(20), "finetune", recipe)
    with pytest.raises(InputError):
        run(basic)


def _owner_verifier(owner):  # type: ignore[no-untyped-def]
    def verifier(claim) -> bool:  # type: ignore[no-untyped-def]
        if claim.signer != owner.address:
            return False
        return Account.recover_message(encode_defunct(text=claim.message), signature=claim.signature) == owner.address

    return verifier


def _sign(account, model_id: int, kind: str, contributor: str, units: int) -> str:  # type: ignore[no-untyped-def]
    message = encode_defunct(text=attestation_message(model_id, kind, contributor, units))
    return Account.sign_message(message, account.key).signature.hex()


def test_attestation_message_names_model_kind_contributor_and_units() -> None:
    text = attestation_message(7, "compute", "0xAbCdEf0123456789aBcDeF0123456789ABCDEF01", 120)
    assert text == (
        "OpenLedger attestation\nmodel: 7\nkind: compute\n"
        "contributor: 0xabcdef0123456789abcdef0123456789abcdef01\nunits: 120"
    )


def test_compute_units_count_only_when_attested(basic: Project) -> None:
    owner = Account.create("owner")
    good = _sign(owner, 3, "compute", addr(30), 50)
    basic.add_json("gpu", addr(30), "compute", {"units": 50, "attestation": {"signer": owner.address, "signature": good}})
    # Self-signed claim for more units: signed by the contributor, not the owner.
    selfish = Account.create("selfish")
    bad = _sign(selfish, 3, "evaluation", addr(31), 10**6)
    basic.add_json("evals", addr(31), "evaluation", {"units": 10**6, "attestation": {"signer": selfish.address, "signature": bad}})
    verifier = _owner_verifier(owner)

    assert by_id(run(basic, model_id=3))["gpu"].value == 0.0  # no verifier: nothing counts
    report = run(basic, verifier=verifier, emission=EMISSION, model_id=3)
    assert by_id(report)["gpu"].value == 50.0 and by_id(report)["evals"].value == 0.0
    assert report.allocations[addr(30)] > 0 and report.allocations[addr(31)] == 0
    # The attestation names model 3: it does not count for another model.
    assert by_id(run(basic, verifier=verifier, model_id=4))["gpu"].value == 0.0


def test_attestation_binds_contributor_units_and_counts_once(basic: Project) -> None:
    owner = Account.create("owner")
    sig = _sign(owner, 1, "compute", addr(30), 50)
    claim = {"units": 50, "attestation": {"signer": owner.address, "signature": sig}}
    # Registered before the genuine claim, so only the message binding can reject them.
    basic.add_json("stolen", addr(32), "compute", claim)  # someone else's attestation
    basic.add_json("inflated", addr(30), "compute", {**claim, "units": 51})
    basic.add_json("as-evaluation", addr(30), "evaluation", claim)
    basic.add_json("gpu", addr(30), "compute", claim)
    basic.add_json("gpu-again", addr(30), "compute", claim)  # the same signature registered twice
    values = by_id(run(basic, verifier=_owner_verifier(owner), model_id=1))
    assert values["gpu"].value == 50.0
    assert all(values[c].value == 0.0 for c in ("gpu-again", "stolen", "inflated", "as-evaluation"))


@pytest.mark.parametrize("model_id", [-1, 2**256, True, "1"])
def test_bad_model_id_is_an_input_error(basic: Project, model_id: object) -> None:
    with pytest.raises(InputError):
        run(basic, model_id=model_id)


def test_runs_are_deterministic_for_a_seed(basic: Project) -> None:
    basic.spec["method"] = {"name": "tmc_shapley", "permutations": 5}
    basic.spec["estimator"] = {"name": "GaussianNB", "params": {}}
    a = json.dumps(run(basic, emission=EMISSION, seed=3).to_json())
    b = json.dumps(run(basic, emission=EMISSION, seed=3).to_json())
    c = json.dumps(run(basic, emission=EMISSION, seed=4).to_json())
    assert a == b and a != c


@pytest.mark.parametrize("method", [{"name": "banzhaf", "samples": 30}, {"name": "loo"}])
def test_other_methods_run_end_to_end(basic: Project, method: dict) -> None:
    basic.spec["method"] = method
    basic.spec["estimator"] = {"name": "LogisticRegression", "params": {"max_iter": 500}}
    report = run(basic, emission=EMISSION)
    assert sum(report.allocations.values()) == EMISSION
    assert report.utility["metric"] == "accuracy"


def test_no_positive_value_cannot_allocate(project: Project) -> None:
    x, y = project.rows(0, 30)
    project.add("alien", addr(9), x, np.full_like(y, 7))  # a label no evaluation row has: value 0
    with pytest.raises(AttributionError):
        run(project, emission=10)


def test_default_method_is_soft_label_tknn(basic: Project) -> None:
    basic.spec.pop("method")
    report = run(basic, emission=EMISSION)
    assert report.method["name"] == "tknn_shapley"
    assert report.method["k"] == 5 and report.method["tau"] == "auto" and report.method["standardize"] is True
    assert report.method["resolved_tau"] > 0
    assert report.utility["metric"] == "tknn_soft_accuracy"
    assert report.utility["none"] == pytest.approx(0.5)  # two classes in the evaluation set
    revalued = [c for c in report.contributions if "earns_nothing" not in c.excluded]
    assert sum(c.value for c in revalued) == pytest.approx(report.utility["all"] - report.utility["none"], abs=1e-12)
    flip = by_id(report)["flip"]
    assert flip.value < 0 and report.allocations[flip.contributor] == 0


@pytest.mark.parametrize("method", [{"name": "knn_shapley", "k": 5}, {"name": "tknn_shapley", "k": 3, "tau": 2.0}])
def test_engine_values_are_the_method_on_eval_standardized_features(basic: Project, method: dict) -> None:
    """standardize=false: the method on the raw features (so knn_shapley is pyDVL's value);
    standardize=true: the same method on features z-scored with the evaluation set's statistics."""
    from openledger_chain.attribution import Dataset, knn_shapley_values
    from openledger_chain.attribution.methods import tknn_shapley_values

    basic.spec["method"] = method
    basic.spec["copy_ratio"] = 0.0  # exact copies only: every row is valued
    basic.manifest.pop()  # no flipper: no second pass
    xs, ys = zip(*(basic.rows(40 * i, 40 * i + 40) for i in range(3)))
    x, y = np.vstack(xs), np.concatenate(ys)
    ev_x, ev_y = basic.x[:80], basic.y[:80]

    def direct(tx: np.ndarray, ex: np.ndarray) -> np.ndarray:
        if method["name"] == "knn_shapley":
            return knn_shapley_values(Dataset(tx, y), Dataset(ex, ev_y), 5)
        return tknn_shapley_values(Dataset(tx, y), Dataset(ex, ev_y), 2.0, 3, n_classes=2)

    basic.spec["standardize"] = False
    np.testing.assert_allclose(run(basic).row_values, direct(x, ev_x), rtol=0, atol=1e-9)
    basic.spec["standardize"] = True
    mean, std = ev_x.mean(axis=0), ev_x.std(axis=0)
    np.testing.assert_allclose(run(basic).row_values, direct((x - mean) / std, (ev_x - mean) / std), rtol=0, atol=1e-9)


def test_standardized_values_do_not_depend_on_units(basic: Project) -> None:
    """Rescaling a feature in every file (e.g. mm -> um) changes nothing with standardize=true."""
    from _project import write_csv

    basic.spec.pop("method")
    before = run(basic).row_values
    for path in [basic.root / "eval.csv", *(basic.root / m["path"] for m in basic.manifest)]:
        rows = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
        rows[:, 0] *= 1000.0
        write_csv(path, rows[:, :-1], rows[:, -1].astype(int))
    np.testing.assert_allclose(run(basic).row_values, before, rtol=0, atol=1e-9)
    basic.spec["standardize"] = False
    assert not np.allclose(run(basic).row_values, before, atol=1e-6)


@pytest.mark.parametrize(
    "field, value",
    [("method", {"name": "tknn_shapley", "tau": 0}), ("method", {"name": "tknn_shapley", "tau": "1"}),
     ("method", {"name": "tknn_shapley", "k": 0}), ("method", {"name": "knn_shapley", "tau": 1.0}),
     ("standardize", "yes"), ("standardize", 1)],
)
def test_bad_tknn_and_standardize_fields(field: str, value: object) -> None:
    from openledger_chain.attribution import parse_spec

    with pytest.raises(InputError):
        parse_spec({"label": "y", field: value})


@pytest.mark.parametrize("features", [[], "f0", ["f0", "f0"], ["f0", "y"], ["f0", " f1"], [1, 2]])
def test_bad_features_field(features: object) -> None:
    from openledger_chain.attribution import parse_spec

    with pytest.raises(InputError, match="'features'"):
        parse_spec({"label": "y", "features": features})


def test_named_features_are_the_schema_of_the_evaluation_set_and_every_contribution(basic: Project) -> None:
    """A spec that names its feature columns publishes them (`contribute` checks files against them): the round
    values exactly as without the field, and an evaluation set with other columns is refused."""
    from _project import COLUMNS

    before = run(basic)
    basic.spec["features"] = COLUMNS
    after = run(basic)
    assert after.row_values.tolist() == before.row_values.tolist()
    assert after.method == before.method  # the spec hash, in the round file, already pins the field
    basic.spec["features"] = [*COLUMNS[:-1], "other"]
    with pytest.raises(InputError, match="eval.csv: row 1, column 'other': missing column"):
        run(basic)


@pytest.mark.parametrize("first", [False, True])
def test_flipped_label_near_copies_cannot_hurt_their_victim(basic: Project, first: bool) -> None:
    """Registered after the victim or before it (front-running public data): the flipped copies
    contradict the victim's rows, earn nothing, and the second pass values the round without them."""
    before = run(basic, emission=EMISSION)
    x, y = basic.rows(0, 40)
    basic.add("grief", addr(7), x * (1 + 1e-4), 1 - y)
    if first:
        basic.manifest.insert(0, basic.manifest.pop())
    after = run(basic, emission=EMISSION)
    assert after.allocations[addr(7)] == 0 and "earns_nothing" in by_id(after)["grief"].excluded
    assert by_id(after)["c0"].value == by_id(before)["c0"].value
    assert after.allocations[addr(1)] == before.allocations[addr(1)]


def test_copies_of_a_revealed_evaluation_set_earn_nothing(basic: Project) -> None:
    from _project import write_csv

    revealed_x, revealed_y = basic.x[80:100], basic.y[80:100]
    write_csv(basic.root / "revealed.csv", revealed_x, revealed_y)
    basic.add("leak", addr(7), revealed_x * (1 + 1e-4), revealed_y)
    assert by_id(run(basic))["leak"].credited_rows > 0  # not known to be revealed: new rows
    leak = by_id(run(basic, revealed=[basic.root / "revealed.csv"]))["leak"]
    assert leak.credited_rows == 0 and leak.derivative_of == "evaluation" and leak.value == 0.0


def test_auto_tau_comes_from_the_evaluation_set_alone(basic: Project) -> None:
    basic.spec["method"] = {"name": "tknn_shapley"}
    tau = run(basic).method["resolved_tau"]
    x, y = basic.rows(200, 260)
    basic.add("more", addr(7), x * 3, y)  # contributions cannot move it
    assert run(basic).method["resolved_tau"] == tau


def test_attribution_and_rewards_import_no_web3() -> None:
    import subprocess
    import sys

    code = (
        "import sys, openledger_chain.attribution, openledger_chain.rewards; "
        "print(sorted(k for k in sys.modules if k.split('.')[0] in ('web3', 'eth_account') or k == 'openledger_chain.chain'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
