"""Thin typed wrappers over the deployed contracts: one method per contract function the toolkit uses.

Every write goes through `Chain.transact`, so a revert surfaces as `ContractRevertError(name, args)`
before anything is sent.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_abi import encode as abi_encode
from eth_utils import keccak, to_checksum_address
from web3.contract import Contract
from web3.logs import DISCARD
from web3.types import TxReceipt

from openledger_chain.build import load_artifact
from openledger_chain.chain import Calldata, Chain, decode_revert, revert_error
from openledger_chain.deployments import Deployment
from openledger_chain.eip712 import typed_data
from openledger_chain.errors import ContractRevertError, DeploymentError, InputError
from openledger_chain.logs import DecodedLog, EventDecoder, get_logs
from openledger_chain.permits import NO_PERMIT, BondPermit, PermitDomain, permit_domain, sign_permit
from openledger_chain.revert_hints import HINTS, OPERATION_STATES, TokenUnits
from openledger_chain.types import (
    Contribution,
    ContributionId,
    ContributionRecord,
    ContributionKind,
    Model,
    ModelId,
    ModelParams,
    Bond,
    BondPolicy,
    BOND_STATUSES,
    PendingRound,
    ScoreList,
    SignedContribution,
)

REGISTRATION_FIELDS = [
    {"name": "modelId", "type": "uint256"},
    {"name": "kind", "type": "uint8"},
    {"name": "contentHash", "type": "bytes32"},
    {"name": "uri", "type": "string"},
    {"name": "salt", "type": "bytes32"},
    {"name": "contributor", "type": "address"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
]

#: `RewardDistributor.GUARDIAN_ROLE`, as the decoded RoleGranted/RoleRevoked events give it.
GUARDIAN_ROLE = "0x" + keccak(text="GUARDIAN_ROLE").hex()


@dataclass(frozen=True)
class RelayedBatches:
    """What `OpenLedger.register_contributions_for` did: the contribution ids registered (in entry order), one
    receipt per batch transaction, the entries left out as invalid with the error each alone reverts with, and
    the entries the registry skipped (`BatchEntrySkipped`) because their contributor already held the content
    in the model, each with the contribution that holds it: sent, but not registered by this batch."""

    contribution_ids: list[ContributionId]
    receipts: list[TxReceipt]
    skipped: list[tuple[SignedContribution, ContractRevertError]] = field(default_factory=list)
    already_registered: list[tuple[SignedContribution, ContributionId]] = field(default_factory=list)

    def skip_reasons(self) -> list[tuple[SignedContribution, str]]:
        """Every entry not registered by these batches, with the reason in one line, in the order found."""
        return ([(entry, f"invalid: {error}") for entry, error in self.skipped]
                + [(entry, f"already registered as contribution {held} (its contributor holds this content in the "
                           "model): nothing to do") for entry, held in self.already_registered])


class OpenLedger:
    """The deployed contracts of one network, ready to call."""

    def __init__(self, chain: Chain, deployment: Deployment) -> None:
        self.chain = chain
        self.deployment = deployment
        self.registry = self._contract("ContributionRegistry", deployment.address("ContributionRegistry"))
        self.distributor = self._contract("RewardDistributor", deployment.address("RewardDistributor"))
        self.timelock = self._contract("AdminTimelock", deployment.address("AdminTimelock"))
        # Deployments made before CommitteeKeys existed lack it: None, and the committee methods say so.
        committee = deployment.contracts.get("CommitteeKeys")
        self.committee_keys: Contract | None = (
            self._contract("CommitteeKeys", committee.address) if committee is not None else None)
        # Deployments made before the bond vault existed lack it: None, and every model posts no bond.
        vault = deployment.contracts.get("ContributionBonds")
        self.bonds: Contract | None = self._contract("ContributionBonds", vault.address) if vault is not None else None
        self._decoder: EventDecoder | None = None

    # ----- events

    def events(self, address: str, names: Sequence[str], from_block: int | None = None) -> list[DecodedLog]:
        """The named events of the contract at `address`, oldest first: paginated eth_getLogs (ranges shrink
        when the node refuses them) decoded with eth-abi, the same reads the indexer makes."""
        if self._decoder is None:
            self._decoder = EventDecoder(load_artifact(n).abi for n in
                                         ("ContributionRegistry", "RewardDistributor", "ModelStakeToken",
                                          "AdminTimelock", "CommitteeKeys", "ContributionBonds"))
        decoder = self._decoder
        head = int(self.chain.w3.eth.block_number)
        start = self._first_block if from_block is None else from_block
        found: list[DecodedLog] = []
        for _, _, logs in get_logs(self.chain.w3, [address], start, head, topics=[decoder.topics_of(names)]):
            found.extend(d for d in map(decoder.decode, logs) if d is not None)
        return found

    # ----- contracts by address

    @property
    def _first_block(self) -> int:
        """The deployment's first block: event scans start there."""
        return min(c.block_number for c in self.deployment.contracts.values())

    def _contract(self, name: str, address: str) -> Contract:
        return self.chain.w3.eth.contract(address=to_checksum_address(address), abi=load_artifact(name).abi)

    def stake_token(self, model_id: int) -> Contract:
        return self._contract("ModelStakeToken", self.get_model(model_id).stake_token)

    def erc20(self, address: str) -> Contract:
        return self._contract("DevPaymentToken", address)

    @property
    def dev_payment_token(self) -> str | None:
        contract = self.deployment.contracts.get("DevPaymentToken")
        return contract.address if contract else None

    # ----- models

    def register_model(self, owner: LocalAccount, params: ModelParams) -> tuple[Model, TxReceipt]:
        receipt = self.chain.transact(self.registry.functions.registerModel(params.as_tuple()), owner)
        (event,) = self.registry.events.ModelRegistered().process_receipt(receipt, errors=DISCARD)
        return self.get_model(event["args"]["modelId"]), receipt

    def get_model(self, model_id: int) -> Model:
        raw = self.chain.call(self.registry.functions.getModel(model_id))
        owner, share, payment, stake, per_round, maximum, spec_hash = raw
        return Model(ModelId(model_id), owner, share, payment, stake, per_round, maximum, bytes(spec_hash))

    def spec_uri(self, model_id: int) -> str:
        """Where the model's spec is published, as its registration announced it (`ModelRegistered.specURI`; the
        registry stores only the spec's hash).

        Raises:
            InputError: the model is not registered.
        """
        for log in self.events(self.registry.address, ("ModelRegistered",)):
            if log.args["modelId"] == model_id:
                return str(log.args["specURI"])
        raise InputError(f"model {model_id} is not registered; check the model id with `openledger model list`")

    def model_owner_at(self, model_id: int, block: int) -> str:
        """The model's owner as of `block` (after that block's transactions), from its registration and
        ownership-transfer events: what recomputing an old round needs after the model changed hands."""
        owner = None
        for log in self.events(self.registry.address, ("ModelRegistered", "ModelOwnershipTransferred")):
            if log.args["modelId"] != model_id or log.block_number > block:
                continue
            owner = log.args["owner"] if log.event == "ModelRegistered" else log.args["newOwner"]
        if owner is None:
            raise InputError(f"model {model_id} was not registered by block {block}")
        return to_checksum_address(owner)

    # ----- rounds

    def pending_round(self, model_id: int) -> PendingRound:
        raw = self.distributor.functions.pendingRound(model_id).call()
        return PendingRound(*(bytes(v) if isinstance(v, (bytes, bytearray)) else v for v in raw))

    def score_list(self, model_id: int, publisher: str) -> ScoreList:
        """`publisher`'s score list of the model's pending round (empty if it has none)."""
        raw = self.distributor.functions.scoreList(model_id, to_checksum_address(publisher)).call()
        return ScoreList(*(bytes(v) if isinstance(v, (bytes, bytearray)) else v for v in raw))

    # ----- admin changes, through the AdminTimelock

    def schedule_admin_call(self, proposer: LocalAccount, call: Any, salt: bytes = bytes(32)) -> bytes:
        """Schedule a distributor admin call (e.g. `distributor.functions.addOracle(a)`); returns its operation
        id. It can run `adminDelay` seconds later, with `execute_admin_call`; anyone watching sees it now."""
        target, data = call.address, call._encode_transaction_data()
        delay = int(self.timelock.functions.getMinDelay().call())
        zero = bytes(32)
        self.chain.transact(self.timelock.functions.schedule(target, 0, data, zero, salt, delay), proposer)
        return bytes(self.timelock.functions.hashOperation(target, 0, data, zero, salt).call())

    def execute_admin_call(self, executor: LocalAccount, call: Any, salt: bytes = bytes(32)) -> TxReceipt:
        """Run a scheduled admin call once its delay has passed.

        Raises:
            ContractRevertError: e.g. `TimelockUnexpectedOperationState` (not Ready), its message saying the
                operation's state now and, while it waits, when it can run.
        """
        target, data = call.address, call._encode_transaction_data()
        try:
            return self.chain.transact(self.timelock.functions.execute(target, 0, data, bytes(32), salt), executor)
        except ContractRevertError as exc:
            if exc.name != "TimelockUnexpectedOperationState":
                raise
            operation = bytes(exc.error_args[0])  # type: ignore[arg-type]
            raise revert_error(exc.name, exc.error_args, says=self._operation_status(operation)) from exc

    def _operation_status(self, operation: bytes) -> str:
        """A timelock operation's state now, in words: 'this admin operation is Waiting: it can run from …'."""
        from datetime import UTC, datetime

        state = OPERATION_STATES[int(self.timelock.functions.getOperationState(operation).call())]
        about = {"Unset": "it was never scheduled: schedule it first (`openledger admin schedule`)",
                 "Ready": "it is ready now", "Done": "it already ran"}
        if state == "Waiting":
            ready = int(self.timelock.functions.getTimestamp(operation).call())
            about[state] = f"it can run from {datetime.fromtimestamp(ready, UTC):%Y-%m-%d %H:%M:%S} UTC"
        return f"this admin operation is {state}: {about[state]}"

    # ----- committee encryption keys (CommitteeKeys)

    def _committee(self) -> Contract:
        """The CommitteeKeys contract; DeploymentError if this deployment predates it."""
        if self.committee_keys is None:
            raise DeploymentError(
                f"the deployment on {self.deployment.network} has no CommitteeKeys (it predates the committee's "
                "encryption keys): the deployer redeploys with `openledger deploy --force` and everyone else gets the "
                f"new deployments/{self.deployment.network}.json from the deployer")
        return self.committee_keys

    def _committee_transact(self, function: Any, account: LocalAccount) -> TxReceipt:
        """`Chain.transact`, after an eth_call that raises the decoded revert: web3's eth-tester provider reads any
        revert payload of a gas estimate as a string, so `CommitteeKeysInvalidRecipient(string)` would reach
        `transact` without its name on the embedded chain."""
        try:
            function.call({"from": account.address})
        except Exception as exc:  # noqa: BLE001 - web3 and eth-tester raise many types for a revert
            raise decode_revert(exc) from exc
        return self.chain.transact(function, account)

    def publish_encryption_key(self, account: LocalAccount, recipient: str) -> TxReceipt:
        """Bind the age X25519 recipient `recipient` ("age1...") to `account`, replacing its earlier key."""
        return self._committee_transact(self._committee().functions.publishEncryptionKey(recipient), account)

    def post_committee_key(self, account: LocalAccount, recipient: str, members: Sequence[str],
                           wraps: Sequence[bytes]) -> tuple[int, TxReceipt]:
        """Open a new epoch with committee key `recipient` and its secret wrapped to `members` (one wrap each,
        in any order: sent in ascending address order). Returns (epoch, receipt); `account` must be a member."""
        members, wraps = _ascending_wraps(members, wraps)
        receipt = self._committee_transact(
            self._committee().functions.postCommitteeKey(recipient, members, wraps), account)
        (event,) = self._committee().events.CommitteeKeyPosted().process_receipt(receipt, errors=DISCARD)
        return int(event["args"]["epoch"]), receipt

    def wrap_committee_key(self, account: LocalAccount, epoch: int, members: Sequence[str],
                           wraps: Sequence[bytes]) -> TxReceipt:
        """Post epoch `epoch`'s secret wrapped to more `members` (one wrap each, in any order)."""
        members, wraps = _ascending_wraps(members, wraps)
        return self._committee_transact(self._committee().functions.wrapCommitteeKey(epoch, members, wraps),
                                        account)

    def encryption_key(self, address: str) -> str:
        """The age recipient `address` published ("" if none)."""
        return str(self._committee().functions.encryptionKey(to_checksum_address(address)).call())

    def committee_epoch_count(self) -> int:
        """How many epochs the committee posted (epochs are numbered from 1)."""
        return int(self._committee().functions.epochCount().call())

    def committee_key(self, epoch: int) -> str:
        """Epoch `epoch`'s committee key (age recipient).

        Raises:
            ContractRevertError: `CommitteeKeysUnknownEpoch(epoch, epochCount)`.
        """
        return str(self.chain.call(self._committee().functions.committeeKey(epoch)))

    def committee_members(self) -> list[str]:
        """The committee now: the distributor's oracles and GUARDIAN_ROLE holders, checksummed, ascending by
        value (the order posts take), replayed from its OracleAdded/OracleRemoved and RoleGranted/RoleRevoked
        events."""
        oracles: set[str] = set()
        guardians: set[str] = set()
        names = ("OracleAdded", "OracleRemoved", "RoleGranted", "RoleRevoked")
        for log in self.events(self.distributor.address, names):
            if log.event == "OracleAdded":
                oracles.add(log.args["oracle"])
            elif log.event == "OracleRemoved":
                oracles.discard(log.args["oracle"])
            elif log.args["role"] == GUARDIAN_ROLE:
                (guardians.add if log.event == "RoleGranted" else guardians.discard)(log.args["account"])
        return sorted(oracles | guardians, key=lambda a: int(a, 16))

    def committee_epochs(self) -> list[dict[str, Any]]:
        """Every CommitteeKeyPosted event, oldest first: epoch, recipient, poster, block."""
        return [{"epoch": log.args["epoch"], "recipient": log.args["recipient"], "poster": log.args["poster"],
                 "block": log.block_number}
                for log in self.events(self._committee().address, ("CommitteeKeyPosted",))]

    def committee_wraps(self) -> list[dict[str, Any]]:
        """Every CommitteeKeyWrapped event, oldest first: epoch, member, memberKey (the member's key when posted),
        wrappedKey (bytes), poster, block."""
        return [{"epoch": log.args["epoch"], "member": log.args["member"], "memberKey": log.args["memberKey"],
                 "wrappedKey": bytes.fromhex(log.args["wrappedKey"][2:]), "poster": log.args["poster"],
                 "block": log.block_number}
                for log in self.events(self._committee().address, ("CommitteeKeyWrapped",))]

    # ----- contributions

    def commit(self, sender: LocalAccount, commitments: Sequence[bytes]) -> TxReceipt:
        """Record hiding commitments; a registration must reveal one mined in an earlier block."""
        return self.chain.transact(self.registry.functions.commitContributions(list(commitments)), sender)

    def commit_many(self, sender: LocalAccount, commitments: Sequence[bytes], *,
                    gas_target: int | None = None) -> list[TxReceipt]:
        """Record any number of commitments in as few transactions as fit `gas_target` each (default: half
        the block gas limit); anyone may post them, each binds its contributor."""
        return self.chain.transact_in_chunks(
            list(commitments), lambda chunk: Calldata.of(self.registry, "commitContributions", list(chunk)), sender,
            gas_target=gas_target, first_guess=200)

    def commitment(self, model_id: int, contributor: str, kind: ContributionKind, content_hash: bytes, salt: bytes) -> bytes:
        """`ContributionRegistry.contributionCommitment`, computed locally."""
        return contribution_commitment(
            self.chain.chain_id, self.registry.address, model_id, contributor, kind, content_hash, salt
        )

    def register_contribution(
        self,
        contributor: LocalAccount,
        model_id: int,
        kind: ContributionKind,
        content_hash: bytes,
        uri: str,
        *,
        salt: bytes | None = None,
    ) -> tuple[ContributionId, TxReceipt]:
        """Commit (unless `salt` names a commitment already made) and then register a contribution.

        The commitment is mined first, so the content hash is public only once its priority is fixed.
        """
        if salt is None:
            self.check_registrable(contributor.address, model_id, content_hash)
            salt = new_salt()
            self.commit(contributor, [self.commitment(model_id, contributor.address, kind, content_hash, salt)])
        function = self.registry.functions.registerContribution(model_id, int(kind), content_hash, uri, salt)
        receipt = self.chain.transact(function, contributor)
        return self._contribution_ids(receipt)[0], receipt

    def check_registrable(self, contributor: str, model_id: int, content_hash: bytes) -> None:
        """Fail before paying for a commitment when the registration is bound to revert.

        Raises:
            ContractRevertError: the model is unknown, or the content is registered in it or claimed by another
                contributor (in any model: a commitment made now is younger than theirs).
        """
        self.get_model(model_id)
        existing = self.registry.functions.contributionByContent(model_id, content_hash).call()
        if existing:
            raise revert_error("ContributionRegistryDuplicateContent", (model_id, content_hash, existing))
        holder, committed_at = self.registry.functions.contentClaim(content_hash).call()
        if int(holder, 16) and holder.lower() != contributor.lower():
            raise revert_error("ContributionRegistryContentClaimed", (content_hash, holder, committed_at))

    def register_contributions(
        self, contributor: LocalAccount, model_id: int, items: Sequence[tuple[ContributionKind, bytes, str]]
    ) -> tuple[list[ContributionId], TxReceipt]:
        """Commit all items in one transaction, then register them in one batch."""
        salts = [new_salt() for _ in items]
        self.commit(contributor, [
            self.commitment(model_id, contributor.address, kind, content_hash, salt)
            for (kind, content_hash, _), salt in zip(items, salts, strict=True)
        ])
        inputs = [(int(kind), content_hash, uri, salt) for (kind, content_hash, uri), salt in zip(items, salts, strict=True)]
        receipt = self.chain.transact(self.registry.functions.registerContributions(model_id, inputs), contributor)
        return self._contribution_ids(receipt), receipt

    def sign_contribution(
        self,
        contributor: LocalAccount,
        model_id: int,
        kind: ContributionKind,
        content_hash: bytes,
        uri: str,
        salt: bytes,
        *,
        deadline: int | None = None,
        nonce: int | None = None,
    ) -> tuple[int, bytes]:
        """EIP-712 signature by `contributor` that lets anyone register this contribution for it.

        Hand it to a relayer only once the commitment for `salt` is mined: before that, a relayer that
        sees the content hash could commit and register it first. Returns (deadline, signature).
        """
        deadline = deadline if deadline is not None else int(time.time()) + 3600
        if nonce is None:
            nonce = int(self.registry.functions.nonces(contributor.address).call())
        message = registration_typed_data(
            self.chain.chain_id, self.registry.address, model_id, kind, content_hash, uri, salt, contributor.address,
            nonce, deadline,
        )
        signed = Account.sign_typed_data(contributor.key, full_message=message)
        return deadline, bytes(signed.signature)

    def register_contribution_for(
        self,
        relayer: LocalAccount,
        contributor: str,
        model_id: int,
        kind: ContributionKind,
        content_hash: bytes,
        uri: str,
        salt: bytes,
        deadline: int,
        signature: bytes,
    ) -> tuple[ContributionId, TxReceipt]:
        function = self.registry.functions.registerContributionFor(
            model_id, int(kind), content_hash, uri, salt, to_checksum_address(contributor), deadline, signature
        )
        receipt = self.chain.transact(function, relayer)
        return self._contribution_ids(receipt)[0], receipt

    def sign_registration(
        self,
        contributor: LocalAccount,
        model_id: int,
        kind: ContributionKind,
        content_hash: bytes,
        uri: str,
        salt: bytes,
        *,
        deadline: int | None = None,
        nonce: int | None = None,
    ) -> SignedContribution:
        """`sign_contribution` as one entry of a relayed batch (`register_contributions_for`). Two entries of
        one contributor in a batch sign consecutive nonces (pass `nonce`: the chain's count, then one more)."""
        deadline, signature = self.sign_contribution(contributor, model_id, kind, content_hash, uri, salt,
                                                     deadline=deadline, nonce=nonce)
        return SignedContribution(contributor.address, kind, content_hash, uri, salt, deadline, signature)

    def register_contributions_for(
        self,
        relayer: LocalAccount,
        model_id: int,
        registrations: Sequence[SignedContribution],
        *,
        gas_target: int | None = None,
        skip_invalid: bool = False,
        progress: Callable[[int, int], None] | None = None,
        permits: Sequence[BondPermit] | None = None,
    ) -> RelayedBatches:
        """Register signed contributions with `registerContributionsFor`, in as few transactions as fit
        `gas_target` each (default: half the block gas limit, see `Chain.transact_in_chunks`); the relayer
        pays. Each entry's commitment must be mined, and at most 256 blocks old when its batch lands.

        A batch with an invalid entry reverts whole, naming the entry: with `skip_invalid` that entry is left
        out (with its error in the result) and the rest sent; otherwise the error is raised.

        `permits` (one per registration, `NO_PERMIT` where none): the contributors' EIP-2612 permits for their
        bonds (`sign_bond_permit`; one per contributor, for the sum of its entries, on one of them); the batches
        then go through the bond vault's `registerContributionsForWithPermits`. A left-out entry's permit moves to
        its contributor's next entry.

        Raises:
            ContractRevertError: an entry is invalid (`batch_index` names it) and `skip_invalid` is off.
        """
        skipped: list[tuple[SignedContribution, ContractRevertError]] = []
        if permits is not None and len(permits) != len(registrations):
            raise InputError(f"{len(permits)} permits for {len(registrations)} registrations: give one per entry "
                             "(NO_PERMIT where none)")
        Entry = tuple[SignedContribution, BondPermit]
        entries: list[Entry] = list(zip(registrations, permits or [NO_PERMIT] * len(registrations), strict=True))

        def drop_invalid(remaining: Sequence[Entry], error: ContractRevertError) -> list[Entry]:
            if not skip_invalid or error.batch_index is None:
                raise error
            dropped, permit = remaining[error.batch_index]
            skipped.append((dropped, error))
            kept = [e for i, e in enumerate(remaining) if i != error.batch_index]
            if permit.deadline:  # the contributor's permit moves to its next entry, if any
                for i, (entry, own) in enumerate(kept):
                    if entry.contributor == dropped.contributor and not own.deadline:
                        kept[i] = (entry, permit)
                        break
            return kept

        def call(chunk: Sequence[Entry]) -> Calldata:
            signed = [r.as_tuple() for r, _ in chunk]
            if permits is None:
                return Calldata.of(self.registry, "registerContributionsFor", model_id, signed)
            return Calldata.of(self.bond_vault(), "registerContributionsForWithPermits", model_id, signed,
                               [p.as_tuple() for _, p in chunk])

        receipts = self.chain.transact_in_chunks(entries, call, relayer, gas_target=gas_target, first_guess=20,
                                                 on_revert=drop_invalid, progress=progress)
        ids = [cid for receipt in receipts for cid in self._contribution_ids(receipt)]
        return RelayedBatches(ids, receipts, skipped, self._already_registered(receipts))

    def register_contribution_for_with_permit(
        self, relayer: LocalAccount, model_id: int, registration: SignedContribution, permit: BondPermit,
    ) -> tuple[ContributionId, TxReceipt]:
        """`register_contribution_for` with the contributor's EIP-2612 permit for its bond (`sign_bond_permit`),
        through the bond vault: one transaction, sent and paid by the relayer; the contributor sends none."""
        function = self.bond_vault().functions.registerContributionForWithPermit(
            model_id, registration.as_tuple(), permit.as_tuple())
        receipt = self.chain.transact(function, relayer)
        return self._contribution_ids(receipt)[0], receipt

    def bond_permit_domain(self, model_id: int) -> PermitDomain | None:
        """The EIP-2612 domain of the model's payment token (None: the token has no permit; approve the vault)."""
        return permit_domain(self.erc20(self.get_model(model_id).payment_token))

    def sign_bond_permit(self, contributor: LocalAccount, model_id: int, value: int, deadline: int, *,
                         domain: PermitDomain | None = None) -> BondPermit:
        """`contributor`'s EIP-2612 permit letting the bond vault take `value` of the model's payment token until
        `deadline` (its current permit nonce on the token). Signs only; nothing is sent.

        Raises:
            InputError: the payment token has no EIP-2612 permit.
        """
        domain = domain or self.bond_permit_domain(model_id)
        if domain is None:
            raise InputError(f"the payment token of model {model_id} has no EIP-2612 permit: approve the bond vault "
                             "instead (`approve_bond`)")
        nonce = int(self.erc20(domain.token).functions.nonces(contributor.address).call())
        return sign_permit(contributor, domain, self.bond_vault().address, value, nonce, deadline)

    def _already_registered(self, receipts: Sequence[TxReceipt]) -> list[tuple[SignedContribution, ContributionId]]:
        """The entries each batch's `BatchEntrySkipped` events name, read back from the batch's own calldata
        (the event gives the entry's index within its transaction, and the chunking is the chain module's)."""
        found: list[tuple[SignedContribution, ContributionId]] = []
        for receipt in receipts:
            if not self._registry_logs(receipt, "BatchEntrySkipped"):  # decoding every log of every batch to find out is slow
                continue
            events = self.registry.events.BatchEntrySkipped().process_receipt(receipt, errors=DISCARD)
            sent = self.chain.w3.eth.get_transaction(receipt["transactionHash"])
            through_vault = self.bonds is not None and to_checksum_address(sent["to"]) == self.bonds.address
            _, params = (self.bonds if through_vault else self.registry).decode_function_input(sent["input"])
            entries = params["registrations"]
            for event in events:
                sent_entry = entries[event["args"]["index"]]  # web3 decodes the struct as a dict by field name
                entry = SignedContribution(
                    to_checksum_address(sent_entry["contributor"]), ContributionKind(sent_entry["kind"]),
                    bytes(sent_entry["contentHash"]), sent_entry["uri"], bytes(sent_entry["salt"]),
                    int(sent_entry["deadline"]), bytes(sent_entry["signature"]))
                found.append((entry, ContributionId(event["args"]["contributionId"])))
        return found

    def commit_evaluation(self, owner: LocalAccount, model_id: int, round_id: int, eval_hash: bytes) -> TxReceipt:
        """Commit the keccak256 hash of round `round_id`'s evaluation set (the model owner, once)."""
        return self.chain.transact(self.registry.functions.commitEvaluation(model_id, round_id, eval_hash), owner)

    def reveal_evaluation(self, owner: LocalAccount, model_id: int, round_id: int, uri: str) -> TxReceipt:
        """Announce where round `round_id`'s committed evaluation set is published."""
        return self.chain.transact(self.registry.functions.revealEvaluation(model_id, round_id, uri), owner)

    def evaluation_commitment(self, model_id: int, round_id: int) -> tuple[bytes, int]:
        """(evaluation-set hash, block) committed for the round; (32 zero bytes, 0) if none."""
        eval_hash, committed_at, _committer = self.registry.functions.evaluationCommitment(model_id, round_id).call()
        return bytes(eval_hash), int(committed_at)

    def get_contribution(self, contribution_id: int) -> ContributionRecord:
        """What the registry stores for the contribution.

        Raises:
            ContractRevertError: `ContributionRegistryUnknownContribution(id)`.
        """
        try:
            raw = self.registry.functions.getContribution(contribution_id).call()
        except Exception as exc:  # noqa: BLE001
            raise decode_revert(exc) from exc
        model_id, contributor, kind, withdrawn, displaced, registered_at, content_hash = raw
        return ContributionRecord(ContributionId(contribution_id), ModelId(model_id), to_checksum_address(contributor),
                                  ContributionKind(kind), bool(withdrawn), bool(displaced), int(registered_at),
                                  bytes(content_hash))

    def withdraw_contribution(self, contributor: LocalAccount, contribution_id: int) -> TxReceipt:
        """Take the contribution out of future rounds (its contributor only, once)."""
        return self.chain.transact(self.registry.functions.withdrawContribution(contribution_id), contributor)

    def contributions(self, model_id: int | None = None) -> list[Contribution]:
        """Every registered contribution (of one model if given), rebuilt from the registry's events."""
        logs = [log for log in self.events(self.registry.address, ("ContributionRegistered", "ContributionWithdrawn",
                                                                  "ContributionDisplaced"))
                if model_id is None or log.args["modelId"] == model_id]
        changed = {(log.event, log.args["contributionId"]) for log in logs if log.event != "ContributionRegistered"}
        result = [
            Contribution(
                contribution_id=ContributionId(log.args["contributionId"]),
                model_id=ModelId(log.args["modelId"]),
                contributor=log.args["contributor"],
                kind=ContributionKind(log.args["kind"]),
                content_hash=bytes.fromhex(log.args["contentHash"][2:]),
                uri=log.args["uri"],
                block_number=log.block_number,
                withdrawn=("ContributionWithdrawn", log.args["contributionId"]) in changed,
                displaced=("ContributionDisplaced", log.args["contributionId"]) in changed,
            )
            for log in logs
            if log.event == "ContributionRegistered"
        ]
        return sorted(result, key=lambda c: c.contribution_id)

    def _contribution_ids(self, receipt: TxReceipt) -> list[ContributionId]:
        # The id is the event's first indexed topic, read straight from the receipt: web3's process_receipt decodes
        # every field of every log (a third of the relayer's time in a batch of a few hundred registrations).
        return [ContributionId(int.from_bytes(bytes(log["topics"][1]), "big"))
                for log in self._registry_logs(receipt, "ContributionRegistered")]

    def _registry_logs(self, receipt: TxReceipt, event: str) -> list[Any]:
        """The receipt's logs of the registry's `event`."""
        topic = bytes.fromhex(self.registry.events[event].topic[2:])
        address = self.registry.address.lower()
        return [log for log in receipt["logs"]
                if log["topics"] and bytes(log["topics"][0]) == topic and str(log["address"]).lower() == address]

    # ----- usage fees

    def pay_usage(self, payer: LocalAccount, model_id: int, amount: int) -> TxReceipt:
        """Approve the registry if needed, then pay `amount` of usage fees for `model_id`."""
        model = self.get_model(model_id)
        token = self.erc20(model.payment_token)
        balance = int(token.functions.balanceOf(payer.address).call())
        if balance < amount:
            decimals = int(token.functions.decimals().call())
            symbol = str(token.functions.symbol().call())
            hint = "; on a local chain `openledger faucet AMOUNT` mints some" if self.chain.is_local else ""
            raise InputError(
                f"{payer.address} holds {_units(balance, decimals)} {symbol} of the payment token "
                f"{model.payment_token}, needs {_units(amount, decimals)} {symbol}{hint}"
            )
        allowance = int(token.functions.allowance(payer.address, self.registry.address).call())
        try:
            if allowance < amount:
                self.chain.transact(token.functions.approve(self.registry.address, amount), payer)
            return self.chain.transact(self.registry.functions.payUsage(model_id, amount), payer)
        except ContractRevertError as exc:
            raise self._in_units_of(exc, model.payment_token)

    def _in_units_of(self, error: ContractRevertError, token: str) -> ContractRevertError:
        """`error` again, its token amounts in `token`'s units (a payment token has decimals of its own); `error`
        itself if it has none."""
        hint = HINTS.get(error.name)
        if hint is None or not hint.token or error.batch_index is not None:
            return error
        erc20 = self.erc20(token)
        units = TokenUnits(int(erc20.functions.decimals().call()), str(erc20.functions.symbol().call()))
        better = revert_error(error.name, error.error_args, token=units)
        better.__cause__ = error
        return better

    def fees_of(self, model_id: int, account: str) -> int:
        return int(self.stake_token(model_id).functions.feesOf(to_checksum_address(account)).call())

    def withdraw_fees(self, holder: LocalAccount, model_id: int) -> tuple[int, TxReceipt]:
        token = self.stake_token(model_id)
        try:
            receipt = self.chain.transact(token.functions.withdrawFees(), holder)
        except ContractRevertError as exc:  # fees owed are in the payment token's units
            raise self._in_units_of(exc, self.get_model(model_id).payment_token)
        (event,) = token.events.FeesWithdrawn().process_receipt(receipt, errors=DISCARD)
        return int(event["args"]["amount"]), receipt

    def owner_fees(self, owner: str, token: str) -> int:
        """Usage fees in `token` credited to `owner` as a model owner and not withdrawn yet."""
        return int(self.registry.functions.ownerFees(to_checksum_address(owner), to_checksum_address(token)).call())

    def withdraw_owner_fees(self, owner: LocalAccount, token: str, to: str | None = None) -> tuple[int, TxReceipt]:
        """Send all of `owner`'s model-owner fees in `token` to `to` (default: the owner); returns (amount, receipt).

        Raises:
            ContractRevertError: `ContributionRegistryNoOwnerFees` (nothing credited), or the token's own
                error when it refuses the transfer (then withdraw `to` another address).
        """
        recipient = to_checksum_address(to or owner.address)
        function = self.registry.functions.withdrawOwnerFees(to_checksum_address(token), recipient)
        try:
            receipt = self.chain.transact(function, owner)
        except ContractRevertError as exc:
            raise self._in_units_of(exc, token)
        (event,) = self.registry.events.OwnerFeesWithdrawn().process_receipt(receipt, errors=DISCARD)
        return int(event["args"]["amount"]), receipt

    def fee_report(self, model_id: int, accounts: Sequence[str] = ()) -> dict[str, Any]:
        """Where a model's usage fees went: owner's total credited (and what its current owner has not withdrawn
        yet, in the model's payment token, from every model it owns), held for first holders, per-holder fees."""
        model = self.get_model(model_id)
        stake = self.stake_token(model_id)
        payments = [p.args for p in self.events(self.registry.address, ("UsagePaid",)) if p.args["modelId"] == model_id]
        return {
            "model_id": model_id,
            "payment_token": model.payment_token,
            "owner": model.owner,
            "owner_pending": self.owner_fees(model.owner, model.payment_token),
            "paid": sum(int(p["amount"]) for p in payments),
            "to_owner": sum(int(p["ownerAmount"]) for p in payments),
            "to_holders": sum(int(p["holdersAmount"]) for p in payments),
            "held_for_first_holders": int(stake.functions.heldFees().call()),
            "stake_supply": int(stake.functions.totalSupply().call()),
            "holders": {a: int(stake.functions.feesOf(to_checksum_address(a)).call()) for a in accounts},
        }

    # ----- contribution bonds (issue 23)

    def bond_vault(self) -> Contract:
        """The ContributionBonds vault; raises DeploymentError on a deployment made before it existed."""
        if self.bonds is None:
            raise DeploymentError(f"the deployment on {self.chain.network} has no ContributionBonds vault (it predates "
                                  "bonds); the deployer redeploys with `openledger deploy --force`")
        return self.bonds

    def bond_policy(self, model_id: int) -> BondPolicy:
        """The model's bond policy (all zero: no bond, also on a deployment without a vault)."""
        if self.bonds is None:
            return BondPolicy(0, 0, 0)
        amount, pending_amount, pending_from = self.bonds.functions.bondPolicy(model_id).call()
        return BondPolicy(int(amount), int(pending_amount), int(pending_from))

    def bond_amount(self, model_id: int) -> int:
        """The bond a registration in the model mined in the next block posts (0: none)."""
        return self.bond_policy(model_id).amount_at(int(self.chain.w3.eth.block_number) + 1)

    def set_bond_policy(self, owner: LocalAccount, model_id: int, amount: int) -> TxReceipt:
        """Set the bond per registration (a cut at once, a raise after the contract's delay; 0: none)."""
        try:
            return self.chain.transact(self.bond_vault().functions.setBondPolicy(model_id, amount), owner)
        except ContractRevertError as exc:
            raise self._in_units_of(exc, self.get_model(model_id).payment_token)

    def approve_bond(self, contributor: LocalAccount, model_id: int, count: int = 1) -> int:
        """Approve the vault for exactly the bonds of `count` registrations in the model (the bond in force in the
        next block, times `count`); returns that total, 0 (and no transaction) for a model without a bond.

        Raises:
            InputError: the contributor holds less of the payment token than the bonds.
        """
        total = self.bond_amount(model_id) * count
        if total == 0:
            return 0
        model = self.get_model(model_id)
        token = self.erc20(model.payment_token)
        balance = int(token.functions.balanceOf(contributor.address).call())
        if balance < total:
            decimals, symbol = int(token.functions.decimals().call()), str(token.functions.symbol().call())
            hint = "; on a local chain `openledger faucet AMOUNT` mints some" if self.chain.is_local else ""
            raise InputError(f"{contributor.address} holds {_units(balance, decimals)} {symbol}, but the bond of model "
                             f"{model_id} is {_units(total, decimals)} {symbol}{hint}")
        self.chain.transact(token.functions.approve(self.bond_vault().address, total), contributor)
        return total

    def bond_of(self, contribution_id: int) -> Bond:
        """The contribution's bond (amount 0, status "none" if it posted none)."""
        if self.bonds is None:
            return Bond(ContributionId(contribution_id), 0, 0, "none")
        amount, until, status = self.bonds.functions.bondOf(contribution_id).call()
        return Bond(ContributionId(contribution_id), int(amount), int(until), BOND_STATUSES[int(status)])

    def bonds_root(self, model_id: int, round_id: int) -> bytes:
        """The final round's bonds root (32 zero bytes: not final, or it decides no bond)."""
        return bytes(self.distributor.functions.bondsRoot(model_id, round_id).call())

    def apply_bond_decisions(self, sender: LocalAccount, model_id: int, round_id: int,
                             decisions: Sequence[tuple[int, int, Sequence[bytes]]]) -> TxReceipt:
        """Send final round `round_id`'s decisions `(contribution id, decision code, proof)`; anyone may."""
        return self.chain.transact(
            self.bond_vault().functions.applyBondDecisions(model_id, round_id, [(c, d, list(p)) for c, d, p in decisions]),
            sender)

    def claim_bond(self, contributor: LocalAccount, contribution_id: int) -> tuple[int, TxReceipt]:
        """Take back a released bond (or a withdrawn contribution's refund); returns (amount, receipt)."""
        vault = self.bond_vault()
        receipt = self.chain.transact(vault.functions.claimBond(contribution_id), contributor)
        (event,) = vault.events.BondClaimed().process_receipt(receipt, errors=DISCARD)
        return int(event["args"]["amount"]), receipt


def _ascending_wraps(members: Sequence[str], wraps: Sequence[bytes]) -> tuple[list[str], list[bytes]]:
    """`members` (checksummed) and their `wraps` in ascending address order, the order CommitteeKeys requires.
    Lists of different lengths are passed on as they are, for the contract to name the mismatch."""
    addresses = [to_checksum_address(m) for m in members]
    if len(addresses) != len(wraps):
        return addresses, [bytes(w) for w in wraps]
    pairs = sorted(zip(addresses, (bytes(w) for w in wraps), strict=True), key=lambda p: int(p[0], 16))
    return [m for m, _ in pairs], [w for _, w in pairs]


def _units(amount: int, decimals: int) -> str:
    """Base units as a decimal token amount: 390000000000000000000 (18 decimals) -> '390'."""
    whole, fraction = divmod(amount, 10**decimals)
    return f"{whole:,}" + (f".{fraction:0{decimals}d}".rstrip("0") if fraction else "")


def registration_typed_data(
    chain_id: int,
    registry: str,
    model_id: int,
    kind: ContributionKind,
    content_hash: bytes,
    uri: str,
    salt: bytes,
    contributor: str,
    nonce: int,
    deadline: int,
) -> dict[str, Any]:
    """The EIP-712 message a contributor signs for `registerContributionFor`."""
    message = {
        "modelId": model_id,
        "kind": int(kind),
        "contentHash": content_hash,
        "uri": uri,
        "salt": salt,
        "contributor": to_checksum_address(contributor),
        "nonce": nonce,
        "deadline": deadline,
    }
    return typed_data(
        "OpenLedger ContributionRegistry", "1", chain_id, registry, "RegisterContribution", REGISTRATION_FIELDS, message
    )


def new_salt() -> bytes:
    return os.urandom(32)


def contribution_commitment(
    chain_id: int, registry: str, model_id: int, contributor: str, kind: ContributionKind, content_hash: bytes,
    salt: bytes,
) -> bytes:
    """keccak256(abi.encode(chainId, registry, modelId, contributor, kind, contentHash, salt)), as the registry
    computes it: it hides the content hash until the registration reveals it."""
    return keccak(abi_encode(
        ["uint256", "address", "uint256", "address", "uint8", "bytes32", "bytes32"],
        [chain_id, to_checksum_address(registry), model_id, to_checksum_address(contributor), int(kind), content_hash,
         salt],
    ))
