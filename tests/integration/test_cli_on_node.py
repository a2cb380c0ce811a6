"""The README's step-by-step flow, as separate CLI invocations against a real anvil node."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from openledger_chain.chain import dev_accounts
from openledger_chain.cli import main

from _anvil import COMMITTEE_SETUP, PROJECT_ROOT, running_anvil

EXAMPLE = PROJECT_ROOT / "examples" / "attribution"
# Command groups: the option goes after `group subcommand`.
MULTI = {"model", "round", "usage", "fees", "contributions", "admin", "index", "keys", "node"}


@pytest.fixture
def anvil_url() -> Iterator[str]:
    with running_anvil() as url:
        yield url


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("spec.json", "eval.csv", "alice.csv", "bob.csv"):
        shutil.copyfile(EXAMPLE / name, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(url: str, *args: str, ok: bool = True) -> Result:
    split = 2 if args[0] in MULTI else 1
    result = CliRunner().invoke(main, [*args[:split], "--rpc-url", url, *args[split:]])
    if ok:
        assert result.exit_code == 0, result.output
    return result


def test_separate_commands_deploy_register_contribute_pay_round_claim(anvil_url: str, workdir: Path) -> None:
    url = anvil_url
    assert "deployed on localhost" in run(url, "deploy", "--challenge-window", "0").output
    deployment_before = json.loads((workdir / "deployments" / "localhost.json").read_text())
    assert "already deployed" in run(url, "deploy").output
    assert "already deployed" in run(url, "deploy", "--challenge-window", "0").output  # the same settings
    other = run(url, "deploy", "--threshold", "3", ok=False)
    assert other.exit_code == 2 and "already deployed with other settings than --threshold" in other.output
    for bad, message in ((["--threshold", "4"], "--threshold must be between 1 and the number of oracles (3)"),
                         (["--challenge-window", "-1"], "--challenge-window must be between 0 and 2592000"),
                         (["--admin-delay", "10"], "--admin-delay (10 s) must be longer than the challenge window"),
                         (["--min-challenge-window", "7200"], "--min-challenge-window must be between 0 and"),
                         (["--oracle", "0x" + "11" * 20, "--oracle", "0x" + "11" * 20], "given twice")):
        refused = run(url, "deploy", "--force", *bad, ok=False)
        assert refused.exit_code == 2 and message in refused.output
    assert json.loads((workdir / "deployments" / "localhost.json").read_text()) == deployment_before
    deployment = json.loads((workdir / "deployments" / "localhost.json").read_text())
    assert deployment["chainId"] == 31337
    assert set(deployment["contracts"]) == {"AdminTimelock", "ContributionRegistry", "RewardDistributor",
                                            "DevPaymentToken", "CommitteeKeys", "ContributionBonds"}
    assert all(c["abi"] and c["codeHash"].startswith("0x") for c in deployment["contracts"].values())

    # Nothing that can never run a round or take a fee gets registered (it would be there for good).
    (workdir / "bad-spec.json").write_text('{"label": "y", "method": {"name": "nope"}}')
    bad_spec = run(url, "model", "register", "--spec", "bad-spec.json", ok=False)
    assert bad_spec.exit_code == 2 and "unknown method 'nope'" in bad_spec.output
    no_token = run(url, "model", "register", "--spec", "spec.json", "--payment-token", "0x" + "de" * 20, ok=False)
    assert no_token.exit_code == 2 and "has no contract code" in no_token.output
    registry = deployment["contracts"]["ContributionRegistry"]["address"]
    not_erc20 = run(url, "model", "register", "--spec", "spec.json", "--payment-token", registry, ok=False)
    assert not_erc20.exit_code == 2 and "does not answer ERC-20" in not_erc20.output
    assert "registered model 1" in run(url, "model", "register", "--spec", "spec.json").output
    alice, bob = dev_accounts()[5], dev_accounts()[6]
    # Files are encrypted to the committee by default: none has posted a key yet.
    unkeyed = run(url, "contribute", "--model", "1", "alice.csv", ok=False)
    assert unkeyed.exit_code == 2 and "a committee member runs `openledger keys rewrap`" in unkeyed.output
    assert not (workdir / "alice.csv.age").exists()
    for args in COMMITTEE_SETUP:
        run(url, *args)
    assert "contribution 1 registered" in run(url, "contribute", "--model", "1", "alice.csv").output
    assert "contribution 2 registered" in run(url, "contribute", "--model", "1", "--dev-account", "6", "bob.csv").output
    assert (workdir / "alice.csv.age").read_bytes().startswith(b"age-encryption.org/v1\n")
    duplicate = run(url, "contribute", "--model", "1", "--dev-account", "7", "--public", "alice.csv", ok=False)
    assert duplicate.exit_code == 1 and "ContributionRegistryDuplicateContent" in duplicate.output

    run(url, "faucet", "500")
    assert "30.000000 to stake holders" in run(url, "usage", "pay", "--model", "1", "100").output
    fees = json.loads(run(url, "fees", "show", "--model", "1", "--json").output)[0]
    assert fees["held_for_first_holders"] == str(30 * 10**18) and fees["to_owner"] == str(70 * 10**18)

    uncommitted = run(url, "round", "propose", "--model", "1", "--spec", "spec.json", "--eval", "eval.csv", ok=False)
    assert uncommitted.exit_code == 1 and "no evaluation set committed for round 1" in uncommitted.output
    not_owner = run(url, "round", "commit-eval", "--model", "1", "--round", "1", "--dev-account", "5", "eval.csv", ok=False)
    assert not_owner.exit_code == 1 and "ContributionRegistryNotModelOwner" in not_owner.output
    assert "committed evaluation set 0x" in run(url, "round", "commit-eval", "--model", "1", "--round", "1", "eval.csv").output
    unsettled = run(url, "round", "propose", "--model", "1", "--spec", "spec.json", "--eval", "eval.csv", ok=False)
    errors = [line for line in unsettled.output.splitlines() if line.startswith("error: ")]
    assert unsettled.exit_code == 1 and len(errors) == 1, unsettled.output
    assert "no settled contribution yet: 2 contributions settle at blocks" in errors[0]
    assert "mined 256 blocks on localhost" in run(url, "node", "advance-time", "--blocks", "256").output
    run(url, "round", "propose", "--model", "1", "--spec", "spec.json", "--eval", "eval.csv")
    round_file = "rounds/localhost/model-1/round-1.json"
    run(url, "round", "sign", "--spec", "spec.json", "--eval", "eval.csv", round_file)
    too_few = run(url, "round", "submit", round_file, ok=False)
    assert too_few.exit_code == 1 and "holds 1 oracle signatures and 2 are needed" in too_few.output
    run(url, "round", "sign", "--dev-account", "2", "--spec", "spec.json", "--eval", "eval.csv", round_file)
    assert "submitted" in run(url, "round", "submit", round_file).output
    assert "nothing to do" in run(url, "round", "submit", round_file).output
    run(url, "round", "finalize", "--model", "1")
    # The URI must serve the encrypted file reveal-eval writes (here its own file:// URI; no network in tests).
    assert "revealed the evaluation set of round 1" in run(url, "round", "reveal-eval", "--model", "1", "--round", "1",
                                                           "--file", "eval.csv",
                                                           (workdir / "eval.csv.age").as_uri()).output
    assert (workdir / "eval.csv.age").read_bytes().startswith(b"age-encryption.org/v1\n")

    # The views read the chain: the round, its published list, and alice's claimable stake.
    (listed,) = json.loads(run(url, "round", "list", "--model", "1", "--json").output)
    assert listed["status"] == "final" and listed["round"] == "1" and len(listed["signers"]) == 2
    body = json.loads((workdir / round_file).read_text())["body"]
    assert listed["round_file_hash"] == json.loads((workdir / round_file).read_text())["roundFileHash"]
    published = json.loads(run(url, "scores", "--model", "1", "--json").output)
    assert [(r["account"], r["score"], r["amount"]) for r in published] == \
        [(s["account"], s["score"], s["amount"]) for s in body["scores"]]
    (mine,) = json.loads(run(url, "status", "--json").stdout)  # stderr names the default dev account
    assert mine["account"] == alice.address and mine["claimable"] == next(
        c["amount"] for c in body["cumulative"] if c["account"] == alice.address) and mine["stake"] == "0"
    assert json.loads(run(url, "model", "list", "--json").output)[0]["final_round"] == "1"
    # Anyone recomputes the round from its file and the chain (the attribution too), or from the chain alone.
    verified = run(url, "verify", round_file, "--spec", "spec.json", "--eval", "eval.csv")
    assert "every check holds" in verified.output and "tree vs on-chain lists" in verified.output
    assert "every check holds" in run(url, "verify", "--model", "1", "--round", "1").output
    tampered = json.loads((workdir / round_file).read_text())
    tampered["body"]["scores"][0]["amount"] = str(int(tampered["body"]["scores"][0]["amount"]) + 1)
    (workdir / "tampered.json").write_text(json.dumps(tampered))
    caught = run(url, "verify", "tampered.json", ok=False)
    assert caught.exit_code == 1 and "FAILED" in caught.output

    assert "claimed" in run(url, "claim", round_file).output
    again = run(url, "claim", round_file, ok=False)
    assert again.exit_code == 1 and "RewardDistributorNothingToClaim" in again.output
    # A third party pays the gas; the stake still goes to bob. No round file: the proof comes from the chain.
    run(url, "claim", "--dev-account", "9", "--account", bob.address, "--model", "1")
    nothing = run(url, "claim", "--account", bob.address, "--all", ok=False)
    assert nothing.exit_code == 1 and "nothing to claim on any of the 1 models" in nothing.output

    body = json.loads((workdir / round_file).read_text())["body"]
    stake = {c["account"]: int(c["amount"]) for c in body["cumulative"]}
    assert sum(stake.values()) == 1000 * 10**18
    holders = json.loads(run(url, "fees", "show", "--model", "1", "--json", "--account", alice.address,
                             "--account", bob.address).output)[0]
    assert holders["stake_supply"] == str(1000 * 10**18)
    assert sum(int(v) for v in holders["holders"].values()) <= 30 * 10**18
    assert "withdrew" in run(url, "fees", "withdraw", "--model", "1").output


def test_chain_commands_without_a_node_say_how_to_start_one(workdir: Path) -> None:
    result = CliRunner().invoke(main, ["deploy", "--rpc-url", "http://127.0.0.1:9"])
    assert result.exit_code == 1
    assert "no Ethereum node answers at http://127.0.0.1:9" in result.output


def test_deployment_for_another_chain_is_refused(anvil_url: str, workdir: Path) -> None:
    run(anvil_url, "deploy")
    with running_anvil(chain_id=4242) as other_url:
        result = CliRunner().invoke(main, ["model", "show", "1", "--rpc-url", other_url])
    assert result.exit_code == 1
    assert "is for chain id 31337 but the node is chain id 4242" in result.output


def test_dev_keys_are_refused_on_a_non_local_chain(workdir: Path) -> None:
    with running_anvil(chain_id=4242) as url:
        result = CliRunner().invoke(main, ["deploy", "--rpc-url", url, "--oracle", dev_accounts()[1].address])
    assert result.exit_code == 2
    assert "dev mnemonic is public" in result.output


def test_restarted_node_is_detected(workdir: Path) -> None:
    with running_anvil() as url:
        run(url, "deploy")
    with running_anvil() as url:
        result = CliRunner().invoke(main, ["contributions", "list", "--rpc-url", url])
    assert result.exit_code == 1
    assert "is not deployed at" in result.output and "openledger deploy --force" in result.output


def test_missing_deployment_names_the_fix(anvil_url: str, workdir: Path) -> None:
    result = CliRunner().invoke(main, ["model", "show", "1", "--rpc-url", anvil_url])
    assert result.exit_code == 1
    assert "no deployment for network 'localhost'" in result.output and "openledger deploy" in result.output


def test_admin_changes_go_through_the_timelock(anvil_url: str, workdir: Path) -> None:
    from web3 import Web3

    run(anvil_url, "deploy", "--challenge-window", "60")
    newcomer = dev_accounts()[7].address
    scheduled = run(anvil_url, "admin", "schedule", "add-oracle", newcomer).output
    assert "scheduled add-oracle" in scheduled and "openledger admin execute add-oracle" in scheduled
    refused = run(anvil_url, "admin", "schedule", "set-challenge-window", "60", ok=False)  # unchanged: no-op
    assert refused.exit_code == 1 and "RewardDistributorInvalidChallengeWindow(60)" in refused.output
    early = run(anvil_url, "admin", "execute", "add-oracle", newcomer, ok=False)
    assert early.exit_code == 1 and "TimelockUnexpectedOperationState" in early.output
    assert "waiting" in run(anvil_url, "admin", "list").output
    w3 = Web3(Web3.HTTPProvider(anvil_url))
    w3.provider.make_request("evm_increaseTime", [60 + 86400])
    w3.provider.make_request("evm_mine", [])
    assert "executed add-oracle" in run(anvil_url, "admin", "execute", "add-oracle", newcomer).output
    (listed,) = json.loads(run(anvil_url, "admin", "list", "--json").output)
    assert listed["status"] == "executed" and listed["call"] == f"addOracle({newcomer})"
