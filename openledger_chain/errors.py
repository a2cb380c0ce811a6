"""Exception hierarchy: one root, one subclass per subsystem.

Every error a user can cause carries a one-line message that names the problem and the fix;
the CLI prints that line and exits non-zero, never a traceback.
"""

from __future__ import annotations


class OpenLedgerError(Exception):
    """Root of every error this package raises on purpose."""

    exit_code: int = 1


class InputError(OpenLedgerError, ValueError):
    """A user-supplied file, argument or value is malformed."""

    exit_code = 2


class MalformedFileError(InputError):
    """A data file that is not what the spec asks for. The message names the file and the offending value for
    whoever reads their own file; `public_reason` says where and what without either (it goes into round
    files, which everyone reads, about files only the committee may read)."""

    def __init__(self, message: str, public_reason: str) -> None:
        super().__init__(message)
        self.public_reason = public_reason


class CompileError(OpenLedgerError):
    """The Solidity build failed, or committed artifacts do not match their sources."""


class ChainError(OpenLedgerError):
    """The node is unreachable, on the wrong chain, or rejected a transaction."""


class DeploymentError(OpenLedgerError):
    """A deployment file is missing, stale or does not match the chain."""


class ContractRevertError(ChainError):
    """A transaction or call reverted; `name` and `args` decode the custom error. For an invalid entry of a
    batch (`ContributionRegistryBatchEntryInvalid`) they are the entry's own error and `batch_index` its index."""

    def __init__(self, name: str, args: tuple[object, ...] = (), message: str | None = None, *,
                 batch_index: int | None = None) -> None:
        self.name = name
        self.error_args = args
        self.batch_index = batch_index
        rendered = f"{name}({', '.join(_render_arg(a, name) for a in args)})"
        hint = _REVERT_HINTS.get(name)
        super().__init__(message or f"transaction reverted: {rendered}" + (f"; {hint}" if hint else ""))


_REVERT_HINTS = {
    "ContributionRegistryDuplicateContent": "this content is already registered for the model (the oldest commitment wins)",
    "ContributionRegistryUnknownModel": "check the model id with `openledger model show`",
    "ContributionRegistryNotModelOwner": "only the model's owner commits and reveals its evaluation sets (--dev-account 4 on local chains)",
    "ContributionRegistryEvaluationAlreadyCommitted": "a round's evaluation set is committed once; use the committed file",
    "ContributionRegistryEvaluationNotCommitted": "commit the round's evaluation set first (`openledger round commit-eval`)",
    "RewardDistributorChallengeWindowOpen": "wait until the challenge window ends, then finalize",
    "RewardDistributorNothingToClaim": "everything allocated to this account is already claimed",
    "RewardDistributorNoFinalizedRound": "no round is final yet for this model",
    "RewardDistributorScoresIncomplete": "publish the whole score list first (`openledger round submit` resumes it)",
    "RewardDistributorInsufficientSignatures": "collect more oracle signatures with `openledger round sign`",
    "ModelStakeTokenNoFees": "this account has no fees to withdraw",
    "ModelStakeTokenNoFeesAvailable": "the stake token holds none of the payment token right now; the fees stay owed",
    "ContributionRegistryCommitmentExpired": "commitments must be registered within 256 blocks; commit again",
    "RewardDistributorInvalidChallengeWindow": "the window must lie between the deployment's minimum and 30 days",
    "EnforcedPause": "the contract is paused",
    "CommitteeKeysNotMember": "only the committee (the distributor's oracles and guardians) posts and receives "
                              "committee keys; membership changes through the admin timelock",
    "CommitteeKeysNoEncryptionKey": "that member has published no encryption key yet (`openledger keys publish`)",
    "CommitteeKeysKeyUnchanged": "this encryption key is already published for the account",
    "CommitteeKeysInvalidRecipient": "an encryption key is an age X25519 public key: age1 and 58 bech32 characters",
    # issue 24
    "ContributionRegistryEvaluationRoundOutOfRange": "only the model's next round (the last final round + 1) or the "
                                                     "one after can have its evaluation set committed",
    "ContributionRegistryEvaluationInUse": "the pending round was submitted on this evaluation set; it can be "
                                           "replaced only after that round is vetoed",
    "ContributionRegistryContentClaimed": "another contributor registered this content first (in some model); "
                                          "the earliest commitment keeps it in every model",
    "RewardDistributorRoundExpired": "the oracles' signatures of this round have expired; propose the round again "
                                     "and have it signed anew",
    "RewardDistributorZeroEmissionRootChanged": "a round that mints nothing must keep the current Merkle root "
                                                "(it could only move stake between accounts)",
}


# keccak256 of each role's name (tests/test_errors.py recomputes them), so a revert names the role.
_ROLE_NAMES = {
    "00" * 32: "DEFAULT_ADMIN_ROLE",
    "55435dd261a4b9b3364963f7738a7a662ad9c84396d64be3365284bb7f0a5041": "GUARDIAN_ROLE",
    "65d7a28e3265b37a6474929f336521b332c1681b933f6cb9f3376673440d862a": "PAUSER_ROLE",
    "b09aa5aeb3702cfd50b6b62bc4532604938f21248a27a1d5ca736082b6819cc1": "PROPOSER_ROLE",
    "d8aa0f3194971a2a116679f7c2090f6939c8d4e01a2a8d7e41d55e5351469e63": "EXECUTOR_ROLE",
    "fd643c72710c63c0180259aba6b2d05451e3591a24e58b62239378085726f783": "CANCELLER_ROLE",
}
# Errors whose arguments are unix times: shown as a date, like the challenge window's end.
_TIME_ERRORS = {"RewardDistributorChallengeWindowOpen", "RewardDistributorChallengeWindowClosed",
                "ContributionRegistryExpiredSignature", "RewardDistributorRoundExpired"}


def _render_arg(value: object, name: str = "") -> str:
    if isinstance(value, bytes):
        return _ROLE_NAMES.get(value.hex(), "0x" + value.hex())
    if name in _TIME_ERRORS and isinstance(value, int) and not isinstance(value, bool):
        from datetime import UTC, datetime

        return f"{value} = {datetime.fromtimestamp(value, UTC):%Y-%m-%d %H:%M:%S} UTC"
    return str(value)


class AttributionError(OpenLedgerError):
    """An attribution method was misused (for example, read before fit)."""
