"""Nothing careless reaches the chain (issue 22, item 2): `contribute`, `round reveal-eval` and `contributions
withdraw` on the embedded chain, contributions served by a real HTTP server. Each refusal is one line with a
non-zero exit, before any transaction (block number, the sender's nonce and the contribution count unchanged),
and leaves no encrypted file behind; the happy paths register what the URI really serves."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from click.testing import CliRunner
from eth_utils import keccak

from openledger_chain.chain import dev_accounts
from openledger_chain.cli import main
from openledger_chain.committee import committee_identities, read_committee, rewrap
from openledger_chain.confidential import dev_identity, recipient_of
from openledger_chain.demo import serve_folder
from openledger_chain.fetch import FetchSettings, fetch_contribution
from openledger_chain.types import ContributionKind, ModelParams

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "attribution"
TOKEN = 10**18
ALICE, BOB = dev_accounts()[5], dev_accounts()[6]  # the CLI's default contributor, and another


def _identity(account: Any) -> Any:
    return dev_identity(bytes(account.key))


@pytest.fixture
def folder(ledger, accounts, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A committee with its epoch key, model 1 whose spec names its feature columns, the example files, a served
    folder `published/`, and the CLI's commands talking to the embedded chain."""
    monkeypatch.chdir(tmp_path)
    for name in ("eval.csv", "alice.csv", "bob.csv", "recipe.json"):
        shutil.copyfile(EXAMPLE / name, tmp_path / name)
    spec = json.loads((EXAMPLE / "spec.json").read_text())
    header = (EXAMPLE / "alice.csv").read_text().splitlines()[0].split(",")
    spec["features"] = [c for c in header if c != spec["label"]]
    (tmp_path / "spec.json").write_text(json.dumps(spec, indent=2))
    for member in (accounts.deployer, *accounts.oracles):
        ledger.publish_encryption_key(member, recipient_of(_identity(member)))
    rewrap(ledger, accounts.oracles[0], _identity(accounts.oracles[0]), read_committee(ledger))
    ledger.register_model(accounts.owner, ModelParams(
        keccak((tmp_path / "spec.json").read_bytes()), (tmp_path / "spec.json").as_uri(),
        ledger.dev_payment_token or "", 3_000, 1_000 * TOKEN, 1_000_000 * TOKEN, "Stake", "STK"))
    (tmp_path / "published").mkdir()
    with mock.patch("openledger_chain.cli.contribute.open_ledger", return_value=ledger), \
            mock.patch("openledger_chain.cli.rounds.open_ledger", return_value=ledger):
        yield tmp_path


@pytest.fixture
def server(folder: Path) -> Iterator[str]:
    """`python3 -m http.server` on a free port, serving `published/`."""
    with serve_folder(folder / "published") as url:
        yield url


def _state(ledger, who: str) -> tuple[int, int, int]:
    w3 = ledger.chain.w3
    return (w3.eth.block_number, w3.eth.get_transaction_count(who),
            ledger.registry.functions.contributionCount().call())


def _refused(ledger, args: list[str], *, who: str = ALICE.address) -> str:
    """Run a command that must be refused: one `error:` line, a non-zero exit, nothing sent, no file left."""
    before, files = _state(ledger, who), sorted(Path().rglob("*"))
    result = CliRunner().invoke(main, args)
    output = _without_notice(result.output).strip()
    assert result.exit_code not in (0, None) and isinstance(result.exception, SystemExit), (result.exception, output)
    assert output.startswith("error: ") and len(output.splitlines()) == 1, output
    assert _state(ledger, who) == before, f"{args} sent a transaction"
    assert sorted(Path().rglob("*")) == files, f"{args} left a file behind"
    return output.removeprefix("error: ")


def _ok(args: list[str]) -> str:
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, (result.exception, result.output)
    return _without_notice(result.output)


def _without_notice(output: str) -> str:
    """`output` without the stderr line that names the default dev account a command falls back to."""
    return "".join(line for line in output.splitlines(keepends=True) if not line.startswith("acting as dev account "))


# ----- contribute: the URI


@pytest.mark.parametrize(("uri", "message"), [
    ("127.0.0.1:8800/alice.csv.age", "--uri 127.0.0.1:8800/alice.csv.age has no scheme, so oracles would look for a "
     "local file of that name; write http://127.0.0.1:8800/alice.csv.age (or https://)"),
    ("localhost:8800/alice.csv.age", "write http://localhost:8800/alice.csv.age"),
    ("published/alice.csv.age", "--uri published/alice.csv.age has no scheme, so each oracle would look for that file "
     "on its own machine; give where it is published (https://… or ipfs://CID), or file:///"),
    ("ftp://example.org/alice.csv.age", "oracles cannot fetch ftp: URIs"),
    ("s3://bucket/alice.csv.age", "oracles cannot fetch s3: URIs"),
    ("https:///alice.csv.age", "names no host; write https://HOST[:PORT]/PATH"),
    ("ipfs://", "names no content id; write ipfs://CID[/PATH]"),
    ("http://[oops/alice.csv.age", "is not a well-formed URI"),
    ("http://127.0.0.1:port/x", "is not a well-formed URI"),
    ("https://example.org/a b.csv", "is empty or holds whitespace"),
    ("file://otherhost/alice.csv.age", "is not a local file URI; write file:///ABSOLUTE/PATH"),
])
def test_a_uri_oracles_cannot_fetch_is_refused_with_the_fix(ledger, folder: Path, uri: str, message: str) -> None:
    out = _refused(ledger, ["contribute", "--model", "1", "--out", "published/alice.csv.age", "--uri", uri,
                            "alice.csv"])
    assert message in out


def test_a_uri_that_serves_other_bytes_is_refused_and_the_encrypted_file_removed(ledger, folder: Path,
                                                                                 server: str) -> None:
    (folder / "published" / "stale.csv.age").write_bytes(b"age-encryption.org/v1\nan older encryption")
    out = _refused(ledger, ["contribute", "--model", "1", "--out", "published/alice.csv.age", "--uri",
                            f"{server}/stale.csv.age", "alice.csv"])
    assert out.startswith(f"{server}/stale.csv.age serves 41 bytes that are not published/alice.csv.age (keccak256 0x")
    assert out.endswith("; publish published/alice.csv.age there first (contribute writes it before the check: serve "
                        "its folder at that address), or add --no-fetch-check if it goes online only later")
    out = _refused(ledger, ["contribute", "--model", "1", "--public", "--uri", f"{server}/stale.csv.age", "alice.csv"])
    assert "not alice.csv" in out and out.endswith("; publish alice.csv there first, or add --no-fetch-check if it "
                                                   "goes online only later")


def test_a_uri_that_serves_nothing_is_refused(ledger, folder: Path, server: str) -> None:
    out = _refused(ledger, ["contribute", "--model", "1", "--out", "published/alice.csv.age", "--uri",
                            f"{server}/alcie.csv.age", "alice.csv"])
    assert out.startswith(f"{server}/alcie.csv.age does not serve published/alice.csv.age (HTTP 404 from ")


def test_served_bytes_that_match_are_registered_and_an_oracle_opens_them(ledger, accounts, folder: Path,
                                                                          server: str) -> None:
    uri = f"{server}/alice.csv.age"
    output = _ok(["contribute", "--model", "1", "--out", "published/alice.csv.age", "--uri", uri, "alice.csv"])
    assert f"encrypted alice.csv to the committee (epoch 1) as published/alice.csv.age; {uri} serves it" in output
    assert "checked alice.csv against model 1's spec: data, " in output
    assert f"contribution 1 registered: data 0x{keccak((folder / 'alice.csv').read_bytes()).hex()}" in output
    (registered,) = ledger.contributions(1)
    assert registered.uri == uri and registered.contributor == ALICE.address
    oracle = accounts.oracles[0]
    settings = FetchSettings(cache_dir=folder / "oracle-cache",
                             identities=committee_identities(ledger, _identity(oracle)))
    opened = fetch_contribution(uri, registered.content_hash, settings)
    assert opened.path is not None and opened.path.read_bytes() == (folder / "alice.csv").read_bytes()
    # --public: the URI serves the file itself.
    shutil.copyfile(folder / "bob.csv", folder / "published" / "bob.csv")
    output = _ok(["contribute", "--model", "1", "--dev-account", "6", "--public", "--uri", f"{server}/bob.csv",
                  "bob.csv"])
    assert "contribution 2 registered" in output


def test_no_fetch_check_registers_content_not_online_yet_with_a_warning(ledger, folder: Path, server: str) -> None:
    output = _ok(["contribute", "--model", "1", "--out", "published/later.age", "--uri", f"{server}/later/alice.age",
                  "--no-fetch-check", "alice.csv"])
    assert (f"warning: did not check that {server}/later/alice.age serves published/later.age (--no-fetch-check); "
            "oracles leave the contribution out until it does") in output
    assert "contribution 1 registered" in output and (folder / "published" / "later.age").is_file()


def test_the_default_file_uri_is_checked_and_registered(ledger, folder: Path) -> None:
    output = _ok(["contribute", "--model", "1", "alice.csv"])
    assert "as alice.csv.age; publish that file" in output
    (registered,) = ledger.contributions(1)
    assert registered.uri == (folder / "alice.csv.age").as_uri()


# ----- contribute: the file under the model's spec


HEADER, ROW = (EXAMPLE / "alice.csv").read_text().splitlines()[:2]
CELLS = ROW.split(",")
BAD_FILES = {
    "empty": ("", "empty file (expected a header row)"),
    "no label column": (f"{HEADER.removesuffix(',diagnosis')}\n{ROW.rsplit(',', 1)[0]}\n",
                        "row 1, column 'diagnosis': missing label column"),
    "only the label": ("diagnosis\n0\n", "row 1, column 'mean_radius': missing column"),
    "wrong feature columns": ("x,y,diagnosis\n1,2,0\n", "row 1, column 'mean_radius': missing column"),
    "an extra column": (f"{HEADER},extra\n{ROW},1\n", "row 1: unexpected column (not in the evaluation file): 'extra'"),
    "no rows": (f"{HEADER}\n", "no data rows after the header"),
    "a value not a number": (f"{HEADER}\nabc,{','.join(CELLS[1:])}\n",
                             "row 2, column 'mean_radius': not a number: 'abc'"),
    "a value not finite": (f"{HEADER}\nnan,{','.join(CELLS[1:])}\n",
                           "row 2, column 'mean_radius': not a finite number: 'nan'"),
    "a label not in classes": (f"{HEADER}\n{','.join(CELLS[:-1])},7\n",
                               "row 2, column 'diagnosis': label not in the spec's classes: '7'"),
    "a short row": (f"{HEADER}\n1,2\n", "row 2: expected 11 cells, found 2"),
}


@pytest.mark.parametrize("case", BAD_FILES)
def test_a_file_the_spec_does_not_accept_is_refused_before_anything_is_encrypted(ledger, folder: Path,
                                                                                 case: str) -> None:
    text, message = BAD_FILES[case]
    (folder / "bad.csv").write_text(text)
    out = _refused(ledger, ["contribute", "--model", "1", "bad.csv"])
    assert out.startswith(f"bad.csv: {message}; "), out
    assert out.endswith("; model 1's spec takes a CSV with a header row, the label column 'diagnosis', exactly its 10 "
                        "numeric feature columns (mean_radius, mean_texture, mean_perimeter, mean_area, …) and at "
                        "least one row with a label in {0, 1}; fix the file"), out


def test_other_kinds_are_checked_as_the_round_reads_them(ledger, folder: Path) -> None:
    out = _refused(ledger, ["contribute", "--model", "1", "--kind", "finetune", "alice.csv"])
    assert out.startswith("alice.csv: ") and out.endswith(
        "a finetune contribution to model 1 is a JSON recipe {\"params\": {…}} for KNeighborsClassifier; fix the "
        "file or the --kind")
    out = _refused(ledger, ["contribute", "--model", "1", "--kind", "compute", "recipe.json"])
    assert "a compute contribution to model 1 is a JSON claim" in out
    output = _ok(["contribute", "--model", "1", "--kind", "finetune", "recipe.json"])
    assert "checked recipe.json against model 1's spec: finetune, a recipe for KNeighborsClassifier" in output


def test_the_spec_comes_from_its_registered_uri_or_from_spec_checked_against_the_hash(ledger, accounts,
                                                                                      folder: Path) -> None:
    registered = f"0x{keccak((folder / 'spec.json').read_bytes()).hex()}"
    out = _refused(ledger, ["contribute", "--model", "1", "--spec", "recipe.json", "alice.csv"])
    assert out.startswith("recipe.json hashes to 0x") and f"but model 1 registered spec hash {registered}" in out
    shutil.move(folder / "spec.json", folder / "moved.json")  # the registered file:// URI no longer answers
    out = _refused(ledger, ["contribute", "--model", "1", "alice.csv"])
    assert out == (f"cannot read model 1's spec at its registered URI {(folder / 'spec.json').as_uri()} (file not "
                   f"found); give it with --spec FILE (the file hashing to {registered})")
    assert "contribution 1 registered" in _ok(["contribute", "--model", "1", "--spec", "moved.json", "alice.csv"])
    out = _refused(ledger, ["contribute", "--model", "99", "bob.csv"], who=ALICE.address)
    assert "ContributionRegistryUnknownModel(99)" in out


# ----- round reveal-eval


@pytest.fixture
def committed(ledger, accounts, folder: Path) -> Path:
    ledger.commit_evaluation(accounts.owner, 1, 1, keccak((folder / "eval.csv").read_bytes()))
    return folder / "eval.csv"


REVEAL = ["round", "reveal-eval", "--model", "1", "--round", "1", "--file", "eval.csv"]


def test_reveal_refuses_a_local_file_name_as_its_uri(ledger, accounts, committed: Path) -> None:
    out = _refused(ledger, [*REVEAL, "eval2.csv"], who=accounts.owner.address)
    assert out.startswith("URI eval2.csv has no scheme, so each oracle would look for that file on its own machine")
    out = _refused(ledger, [*REVEAL, "127.0.0.1:8800/eval-1.csv.age"], who=accounts.owner.address)
    assert out.endswith("write http://127.0.0.1:8800/eval-1.csv.age (or https://)")


def test_reveal_refuses_a_uri_that_does_not_serve_the_published_file(ledger, accounts, committed: Path,
                                                                     server: str) -> None:
    shutil.copyfile(committed.parent / "alice.csv", committed.parent / "published" / "eval.csv")
    out = _refused(ledger, [*REVEAL, "--out", "published/eval-1.csv.age", f"{server}/eval.csv"],
                   who=accounts.owner.address)
    assert out.startswith(f"{server}/eval.csv serves ") and "not published/eval-1.csv.age" in out
    out = _refused(ledger, [*REVEAL, "--public", f"{server}/eval.csv"], who=accounts.owner.address)
    assert "bytes that are not eval.csv (keccak256 0x" in out and out.endswith(
        "publish eval.csv there first, or add --no-fetch-check if it goes online only later")


def test_reveal_announces_a_uri_that_serves_the_published_file(ledger, accounts, committed: Path, server: str) -> None:
    uri = f"{server}/eval-1.csv.age"
    output = _ok([*REVEAL, "--out", "published/eval-1.csv.age", uri])
    assert f"as published/eval-1.csv.age; {uri} serves it" in output
    assert f"revealed the evaluation set of round 1 of model 1 at {uri}" in output
    (event,) = ledger.events(ledger.registry.address, ("EvaluationRevealed",))
    assert event.args["uri"] == uri


# ----- contributions withdraw


@pytest.fixture
def registered(ledger, folder: Path) -> None:
    for who, name in ((ALICE, "alice.csv"), (BOB, "bob.csv")):
        ledger.register_contribution(who, 1, ContributionKind.DATA, keccak((folder / name).read_bytes()),
                                     (folder / name).as_uri())


def test_withdraw_refuses_another_contributors_contribution(ledger, registered: None) -> None:
    assert _refused(ledger, ["contributions", "withdraw", "2"]) == (
        f"contribution 2 is {BOB.address}'s, not {ALICE.address}'s: only its contributor can withdraw it; sign with "
        "that account (--keystore, --key-env or --dev-account)")


def test_withdraw_refuses_an_unknown_id(ledger, registered: None) -> None:
    assert _refused(ledger, ["contributions", "withdraw", "99"]) == (
        "no contribution 99 is registered; see `openledger contributions list`")


def test_withdraw_own_once_then_refuse_the_second(ledger, registered: None) -> None:
    output = _ok(["contributions", "withdraw", "1"])
    assert output.startswith("withdrew contribution 1 of model 1 from future rounds (gas ")
    assert ledger.get_contribution(1).withdrawn and not ledger.get_contribution(2).withdrawn
    assert [c.contribution_id for c in ledger.contributions(1) if c.withdrawn] == [1]
    assert _refused(ledger, ["contributions", "withdraw", "1"]) == (
        "contribution 1 is already withdrawn: no later round of model 1 includes it; nothing to do")
