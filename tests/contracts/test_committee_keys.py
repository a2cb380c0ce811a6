"""CommitteeKeys: members' published age keys, epochs of the shared committee key and their wraps, and who
may post them (the distributor's oracles and guardians, read at every call, so membership follows the
timelocked admin's changes).

The contract checks form and membership only; the wraps are opaque bytes here. Reverts are asserted by
custom-error name and arguments; events with their arguments.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import pytest
from _helpers import ZERO_ADDRESS, fund, reverts
from _ledger_setup import Accounts
from _round_helpers import admin
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak, to_checksum_address
from web3.logs import DISCARD

from openledger_chain.build import load_artifact
from openledger_chain.chain import decode_revert
from openledger_chain.contracts import OpenLedger
from openledger_chain.errors import ContractRevertError, DeploymentError

CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
GUARDIAN_ROLE = keccak(text="GUARDIAN_ROLE")
NEWCOMER = Account.from_key(keccak(text="openledger tests: committee newcomer"))


def age_key(tag: str) -> str:
    """A well-formed age X25519 recipient ("age1" + 58 bech32 characters), deterministic per tag. The
    contract checks only the form; the checksum is the clients' business."""
    digest = keccak(text=tag) + keccak(text=tag + "/2")
    return "age1" + "".join(CHARSET[b % 32] for b in digest[:58])


def wrap(tag: str, length: int = 300) -> bytes:
    """Opaque wrapped-key bytes of `length` (a real age wrap of one X25519 secret is about 250-370 bytes)."""
    out = b""
    while len(out) < length:
        out += keccak(text=f"{tag}/{len(out)}")
    return out[:length]


def events(ledger: OpenLedger, name: str, receipt: Any) -> list[dict[str, Any]]:
    assert ledger.committee_keys is not None
    found = getattr(ledger.committee_keys.events, name)().process_receipt(receipt, errors=DISCARD)
    return [{k: bytes(v) if isinstance(v, bytes) else v for k, v in e["args"].items()} for e in found]


def ascending(accounts: Sequence[LocalAccount]) -> list[LocalAccount]:
    return sorted(accounts, key=lambda a: int(a.address, 16))


@pytest.fixture
def ck(ledger: OpenLedger) -> Any:
    assert ledger.committee_keys is not None
    return ledger.committee_keys


@pytest.fixture
def members(ledger: OpenLedger, accounts: Accounts) -> list[LocalAccount]:
    """The session deployment's committee (three oracles and the guardian, the deployer on a local chain),
    each with a published key, in ascending address order."""
    committee = ascending([*accounts.oracles, accounts.deployer])
    for member in committee:
        ledger.publish_encryption_key(member, age_key(member.address))
    return committee


@pytest.fixture
def epoch1(ledger: OpenLedger, members: list[LocalAccount]) -> int:
    """Epoch 1, posted by the guardian, wrapped to every member."""
    epoch, _ = ledger.post_committee_key(members[0], age_key("epoch 1"), [m.address for m in members],
                                         [wrap(f"1 {m.address}") for m in members])
    return epoch


# ----------------------------------------------------------------------------- deployment and membership


def test_deployed_after_every_earlier_contract_with_the_distributor(ledger: OpenLedger, ck: Any) -> None:
    """CommitteeKeys comes after every contract that existed before it (so their addresses did not move); only
    the bond vault, newer still, comes after it."""
    contracts = ledger.deployment.contracts
    assert list(contracts)[-2:] == ["CommitteeKeys", "ContributionBonds"]
    earlier = [c.block_number for name, c in contracts.items() if name not in ("CommitteeKeys", "ContributionBonds")]
    assert contracts["CommitteeKeys"].block_number > max(earlier)
    assert ck.functions.distributor().call() == ledger.distributor.address
    assert ck.functions.GUARDIAN_ROLE().call() == ledger.distributor.functions.GUARDIAN_ROLE().call()
    assert (ck.functions.MAX_MEMBERS().call(), ck.functions.MAX_WRAP_LENGTH().call(),
            ck.functions.RECIPIENT_LENGTH().call()) == (64, 1024, 62)
    assert ck.functions.epochCount().call() == 0 == ledger.committee_epoch_count()


def test_constructor_reverts_when_distributor_is_zero(ledger: OpenLedger, accounts: Accounts) -> None:
    artifact = load_artifact("CommitteeKeys")
    with reverts("CommitteeKeysZeroAddress"):
        ledger.chain.deploy(artifact.abi, artifact.bytecode, accounts.deployer, ZERO_ADDRESS)


def test_members_are_the_oracles_and_guardians(ledger: OpenLedger, ck: Any, accounts: Accounts) -> None:
    committee = [*accounts.oracles, accounts.deployer]
    assert all(ck.functions.isMember(a.address).call() for a in committee)
    assert not any(ck.functions.isMember(a.address).call() for a in (accounts.stranger, accounts.owner))
    assert ledger.committee_members() == sorted((a.address for a in committee), key=lambda a: int(a, 16))


def test_refuses_ether(ledger: OpenLedger, ck: Any, accounts: Accounts) -> None:
    """No receive, fallback or payable function: a plain transfer and a call with value both revert."""
    w3, sender = ledger.chain.w3, accounts.stranger.address
    with pytest.raises(Exception):  # noqa: B017 - a bare revert, no error data
        w3.eth.call({"from": sender, "to": ck.address, "value": 1})
    with pytest.raises(Exception):  # noqa: B017
        ck.functions.publishEncryptionKey(VALID).call({"from": sender, "value": 1})
    ck.functions.publishEncryptionKey(VALID).call({"from": sender})  # the same call without value passes


# ----------------------------------------------------------------------------- publishEncryptionKey


def test_publish_encryption_key_binds_it_to_the_sender(ledger: OpenLedger, accounts: Accounts) -> None:
    """Anyone may publish (only members can be wrapped to); republishing replaces the key."""
    sender = accounts.stranger
    assert ledger.encryption_key(sender.address) == ""
    first, second = age_key("first"), age_key("second")
    receipt = ledger.publish_encryption_key(sender, first)
    assert events(ledger, "EncryptionKeyPublished", receipt) == [{"account": sender.address, "recipient": first}]
    assert ledger.encryption_key(sender.address) == first
    receipt = ledger.publish_encryption_key(sender, second)
    assert events(ledger, "EncryptionKeyPublished", receipt) == [{"account": sender.address, "recipient": second}]
    assert ledger.encryption_key(sender.address) == second
    assert ledger.encryption_key(accounts.alice.address) == ""


def test_publish_encryption_key_reverts_when_unchanged(ledger: OpenLedger, accounts: Accounts) -> None:
    key = age_key("same")
    ledger.publish_encryption_key(accounts.alice, key)
    with reverts("CommitteeKeysKeyUnchanged", accounts.alice.address):
        ledger.publish_encryption_key(accounts.alice, key)
    ledger.publish_encryption_key(accounts.bob, key)  # the same key under another account is the sender's business


VALID = age_key("valid")


@pytest.mark.parametrize("recipient", [
    "",
    VALID[:-1],  # 61 bytes
    VALID + "q",  # 63 bytes
    "age1",
    "age2" + VALID[4:],  # wrong prefix
    "AGE1" + VALID[4:],  # uppercase prefix
    "agf1" + VALID[4:],
    VALID[:10] + VALID[10].upper() + VALID[11:],  # uppercase character
    VALID.upper(),
    VALID[:-1] + "b",  # letters and digit bech32 leaves out
    VALID[:-1] + "i",
    VALID[:-1] + "o",
    VALID[:-1] + "1",
    VALID[:20] + " " + VALID[21:],
    VALID[:-2] + "é",  # two bytes: the length still 62, one of them above 127
    "AGE-SECRET-KEY-1" + "Q" * 46,  # a secret key pasted by mistake (62 characters)
])
def test_publish_encryption_key_reverts_when_recipient_invalid(ledger: OpenLedger, accounts: Accounts,
                                                               recipient: str) -> None:
    with reverts("CommitteeKeysInvalidRecipient", recipient):
        ledger.publish_encryption_key(accounts.alice, recipient)
    assert ledger.encryption_key(accounts.alice.address) == ""


def test_recipient_check_accepts_exactly_the_bech32_charset(ck: Any, accounts: Accounts) -> None:
    """Every ASCII character at a key position: accepted exactly when it is in the bech32 charset."""
    accepted = set()
    for code in range(128):
        recipient = VALID[:30] + chr(code) + VALID[31:]
        try:
            ck.functions.publishEncryptionKey(recipient).call({"from": accounts.alice.address})
            accepted.add(chr(code))
        except Exception as exc:  # noqa: BLE001
            error = decode_revert(exc)
            assert isinstance(error, ContractRevertError) and error.name == "CommitteeKeysInvalidRecipient"
    assert accepted == set(CHARSET)


# ----------------------------------------------------------------------------- postCommitteeKey


def test_post_committee_key_opens_an_epoch_and_wraps_it(ledger: OpenLedger, ck: Any,
                                                        members: list[LocalAccount], accounts: Accounts) -> None:
    poster = accounts.deployer  # the guardian
    recipient = age_key("epoch 1")
    wraps = [wrap(m.address) for m in members]
    epoch, receipt = ledger.post_committee_key(poster, recipient, [m.address for m in members], wraps)
    assert epoch == 1 == ledger.committee_epoch_count()
    assert ledger.committee_key(1) == recipient
    assert events(ledger, "CommitteeKeyPosted", receipt) == [{"epoch": 1, "recipient": recipient,
                                                             "poster": poster.address}]
    assert events(ledger, "CommitteeKeyWrapped", receipt) == [
        {"epoch": 1, "member": m.address, "memberKey": age_key(m.address), "wrappedKey": w, "poster": poster.address}
        for m, w in zip(members, wraps, strict=True)
    ]
    # Posted first, then one wrap per member, in member order.
    logs = [log for log in receipt["logs"] if log["address"] == ck.address]
    posted_topic = keccak(text="CommitteeKeyPosted(uint256,string,address)")
    assert bytes(logs[0]["topics"][0]) == posted_topic and len(logs) == 1 + len(members)
    block = int(receipt["blockNumber"])
    assert ledger.committee_epochs() == [{"epoch": 1, "recipient": recipient, "poster": poster.address,
                                          "block": block}]
    assert ledger.committee_wraps() == [
        {"epoch": 1, "member": m.address, "memberKey": age_key(m.address), "wrappedKey": w,
         "poster": poster.address, "block": block}
        for m, w in zip(members, wraps, strict=True)
    ]


def test_an_oracle_posts_later_epochs(ledger: OpenLedger, members: list[LocalAccount], epoch1: int,
                                      accounts: Accounts) -> None:
    oracle = accounts.oracles[1]
    epoch, receipt = ledger.post_committee_key(oracle, age_key("epoch 2"), [oracle.address], [wrap("2")])
    assert (epoch1, epoch) == (1, 2) and ledger.committee_epoch_count() == 2
    assert events(ledger, "CommitteeKeyPosted", receipt)[0]["poster"] == oracle.address
    assert [ledger.committee_key(e) for e in (1, 2)] == [age_key("epoch 1"), age_key("epoch 2")]
    assert [e["epoch"] for e in ledger.committee_epochs()] == [1, 2]


def test_post_committee_key_reverts_when_caller_not_member(ledger: OpenLedger, members: list[LocalAccount],
                                                           accounts: Accounts) -> None:
    ledger.publish_encryption_key(accounts.stranger, age_key("stranger"))
    with reverts("CommitteeKeysNotMember", accounts.stranger.address):
        ledger.post_committee_key(accounts.stranger, age_key("epoch"), [members[0].address], [wrap("x")])
    assert ledger.committee_epoch_count() == 0


def test_post_committee_key_reverts_when_recipient_invalid(ledger: OpenLedger, members: list[LocalAccount]) -> None:
    bad = "age1" + "B" * 58
    with reverts("CommitteeKeysInvalidRecipient", bad):
        ledger.post_committee_key(members[0], bad, [members[0].address], [wrap("x")])


def test_post_committee_key_checks_members_and_wraps(ledger: OpenLedger, members: list[LocalAccount],
                                                     accounts: Accounts) -> None:
    """The same checks as wrapCommitteeKey, and nothing is posted when one fails."""
    poster, key = members[0], age_key("epoch")
    with reverts("CommitteeKeysLengthMismatch", 2, 1):
        ledger.post_committee_key(poster, key, [m.address for m in members[:2]], [wrap("x")])
    with reverts("CommitteeKeysInvalidMemberCount", 0):
        ledger.post_committee_key(poster, key, [], [])
    with reverts("CommitteeKeysNotMember", accounts.stranger.address):
        ledger.post_committee_key(poster, key, [accounts.stranger.address], [wrap("x")])
    with reverts("CommitteeKeysInvalidWrap", 0, 0):
        ledger.post_committee_key(poster, key, [poster.address], [b""])
    assert ledger.committee_epoch_count() == 0 and ledger.committee_epochs() == []


# ----------------------------------------------------------------------------- wrapCommitteeKey


def test_wrap_committee_key_posts_more_wraps(ledger: OpenLedger, members: list[LocalAccount], epoch1: int,
                                             accounts: Accounts) -> None:
    oracle, target = accounts.oracles[2], members[1]
    receipt = ledger.wrap_committee_key(oracle, epoch1, [target.address], [wrap("again")])
    assert events(ledger, "CommitteeKeyWrapped", receipt) == [
        {"epoch": 1, "member": target.address, "memberKey": age_key(target.address), "wrappedKey": wrap("again"),
         "poster": oracle.address}]
    assert len(ledger.committee_wraps()) == len(members) + 1


def test_wrap_committee_key_reverts_when_caller_not_member(ledger: OpenLedger, members: list[LocalAccount],
                                                           epoch1: int, accounts: Accounts) -> None:
    with reverts("CommitteeKeysNotMember", accounts.stranger.address):
        ledger.wrap_committee_key(accounts.stranger, epoch1, [members[0].address], [wrap("x")])


def test_wrap_committee_key_reverts_when_epoch_unknown(ledger: OpenLedger, members: list[LocalAccount],
                                                       accounts: Accounts) -> None:
    member = members[0]
    with reverts("CommitteeKeysUnknownEpoch", 1, 0):
        ledger.wrap_committee_key(member, 1, [member.address], [wrap("x")])
    ledger.post_committee_key(member, age_key("epoch 1"), [member.address], [wrap("x")])
    for epoch in (0, 2):
        with reverts("CommitteeKeysUnknownEpoch", epoch, 1):
            ledger.wrap_committee_key(member, epoch, [member.address], [wrap("x")])
    with reverts("CommitteeKeysUnknownEpoch", 2, 1):
        ledger.committee_key(2)
    with reverts("CommitteeKeysUnknownEpoch", 0, 1):
        ledger.committee_key(0)


def test_wrap_committee_key_reverts_when_lengths_differ(ledger: OpenLedger, members: list[LocalAccount],
                                                        epoch1: int) -> None:
    with reverts("CommitteeKeysLengthMismatch", 1, 2):
        ledger.wrap_committee_key(members[0], epoch1, [members[0].address], [wrap("x"), wrap("y")])
    with reverts("CommitteeKeysLengthMismatch", 0, 1):
        ledger.wrap_committee_key(members[0], epoch1, [], [wrap("x")])


def test_wrap_committee_key_reverts_when_member_count_out_of_bounds(ledger: OpenLedger, members: list[LocalAccount],
                                                                    epoch1: int) -> None:
    poster = members[0]
    with reverts("CommitteeKeysInvalidMemberCount", 0):
        ledger.wrap_committee_key(poster, epoch1, [], [])
    many = sorted((to_checksum_address(keccak(text=f"member {i}")[-20:]) for i in range(65)), key=lambda a: int(a, 16))
    with reverts("CommitteeKeysInvalidMemberCount", 65):
        ledger.wrap_committee_key(poster, epoch1, many, [wrap("x")] * 65)
    # 64 pass the count check: the first of them fails the next one, being no member.
    with reverts("CommitteeKeysNotMember", many[0]):
        ledger.wrap_committee_key(poster, epoch1, many[:64], [wrap("x")] * 64)


def test_wrap_committee_key_reverts_when_members_not_ascending(ledger: OpenLedger, ck: Any,
                                                              members: list[LocalAccount], epoch1: int) -> None:
    """The contract takes members in strictly ascending order (the wrapper sorts them; raw calls here)."""
    poster, (low, high) = members[0], (members[0].address, members[1].address)
    send = ledger.chain.transact
    with reverts("CommitteeKeysMembersNotAscending", high, low):
        send(ck.functions.wrapCommitteeKey(epoch1, [high, low], [wrap("a"), wrap("b")]), poster)
    with reverts("CommitteeKeysMembersNotAscending", low, low):
        send(ck.functions.wrapCommitteeKey(epoch1, [low, low], [wrap("a"), wrap("b")]), poster)
    with reverts("CommitteeKeysMembersNotAscending", ZERO_ADDRESS, ZERO_ADDRESS):
        send(ck.functions.wrapCommitteeKey(epoch1, [ZERO_ADDRESS], [wrap("a")]), poster)
    with reverts("CommitteeKeysMembersNotAscending", high, low):
        send(ck.functions.postCommitteeKey(age_key("e"), [high, low], [wrap("a"), wrap("b")]), poster)
    # The wrapper sends any order ascending, each wrap with its member.
    receipt = ledger.wrap_committee_key(poster, epoch1, [high, low], [wrap("for high"), wrap("for low")])
    assert [(e["member"], e["wrappedKey"]) for e in events(ledger, "CommitteeKeyWrapped", receipt)] == [
        (low, wrap("for low")), (high, wrap("for high"))]


def test_wrap_committee_key_reverts_when_target_not_member(ledger: OpenLedger, members: list[LocalAccount],
                                                          epoch1: int, accounts: Accounts) -> None:
    stranger = accounts.stranger.address
    ledger.publish_encryption_key(accounts.stranger, age_key("stranger"))
    targets = sorted([members[0].address, stranger], key=lambda a: int(a, 16))
    with reverts("CommitteeKeysNotMember", stranger):
        ledger.wrap_committee_key(members[0], epoch1, targets, [wrap("x"), wrap("y")])


def test_wrap_committee_key_reverts_when_target_has_no_key(ledger: OpenLedger, epoch1: int, accounts: Accounts) -> None:
    """Every member published a key in `members`; a member without one (here a guardian granted later)."""
    admin(ledger, accounts.deployer, ledger.distributor.functions.grantRole(GUARDIAN_ROLE, accounts.carol.address))
    with reverts("CommitteeKeysNoEncryptionKey", accounts.carol.address):
        ledger.wrap_committee_key(accounts.deployer, epoch1, [accounts.carol.address], [wrap("x")])


@pytest.mark.parametrize("length", [0, 1025, 4096])
def test_wrap_committee_key_reverts_when_wrap_length_out_of_bounds(ledger: OpenLedger, members: list[LocalAccount],
                                                                   epoch1: int, length: int) -> None:
    addresses = [m.address for m in members[:3]]
    wraps = [wrap("a"), wrap("b", length), wrap("c")]
    with reverts("CommitteeKeysInvalidWrap", 1, length):
        ledger.wrap_committee_key(members[0], epoch1, addresses, wraps)


def test_wrap_committee_key_accepts_1_to_1024_bytes(ledger: OpenLedger, members: list[LocalAccount],
                                                    epoch1: int) -> None:
    addresses = [m.address for m in members[:2]]
    receipt = ledger.wrap_committee_key(members[0], epoch1, addresses, [b"\x01", wrap("max", 1024)])
    assert [len(e["wrappedKey"]) for e in events(ledger, "CommitteeKeyWrapped", receipt)] == [1, 1024]


def test_wrap_names_the_member_key_of_its_moment(ledger: OpenLedger, members: list[LocalAccount], epoch1: int,
                                                 accounts: Accounts) -> None:
    """A member that changes its key leaves its older wraps naming the old key: visible off-chain."""
    member = accounts.oracles[0]
    old, new = age_key(member.address), age_key("rotated")
    ledger.publish_encryption_key(member, new)
    ledger.wrap_committee_key(accounts.deployer, epoch1, [member.address], [wrap("for the new key")])
    mine = [w for w in ledger.committee_wraps() if w["member"] == member.address]
    assert [(w["memberKey"], w["wrappedKey"]) for w in mine] == [(old, wrap(f"1 {member.address}")),
                                                                  (new, wrap("for the new key"))]


# ----------------------------------------------------------------------------- membership through the timelock


def test_removed_oracle_can_neither_post_nor_be_wrapped_to(ledger: OpenLedger, ck: Any, members: list[LocalAccount],
                                                          epoch1: int, accounts: Accounts) -> None:
    removed = accounts.oracles[2]
    admin(ledger, accounts.deployer, ledger.distributor.functions.removeOracle(removed.address))
    assert not ck.functions.isMember(removed.address).call()
    assert removed.address not in ledger.committee_members()
    with reverts("CommitteeKeysNotMember", removed.address):
        ledger.post_committee_key(removed, age_key("epoch 2"), [removed.address], [wrap("x")])
    with reverts("CommitteeKeysNotMember", removed.address):
        ledger.wrap_committee_key(removed, epoch1, [accounts.oracles[0].address], [wrap("x")])
    rest = [m for m in members if m.address != removed.address]
    with reverts("CommitteeKeysNotMember", removed.address):
        ledger.post_committee_key(accounts.deployer, age_key("epoch 2"), [m.address for m in members],
                                  [wrap(m.address) for m in members])
    # The next epoch leaves it out.
    epoch, _ = ledger.post_committee_key(accounts.deployer, age_key("epoch 2"), [m.address for m in rest],
                                         [wrap(m.address) for m in rest])
    assert epoch == 2
    assert {w["member"] for w in ledger.committee_wraps() if w["epoch"] == 2} == {m.address for m in rest}
    # Its key stays published (it is its own), but it can never be wrapped to again while removed.
    assert ledger.encryption_key(removed.address) == age_key(removed.address)


def test_added_oracle_is_wrapped_to_once_it_publishes_a_key(ledger: OpenLedger, ck: Any, members: list[LocalAccount],
                                                           epoch1: int, accounts: Accounts) -> None:
    fund(ledger.chain, NEWCOMER.address)
    assert not ck.functions.isMember(NEWCOMER.address).call()
    admin(ledger, accounts.deployer, ledger.distributor.functions.addOracle(NEWCOMER.address))
    assert ck.functions.isMember(NEWCOMER.address).call()
    assert NEWCOMER.address in ledger.committee_members()
    with reverts("CommitteeKeysNoEncryptionKey", NEWCOMER.address):
        ledger.wrap_committee_key(accounts.oracles[0], epoch1, [NEWCOMER.address], [wrap("x")])
    ledger.publish_encryption_key(NEWCOMER, age_key("newcomer"))
    receipt = ledger.wrap_committee_key(accounts.oracles[0], epoch1, [NEWCOMER.address], [wrap("newcomer")])
    assert events(ledger, "CommitteeKeyWrapped", receipt) == [
        {"epoch": 1, "member": NEWCOMER.address, "memberKey": age_key("newcomer"), "wrappedKey": wrap("newcomer"),
         "poster": accounts.oracles[0].address}]
    # And, a member now, it may post itself.
    epoch, _ = ledger.post_committee_key(NEWCOMER, age_key("epoch 2"), [NEWCOMER.address], [wrap("2")])
    assert epoch == 2


def test_committee_members_follow_the_distributor(ledger: OpenLedger, accounts: Accounts) -> None:
    def expected(*accounts_: str) -> list[str]:
        return sorted(accounts_, key=lambda a: int(a, 16))

    dist = ledger.distributor.functions
    oracles = [o.address for o in accounts.oracles]
    guardian, carol, alice = accounts.deployer.address, accounts.carol.address, accounts.alice.address
    assert ledger.committee_members() == expected(*oracles, guardian)
    admin(ledger, accounts.deployer, dist.addOracle(carol))
    admin(ledger, accounts.deployer, dist.grantRole(GUARDIAN_ROLE, alice))
    assert ledger.committee_members() == expected(*oracles, guardian, carol, alice)
    admin(ledger, accounts.deployer, dist.removeOracle(oracles[0]))
    admin(ledger, accounts.deployer, dist.revokeRole(GUARDIAN_ROLE, guardian))
    assert ledger.committee_members() == expected(*oracles[1:], carol, alice)
    # An account both oracle and guardian is listed once, and stays while it holds either.
    admin(ledger, accounts.deployer, dist.grantRole(GUARDIAN_ROLE, carol))
    admin(ledger, accounts.deployer, dist.removeOracle(carol))
    assert ledger.committee_members() == expected(*oracles[1:], carol, alice)
    # Other roles do not make a member.
    admin(ledger, accounts.deployer, dist.grantRole(keccak(text="PAUSER_ROLE"), accounts.bob.address))
    assert accounts.bob.address not in ledger.committee_members()
    assert ledger.committee_keys is not None
    assert [a for a in ledger.committee_members() if not ledger.committee_keys.functions.isMember(a).call()] == []


# ----------------------------------------------------------------------------- deployments without it


def test_deployment_without_committee_keys_fails_only_when_they_are_used(ledger: OpenLedger,
                                                                        accounts: Accounts) -> None:
    contracts = {n: c for n, c in ledger.deployment.contracts.items() if n != "CommitteeKeys"}
    older = OpenLedger(ledger.chain, dataclasses.replace(ledger.deployment, contracts=contracts))
    assert older.committee_keys is None
    assert older.committee_members() == ledger.committee_members()  # the distributor's, no CommitteeKeys needed
    for use in (lambda: older.publish_encryption_key(accounts.alice, age_key("a")),
                lambda: older.encryption_key(accounts.alice.address), older.committee_epoch_count,
                older.committee_wraps, older.committee_epochs, lambda: older.committee_key(1),
                lambda: older.post_committee_key(accounts.deployer, age_key("e"), [], []),
                lambda: older.wrap_committee_key(accounts.deployer, 1, [], [])):
        with pytest.raises(DeploymentError, match="has no CommitteeKeys.*openledger deploy --force"):
            use()
