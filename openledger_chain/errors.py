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


class CompileError(OpenLedgerError):
    """The Solidity build failed, or committed artifacts do not match their sources."""


class ChainError(OpenLedgerError):
    """The node is unreachable, on the wrong chain, or rejected a transaction."""


class DeploymentError(OpenLedgerError):
    """A deployment file is missing, stale or does not match the chain."""


class ContractRevertError(ChainError):
    """A transaction or call reverted; `name` and `args` decode the custom error."""

    def __init__(self, name: str, args: tuple[object, ...] = (), message: str | None = None) -> None:
        self.name = name
        self.error_args = args
        rendered = f"{name}({', '.join(_render_arg(a) for a in args)})"
        hint = _REVERT_HINTS.get(name)
        super().__init__(message or f"transaction reverted: {rendered}" + (f"; {hint}" if hint else ""))


_REVERT_HINTS = {
    "ContributionRegistryDuplicateContent": "this content is already registered for the model (first registration wins)",
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
}


def _render_arg(value: object) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return str(value)


class AttributionError(OpenLedgerError):
    """An attribution method was misused (for example, read before fit)."""
