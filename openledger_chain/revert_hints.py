"""What every custom error of the deployed contracts means, and what to do next: one table.

`HINTS` has one entry per error in the committed artifacts' ABIs: ours, and those of the OpenZeppelin
contracts they inherit (TimelockController, AccessControl, ERC-20, ERC20Permit, EIP712, ECDSA, Nonces,
ShortStrings, Pausable, ReentrancyGuard, SafeERC20, Address). `tests/test_errors.py` walks those ABIs and
fails on an error without an entry, or an entry without an error, so no new error ships unexplained.

`describe` renders a decoded revert as one line:

    transaction reverted: RewardDistributorNoPendingRound(1, 0); model 1 has no pending round; ...

with its arguments as people read them: roles by name, times as dates, timelock states by name, amounts in
token units (stake has 18 decimals; another token's amounts in its own units when the caller knows them,
else marked as base units), every digit that is not zero kept: one base unit over a limit shows. A read (an
`eth_call`) that reverts says "the chain refused the read".
"""

from __future__ import annotations

import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from eth_utils import is_address, to_checksum_address

from openledger_chain.units import STAKE_DECIMALS, format_amount

#: How a revert is introduced: a transaction (estimated or sent) and a read call.
TRANSACTION_REVERTED = "transaction reverted"
READ_REFUSED = "the chain refused the read"

# The two-party advice for a deployment that must be made again (also in deployments.py's messages).
REDEPLOY = ("the deployer runs `openledger deploy --force` (on a fresh local chain) and everyone else gets the new "
            "deployments/<network>.json from the deployer")


class TokenUnits(NamedTuple):
    """The token an error's `token` amounts are in, when the caller knows it (e.g. the payment token)."""

    decimals: int
    symbol: str


# What a hint's callable parts receive: each argument rendered (`shown`) and as decoded (`raw`), by name.
Part = str | Callable[[Mapping[str, str], Mapping[str, Any]], str]


@dataclass(frozen=True)
class Hint:
    """One error's explanation (`says`) and next step (`do`): templates over the error's argument names
    (`{modelId}`), or functions of (shown, raw) arguments where the wording depends on a value.

    `stake`, `token` and `time` name the arguments shown as stake amounts (18 decimals), amounts of the
    reverting token (payment token or stake: decimals given by the caller, else base units), and unix times.
    """

    says: Part
    do: Part = ""
    stake: tuple[str, ...] = ()
    token: tuple[str, ...] = ()
    time: tuple[str, ...] = ()


# keccak256 of each role's name (tests/test_errors.py recomputes them), so a revert names the role.
ROLE_NAMES = {
    "00" * 32: "DEFAULT_ADMIN_ROLE",
    "55435dd261a4b9b3364963f7738a7a662ad9c84396d64be3365284bb7f0a5041": "GUARDIAN_ROLE",
    "65d7a28e3265b37a6474929f336521b332c1681b933f6cb9f3376673440d862a": "PAUSER_ROLE",
    "b09aa5aeb3702cfd50b6b62bc4532604938f21248a27a1d5ca736082b6819cc1": "PROPOSER_ROLE",
    "d8aa0f3194971a2a116679f7c2090f6939c8d4e01a2a8d7e41d55e5351469e63": "EXECUTOR_ROLE",
    "fd643c72710c63c0180259aba6b2d05451e3591a24e58b62239378085726f783": "CANCELLER_ROLE",
}
_ROLE_HOLDERS = {
    "DEFAULT_ADMIN_ROLE": "the admin is the AdminTimelock: change it with `openledger admin schedule` and "
                          "`openledger admin execute`",
    "GUARDIAN_ROLE": "sign as the guardian (named at deployment; `--dev-account 0` on local chains)",
    "PAUSER_ROLE": "sign as the guardian, which also pauses (named at deployment; `--dev-account 0` on local chains)",
    "PROPOSER_ROLE": "sign as the deployer, the timelock's proposer (`--dev-account 0` on local chains)",
    "EXECUTOR_ROLE": "sign as the deployer, the timelock's executor (`--dev-account 0` on local chains)",
    "CANCELLER_ROLE": "sign as a canceller of the timelock (the deployer)",
}

#: OpenZeppelin TimelockController.OperationState, in order: bit i of `expectedStates` stands for state i.
OPERATION_STATES = ("Unset", "Waiting", "Ready", "Done")

#: Solidity's Panic(uint256) codes.
PANIC_CODES = {
    0x00: "a generic compiler panic", 0x01: "an assert failed", 0x11: "an arithmetic overflow or underflow",
    0x12: "a division or modulo by zero", 0x21: "a value out of an enum's range", 0x22: "corrupt storage bytes",
    0x31: "pop() on an empty array", 0x32: "an array index out of bounds", 0x41: "too much memory allocated",
    0x51: "a call to an uninitialized function",
}


def operation_states(bitmap: bytes | int) -> str:
    """A TimelockController `expectedStates` bitmap as state names: 0x…04 -> 'Ready', 0x…06 -> 'Waiting or
    Ready'."""
    value = int.from_bytes(bitmap, "big") if isinstance(bitmap, bytes) else int(bitmap)
    names = [name for i, name in enumerate(OPERATION_STATES) if value >> i & 1]
    return " or ".join(names) if names else "no state"


def _pending_round(shown: Mapping[str, str], raw: Mapping[str, Any]) -> str:
    if raw["roundId"] == 0:
        return f"model {shown['modelId']} has no pending round"
    return f"round {shown['roundId']} is not model {shown['modelId']}'s pending round"


def _timelock_state(shown: Mapping[str, str], raw: Mapping[str, Any]) -> str:
    expected = shown["expectedStates"]
    if expected == "Unset":
        return "this admin operation is already scheduled (or done): the same change is scheduled once"
    if expected == "Ready":
        return ("this admin operation is not Ready: still Waiting for the timelock's delay, never scheduled (Unset), "
                "or already executed (Done)")
    if expected == "Waiting or Ready":
        return "this admin operation is not pending (Waiting or Ready): it already ran (Done) or was never scheduled"
    return f"this admin operation is not {expected}"


def _threshold(shown: Mapping[str, str], raw: Mapping[str, Any]) -> str:
    # Out of range when set, unreachable after removing an oracle (oracleCount is then the count left), or unchanged.
    threshold, oracles = raw["threshold"], raw["oracleCount"]
    if threshold == 0:
        return "a threshold of 0: at least one oracle must sign"
    if threshold > oracles:
        return f"a threshold of {threshold} needs {threshold} oracles, and there would be {oracles}"
    return f"a threshold of {threshold} is the current one"


def _timelock_next(shown: Mapping[str, str], raw: Mapping[str, Any]) -> str:
    if shown["expectedStates"] == "Unset":
        return "`openledger admin list` shows it and when it can run; run it then with `openledger admin execute`"
    return "`openledger admin list` shows each scheduled change, its status and when it can run"


def _role_holder(shown: Mapping[str, str], raw: Mapping[str, Any]) -> str:
    return _ROLE_HOLDERS.get(shown["neededRole"], "sign with an account that holds that role")


def _panic(shown: Mapping[str, str], raw: Mapping[str, Any]) -> str:
    return f"the contract hit {PANIC_CODES.get(raw['code'], 'an unknown panic')} (Panic 0x{raw['code']:02x})"


# One entry per custom error in the ABIs, grouped by contract (an error several contracts share is listed
# with the first). Built-in `Error(string)` and `Panic(uint256)` close the table.
HINTS: dict[str, Hint] = {
    # ----- ContributionRegistry
    "ContributionBondsNotRegistry": Hint(
        "{caller} is not the registry: only the registry posts bonds and reports withdrawals",
        "register or withdraw through the registry (`openledger contribute`)"),
    "ContributionBondsNotModelOwner": Hint(
        "{caller} is not the owner of model {modelId}: only its owner sets its bond",
        "sign as the owner (`openledger model show {modelId}` names it)"),
    "ContributionBondsNotContributor": Hint(
        "{caller} did not make contribution {contributionId}: only its contributor claims its bond",
        "sign with the contributor's key"),
    "ContributionBondsPolicyUnchanged": Hint(
        "model {modelId}'s bond is already {amount} (in force or pending)", "nothing to do", token=("amount",)),
    "ContributionBondsTransferFailed": Hint(
        "the bond vault could not take the bond of {amount} from {contributor}",
        "the contributor approves the bond vault (`bondVault` of the registry) for the bond and holds it in the "
        "model's payment token", token=("amount",)),
    "ContributionBondsPermitCountMismatch": Hint(
        "a relayed batch of {registrations} registrations came with {permits} permits: one per registration",
        "send one permit per registration, with deadline 0 for a contributor who approved the vault itself "
        "(`openledger contribute` builds the list)"),
    "ContributionBondsShortfall": Hint(
        "the payment token delivered {received} of a bond of {amount} (it takes a fee on transfers)",
        "bonds need a payment token that delivers what is sent: the model's owner sets the bond to 0",
        token=("amount", "received")),
    "ContributionBondsRootNotFinal": Hint(
        "round {roundId} of model {modelId} has no final bonds root: it is pending, was vetoed, decided no bond, "
        "or does not exist", "apply a round's bond decisions once it is final (`openledger round status`)"),
    "ContributionBondsNotInModel": Hint(
        "contribution {contributionId} is not in model {modelId}", "apply each model's decisions with its own rounds"),
    "ContributionBondsNoBond": Hint(
        "contribution {contributionId} posted no bond", "leave it out of the decisions"),
    "ContributionBondsInvalidProof": Hint(
        "round {roundId}'s bonds root does not hold decision {decision} (1 release, 2 forfeit) for contribution "
        "{contributionId}", "take the decision and its proof from that round's file"),
    "ContributionBondsNotForfeitable": Hint(
        "contribution {contributionId} was withdrawn: only rounds up to {forfeitableUntilRound} may forfeit its bond, "
        "while no later round is final (round {roundId} tried; the latest final round is {finalRoundId})",
        "nothing to do: its contributor takes the bond back"),
    "ContributionBondsNotClaimable": Hint(
        "contribution {contributionId}'s bond is not claimable (status {status}: 0 none, 1 held, 2 released, "
        "3 forfeited, 4 paid; a withdrawn one comes back once round {refundAfterRound} is final, 0: not withdrawn; "
        "the latest final round is {finalRoundId})",
        "wait for a final round that releases it, or for the refund round of a withdrawn contribution"),
    "ContributionRegistryBondVaultAlreadySet": Hint(
        "the registry's bond vault is already {bondVault}; it is set once, at deployment", "nothing to do"),
    "ContributionRegistryAlreadyWithdrawn": Hint(
        "contribution {contributionId} is already withdrawn", "nothing to do: no later round values it"),
    "ContributionRegistryBatchEntryInvalid": Hint(
        "entry {index} of the batch is invalid (its own error is shown in place of this one when it decodes)",
        "fix or leave out that entry and send the batch again"),
    "ContributionRegistryCommitmentExpired": Hint(
        "commitments must be registered within 256 blocks", "commit again (`openledger contribute` does both steps)"),
    "ContributionRegistryContentClaimed": Hint(
        "{holder} registered content {contentHash} first (its commitment from block {committedAt}); the earliest "
        "commitment keeps a content in every model", "nothing to register: the content is someone else's"),
    "ContributionRegistryDuplicateContent": Hint(
        "this content is already registered for the model (the oldest commitment wins)",
        "it is contribution {existingId}; `openledger contributions list --model {modelId}` shows it"),
    "ContributionRegistryEmptyBatch": Hint("the batch has no entry", "send at least one entry"),
    "ContributionRegistryEvaluationAlreadyCommitted": Hint(
        "round {roundId}'s evaluation set of model {modelId} is already committed ({evalHash}); it is committed once",
        "use the committed file, or commit the next round's set with a later --round"),
    "ContributionRegistryEvaluationInUse": Hint(
        "model {modelId}'s pending round {roundId} was submitted on its committed evaluation set, which a new owner "
        "cannot replace now", "the guardian vetoes that round first if the set is not the model's"),
    "ContributionRegistryEvaluationNotCommitted": Hint(
        "round {roundId}'s evaluation set of model {modelId} was never committed",
        "the model owner commits it first (`openledger round commit-eval`)"),
    "ContributionRegistryEvaluationRoundOutOfRange": Hint(
        "model {modelId}'s next round is {nextRoundId}: round {roundId}'s evaluation set cannot be committed now "
        "(only the next round or the one after)", "commit with `--round {nextRoundId}` (or the one after)"),
    "ContributionRegistryExpiredSignature": Hint(
        "the signed registration's deadline {deadline} has passed", "the contributor signs it again with a later "
        "deadline", time=("deadline",)),
    "ContributionRegistryInvalidEmissionPolicy": Hint(
        "an emission of {emissionPerRound} per round with {maxEmission} at most is not a policy: both must be above "
        "0 and a round at most the maximum", "choose --emission-per-round above 0 and at most --max-emission",
        stake=("emissionPerRound", "maxEmission")),
    "ContributionRegistryInvalidEvaluation": Hint(
        "an evaluation commitment needs a round from 1 and a non-zero hash (round {roundId}, hash {evalHash})",
        "commit with `openledger round commit-eval --round N FILE`"),
    "ContributionRegistryInvalidShare": Hint(
        "a fee share of {contributorShareBps} basis points is over 10,000 (100%)", "give --share-bps from 0 to 10000"),
    "ContributionRegistryInvalidSignature": Hint(
        "the registration is not signed by {contributor}",
        "that contributor signs exactly this registration (model, kind, content hash, URI, salt, nonce, deadline)"),
    "ContributionRegistryNotCommitted": Hint(
        "no commitment {commitment} was mined in an earlier block (committed at block {committedAt}; 0: never)",
        "commit first and register in a later block (`openledger contribute` does both)"),
    "ContributionRegistryNotContributor": Hint(
        "{caller} did not make contribution {contributionId}", "only its contributor withdraws it: sign with that key"),
    "ContributionRegistryNotModelOwner": Hint(
        "{caller} is not the owner of model {modelId}: only its owner commits and reveals its evaluation sets and "
        "hands the model on", "sign as the owner (`openledger model show {modelId}` names it; --dev-account 4 on local "
        "chains)"),
    "ContributionRegistryNotPendingModelOwner": Hint(
        "{caller} is not the pending owner of model {modelId}",
        "the account the owner named accepts the transfer, with its own key"),
    "ContributionRegistryStakeMinterAlreadySet": Hint(
        "the registry's stake minter is already {minter}; it is set once, at deployment", "nothing to do"),
    "ContributionRegistryStakeMinterNotSet": Hint(
        "the registry has no stake minter: its deployment did not finish", REDEPLOY),
    "ContributionRegistryUnknownContribution": Hint(
        "no contribution {contributionId} is registered on this deployment",
        "`openledger contributions list` lists those that are"),
    "ContributionRegistryUnknownModel": Hint(
        "no model {modelId} is registered on this deployment", "`openledger model list` lists those that are"),
    "ContributionRegistryZeroAddress": Hint(
        "an address given is the zero address", "give a real address (payment token, owner, minter)"),
    "ContributionRegistryZeroContentHash": Hint(
        "a content hash of zero", "register the keccak256 of the file (`openledger contribute FILE` computes it)"),
    "ContributionRegistryInvalidFeeRecipient": Hint(
        "owner fees cannot be sent to {to} (the zero address or the registry itself, where nobody could withdraw them)",
        "give another address with --to"),
    "ContributionRegistryNoOwnerFees": Hint(
        "{owner} has no model-owner fees in the token {token} to withdraw",
        "owner fees are credited by usage payments of a model {owner} owns; see `openledger fees show --model ID`"),
    "ContributionRegistryZeroPayment": Hint("a usage payment of 0", "pay a positive amount"),
    "InvalidAccountNonce": Hint(
        "the signature uses a spent or future nonce of {account} (its current nonce is {currentNonce})",
        "sign again with the current nonce: each nonce is used once"),
    "InvalidShortString": Hint(
        "a name or version is longer than a short string holds (31 bytes)", "use a shorter name or symbol"),
    "ReentrancyGuardReentrantCall": Hint(
        "a call re-entered the contract during a token transfer, and was refused",
        "the payment token called back into the contract: pay with a standard ERC-20"),
    "SafeERC20FailedOperation": Hint(
        "token {token} refused a transfer or approval (it reverted without a reason, or returned false)",
        "check the payer's balance and allowance in that token, and that it is a standard ERC-20"),
    "StringTooLong": Hint(
        "the string {str} is longer than a short string holds (31 bytes)", "use a shorter name or symbol"),
    "AccessControlBadConfirmation": Hint(
        "an account renounces only its own role: the confirmation must be the caller's address",
        "renounce from the account that holds the role, passing its own address"),
    "AccessControlUnauthorizedAccount": Hint("{account} does not hold {neededRole}", _role_holder),
    "BlacklistPaymentTokenBlacklisted": Hint(
        "the payment token refuses {account} (a blacklist, as USDC and USDT keep)",
        "send to or from another address (owner fees: `openledger fees withdraw-owner --to ADDRESS`)"),
    # ----- RewardDistributor
    "EnforcedPause": Hint(
        "the contract is paused",
        "submitting, publishing, finalizing and claiming wait until the guardian unpauses; a veto still works"),
    "ExpectedPause": Hint("the contract is not paused", "nothing to unpause"),
    "ECDSAInvalidSignature": Hint(
        "a signature recovers to no account", "sign again: a 65-byte secp256k1 signature (r, s, v)"),
    "ECDSAInvalidSignatureLength": Hint(
        "a signature of {length} bytes; 65 are expected", "sign again: a 65-byte secp256k1 signature (r, s, v)"),
    "ECDSAInvalidSignatureS": Hint(
        "a malleable signature (its s, {s}, is in the upper half of the curve order)",
        "sign again with a standard signer (eth-account signs with a low s)"),
    "RewardDistributorChallengeWindowClosed": Hint(
        "the challenge window ended at {endedAt} and the round's score list is complete: it can no longer be vetoed",
        "anyone can finalize it now (`openledger round finalize`)", time=("endedAt",)),
    "RewardDistributorChallengeWindowOpen": Hint(
        "the challenge window is open until {endsAt}", "wait until the challenge window ends, then finalize",
        time=("endsAt",)),
    "RewardDistributorCumulativeMismatch": Hint(
        "the round's cumulative emission {cumulativeEmission} is not the last final round's plus this round's "
        "emission ({expected})", "propose the round again from the chain as it is now (`openledger round propose`)",
        stake=("expected", "cumulativeEmission")),
    "RewardDistributorEmissionOverPolicy": Hint(
        "a round emitting {emission} (to {cumulativeEmission} in all) is over the model's emission policy",
        "propose with a smaller --emission (`openledger model show` gives the per-round and total maximum)",
        stake=("emission", "cumulativeEmission")),
    "RewardDistributorEmptyScoreChunk": Hint(
        "a score chunk for round {roundId} of model {modelId} has no entry",
        "publish at least one entry (`openledger round submit` does)"),
    "RewardDistributorEvaluationNotCommitted": Hint(
        "the owner of model {modelId} has not committed round {roundId}'s evaluation set, so no round {roundId} "
        "can be submitted",
        "the model owner commits it first (`openledger round commit-eval`), then submit again"),
    "RewardDistributorGuardianIsAdmin": Hint(
        "the guardian {guardian} would be the admin: the veto must not be in the admin's hands",
        "name another account as guardian"),
    "RewardDistributorInsufficientSignatures": Hint(
        "the round carries {count} valid oracle signatures and needs {threshold}",
        "collect more oracle signatures with `openledger round sign`"),
    "RewardDistributorInvalidChallengeWindow": Hint(
        "a challenge window of {challengeWindow} s is below the deployment's minimum, above 30 days, or the current "
        "one",
        "the window must lie between the deployment's minimum and 30 days, and differ from the current one"),
    "RewardDistributorInvalidProof": Hint(
        "the proof does not show {account} with {cumulativeAmount} in model {modelId}'s final root",
        "claim with `openledger claim --model {modelId}` (it rebuilds the proof from the chain)",
        stake=("cumulativeAmount",)),
    "RewardDistributorInvalidThreshold": Hint(
        _threshold, "change oracles and threshold in an order that keeps the threshold reachable: add an oracle "
        "before raising it, lower it before removing one (`openledger admin schedule`)"),
    "RewardDistributorNoFinalizedRound": Hint(
        "model {modelId} has no final round yet, so nothing can be claimed",
        "`openledger round list --model {modelId}` shows its rounds; claims open once one is finalized"),
    "RewardDistributorNoPendingRound": Hint(
        _pending_round, "`openledger round list --model {modelId}` shows its rounds; a submitted round is pending "
        "until it is finalized or vetoed"),
    "RewardDistributorNotOracle": Hint(
        "{account} is not an oracle", "sign with a current oracle's key (`openledger admin schedule add-oracle` adds "
        "one)"),
    "RewardDistributorNothingToClaim": Hint(
        "everything allocated to this account is already claimed: {account} claimed {claimed}, at least the "
        "{cumulativeAmount} allocated to it",
        "more can be claimed once a later round allocates more", stake=("cumulativeAmount", "claimed")),
    "RewardDistributorOracleAlreadyAdded": Hint("{oracle} is already an oracle", "nothing to do"),
    "RewardDistributorRoundPending": Hint(
        "model {modelId} already has round {pendingRoundId} pending; one round is pending at a time",
        "finalize it after its challenge window (`openledger round finalize --model {modelId}`), or the guardian "
        "vetoes it"),
    "RewardDistributorRoundExpired": Hint(
        "the round's signatures expired at its deadline {deadline} (the block's time was {timestamp})",
        "propose the round again (`openledger round propose --overwrite`) and have it signed anew",
        time=("deadline", "timestamp")),
    "RewardDistributorRoundWasVetoed": Hint(
        "this exact round (digest {digest}) was vetoed and cannot be submitted again",
        "propose a new round (`openledger round propose`)"),
    "RewardDistributorScoresAlreadyComplete": Hint(
        "round {roundId}'s score list of model {modelId} is already complete",
        "nothing to publish: finalize the round once its window ends"),
    "RewardDistributorScoresAmountMismatch": Hint(
        "the published scores allocate {publishedAmount}, more than the round's emission of {emission}",
        "publish the round file's own list (`openledger round submit` resumes it)",
        stake=("publishedAmount", "emission")),
    "RewardDistributorScoresIncomplete": Hint(
        "round {roundId}'s score list of model {modelId} is not completely published",
        "publish the whole score list first (`openledger round submit` resumes it)"),
    "RewardDistributorScoresNotAscending": Hint(
        "score entries must be in strictly ascending account order: {account} comes after {previous}",
        "publish the list in the round file's order (`openledger round submit`)"),
    "RewardDistributorSignersNotAscending": Hint(
        "signatures must be ordered by signer address, each signer once: {signer} comes after {previous}",
        "let `openledger round submit` order the round file's signatures"),
    "RewardDistributorUnauthorizedPublisher": Hint(
        "{caller} is not an oracle: only oracles publish or reset score lists",
        "submit with an oracle's key (--dev-account 1 on local chains)"),
    "RewardDistributorUnexpectedRoundId": Hint(
        "model {modelId}'s next round is {expected}, not {roundId}",
        "propose round {expected} from the chain as it is now (`openledger round propose`)"),
    "RewardDistributorZeroAddress": Hint(
        "an address given is the zero address", "give a real address (oracle, guardian, admin, registry)"),
    "RewardDistributorZeroEmissionRootChanged": Hint(
        "a round that mints nothing must keep model {modelId}'s current root {currentRoot}, not {merkleRoot}: with no "
        "new stake a new tree could only move stake between accounts", "propose it with the current cumulative "
        "amounts, or with an emission"),
    "RewardDistributorZeroRoot": Hint("the round's Merkle root is zero", "propose the round again"),
    # ----- ModelStakeToken (also ERC-20, ERC20Permit)
    "ModelStakeTokenInvalidFeeSupply": Hint(
        "a fee supply of {feeSupply} is below the previous one ({previousFeeSupply}) or the minted supply",
        "the distributor sets it from final rounds: run `openledger verify` on the model's latest round and tell the "
        "guardian", stake=("feeSupply", "previousFeeSupply")),
    "ModelStakeTokenNoFees": Hint(
        "{account} has no fees to withdraw",
        "fees accrue to stake holders as usage is paid (`openledger fees show`)"),
    "ModelStakeTokenNoFeesAvailable": Hint(
        "the stake token holds none of the payment token right now; the fees stay owed ({account} is owed {owed})",
        "withdraw later, once the stake token holds payment tokens again", token=("owed",)),
    "ModelStakeTokenSupplyCapExceeded": Hint(
        "minting would take the stake supply to {supply}, above the final emission of {maxSupply}",
        "run `openledger verify` on the model's latest round and tell the guardian", stake=("supply", "maxSupply")),
    "ModelStakeTokenUnauthorizedMinter": Hint(
        "{caller} is not the stake token's minter (the reward distributor)",
        "stake is minted by claiming (`openledger claim`)"),
    "ERC20InsufficientAllowance": Hint(
        "{spender} may spend {allowance} of the token and needs {needed}",
        "approve at least the amount needed (`openledger usage pay` approves the registry itself)",
        token=("allowance", "needed")),
    "ERC20InsufficientBalance": Hint(
        "{sender} holds {balance} of the token and needs {needed}",
        "get more of the token (on a local chain `openledger faucet AMOUNT` mints the dev payment token)",
        token=("balance", "needed")),
    "ERC20InvalidApprover": Hint("an approval from the zero address ({approver})", "approve from a real account"),
    "ERC20InvalidReceiver": Hint(
        "{receiver} cannot receive the token (the zero address, or the stake token itself)", "send to another address"),
    "ERC20InvalidSender": Hint("a transfer from the zero address ({sender})", "send from a real account"),
    "ERC20InvalidSpender": Hint("an approval to the zero address ({spender})", "approve a real spender"),
    "ERC2612ExpiredSignature": Hint(
        "the permit's deadline {deadline} has passed", "the owner signs a new permit with a later deadline",
        time=("deadline",)),
    "ERC2612InvalidSigner": Hint(
        "the permit is signed by {signer}, not by the owner {owner}", "the owner signs the permit with its own key"),
    # ----- CommitteeKeys
    "CommitteeKeysInvalidMemberCount": Hint(
        "a committee key wrapped to {count} members: it must go to 1 to 64",
        "`openledger keys rewrap` wraps to the current members"),
    "CommitteeKeysInvalidRecipient": Hint(
        "{recipient} is not an encryption key",
        "an encryption key is an age X25519 public key: age1 and 58 bech32 characters"),
    "CommitteeKeysInvalidWrap": Hint(
        "wrapped key {index} is {length} bytes: empty, or over 1,024", "rewrap with `openledger keys rewrap`"),
    "CommitteeKeysKeyUnchanged": Hint(
        "{account} already published this encryption key", "nothing to do"),
    "CommitteeKeysLengthMismatch": Hint(
        "{members} members come with {wraps} wrapped keys", "give one wrapped key per member (`openledger keys rewrap` "
        "does)"),
    "CommitteeKeysMembersNotAscending": Hint(
        "members must be in strictly ascending address order: {member} comes after {previous}",
        "order the members and their wraps by address (`openledger keys rewrap` does)"),
    "CommitteeKeysNoEncryptionKey": Hint(
        "{member} has published no encryption key yet", "that member runs `openledger keys publish`"),
    "CommitteeKeysNotMember": Hint(
        "{account} is not on the committee: only the committee (the distributor's oracles and guardians) posts and "
        "receives committee keys", "membership changes through the admin timelock (`openledger admin schedule`)"),
    "CommitteeKeysUnknownEpoch": Hint(
        "committee key epoch {epoch} does not exist (there are {epochCount}, numbered from 1)",
        "`openledger keys show` lists the epochs"),
    "CommitteeKeysZeroAddress": Hint("CommitteeKeys was given the zero address as distributor", REDEPLOY),
    # ----- AdminTimelock (OpenZeppelin TimelockController)
    "FailedCall": Hint(
        "the timelock's call failed without a reason", "`openledger admin list` shows the scheduled call"),
    "TimelockInsufficientDelay": Hint(
        "a delay of {delay} s is below the timelock's minimum of {minDelay} s",
        "schedule with at least the minimum delay (`openledger admin schedule` does)"),
    "TimelockInvalidOperationLength": Hint(
        "a batch of {targets} targets, {payloads} payloads and {values} values: the three must be as many",
        "give one value and one payload per target"),
    "TimelockUnauthorizedCaller": Hint(
        "{caller} is not the timelock: only the timelock changes its own delay",
        "schedule the delay change through the timelock"),
    "TimelockUnexecutedPredecessor": Hint(
        "the operation's predecessor {predecessorId} has not run yet", "execute the predecessor first "
        "(`openledger admin list`)"),
    "TimelockUnexpectedOperationState": Hint(_timelock_state, _timelock_next),
    # ----- built into Solidity
    "Error": Hint("the contract gave only this reason", "check the command's arguments against it"),
    "Panic": Hint(_panic, "a bug: report it with the command and the chain it ran on"),
}

#: Errors every contract can raise without declaring them in its ABI.
BUILTIN_ERRORS = {"Error": ("message",), "Panic": ("code",)}


def describe(name: str, args: Sequence[Any], arg_names: Sequence[str] | None = None, *,
             doing: str = TRANSACTION_REVERTED, token: TokenUnits | None = None, says: str | None = None) -> str:
    """One line: how it failed (`doing`), the error with its arguments rendered, what it means, what to do.

    `arg_names` are the error's ABI input names (without them no template can be filled: the line then has the
    error alone). `token`: the decimals and symbol of the token the error's token amounts are in. `says`
    replaces the table's explanation with one the caller knows better (e.g. a timelock operation's state now).
    """
    hint = HINTS.get(name)
    names = list(arg_names) if arg_names is not None and len(arg_names) == len(args) else []
    raw = dict(zip(names, args, strict=True))
    shown = {key: render(value, key, hint, token) for key, value in raw.items()}
    values = list(shown.values()) if names else [render(a, "", hint, token) for a in args]
    line = f"{doing}: {name}({', '.join(values)})"
    if hint is None or (args and not names):
        return line
    parts = [says or _fill(hint.says, shown, raw), _fill(hint.do, shown, raw)]
    return "; ".join([line, *(p for p in parts if p)])


def render(value: Any, key: str = "", hint: Hint | None = None, token: TokenUnits | None = None) -> str:
    """One error argument as people read it (see the module docstring)."""
    if isinstance(value, (bytes, bytearray)):
        value = bytes(value)
        if key == "expectedStates":
            return operation_states(value)
        return ROLE_NAMES.get(value.hex(), "0x" + value.hex())
    if isinstance(value, str):
        return to_checksum_address(value) if is_address(value) else repr(value)
    if isinstance(value, bool) or not isinstance(value, int) or hint is None:
        return str(value)
    if key in hint.time:
        return f"{value} = {datetime.fromtimestamp(value, UTC):%Y-%m-%d %H:%M:%S} UTC"
    if key in hint.stake:
        return f"{format_amount(value, STAKE_DECIMALS, exact=True)} stake"
    if key in hint.token:
        return f"{format_amount(value, token.decimals, exact=True)} {token.symbol}" if token else f"{value} base units"
    return str(value)


def template_fields(part: Part) -> set[str]:
    """The argument names a template refers to (none for a function)."""
    if callable(part):
        return set()
    return {field for _, field, _, _ in string.Formatter().parse(part) if field}


def _fill(part: Part, shown: Mapping[str, str], raw: Mapping[str, Any]) -> str:
    return part(shown, raw) if callable(part) else part.format_map(shown)
