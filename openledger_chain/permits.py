"""EIP-2612 permits for contribution bonds (issue 23): a contributor signs its bond's approval instead of sending an
`approve`, and a relayer sends the permit with the signed registration (`ContributionBonds.
registerContributionForWithPermit` / `registerContributionsForWithPermits`), so a contributor without ETH gets a
bonded contribution registered in one transaction.

The token's EIP-712 domain is read from the token (ERC-5267 `eip712Domain`, else `name` and version "1") and
accepted only if it hashes to the token's own `DOMAIN_SEPARATOR`: a signature over a domain the token does not use
would be refused on-chain. Typed data is built and signed with eth-account (`encode_typed_data`,
`Account.sign_typed_data`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address
from web3.contract import Contract

from openledger_chain.eip712 import typed_data

__all__ = ["NO_PERMIT", "PERMIT_FIELDS", "BondPermit", "PermitDomain", "permit_domain", "permit_typed_data",
           "sign_permit"]

#: EIP-2612's `Permit` type.
PERMIT_FIELDS = [
    {"name": "owner", "type": "address"},
    {"name": "spender", "type": "address"},
    {"name": "value", "type": "uint256"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
]
#: ERC-5267 `fields` of a domain of name, version, chainId and verifyingContract (no salt, no extensions).
_STANDARD_DOMAIN_FIELDS = 0x0F


@dataclass(frozen=True)
class PermitDomain:
    """A token's EIP-712 domain, as its `DOMAIN_SEPARATOR` confirms it."""

    name: str
    version: str
    chain_id: int
    token: str


@dataclass(frozen=True)
class BondPermit:
    """`IContributionBonds.BondPermit`: a signed `permit(owner, vault, value, deadline, v, r, s)`; deadline 0: none."""

    value: int
    deadline: int
    v: int
    r: bytes
    s: bytes

    def as_tuple(self) -> tuple[int, int, int, bytes, bytes]:
        return (self.value, self.deadline, self.v, self.r, self.s)


#: The empty permit of a batch entry whose contributor approved the vault itself (or signed one on another entry).
NO_PERMIT = BondPermit(0, 0, 0, bytes(32), bytes(32))


def permit_domain(token: Contract) -> PermitDomain | None:
    """The token's EIP-2612 domain, or None when the token has no permit (no `nonces` or `DOMAIN_SEPARATOR`, or a
    domain this module cannot reproduce, such as one with a salt)."""
    try:
        separator = bytes(token.functions.DOMAIN_SEPARATOR().call())
        token.functions.nonces(token.address).call()
    except Exception:  # noqa: BLE001  (any failure of these reads means: no EIP-2612 here)
        return None
    candidates: list[tuple[str, str, int]] = []
    try:
        fields, name, version, chain_id, verifying, _salt, extensions = token.functions.eip712Domain().call()
        if (bytes(fields)[0] == _STANDARD_DOMAIN_FIELDS and not extensions
                and to_checksum_address(verifying) == to_checksum_address(token.address)):
            candidates.append((str(name), str(version), int(chain_id)))
    except Exception:  # noqa: BLE001  (no ERC-5267: fall back to the token's name and version "1")
        pass
    if not candidates:
        try:
            name = str(token.functions.name().call())
        except Exception:  # noqa: BLE001
            return None
        chain_id = int(token.w3.eth.chain_id)
        candidates += [(name, "1", chain_id), (name, "2", chain_id)]
    for name, version, chain_id in candidates:
        domain = PermitDomain(name, version, chain_id, to_checksum_address(token.address))
        if _domain_separator(domain) == separator:
            return domain
    return None


def permit_typed_data(domain: PermitDomain, owner: str, spender: str, value: int, nonce: int,
                      deadline: int) -> dict[str, Any]:
    """The full EIP-712 `Permit` message `owner` signs to let `spender` take `value` until `deadline`."""
    message = {"owner": to_checksum_address(owner), "spender": to_checksum_address(spender), "value": value,
               "nonce": nonce, "deadline": deadline}
    return typed_data(domain.name, domain.version, domain.chain_id, domain.token, "Permit", PERMIT_FIELDS, message)


def sign_permit(owner: LocalAccount, domain: PermitDomain, spender: str, value: int, nonce: int,
                deadline: int) -> BondPermit:
    """`owner`'s EIP-2612 permit for `spender`, signed with eth-account."""
    signed = Account.sign_typed_data(owner.key, full_message=permit_typed_data(
        domain, owner.address, spender, value, nonce, deadline))
    return BondPermit(value, deadline, int(signed.v), int(signed.r).to_bytes(32, "big"),
                      int(signed.s).to_bytes(32, "big"))


def _domain_separator(domain: PermitDomain) -> bytes:
    """The domain's hash, as eth-account computes it (the `header` of an EIP-712 signable message)."""
    message = permit_typed_data(domain, "0x" + "00" * 20, "0x" + "00" * 20, 0, 0, 0)
    return bytes(encode_typed_data(full_message=message).header)
