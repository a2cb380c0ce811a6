"""A corpus of careless inputs, every command, against a real anvil node with a deployment, a model,
contributions and a final round: each one gets a one-line error and a non-zero exit code, no
traceback, and leaves the chain exactly as it was (no block mined, so nothing was sent) and the folder too
(no file written, none changed: an encrypted copy of a file that was not registered is removed)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from web3 import Web3

from openledger_chain.chain import dev_accounts
from openledger_chain.cli import main

from _anvil import COMMITTEE_SETUP, PROJECT_ROOT, running_anvil

EXAMPLE = PROJECT_ROOT / "examples" / "attribution"
ROUND = "rounds/localhost/model-1/round-1.json"
RECOMPUTE = ["--spec", "spec.json", "--eval", "eval.csv"]
ALICE = dev_accounts()[5].address
BAD_ADDRESSES = ["notanaddress", "0x123", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD", "0x" + "g" * 40, ""]
BAD_IDS = ["-1", "abc", str(2**256), "1.5", ""]
BAD_AMOUNTS = ["-1", "abc", "1e999999", "0.0000000000000000001", ""]


def _corpus() -> list[list[str]]:
    cases: list[list[str]] = []
    for bad in BAD_ADDRESSES:
        cases += [["claim", "--account", bad, "--model", "1"], ["fees", "show", "--model", "1", "--account", bad],
                  ["status", "--account", bad], ["scores", "--model", "1", "--account", bad],
                  ["deploy", "--oracle", bad, "--force"], ["deploy", "--guardian", bad, "--force"],
                  ["model", "register", "--spec", "spec.json", "--symbol", "S", "--payment-token", bad]]
    for bad in BAD_IDS:
        cases += [["contribute", "--model", bad, "alice.csv"], ["round", "finalize", "--model", bad],
                  ["round", "veto", "--model", bad], ["contributions", "list", "--model", bad], ["model", "show", bad],
                  ["scores", "--model", bad], ["round", "list", "--model", bad],
                  ["round", "show", "--model", "1", "--round", bad], ["verify", "--model", "1", "--round", bad],
                  ["claim", "--model", bad], ["round", "commit-eval", "--model", "1", "--round", bad, "eval.csv"],
                  ["round", "propose", "--model", bad, "--spec", "spec.json", "--eval", "eval.csv"]]
    for bad in BAD_AMOUNTS:
        cases += [["usage", "pay", "--model", "1", bad], ["faucet", bad],
                  ["round", "propose", "--model", "1", "--spec", "spec.json", "--eval", "eval2.csv", "--emission", bad]]
    files = ["missing.csv", "somedir", "empty.csv", "wrongcolumns.csv", "notjson.json", "round-v1.json",
             "round-tampered.json", "round-otherchain.json"]
    for bad in files:
        cases += [["round", "sign", *RECOMPUTE, bad], ["round", "submit", bad], ["claim", bad], ["verify", bad]]
    cases += [
        # ids that parse but name nothing
        ["model", "show", "99"], ["contribute", "--model", "99", "bob.csv"], ["round", "finalize", "--model", "1"],
        ["round", "veto", "--model", "1"], ["claim", "--model", "99"], ["scores", "--model", "99"],
        ["round", "show", "--model", "1", "--round", "7"], ["verify", "--model", "1", "--round", "7"],
        ["round", "reveal-eval", "--model", "1", "--round", "5", "--file", "eval.csv", "ipfs://x"],
        ["round", "commit-eval", "--model", "99", "--round", "2", "eval2.csv"],
        ["usage", "pay", "--model", "99", "1"], ["usage", "pay", "--model", "1", "123456", "--dev-account", "7"], ["fees", "show", "--model", "99"], ["fees", "withdraw", "--model", "99"],
        # things already done, or not anyone's to do
        ["contribute", "--model", "1", "alice.csv"], ["claim", "--model", "1"], ["claim", ROUND],
        ["round", "commit-eval", "--model", "1", "--round", "1", "eval.csv"],
        ["round", "commit-eval", "--model", "1", "--round", "2", "--dev-account", "5", "eval2.csv"],
        ["round", "propose", "--model", "1", "--spec", "spec.json", "--eval", "eval.csv"],  # not round 2's set
        ["round", "propose", "--model", "1", "--spec", "alice.csv", "--eval", "eval2.csv"],  # not the model's spec
        ["fees", "withdraw", "--model", "1", "--dev-account", "9"],
        ["model", "show", "0"],
        # files that are not what the option wants
        ["contribute", "--model", "1", "missing.csv"], ["contribute", "--model", "1", "somedir"],
        ["model", "register", "--spec", "notjson.json", "--symbol", "S"],
        ["model", "register", "--spec", "empty.csv", "--symbol", "S"],
        ["model", "register", "--spec", "missing.json", "--symbol", "S"],
        ["model", "register", "--spec", "spec.json", "--symbol", "S", "--share", "120"],
        ["model", "register", "--spec", "spec.json", "--symbol", "S", "--emission-per-round", "0"],
        ["round", "propose", "--model", "1", "--spec", "missing.json", "--eval", "eval2.csv"],
        ["round", "propose", "--model", "1", "--spec", "spec.json", "--eval", "missing.csv"],
        ["round", "propose", "--model", "1", "--spec", "spec.json", "--eval", "eval2.csv", "--revealed", "missing.csv"],
        ["verify", ROUND, "--spec", "spec.json"],  # --eval missing
        ["verify"],  # nothing to verify
        ["claim"], ["claim", ROUND, "--model", "1"],
        # deployment options
        ["deploy", "--threshold", "4", "--force"], ["deploy", "--threshold", "0", "--force"],
        ["deploy", "--challenge-window", "-5", "--force"], ["deploy", "--challenge-window", str(31 * 86400), "--force"],
        ["deploy", "--admin-delay", "5", "--force"], ["deploy", "--min-challenge-window", "999999", "--force"],
        ["deploy", "--threshold", "3"],  # differs from the live deployment
        # the node and the network
        ["status", "--rpc-url", "http://127.0.0.1:9"], ["model", "show", "1", "--network", "nosuchnet"],
        ["index", "status", "--db", "nosuchdialect://x"],
        ["index", "run", "--batch-blocks", "0"],
        # keystores: a wrong password (OPENLEDGER_KEYSTORE_PASSWORD is "wrong" for every case), not a keystore,
        # no such file, and a key in an environment variable that is not a key
        ["contribute", "--model", "1", "--keystore", "key.json", "bob.csv"],
        ["usage", "pay", "--model", "1", "1", "--keystore", "notjson.json"],
        ["round", "sign", *RECOMPUTE, ROUND, "--keystore", "missing.json"],
        ["round", "sign", ROUND],  # signs nothing it did not recompute
        ["fees", "withdraw", "--model", "1", "--key-env", "OPENLEDGER_BAD_KEY"],
        ["index", "status", "--db", "postgresql+psycopg://nobody@127.0.0.1:9/none"],  # no server there
        # committee keys and encrypted files
        ["keys", "rewrap", "--dev-account", "5"],  # not a committee member
        ["keys", "publish", "--encryption-key", "missing.key"], ["keys", "publish", "--encryption-key", "notjson.json"],
        ["keys", "decrypt", "alice.csv", "--out", "plain.csv"],  # not an encrypted file
        ["keys", "decrypt", "alice.csv.age", "--dev-account", "5", "--out", "plain.csv"],  # an outsider
        ["keys", "decrypt", "alice.csv.age", "--out", "bob.csv"],  # would write over a file
        ["keys", "create", "--out", "alice.csv"],  # never overwrites
        ["contribute", "--model", "1", "--public", "--out", "x.age", "bob.csv"],
        ["contribute", "--model", "1", "--out", "alice.csv.age", "eval2.csv"],  # would write over a published file
        ["round", "reveal-eval", "--model", "1", "--round", "1", "--file", "eval2.csv", "ipfs://x"],  # not round 1's
        # careless input that used to be written on-chain for good (issue 22): URIs oracles cannot fetch, URIs
        # that do not serve the file, files the model's spec does not accept, withdrawals not one's to make
        ["contribute", "--model", "1", "--dev-account", "7", "--uri", "127.0.0.1:8800/carol.csv.age", "carol.csv"],
        ["contribute", "--model", "1", "--dev-account", "7", "--uri", "carol.csv", "--public", "carol.csv"],
        ["contribute", "--model", "1", "--dev-account", "7", "--uri", "ftp://example.org/carol.csv", "carol.csv"],
        ["contribute", "--model", "1", "--dev-account", "7", "--uri", "http://127.0.0.1:9/carol.csv.age", "carol.csv"],
        ["contribute", "--model", "1", "--dev-account", "7", "--public", "--uri", "ALICE_URI", "carol.csv"],
        ["contribute", "--model", "1", "--dev-account", "7", "empty.csv"],
        ["contribute", "--model", "1", "--dev-account", "7", "nolabel.csv"],
        ["contribute", "--model", "1", "--dev-account", "7", "wrongcolumns.csv"],
        ["contribute", "--model", "1", "--dev-account", "7", "notanumber.csv"],
        ["contribute", "--model", "1", "--dev-account", "7", "--kind", "finetune", "carol.csv"],
        ["contribute", "--model", "1", "--dev-account", "7", "--spec", "eval.csv", "carol.csv"],
        ["round", "reveal-eval", "--model", "1", "--round", "1", "--file", "eval.csv", "eval.csv"],
        ["round", "reveal-eval", "--model", "1", "--round", "1", "--file", "eval.csv", "127.0.0.1:8800/eval-1.csv.age"],
        ["round", "reveal-eval", "--model", "1", "--round", "1", "--file", "eval.csv", "--public", "ALICE_URI"],
        ["contributions", "withdraw", "2"],  # bob's, asked by dev account 5
        ["contributions", "withdraw", "3"],  # withdrawn already
        ["contributions", "withdraw", "99"],
        ["round", "propose", "--model", "1", "--spec", "spec.json", "--eval", "eval2.csv", "--encryption-key",
         "missing.key"],
        ["verify", ROUND, "--spec", "spec.json", "--eval", "eval.csv", "--encryption-key", "notjson.json"],
    ]
    return cases


CORPUS = _corpus()


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """anvil with a deployment, model 1, alice's and bob's contributions and a final round 1."""
    workdir = tmp_path_factory.mktemp("corpus")
    for name in ("spec.json", "eval.csv", "eval2.csv", "alice.csv", "bob.csv", "carol.csv", "dave.csv"):
        shutil.copyfile(EXAMPLE / name, workdir / name)
    (workdir / "somedir").mkdir()
    (workdir / "empty.csv").write_text("")
    (workdir / "wrongcolumns.csv").write_text("x,y\n1,2\n")
    header, row = (EXAMPLE / "carol.csv").read_text().splitlines()[:2]
    (workdir / "nolabel.csv").write_text(f"{header.rsplit(',', 1)[0]}\n{row.rsplit(',', 1)[0]}\n")
    (workdir / "notanumber.csv").write_text(f"{header}\nabc,{row.split(',', 1)[1]}\n")
    (workdir / "notjson.json").write_text("{not json")
    from eth_account import Account

    (workdir / "key.json").write_text(json.dumps(Account.encrypt(dev_accounts()[6].key, "right")))
    with running_anvil() as url, pytest.MonkeyPatch.context() as mp:
        mp.chdir(workdir)
        for args in (["deploy", "--challenge-window", "0"], *COMMITTEE_SETUP,
                     ["model", "register", "--spec", "spec.json", "--symbol", "B"],
                     ["contribute", "--model", "1", "alice.csv"],
                     ["contribute", "--model", "1", "--dev-account", "6", "bob.csv"],
                     ["node", "advance-time", "--blocks", "256"],  # the registrations settle
                     ["round", "commit-eval", "--model", "1", "--round", "1", "eval.csv"],
                     ["round", "propose", "--model", "1", "--spec", "spec.json", "--eval", "eval.csv"],
                     ["round", "sign", *RECOMPUTE, ROUND], ["round", "sign", "--dev-account", "2", *RECOMPUTE, ROUND],
                     ["round", "submit", ROUND], ["round", "finalize", "--model", "1"],
                     ["claim", "--model", "1"], ["round", "commit-eval", "--model", "1", "--round", "2", "eval2.csv"],
                     ["contribute", "--model", "1", "dave.csv"], ["contributions", "withdraw", "3"]):
            result = _invoke(url, args)
            assert result.exit_code == 0, (args, result.output)
        good = json.loads((workdir / ROUND).read_text())
        for name, change in (("round-v1.json", lambda d: d["body"].update(version=1)),
                             ("round-tampered.json", lambda d: d["body"]["scores"][0].update(amount="1")),
                             ("round-otherchain.json", lambda d: d["body"].update(chainId="1"))):
            data = json.loads(json.dumps(good))
            change(data)
            (workdir / name).write_text(json.dumps(data))
        yield url, workdir


def _invoke(url: str, args: list[str]) -> object:
    if "--rpc-url" not in args and "--network" not in args:
        args = [*args, "--rpc-url", url]
    # A URI that answers, with other bytes than the file given: alice's encrypted file, as registered.
    args = [Path("alice.csv.age").resolve().as_uri() if a == "ALICE_URI" else a for a in args]
    env = {"OPENLEDGER_KEYSTORE_PASSWORD": "wrong", "OPENLEDGER_BAD_KEY": "0x1234"}
    return CliRunner().invoke(main, args, env=env)


def test_the_corpus_is_large_enough() -> None:
    assert len(CORPUS) >= 150


@pytest.mark.parametrize("args", CORPUS, ids=[" ".join(a) or "(empty)" for a in CORPUS])
def test_each_careless_input_gets_a_one_line_error_and_changes_nothing(node: tuple[str, Path], args: list[str],
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    url, workdir = node
    monkeypatch.chdir(workdir)
    w3 = Web3(Web3.HTTPProvider(url))
    block = w3.eth.block_number
    files = {p: p.stat().st_mtime_ns for p in workdir.rglob("*")}
    result = _invoke(url, args)
    output = result.output.strip()
    assert result.exit_code not in (0, None), output
    assert "Traceback" not in output and not isinstance(result.exception, (AttributeError, TypeError, KeyError)), \
        (output, result.exception)
    errors = [line for line in output.splitlines() if line.startswith(("error:", "Error:"))]
    if args[0] == "verify" and not errors:  # a verification that fails is a table of checks and one verdict
        errors = [line for line in output.splitlines() if line.startswith("FAILED:")]
    assert len(errors) == 1, output
    assert w3.eth.block_number == block, f"{args} mined a block"
    assert {p: p.stat().st_mtime_ns for p in workdir.rglob("*")} == files, f"{args} left a file behind or changed one"
    if args[:2] == ["usage", "pay"] and args[-1] == "7":  # token units and the way out, not raw base units
        assert "needs 123,456 oUSD" in output and "openledger faucet" in output, output
