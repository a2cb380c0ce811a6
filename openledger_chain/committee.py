"""The committee's encryption keys as the chain holds them (`CommitteeKeys`), and what each party does with
them: a contributor finds the epoch key to encrypt to, a member unwraps the epoch keys it holds, and
`keys rewrap` keeps every current member able to read every file.

The committee is the distributor's oracles and guardians; membership changes only through the admin
timelock. Keys and wraps are read from events, so anyone can check who can read what.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from eth_account.signers.local import LocalAccount

from openledger_chain.chain import Chain, dev_accounts
from openledger_chain.confidential import (
    DecryptionError,
    Identity,
    dev_identity,
    generate_identity,
    load_identity,
    recipient_of,
    unwrap_identity,
    wrap_identity,
)
from openledger_chain.contracts import OpenLedger
from openledger_chain.errors import InputError

logger = logging.getLogger(__name__)

#: The contract takes at most 64 wraps a call.
WRAPS_PER_CALL = 64


@dataclass(frozen=True)
class Wrap:
    """An epoch key wrapped to one member's published key (`member_key`) as it was when the wrap was posted."""

    epoch: int
    member: str
    member_key: str
    wrapped: bytes


@dataclass(frozen=True)
class CommitteeState:
    """Current members (ascending), their published keys, every epoch key and every wrap."""

    members: tuple[str, ...]
    keys: dict[str, str]
    epochs: dict[int, str]
    wraps: tuple[Wrap, ...]

    def has_wrap(self, epoch: int, member: str) -> bool:
        """Whether `member` can open epoch `epoch` with the key it has published now."""
        key = self.keys.get(member)
        return bool(key) and any(w.epoch == epoch and w.member == member and w.member_key == key for w in self.wraps)

    def former_holders(self, epoch: int) -> list[str]:
        """Accounts that were given epoch `epoch` and are no longer members."""
        return sorted({w.member for w in self.wraps if w.epoch == epoch} - set(self.members), key=lambda a: int(a, 16))

    def unwrapped_members(self, epoch: int) -> list[str]:
        """Members with a published key that cannot open epoch `epoch`."""
        return [m for m in self.members if self.keys.get(m) and not self.has_wrap(epoch, m)]


def read_committee(ledger: OpenLedger) -> CommitteeState:
    """The committee as the chain holds it now."""
    if ledger.committee_keys is None:
        raise InputError("this deployment has no CommitteeKeys contract (deployed before confidential "
                         "contributions): contribute with --public, or the deployer redeploys with `openledger deploy "
                         "--force` and everyone else gets the new deployment file from the deployer")
    members = tuple(ledger.committee_members())
    keys = {m: ledger.encryption_key(m) for m in members}
    epochs = {int(e["epoch"]): e["recipient"] for e in ledger.committee_epochs()}
    wraps = tuple(Wrap(int(w["epoch"]), w["member"], w["memberKey"], bytes(w["wrappedKey"]))
                  for w in ledger.committee_wraps())
    return CommitteeState(members, keys, epochs, wraps)


def contributor_recipient(state: CommitteeState) -> tuple[int, str]:
    """The epoch and key a contributor encrypts to: the latest epoch, if every current member with a published
    key can open it and no former member holds it; otherwise an InputError saying who must act."""
    if not state.epochs:
        raise InputError("the committee has posted no encryption key yet: a committee member runs "
                         "`openledger keys rewrap` (or contribute open data with --public)")
    epoch = max(state.epochs)
    former = state.former_holders(epoch)
    if former:
        raise InputError(f"the committee key of epoch {epoch} is held by {former[0]}, no longer a committee member; "
                         "a committee member runs `openledger keys rewrap` to start a new epoch")
    missing = state.unwrapped_members(epoch)
    if missing:
        raise InputError(f"the committee key of epoch {epoch} is not yet wrapped to committee member {missing[0]}; "
                         "a committee member runs `openledger keys rewrap`")
    return epoch, state.epochs[epoch]


def epoch_identities(state: CommitteeState, member: Identity) -> dict[int, Identity]:
    """Every epoch key posted for `member`'s public key that opens and matches its epoch's recipient (a wrap
    that does not is someone's mistake or malice: skipped, with a warning)."""
    mine = recipient_of(member)
    found: dict[int, Identity] = {}
    for w in state.wraps:
        if w.member_key != mine or w.epoch in found or w.epoch not in state.epochs:
            continue
        try:
            identity = unwrap_identity(w.wrapped, member)
        except DecryptionError as exc:
            logger.warning("the wrap of epoch %d for %s does not open (%s); ask a member to rewrap", w.epoch,
                           w.member, exc)
            continue
        if recipient_of(identity) != state.epochs[w.epoch]:
            logger.warning("the wrap of epoch %d for %s holds another key than the epoch's; ask a member to "
                           "rewrap", w.epoch, w.member)
            continue
        found[w.epoch] = identity
    return found


def member_identity(chain: Chain, account: LocalAccount | None, key_file: Path | None = None,
                    password: str | None = None) -> Identity | None:
    """A committee member's own identity: its key file's, else that of a dev account on a local chain (derived
    from the dev key); None for everyone else (an outsider)."""
    if key_file is not None:
        return load_identity(key_file, password)
    if account is not None and chain.is_local and any(account.address == d.address for d in dev_accounts()):
        return dev_identity(bytes(account.key))
    return None


def committee_identities(ledger: OpenLedger, member: Identity | None) -> tuple[Identity, ...]:
    """The epoch keys `member` holds, oldest first: what opens the files encrypted to the committee (none for
    an outsider or a deployment without CommitteeKeys)."""
    if member is None or ledger.committee_keys is None:
        return ()
    return tuple(identity for _, identity in sorted(epoch_identities(read_committee(ledger), member).items()))


@dataclass(frozen=True)
class RewrapResult:
    new_epoch: int | None
    wrapped: dict[int, list[str]]  # epoch -> members newly given it
    held: tuple[int, ...]  # the epochs the member holds (after the run)
    missing: tuple[int, ...]  # epochs it does not hold, so cannot pass on: another member must


def rewrap(ledger: OpenLedger, account: LocalAccount, member: Identity, state: CommitteeState) -> RewrapResult:
    """Bring the committee's keys up to date, as one member can: start a new epoch when there is none or a former
    member holds the latest one, then wrap every epoch key this member holds to every current member (with a
    published key) who cannot open it yet: a member added later reads every earlier file."""
    if account.address not in state.members:
        raise InputError(f"{account.address} is not a committee member (an oracle or guardian of the distributor)")
    if state.keys.get(account.address) != recipient_of(member):
        raise InputError(f"{account.address} has not published this encryption key; run `openledger keys publish`")
    held = epoch_identities(state, member)
    readers = [m for m in state.members if state.keys.get(m)]
    new_epoch = None
    latest = max(state.epochs) if state.epochs else None
    if latest is None or state.former_holders(latest):
        identity = generate_identity()
        new_epoch, _ = ledger.post_committee_key(account, recipient_of(identity), readers[:WRAPS_PER_CALL],
                                                 [wrap_identity(identity, state.keys[m]) for m in readers[:WRAPS_PER_CALL]])
        _wrap_in_calls(ledger, account, new_epoch, identity, readers[WRAPS_PER_CALL:], state.keys)
        held[new_epoch] = identity
    wrapped: dict[int, list[str]] = {}
    for epoch, identity in sorted(held.items()):
        if epoch == new_epoch:
            continue
        targets = state.unwrapped_members(epoch)
        if targets:
            _wrap_in_calls(ledger, account, epoch, identity, targets, state.keys)
            wrapped[epoch] = targets
    missing = tuple(e for e in sorted(state.epochs) if e not in held)
    return RewrapResult(new_epoch, wrapped, tuple(sorted(held)), missing)


def _wrap_in_calls(ledger: OpenLedger, account: LocalAccount, epoch: int, identity: Identity, members: Sequence[str],
                   keys: dict[str, str]) -> None:
    for start in range(0, len(members), WRAPS_PER_CALL):
        chunk = members[start:start + WRAPS_PER_CALL]
        ledger.wrap_committee_key(account, epoch, chunk, [wrap_identity(identity, keys[m]) for m in chunk])
