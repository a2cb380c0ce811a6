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
        rendered = f"{name}({', '.join(str(a) for a in args)})"
        super().__init__(message or f"transaction reverted: {rendered}")


class AttributionError(OpenLedgerError):
    """An attribution method was misused (for example, read before fit)."""
