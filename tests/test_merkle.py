"""Tests for openledger_chain.merkle against @openzeppelin/merkle-tree 1.0.8.

Expected roots, proofs, multiproofs and dumps come from the JS library itself, run once per
session through tests/js/merkle_reference.js (one node start-up for every tree), or from
tests/fixtures/merkle_vectors.json, which that helper generated.
"""

from __future__ import annotations

import copy
import json
import random
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openledger_chain.errors import InputError
from openledger_chain.merkle import (
    MerkleError,
    MultiProof,
    StandardMerkleTree,
    standard_leaf_hash,
    verify_proof,
)

REPO = Path(__file__).resolve().parents[1]
JS_HELPER = REPO / "tests" / "js" / "merkle_reference.js"
OZ_MERKLE = REPO / "node_modules" / "@openzeppelin" / "merkle-tree" / "package.json"
VECTORS = REPO / "tests" / "fixtures" / "merkle_vectors.json"
CLAIM = ["address", "uint256"]
GOLDEN_ROOT = "0xd4dee0beab2d53f2cc83e567171bd2820e49898130a22622b10ead383e90bd77"


def run_reference(payload: dict[str, Any]) -> dict[str, Any]:
    """Run the JS reference helper; fail (never skip) when node or node_modules is missing."""
    node = shutil.which("node")
    if node is None or not OZ_MERKLE.is_file():
        pytest.fail(
            "JS cross-check needs node and @openzeppelin/merkle-tree: "
            "install Node.js, then run `npm ci` in the repo root"
        )
    proc = subprocess.run(
        [node, str(JS_HELPER)], input=json.dumps(payload), capture_output=True, text=True, timeout=120, cwd=REPO
    )
    if proc.returncode != 0:
        pytest.fail(f"{JS_HELPER.name} failed (run `npm ci` if a module is missing):\n{proc.stderr}")
    return json.loads(proc.stdout)


def js_text(dump: dict[str, Any]) -> str:
    """Serialize like JS JSON.stringify, for byte-for-byte dump comparison."""
    return json.dumps(dump, separators=(",", ":"), ensure_ascii=False)


# --------------------------------------------------------------------------- random cases
#
# Each case holds `py` values (what Python gets: ints, bytes, mixed-case addresses) and `js`
# values (the same leaves in the JSON string form JS users pass, since JSON has no BigInt).


def _address(rng: random.Random) -> str:
    raw = rng.randbytes(20).hex()
    style = rng.randrange(3)  # addresses are case-insensitive on input; dumps keep them as given
    if style == 1:
        raw = raw.upper()
    elif style == 2:
        raw = "".join(rng.choice([c, c.upper()]) for c in raw)
    return "0x" + raw


def _amount(rng: random.Random) -> int:
    return rng.choice([0, 1, 2**256 - 1, rng.getrandbits(rng.randrange(1, 257)), rng.randrange(10**18, 10**24)])


def _claim_case(case_id: str, n: int, rng: random.Random, **extra: Any) -> dict[str, Any]:
    py, js = [], []
    for _ in range(n):
        address, amount = _address(rng), _amount(rng)
        as_string = rng.random() < 0.3  # Python also accepts the JS string form
        py.append([address, str(amount) if as_string else amount])
        js.append([address, str(amount)])
    return {"id": case_id, "leafEncoding": CLAIM, "py": py, "js": js, **extra}


def _build_cases() -> list[dict[str, Any]]:
    rng = random.Random(20240917)
    cases = [_claim_case(f"claims-{n}", n, rng) for n in (1, 2, 3, 4, 5, 7, 8, 100)]
    cases += [_claim_case(f"claims-odd-{n}", n, rng) for n in sorted(rng.randrange(9, 400) | 1 for _ in range(4))]
    cases.append(_claim_case("unsorted-7", 7, rng, options={"sortLeaves": False}))
    cases.append(_claim_case("unsorted-100", 100, rng, options={"sortLeaves": False}))

    dup = _claim_case("duplicates", 6, rng)
    for key in ("py", "js"):  # identical leaves: the stable sort must order them like JS
        dup[key] += [dup[key][1], dup[key][4], dup[key][1]]
    cases.append(dup)

    static_types = ["bytes32", "bool", "int256", "uint8", "address", "bytes4", "int"]
    py, js = [], []
    for _ in range(13):
        b32, b4 = rng.randbytes(32), rng.randbytes(4)
        flag = rng.random() < 0.5
        signed, small, signed2 = rng.randrange(-(2**255), 2**255), rng.randrange(256), rng.randrange(-(10**30), 10**30)
        address = _address(rng)
        py.append([b32, flag, signed, small, address, "0x" + b4.hex(), signed2])
        js.append(["0x" + b32.hex(), flag, str(signed), str(small), address, "0x" + b4.hex(), str(signed2)])
    cases.append({"id": "static-types", "leafEncoding": static_types, "py": py, "js": js})

    dynamic_types = ["string", "bytes", "uint256[]", "(address,bool)", "bytes32[2]"]
    py, js = [], []
    for i in range(6):
        text = rng.choice(["", "model-7", "données ✓", "x" * 70])
        blob = rng.randbytes(rng.choice([0, 1, 33, 64]))
        nums = [rng.getrandbits(200) for _ in range(i)]
        address, flag = _address(rng), i % 2 == 0
        pair = [rng.randbytes(32), rng.randbytes(32)]
        py.append([text, blob, nums, (address, flag), pair])
        js.append(
            [text, "0x" + blob.hex(), [str(n) for n in nums], [address, flag], ["0x" + p.hex() for p in pair]]
        )
    cases.append({"id": "dynamic-types", "leafEncoding": dynamic_types, "py": py, "js": js})

    for case in cases:
        n = len(case["js"])
        picks = [sorted(rng.sample(range(n), k)) for k in {0, 1, min(n, 3), n}]
        case["multiProofs"] = [p for p in picks if case.get("options") is None or len(p) <= 1]
    return cases


CASES = _build_cases()
OUTSIDERS = [["0x" + "ab" * 20, "1"], ["0x" + "00" * 20, "0"]]


@pytest.fixture(scope="module")
def reference() -> dict[str, Any]:
    """JS results for every case, plus JS `load()` of our dumps (honest and tampered)."""
    payload = {
        "cases": [
            {
                "id": c["id"],
                "values": c["js"],
                "leafEncoding": c["leafEncoding"],
                "options": c.get("options"),
                "multiProofs": c["multiProofs"],
                "leafHashes": OUTSIDERS if c["leafEncoding"] == CLAIM else [],
            }
            for c in CASES
        ]
        + [{"id": "empty", "values": [], "leafEncoding": CLAIM}],
        "loads": [_python_dump(c) for c in CASES] + [d for _, d in _tampered_dumps()],
    }
    result = run_reference(payload)
    result["by_id"] = {r["id"]: r for r in result["cases"]}
    return result


def _python_tree(case: dict[str, Any]) -> StandardMerkleTree:
    # Only pass sort_leaves when JS got options, so the default (sorted) is exercised too.
    options = case.get("options")
    if options is None:
        return StandardMerkleTree.of(case["py"], case["leafEncoding"])
    return StandardMerkleTree.of(case["py"], case["leafEncoding"], sort_leaves=options["sortLeaves"])


def _python_dump(case: dict[str, Any]) -> dict[str, Any]:
    return _python_tree(case).dump()


# --------------------------------------------------------------------------- JS cross-checks


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_matches_js_reference(case: dict[str, Any], reference: dict[str, Any]) -> None:
    expected = reference["by_id"][case["id"]]
    assert "error" not in expected, expected
    tree = _python_tree(case)

    assert tree.root == expected["root"]
    assert tree.get_all_proofs() == expected["proofs"]
    assert [tree.get_proof(i) for i in range(len(tree))] == expected["proofs"]
    assert js_text(tree.dump()) == expected["dump"]

    for indices, js_multi in zip(case["multiProofs"], expected["multiProofs"]):
        multi = tree.get_multi_proof(indices)
        assert _jsonish(multi.leaves) == js_multi["leaves"]
        assert multi.proof == js_multi["proof"]
        assert multi.proof_flags == js_multi["proofFlags"]
        assert tree.verify_multi_proof(multi)

    if case["leafEncoding"] == CLAIM:
        assert [tree.leaf_hash(v) for v in OUTSIDERS] == expected["leafHashes"]


def _jsonish(values: list[Any]) -> list[Any]:
    """The JSON form of Python leaf values (what JS holds): ints as decimal strings, bytes as hex."""
    return [_to_json(v) for v in values]


def _to_json(value: Any) -> Any:
    if isinstance(value, bool) or isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return [_to_json(v) for v in value]


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_loads_js_dump(case: dict[str, Any], reference: dict[str, Any]) -> None:
    expected = reference["by_id"][case["id"]]
    tree = StandardMerkleTree.load(json.loads(expected["dump"]))
    assert tree.root == expected["root"]
    assert tree.get_all_proofs() == expected["proofs"]
    assert js_text(tree.dump()) == expected["dump"]


def test_js_loads_python_dumps(reference: dict[str, Any]) -> None:
    honest = reference["loads"][: len(CASES)]
    assert [r.get("root") for r in honest] == [reference["by_id"][c["id"]]["root"] for c in CASES]


def test_empty_values_rejected_like_js(reference: dict[str, Any]) -> None:
    assert reference["by_id"]["empty"]["error"]["message"] == "Expected non-zero number of leaves"
    with pytest.raises(MerkleError, match="non-zero number of leaves"):
        StandardMerkleTree.of([], CLAIM)


# --------------------------------------------------------------------------- golden vector


def test_golden_vector() -> None:
    vectors = json.loads(VECTORS.read_text())["vectors"]
    for vector in vectors:
        tree = StandardMerkleTree.of(vector["values"], vector["leafEncoding"])
        assert tree.root == vector["root"]
        assert tree.get_all_proofs() == vector["proofs"]
        assert tree.dump() == vector["dump"]
        assert StandardMerkleTree.load(vector["dump"]).root == vector["root"]
    assert vectors[0]["root"] == GOLDEN_ROOT
    as_ints = [[a, int(v)] for a, v in vectors[0]["values"]]
    assert StandardMerkleTree.of(as_ints, CLAIM).root == GOLDEN_ROOT


# --------------------------------------------------------------------------- verify


@pytest.fixture(scope="module")
def claims() -> tuple[StandardMerkleTree, list[list[Any]]]:
    rng = random.Random(7)
    values = [[_address(rng), rng.randrange(1, 10**22)] for _ in range(11)]
    return StandardMerkleTree.of(values, CLAIM), values


def test_verify_accepts_own_proof(claims: tuple[StandardMerkleTree, list[list[Any]]]) -> None:
    tree, values = claims
    for i, proof in enumerate(tree.get_all_proofs()):
        assert tree.verify(i, proof)
        assert tree.verify(values[i], proof)
        assert verify_proof(tree.root, CLAIM, values[i], proof)
        assert StandardMerkleTree.verify_proof(tree.root, CLAIM, values[i], proof)


def test_verify_rejects_proof_of_another_leaf(claims: tuple[StandardMerkleTree, list[list[Any]]]) -> None:
    tree, values = claims
    proofs = tree.get_all_proofs()
    for i in range(len(values)):
        other = proofs[(i + 1) % len(values)]
        assert not tree.verify(i, other)
        assert not verify_proof(tree.root, CLAIM, values[i], other)


def test_verify_rejects_tampered_proof_and_value(claims: tuple[StandardMerkleTree, list[list[Any]]]) -> None:
    tree, values = claims
    proof = tree.get_proof(3)
    flipped = proof[:1] + ["0x" + format(int(proof[1], 16) ^ 1, "064x")] + proof[2:]
    assert not tree.verify(3, flipped)
    assert not tree.verify(3, proof[:-1])
    assert not tree.verify(3, proof + [proof[0]])
    assert not tree.verify([values[3][0], values[3][1] + 1], proof)
    assert not verify_proof("0x" + "00" * 32, CLAIM, values[3], proof)
    with pytest.raises(MerkleError, match="32 bytes"):
        tree.verify(3, proof[:-1] + ["0x1234"])


def test_get_proof_by_value_and_errors(claims: tuple[StandardMerkleTree, list[list[Any]]]) -> None:
    tree, values = claims
    assert tree.get_proof(values[5]) == tree.get_proof(5)
    assert tree.get_proof([values[5][0].lower(), str(values[5][1])]) == tree.get_proof(5)
    assert tree.leaf_lookup(values[5]) == 5
    with pytest.raises(MerkleError, match="not in tree"):
        tree.get_proof(["0x" + "ab" * 20, 1])
    for bad in (len(values), -1):
        with pytest.raises(MerkleError, match="out of bounds"):
            tree.get_proof(bad)


def test_multiproof_rejects_duplicates_and_bad_shapes(claims: tuple[StandardMerkleTree, list[list[Any]]]) -> None:
    tree, _ = claims
    with pytest.raises(MerkleError, match="duplicated"):
        tree.get_multi_proof([2, 2])
    multi = tree.get_multi_proof([1, 4, 6])
    assert tree.verify_multi_proof(multi)
    outsider = ("0x" + "ab" * 20, 1)
    assert not tree.verify_multi_proof(MultiProof([outsider, *multi.leaves[1:]], multi.proof, multi.proof_flags))
    with pytest.raises(MerkleError):
        tree.verify_multi_proof(MultiProof(multi.leaves, multi.proof[:-1], multi.proof_flags))


# --------------------------------------------------------------------------- load() validation


def _tampered_dumps() -> list[tuple[str, Any]]:
    rng = random.Random(11)
    good = StandardMerkleTree.of([[_address(rng), rng.randrange(10**20)] for _ in range(6)], CLAIM).dump()
    out: list[tuple[str, Any]] = []

    def variant(name: str, mutate: Any) -> None:
        d = copy.deepcopy(good)
        mutate(d)
        out.append((name, d))

    variant("format", lambda d: d.update(format="standard-v2"))
    variant("no-leaf-encoding", lambda d: d.pop("leafEncoding"))
    variant("internal-node", lambda d: d["tree"].__setitem__(1, "0x" + "12" * 32))
    variant("root", lambda d: d["tree"].__setitem__(0, "0x" + "34" * 32))
    variant("leaf-node", lambda d: d["tree"].__setitem__(len(d["tree"]) - 1, "0x" + "56" * 32))
    variant("amount", lambda d: d["values"][2]["value"].__setitem__(1, str(int(d["values"][2]["value"][1]) + 1)))
    variant("swapped-index", lambda d: d["values"][0].update(treeIndex=d["values"][1]["treeIndex"]))
    variant("bad-node-hex", lambda d: d["tree"].__setitem__(3, "0xzz" + "00" * 31))
    variant("short-node", lambda d: d["tree"].__setitem__(3, "0x1234"))
    variant("index-out-of-range", lambda d: d["values"][0].update(treeIndex=len(d["tree"])))
    variant("bad-address", lambda d: d["values"][0]["value"].__setitem__(0, "0x1234"))
    return out


@pytest.mark.parametrize("name,dump", _tampered_dumps(), ids=[n for n, _ in _tampered_dumps()])
def test_load_rejects_tampered_dump(name: str, dump: dict[str, Any]) -> None:
    with pytest.raises(MerkleError) as info:
        StandardMerkleTree.load(dump)
    assert isinstance(info.value, InputError)


def test_js_also_rejects_tampered_dumps(reference: dict[str, Any]) -> None:
    tampered = reference["loads"][len(CASES) :]
    names = [n for n, _ in _tampered_dumps()]
    # Shows the tampering cases are real corruptions, not Python-only strictness.
    accepted = [n for n, r in zip(names, tampered) if "error" not in r]
    assert accepted == []


@pytest.mark.parametrize(
    "data",
    [
        None,
        [],
        {"format": "standard-v1", "leafEncoding": CLAIM, "tree": [], "values": []},
        {"format": "standard-v1", "leafEncoding": CLAIM, "tree": ["0x" + "00" * 32], "values": "x"},
        {"format": "standard-v1", "leafEncoding": CLAIM, "tree": ["0x" + "00" * 32], "values": [{"value": []}]},
    ],
)
def test_load_rejects_malformed(data: Any) -> None:
    with pytest.raises(MerkleError):
        StandardMerkleTree.load(data)


def test_load_rejects_duplicate_tree_index_and_uppercase() -> None:
    values = [["0x" + "11" * 20, 1], ["0x" + "11" * 20, 1]]  # identical leaves hash alike
    dump = StandardMerkleTree.of(values, CLAIM).dump()
    dup = copy.deepcopy(dump)
    dup["values"][1]["treeIndex"] = dup["values"][0]["treeIndex"]
    with pytest.raises(MerkleError, match="used twice"):
        StandardMerkleTree.load(dup)
    upper = copy.deepcopy(dump)
    upper["tree"][0] = "0x" + upper["tree"][0][2:].upper()
    with pytest.raises(MerkleError, match="lowercase"):
        StandardMerkleTree.load(upper)


# --------------------------------------------------------------------------- values and encoding


@pytest.mark.parametrize(
    "value,match",
    [
        (["0x1234", 1], "invalid address"),
        (["0x" + "zz" * 20, 1], "invalid address"),
        (["0x" + "11" * 20, -1], "out of range"),
        (["0x" + "11" * 20, 2**256], "out of range"),
        (["0x" + "11" * 20, "1.5"], "invalid uint256"),
        (["0x" + "11" * 20, True], "invalid uint256"),
        (["0x" + "11" * 20], "list of 2 items"),
        ("0x" + "11" * 20, "list of 2 items"),
    ],
)
def test_of_rejects_bad_values(value: Any, match: str) -> None:
    with pytest.raises(MerkleError, match=match) as info:
        StandardMerkleTree.of([["0x" + "22" * 20, 5], value], CLAIM)
    assert "values[1]" in str(info.value)


def test_number_forms_hash_alike() -> None:
    address = "0x" + "ab" * 20
    forms = [[address, 255], [address, "255"], [address, "0xff"], [address.upper().replace("0X", "0x"), 255]]
    assert len({standard_leaf_hash(CLAIM, v) for v in forms}) == 1


def test_bad_leaf_encoding() -> None:
    with pytest.raises(MerkleError):
        StandardMerkleTree.of([[1]], ["uint7"])
    with pytest.raises(MerkleError):
        StandardMerkleTree.of([[1]], ["notatype[]"])
    with pytest.raises(MerkleError):
        StandardMerkleTree.of([[1]], "uint256")


def test_container_behaviour(claims: tuple[StandardMerkleTree, list[list[Any]]]) -> None:
    tree, values = claims
    assert len(tree) == len(values)
    assert [(i, list(v)) for i, v in tree] == list(enumerate(values))
    assert list(tree.at(-1) or ()) == values[-1]
    assert tree.at(len(values)) is None
    dump = tree.dump()
    dump["tree"][0] = "0x" + "00" * 32  # dump() hands out copies
    assert tree.root != dump["tree"][0]
    assert json.loads(json.dumps(tree.dump())) == tree.dump()


def test_module_does_not_import_web3() -> None:
    code = (
        "import sys, openledger_chain.merkle as m; m.StandardMerkleTree.of([[1]], ['uint256']); "
        "print(sorted(k for k in sys.modules if k.split('.')[0] in ('web3', 'eth_abi')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO).stdout
    assert out.strip() == "[]"


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.tuples(st.binary(min_size=20, max_size=20), st.integers(min_value=0, max_value=2**256 - 1)),
        min_size=1,
        max_size=40,
    ),
    st.booleans(),
)
def test_property_proofs_and_round_trip(leaves: list[tuple[bytes, int]], sort: bool) -> None:
    values = [["0x" + a.hex(), n] for a, n in leaves]
    tree = StandardMerkleTree.of(values, CLAIM, sort_leaves=sort)
    proofs = tree.get_all_proofs()
    assert all(verify_proof(tree.root, CLAIM, v, p) for v, p in zip(values, proofs))
    loaded = StandardMerkleTree.load(json.loads(json.dumps(tree.dump())))
    assert loaded.root == tree.root and loaded.get_all_proofs() == proofs
