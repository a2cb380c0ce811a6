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


class NodeUnreachableError(ChainError):
    """The node does not answer (a connection error, a timeout, HTTP 429 or 5xx, after any retries); `reason`
    says which, e.g. "a connection error"."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class DeploymentError(OpenLedgerError):
    """A deployment file is missing, stale or does not match the chain."""


class ContractRevertError(ChainError):
    """A transaction or call reverted; `name` and `args` decode the custom error. For an invalid entry of a
    batch (`ContributionRegistryBatchEntryInvalid`) they are the entry's own error and `batch_index` its index.

    The message is one line that explains the error and says what to do (`chain.decode_error_data` and
    `chain.revert_error` write it from the table in `revert_hints`); without one, it is the bare error.
    """

    def __init__(self, name: str, args: tuple[object, ...] = (), message: str | None = None, *,
                 batch_index: int | None = None) -> None:
        self.name = name
        self.error_args = args
        self.batch_index = batch_index
        shown = ", ".join("0x" + a.hex() if isinstance(a, bytes) else str(a) for a in args)
        super().__init__(message or f"transaction reverted: {name}({shown})")


class AttributionError(OpenLedgerError):
    """An attribution method was misused (for example, read before fit)."""
