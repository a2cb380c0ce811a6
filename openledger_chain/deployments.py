"""Deploy the contracts and keep a record of them in `deployments/<network>.json`.

The file is self-contained (addresses, ABIs, transaction hashes, blocks, code hashes), so an
ethers.js or web3.py user can use it without this package.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import rlp
from eth_account.signers.local import LocalAccount
from eth_utils import keccak, to_checksum_address

from openledger_chain.build import load_artifact
from openledger_chain.chain import EMBEDDED, Chain
from openledger_chain.errors import DeploymentError
from openledger_chain.files import write_public_file
from openledger_chain.types import ContributionKind

DEPLOYMENTS_DIR = Path("deployments")
DEFAULT_CHALLENGE_WINDOW = 3600
MAX_CHALLENGE_WINDOW = 30 * 24 * 3600
# Outside local chains no window may be shorter: a guardian needs time to notice and veto a bad round.
PUBLIC_MIN_CHALLENGE_WINDOW = 3600
# The admin timelock's delay beyond the challenge window: a round pending when a change is scheduled
# becomes final, and holders can claim it, before the change takes effect.
ADMIN_DELAY_MARGIN = 24 * 3600
DEFAULT_ADMIN_ROLE = b"\x00" * 32
# The deployment file's format and the contracts it records: 4 = the h-v4 contracts (registration settlement
# events, relayed batches that report skipped entries, replaceable evaluations, ContributionBonds). An older file
# names contracts whose ABI and rules this package no longer speaks, so it is refused rather than half-used.
DEPLOYMENT_FILE_VERSION = 4


@dataclass(frozen=True)
class DeployedContract:
    address: str
    tx_hash: str
    block_number: int
    code_hash: str  # keccak256 of the runtime code on chain (it includes the immutables)
    artifact_bytecode_hash: str  # keccak256 of the creation code it was deployed from
    abi: list[dict[str, Any]] = field(repr=False)


@dataclass(frozen=True)
class DeploymentConfig:
    oracles: tuple[str, ...]
    threshold: int
    challenge_window: int
    min_challenge_window: int
    guardian: str  # vetoes and pauses
    admin: str  # the AdminTimelock: oracles, threshold, window and roles change only through it
    admin_delay: int


@dataclass(frozen=True)
class Deployment:
    network: str
    chain_id: int
    deployer: str
    deployed_at: str
    config: DeploymentConfig
    contracts: dict[str, DeployedContract]

    def address(self, name: str) -> str:
        try:
            return self.contracts[name].address
        except KeyError as exc:
            raise DeploymentError(f"deployment on {self.network} has no {name}; redeploy with --force") from exc

    def to_json(self) -> dict[str, Any]:
        return {
            "version": DEPLOYMENT_FILE_VERSION,
            "network": self.network,
            "chainId": self.chain_id,
            "deployer": self.deployer,
            "deployedAt": self.deployed_at,
            "config": {
                "oracles": list(self.config.oracles),
                "threshold": self.config.threshold,
                "challengeWindow": self.config.challenge_window,
                "minChallengeWindow": self.config.min_challenge_window,
                "guardian": self.config.guardian,
                "admin": self.config.admin,
                "adminDelay": self.config.admin_delay,
            },
            "contracts": {
                name: {
                    "address": c.address,
                    "txHash": c.tx_hash,
                    "blockNumber": c.block_number,
                    "codeHash": c.code_hash,
                    "artifactBytecodeHash": c.artifact_bytecode_hash,
                    "abi": c.abi,
                }
                for name, c in self.contracts.items()
            },
            # What a client needs beyond the deployed contracts: each model's stake token has an address
            # of its own, and the registry's `kind` fields are enum indices.
            "interfaces": {
                "ModelStakeToken": {
                    "addressOf": "ContributionRegistry.getModel(modelId).stakeToken",
                    "abi": load_artifact("ModelStakeToken").abi,
                },
            },
            "enums": {
                "ContributionKind": [_enum_label(kind) for kind in ContributionKind],
            },
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Deployment:
        config = data["config"]
        return cls(
            network=data["network"],
            chain_id=int(data["chainId"]),
            deployer=data["deployer"],
            deployed_at=data["deployedAt"],
            config=DeploymentConfig(
                oracles=tuple(config["oracles"]),
                threshold=int(config["threshold"]),
                challenge_window=int(config["challengeWindow"]),
                min_challenge_window=int(config["minChallengeWindow"]),
                guardian=config["guardian"],
                admin=config["admin"],
                admin_delay=int(config["adminDelay"]),
            ),
            contracts={
                name: DeployedContract(
                    address=c["address"],
                    tx_hash=c["txHash"],
                    block_number=int(c["blockNumber"]),
                    code_hash=c["codeHash"],
                    artifact_bytecode_hash=c["artifactBytecodeHash"],
                    abi=c["abi"],
                )
                for name, c in data["contracts"].items()
            },
        )


def _enum_label(kind: ContributionKind) -> str:
    """The Solidity enum member's name (`FineTune`), index = position in the list."""
    return {"FINETUNE": "FineTune"}.get(kind.name, kind.name.capitalize())


def deployment_path(network: str, directory: Path = DEPLOYMENTS_DIR) -> Path:
    return directory / f"{network}.json"


def redeploy_advice(path: Path, *, local: bool = True) -> str:
    """What each party does when the chain no longer holds the deployment `path` records: only its deployer
    deploys again (anyone else running `deploy --force` would make a second, separate deployment); everyone else
    takes the deployer's new file."""
    fresh = " on the fresh local chain" if local else ""
    return (f"the deployer runs `openledger deploy --force`{fresh}; everyone else gets the new {path} from the "
            "deployer (deploying yourself would make a second, separate deployment)")


@dataclass(frozen=True)
class SecurityPolicy:
    """Who may change what, and how fast: the settings `deploy` checks before it spends any gas."""

    challenge_window: int
    min_challenge_window: int
    admin_delay: int
    guardian: str


def security_policy(
    is_local: bool,
    deployer: str,
    *,
    challenge_window: int = DEFAULT_CHALLENGE_WINDOW,
    min_challenge_window: int | None = None,
    admin_delay: int | None = None,
    guardian: str | None = None,
) -> SecurityPolicy:
    """Fill in the defaults and refuse a policy that would let one key rewrite rounds (audit M-2).

    Raises:
        DeploymentError: naming the setting to change.
    """
    if min_challenge_window is None:
        min_challenge_window = min(challenge_window, PUBLIC_MIN_CHALLENGE_WINDOW)
    if admin_delay is None:
        admin_delay = challenge_window + ADMIN_DELAY_MARGIN
    if not 0 <= challenge_window <= MAX_CHALLENGE_WINDOW:
        raise DeploymentError(
            f"--challenge-window must be between 0 and {MAX_CHALLENGE_WINDOW} seconds (30 days), got {challenge_window}"
        )
    if not 0 <= min_challenge_window <= challenge_window:
        raise DeploymentError(
            f"--min-challenge-window must be between 0 and the challenge window ({challenge_window}), "
            f"got {min_challenge_window}"
        )
    if admin_delay <= challenge_window:
        raise DeploymentError(
            f"--admin-delay ({admin_delay} s) must be longer than the challenge window ({challenge_window} s), "
            "so that a pending round is final before an admin change takes effect"
        )
    if guardian is None and not is_local:
        raise DeploymentError("name the guardian (it vetoes and pauses) with --guardian on a non-local chain")
    guardian = to_checksum_address(guardian or deployer)
    if not is_local:
        if min_challenge_window < PUBLIC_MIN_CHALLENGE_WINDOW:
            raise DeploymentError(
                f"--min-challenge-window must be at least {PUBLIC_MIN_CHALLENGE_WINDOW} s outside local chains"
            )
        if guardian == to_checksum_address(deployer):
            raise DeploymentError("--guardian must not be the deployer (the admin's key); name another key")
    return SecurityPolicy(challenge_window, min_challenge_window, admin_delay, guardian)


def deploy(
    chain: Chain,
    deployer: LocalAccount,
    *,
    oracles: list[str],
    threshold: int,
    challenge_window: int = DEFAULT_CHALLENGE_WINDOW,
    min_challenge_window: int | None = None,
    admin_delay: int | None = None,
    guardian: str | None = None,
    dev_payment_token: bool | None = None,
    on_step: Callable[[str], None] | None = None,
) -> Deployment:
    """Deploy the admin timelock, registry, distributor (and a dev payment token on local chains), the
    committee's key board and the contribution bond vault.

    Order: AdminTimelock(delay, deployer proposes and executes), ContributionRegistry,
    RewardDistributor(registry, admin=timelock, guardian, oracles, k, window, min window), then the
    registry names the distributor its one stake minter and the bond vault (the address ContributionBonds
    will be created at); then DevPaymentToken if any, CommitteeKeys(distributor) (it has no admin at all),
    ContributionBonds(registry) (no admin either: each model's owner sets its bond policy), and last the
    deployer renounces the registry's admin role (its only uses were those two once-only calls), so no key
    keeps an instant admin power. A model without a bond policy registers as before (bond 0, no approval).
    """
    step = on_step or (lambda _: None)
    policy = security_policy(
        chain.is_local, deployer.address, challenge_window=challenge_window, min_challenge_window=min_challenge_window,
        admin_delay=admin_delay, guardian=guardian,
    )
    oracle_addresses = sorted((to_checksum_address(o) for o in oracles), key=lambda a: int(a, 16))
    contracts: dict[str, DeployedContract] = {}

    def deploy_one(name: str, *args: Any) -> Any:
        step(f"deploy {name}")
        artifact = load_artifact(name)
        receipt = chain.deploy(artifact.abi, artifact.bytecode, deployer, *args)
        address = receipt["contractAddress"]
        contracts[name] = DeployedContract(
            address=address,
            tx_hash="0x" + bytes(receipt["transactionHash"]).hex(),
            block_number=int(receipt["blockNumber"]),
            code_hash=_code_hash(chain, address),
            artifact_bytecode_hash=_artifact_hash(name),
            abi=artifact.abi,
        )
        return chain.w3.eth.contract(address=address, abi=artifact.abi)

    timelock = deploy_one("AdminTimelock", policy.admin_delay, [deployer.address], [deployer.address])
    registry = deploy_one("ContributionRegistry", deployer.address)
    distributor = deploy_one(
        "RewardDistributor", registry.address, timelock.address, policy.guardian, oracle_addresses, threshold,
        policy.challenge_window, policy.min_challenge_window,
    )
    step("registry.setStakeMinter(distributor)")
    chain.transact(registry.functions.setStakeMinter(distributor.address), deployer)
    with_dev_token = dev_payment_token if dev_payment_token is not None else chain.is_local
    # The bond vault (issue 23) is deployed last, so every earlier address (a function of the deployer's nonce)
    # is what it was before it existed; the registry names it in the transaction that used to renounce the admin
    # role, by the address the vault's creation will have, and the role is renounced at the very end.
    vault_address = _bond_vault_address(chain, deployer.address, later_transactions=1 + int(with_dev_token))
    step("registry.setBondVault(bond vault)")
    chain.transact(registry.functions.setBondVault(vault_address), deployer)
    if with_dev_token:
        deploy_one("DevPaymentToken")
    deploy_one("CommitteeKeys", distributor.address)
    vault = deploy_one("ContributionBonds", registry.address)
    if vault.address != vault_address:  # another transaction of the deployer's key came in between
        raise DeploymentError(
            f"the bond vault was deployed at {vault.address}, not at {vault_address} where the registry expects it "
            "(another transaction from the deployer's key came in between): run `openledger deploy --force` "
            "again without using that key meanwhile")
    step("renounce the registry's admin role")
    chain.transact(registry.functions.renounceRole(DEFAULT_ADMIN_ROLE, deployer.address), deployer)
    return Deployment(
        network=chain.network,
        chain_id=chain.chain_id,
        deployer=deployer.address,
        deployed_at=datetime.now(UTC).isoformat(timespec="seconds"),
        config=DeploymentConfig(
            oracles=tuple(oracle_addresses),
            threshold=threshold,
            challenge_window=policy.challenge_window,
            min_challenge_window=policy.min_challenge_window,
            guardian=policy.guardian,
            admin=timelock.address,
            admin_delay=policy.admin_delay,
        ),
        contracts=contracts,
    )


def _bond_vault_address(chain: Chain, deployer: str, *, later_transactions: int) -> str:
    """Where the deployer's contract creation lands that follows its next transaction and `later_transactions`
    more: the CREATE address keccak(rlp([deployer, nonce]))[12:] (eth-utils has no helper for it; rlp is a
    dependency of eth-account)."""
    nonce = int(chain.w3.eth.get_transaction_count(deployer, "pending")) + 1 + later_transactions
    return to_checksum_address(keccak(rlp.encode([bytes.fromhex(deployer[2:]), nonce]))[12:])


def save_deployment(deployment: Deployment, directory: Path = DEPLOYMENTS_DIR) -> Path:
    """Write the deployment file atomically (a crash never leaves half a file), readable by all (0644)."""
    path = deployment_path(deployment.network, directory)
    write_public_file(path, json.dumps(deployment.to_json(), indent=2) + "\n")
    return path


def read_deployment(network: str, directory: Path = DEPLOYMENTS_DIR) -> Deployment:
    """Read `deployments/<network>.json` without touching the chain.

    Raises:
        DeploymentError: the file is missing or malformed.
    """
    path = deployment_path(network, directory)
    if not path.is_file():
        raise DeploymentError(
            f"no deployment for network {network!r} ({path} missing): get {path} from the deployer (whoever ran "
            "`openledger deploy` on this chain); only the deployer runs `openledger deploy`, once per chain")
    try:
        data = json.loads(path.read_text())
        _check_file_version(path, data)
        return Deployment.from_json(data)
    except DeploymentError:
        raise
    except (ValueError, KeyError, TypeError) as exc:
        raise DeploymentError(
            f"{path} is malformed ({exc}): get an intact copy from the deployer (deployers: restore the copy you "
            "published; `openledger deploy --force` would make a second, separate deployment)") from exc


def _check_file_version(path: Path, data: Any) -> None:
    """Refuse a deployment file of another format version (checked before any other field, so an old file gets
    this advice instead of a "malformed" one about a field it never had).

    Raises:
        DeploymentError: naming the version found and the fix.
    """
    if not isinstance(data, dict):
        return  # from_json reports the malformed file
    version = data.get("version")
    if version == DEPLOYMENT_FILE_VERSION:
        return
    found = "has no version (written before versions existed)" if version is None else f"is version {version!r}"
    newer = isinstance(version, int) and not isinstance(version, bool) and version > DEPLOYMENT_FILE_VERSION
    fix = ("upgrade openledger-chain to read it" if newer else
           "these contracts changed: the deployer runs `openledger deploy --force`; everyone else gets the new "
           f"{path} from the deployer")
    raise DeploymentError(f"{path} {found}, this openledger reads version {DEPLOYMENT_FILE_VERSION}: {fix}")


def load_deployment(chain: Chain, directory: Path = DEPLOYMENTS_DIR) -> Deployment:
    """Read the chain's deployment and check that it is live on this chain.

    Raises:
        DeploymentError: missing file, another chain id, or contracts no longer on the chain.
    """
    deployment = read_deployment(chain.network, directory)
    problem = deployment_problem(chain, deployment, directory)
    if problem:
        raise DeploymentError(problem)
    return deployment


def deployment_problem(chain: Chain, deployment: Deployment, directory: Path = DEPLOYMENTS_DIR, *,
                       deployer: bool = False) -> str | None:
    """Say why `deployment` does not match `chain`, or return None when it does; the advice is the deployer's
    alone when `deployer` (the `deploy` command), else what the deployer and everyone else each do."""
    path = deployment_path(chain.network, directory)
    if deployer:
        advice = "run `openledger deploy --force` to deploy again, then give the new file to everyone else"
    else:
        advice = redeploy_advice(path, local=chain.is_local)
    if deployment.chain_id != chain.chain_id:
        return (
            f"{path} is for chain id {deployment.chain_id} but the node is chain id {chain.chain_id}: pick the "
            f"right --network/--rpc-url; if the deployment moved to this chain, {advice}"
        )
    for name, contract in deployment.contracts.items():
        if _code_hash(chain, contract.address) != contract.code_hash:
            if not chain.is_local:
                return (f"{name} is not deployed at {contract.address} on chain {chain.chain_id}: {path} does not "
                        "belong to this chain; check --network/--rpc-url, or get the right file from the deployer")
            return (
                f"{name} is not deployed at {contract.address} on this chain (a restarted local node starts "
                f"empty): {advice}"
            )
    return None


def ensure_deployment(
    chain: Chain,
    deployer: LocalAccount,
    *,
    force: bool = False,
    directory: Path = DEPLOYMENTS_DIR,
    **deploy_options: Any,
) -> tuple[Deployment, bool]:
    """Deploy unless a live deployment with current artifacts exists. Returns (deployment, deployed_now).

    The embedded chain's state dies with the process, so its deployment is never written to disk.
    """
    path = deployment_path(chain.network, directory)
    if not force and chain.network != EMBEDDED and path.is_file():
        existing = read_deployment(chain.network, directory)
        problem = deployment_problem(chain, existing, directory, deployer=True)
        if problem is not None:
            raise DeploymentError(problem)
        stale = [
            name
            for name, c in existing.contracts.items()
            if c.artifact_bytecode_hash != _artifact_hash(name)
        ]
        if stale:
            raise DeploymentError(
                f"deployed {', '.join(stale)} differ from the current artifacts; redeploy with `openledger deploy "
                "--force` (a new deployment: everyone then needs the new deployment file)"
            )
        return existing, False
    deployment = deploy(chain, deployer, **deploy_options)
    if chain.network != EMBEDDED:
        save_deployment(deployment, directory)
    return deployment, True


def _code_hash(chain: Chain, address: str) -> str:
    """keccak256 of the runtime code at `address` (it includes the immutables)."""
    return "0x" + keccak(bytes(chain.w3.eth.get_code(address))).hex()


def _artifact_hash(name: str) -> str:
    """keccak256 of the committed creation code of `name`."""
    return "0x" + keccak(hexstr=load_artifact(name).bytecode).hex()
