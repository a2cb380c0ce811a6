"""The EIP-712 domain shared by every typed message this package signs (OpenZeppelin's EIP712)."""

from __future__ import annotations

from typing import Any

from eth_utils import to_checksum_address

DOMAIN_FIELDS = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]


def typed_data(
    name: str, version: str, chain_id: int, contract: str, primary_type: str, fields: list[dict[str, str]],
    message: dict[str, Any],
) -> dict[str, Any]:
    """A full EIP-712 message for `contract`'s domain, ready for `Account.sign_typed_data(full_message=...)`."""
    return {
        "types": {"EIP712Domain": DOMAIN_FIELDS, primary_type: fields},
        "primaryType": primary_type,
        "domain": {"name": name, "version": version, "chainId": chain_id, "verifyingContract": to_checksum_address(contract)},
        "message": message,
    }
