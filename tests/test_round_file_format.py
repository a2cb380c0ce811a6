"""The round file as docs/round-file.md specifies it, checked three ways: the committed worked example
against the values the document quotes, against an independent JavaScript client (ethers v6 and
@openzeppelin/merkle-tree, tests/js/round_file_check.js), and against this package's own readers."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data

from openledger_chain.errors import InputError
from openledger_chain.oracle import read_round_file
from openledger_chain.rounds import canonical_json, round_typed_data, to_round_json

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "docs" / "examples" / "round-file.json"
DOC = REPO / "docs" / "round-file.md"
JS_CHECK = REPO / "tests" / "js" / "round_file_check.js"


def _node(*args: str) -> str:
    """Run the JS reference check; fail (never skip) when node or node_modules is missing."""
    node = shutil.which("node")
    if node is None or not (REPO / "node_modules" / "ethers").is_dir():
        pytest.fail("the JS round-file check needs node and ethers: install Node.js, then `npm ci` in the repo root")
    return subprocess.run([node, str(JS_CHECK), *args], check=True, capture_output=True, text=True, cwd=REPO).stdout


def _doc_values() -> dict[str, str]:
    """The worked example's values as docs/round-file.md quotes them (`- name = value` lines)."""
    text = DOC.read_text()
    section = text[text.index("## Worked example"):]
    values = dict(re.findall(r"^- `?([\w -]+?)`? = `(0x[0-9a-f]{64})`", section, re.MULTILINE))
    values["signers"] = re.search(r"^- signers = (.+)$", section, re.MULTILINE).group(1)
    return values


def test_a_javascript_client_recomputes_every_hash_of_the_example() -> None:
    data = json.loads(EXAMPLE.read_text())
    js = json.loads(_node(str(EXAMPLE)))
    body = data["body"]
    assert js["version"] == "3"
    assert js["roundFileHash"] == data["roundFileHash"]
    assert js["methodHash"] == body["methodHash"]
    assert js["scoresHash"] == body["scoresHash"]
    assert js["rebuiltRoot"] == js["dumpRoot"] == body["merkleRoot"]
    assert js["scoresAmountSum"] == js["emission"] == body["emission"]
    assert js["cumulativeAmountSum"] == js["cumulativeEmission"] == body["cumulativeEmission"]
    # The digest agrees with eth-account's EIP-712, and the signers it recovers with eth-account's.
    round_ = read_round_file(EXAMPLE).round
    message = round_typed_data(int(body["chainId"]), body["distributor"], round_)
    assert sorted(js["signers"]) == sorted(
        Account.recover_message(encode_typed_data(full_message=message), signature=bytes.fromhex(s[2:]))
        for s in data["signatures"])
    # And everything agrees with what the document quotes.
    doc = _doc_values()
    assert doc["roundFileHash"] == js["roundFileHash"]
    assert doc["methodHash"] == js["methodHash"]
    assert doc["scoresHash"] == js["scoresHash"]
    assert doc["merkleRoot"] == js["rebuiltRoot"]
    assert doc["EIP-712 digest"] == js["digest"]
    assert doc["signers"] == ", ".join(f"`{s}`" for s in js["signers"])


def _numbers(value: Any, path: str = "body") -> list[str]:
    """Paths of every JSON number in `value`."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return []
    if isinstance(value, (int, float)):
        return [path]
    items = value.items() if isinstance(value, dict) else enumerate(value)
    return [p for key, item in items for p in _numbers(item, f"{path}.{key}")]


def test_the_example_body_has_no_json_number_but_the_tree_dumps_tree_index() -> None:
    body = json.loads(EXAMPLE.read_text())["body"]
    numbers = _numbers(body)
    assert numbers and all(re.fullmatch(r"body\.tree\.values\.\d+\.treeIndex", p) for p in numbers)
    assert body["emission"] == "1000000000000000000000" and body["version"] == "3"
    reals = [c["value"] for c in body["contributions"]]
    assert all(re.fullmatch(r"-?\d+\.\d{18}", v) for v in reals)


@pytest.mark.parametrize("text", ["plain", "é ü ß", "日本語", "emoji 😀 astral", "quote \" backslash \\ slash /",
                                  "controls \u0001 \u001f \t \n \r \b \f", "del \u007f", "separators \u2028 \u2029"])
def test_canonical_json_is_byte_identical_to_javascript(tmp_path: Path, text: str) -> None:
    value = {"b": [text, "2", None, True, 3], "a": {"z": text, "é": "x", "A": "1"}}
    source = tmp_path / "value.json"
    source.write_text(json.dumps(value), encoding="utf-8")
    assert _node("--canonical", str(source)).encode() == canonical_json(value)


@pytest.mark.parametrize(("value", "expected"), [
    (0.5, "0.500000000000000000"), (2.0, "2.000000000000000000"), (1e-05, "0.000010000000000000"),
    (-0.1, "-0.100000000000000006"),  # floor of the double nearest -0.1 (just below it)
    (3, "3"), (2**255, str(2**255)), (-7, "-7"), (True, True), (None, None),
])
def test_reals_and_integers_become_exact_strings(value: Any, expected: Any) -> None:
    assert to_round_json(value) == expected


def test_what_cannot_be_written_exactly_is_refused() -> None:
    for bad in (float("nan"), float("inf")):
        with pytest.raises(InputError, match="not a finite number"):
            to_round_json({"x": bad})
    with pytest.raises(InputError, match="real numbers as decimal strings"):
        canonical_json({"value": 0.5})
    with pytest.raises(InputError, match="above 2\\*\\*53"):
        canonical_json({"amount": 2**53})


def test_a_version_1_file_is_refused_with_the_way_out(tmp_path: Path) -> None:
    data = json.loads(EXAMPLE.read_text())
    data["body"]["version"] = 1
    path = tmp_path / "round-1.json"
    path.write_text(json.dumps(data))
    with pytest.raises(InputError, match="format version 1.*propose the round again"):
        read_round_file(path)
