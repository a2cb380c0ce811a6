"""The deployment file is what a third-party client (ethers.js, web3.py) reads: it must be publishable
(0644), carry every ABI a client needs, and name the enum members the ABI only gives as uint8."""

from __future__ import annotations

import json
import re
import stat
from pathlib import Path

import pytest

from openledger_chain.build import load_artifact
from openledger_chain.contracts import OpenLedger
from openledger_chain.deployments import DEPLOYMENT_FILE_VERSION, load_deployment, read_deployment, save_deployment
from openledger_chain.errors import DeploymentError
from openledger_chain.oracle import RoundFile, write_round_file

ROOT = Path(__file__).resolve().parents[1]


def test_deployment_file_is_public_and_self_contained(_deployed, tmp_path):
    _, deployment = _deployed
    path = save_deployment(deployment, tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left behind
    data = json.loads(path.read_text())
    assert data["version"] == DEPLOYMENT_FILE_VERSION == 4
    # Deployment order; each newer contract last, so every earlier address is what it was before it existed.
    assert list(data["contracts"]) == ["AdminTimelock", "ContributionRegistry", "RewardDistributor",
                                       "DevPaymentToken", "CommitteeKeys", "ContributionBonds"]
    assert data["contracts"]["ContributionBonds"]["abi"] == load_artifact("ContributionBonds").abi
    assert data["contracts"]["CommitteeKeys"]["abi"] == load_artifact("CommitteeKeys").abi
    token = data["interfaces"]["ModelStakeToken"]
    assert token["abi"] == load_artifact("ModelStakeToken").abi
    assert token["addressOf"] == "ContributionRegistry.getModel(modelId).stakeToken"
    # The enum's members, in order, exactly as the Solidity source declares them.
    source = (ROOT / "contracts/interfaces/IContributionRegistry.sol").read_text()
    members = re.search(r"enum ContributionKind \{([^}]*)\}", source).group(1)
    assert data["enums"]["ContributionKind"] == [m.strip() for m in members.split(",")]
    # It reads back as the same deployment.
    assert read_deployment(deployment.network, tmp_path) == deployment


@pytest.mark.parametrize("version, found, fix", [
    (None, "has no version (written before versions existed)", "the deployer runs `openledger deploy --force`"),
    (3, "is version 3", "the deployer runs `openledger deploy --force`"),
    ("4", "is version '4'", "the deployer runs `openledger deploy --force`"),
    (5, "is version 5", "upgrade openledger-chain to read it"),
])
def test_a_file_of_another_version_is_refused_with_the_fix(_deployed, tmp_path, version, found, fix):
    """A file from older contracts names ABIs and rules this package no longer speaks (no settlement events, no
    skipped batch entries): refused in one line that names the fix, even though its contracts are live."""
    chain, deployment = _deployed
    path = save_deployment(deployment, tmp_path)
    data = json.loads(path.read_text())
    if version is None:
        del data["version"]
    else:
        data["version"] = version
    path.write_text(json.dumps(data))
    for read in (lambda: read_deployment(deployment.network, tmp_path), lambda: load_deployment(chain, tmp_path)):
        with pytest.raises(DeploymentError) as refused:
            read()
        message = str(refused.value)
        assert message.startswith(f"{path} {found}, this openledger reads version 4: "), message
        assert fix in message
        assert "\n" not in message and "malformed" not in message
    # Nothing was rewritten: the refusal leaves the file as it was.
    assert json.loads(path.read_text()) == data


def test_a_version_4_file_without_committee_keys_still_loads(_deployed, tmp_path):
    """A deployment without CommitteeKeys reads back without it: only the committee methods fail
    (tests/contracts/test_committee_keys.py), everything else works as before."""
    chain, deployment = _deployed
    data = json.loads(save_deployment(deployment, tmp_path).read_text())
    del data["contracts"]["CommitteeKeys"]
    (tmp_path / f"{deployment.network}.json").write_text(json.dumps(data))
    older = read_deployment(deployment.network, tmp_path)
    assert "CommitteeKeys" not in older.contracts
    ledger = OpenLedger(chain, older)
    assert ledger.committee_keys is None
    assert ledger.registry.address == deployment.address("ContributionRegistry")


def test_no_abi_parameter_is_named_like_an_ethers_result_method():
    """ethers v6 `Result` has methods `entries`, `keys`, `values`, ...: an argument of that name is
    shadowed (`args.entries` is a function). No event or function of ours may use one. (OpenZeppelin's
    error `ECDSAInvalidSignatureLength(uint256 length)` does; errors are not read by field name.)"""
    reserved = {"entries", "keys", "values", "toArray", "toObject", "getValue", "length", "forEach", "map"}
    for name in ("ContributionRegistry", "RewardDistributor", "ModelStakeToken", "CommitteeKeys"):
        for item in (i for i in load_artifact(name).abi if i["type"] in ("event", "function")):
            for field in item.get("inputs", []) + item.get("outputs", []):
                assert field["name"] not in reserved, f"{name}.{item.get('name')}: parameter {field['name']!r}"


def test_round_files_are_written_public(tmp_path):
    body = {"modelId": 1, "roundId": 1}
    path = tmp_path / "rounds" / "round-1.json"
    write_round_file(path, RoundFile(body, b"\x00" * 32))
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_deploy_wires_the_bond_vault_and_keeps_no_admin_key(_deployed, accounts):
    """The registry names the vault deployed last (its address computed before it existed), the vault answers to
    that registry, the earlier contracts kept their addresses, and the deployer no longer holds the registry's
    admin role: nobody can point the registry at another vault."""
    chain, deployment = _deployed
    ledger = OpenLedger(chain, deployment)
    vault = deployment.address("ContributionBonds")
    assert ledger.registry.functions.bondVault().call() == vault
    assert ledger.bonds.functions.registry().call() == ledger.registry.address
    assert deployment.address("DevPaymentToken") == "0x5FC8d32690cc91D4c39d9d3abcBD16989F875707"
    assert deployment.address("CommitteeKeys") == "0x0165878A594ca255338adfa4d48449f69242Eb8F"
    assert not ledger.registry.functions.hasRole(b"\x00" * 32, accounts.deployer.address).call()


def test_a_file_from_before_the_bond_vault_reads_every_bond_as_none(_deployed, tmp_path):
    chain, deployment = _deployed
    data = json.loads(save_deployment(deployment, tmp_path).read_text())
    del data["contracts"]["ContributionBonds"]
    (tmp_path / f"{deployment.network}.json").write_text(json.dumps(data))
    ledger = OpenLedger(chain, read_deployment(deployment.network, tmp_path))
    assert ledger.bonds is None
    assert ledger.bond_amount(1) == 0
    assert ledger.bond_of(1).status == "none"
