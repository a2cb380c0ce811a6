"""Networks, accounts and transactions.

Two kinds of network:
- `embedded`: eth-tester on py-evm inside this process (tests, the demo, one-shot scripts); its state
  ends with the process.
- JSON-RPC nodes: `localhost` (http://127.0.0.1:8545, e.g. `openledger node`) or any `--rpc-url`.

Every transaction is signed locally with eth-account and sent raw, so the embedded chain and a real
node take exactly the same path. Reverts are decoded into `ContractRevertError(name, args)` using the
custom errors of every committed artifact.
"""

from __future__ import annotations

import ast
import os
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import Any

from eth_abi import decode as abi_decode
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import function_signature_to_4byte_selector
from web3 import Web3
from web3.contract.contract import ContractFunction
from web3.types import TxReceipt

from openledger_chain.build.artifacts import ARTIFACTS_DIR
from openledger_chain.errors import ChainError, ContractRevertError, InputError

DEV_MNEMONIC = "test test test test test test test test test test test junk"
DEV_ACCOUNT_COUNT = 10
LOCALHOST_URL = "http://127.0.0.1:8545"
# Chains whose accounts are public knowledge: the dev mnemonic may only be used on these.
LOCAL_CHAIN_IDS = frozenset({31337, 1337, 131277322940537})
EMBEDDED = "embedded"
LOCALHOST = "localhost"
_DEV_FUNDING_WEI = 10_000 * 10**18
LOCAL_RECEIPT_POLL = 0.005  # seconds between receipt polls on a local node, which mines at once
REMOTE_RECEIPT_POLL = 1.0

Account.enable_unaudited_hdwallet_features()


@dataclass
class Chain:
    """A connection to one chain, named after the network (`embedded`, `localhost`, or a URL's name)."""

    w3: Web3
    network: str
    rpc_url: str | None = None

    @property
    def chain_id(self) -> int:
        return int(self.w3.eth.chain_id)

    @cached_property
    def block_gas_limit(self) -> int:
        return int(self.w3.eth.get_block("latest")["gasLimit"])

    @property
    def is_local(self) -> bool:
        return self.network == EMBEDDED or self.chain_id in LOCAL_CHAIN_IDS

    def transact(self, function: ContractFunction, sender: LocalAccount, *, value: int = 0) -> TxReceipt:
        """Sign and send `function` from `sender`, wait for the receipt, and decode any revert.

        Raises:
            ContractRevertError: the call reverts (decoded custom error), before anything is sent.
            ChainError: the node rejected the transaction or it was mined with a failure status.
        """
        params: dict[str, Any] = {"from": sender.address, "value": value}
        try:
            # Estimate against the pending block: the block the transaction will be mined in. Against
            # `latest`, a call that needs an earlier block (a registration revealing a commitment) fails
            # on a node; eth-tester already estimates on its pending block and takes no block argument.
            block = None if self.network == EMBEDDED else "pending"
            # A margin: the block the transaction lands in may have a later timestamp than the one it
            # was estimated on, and a timestamp-dependent branch (publishScores extending the
            # challenge window) then costs a few thousand gas more. Unused gas is not charged.
            estimate = function.estimate_gas(params, block_identifier=block)
            gas = max(estimate, min(estimate * 5 // 4, self.block_gas_limit))
            tx = function.build_transaction(params | {"nonce": self._nonce(sender), "gas": gas})
        except Exception as exc:  # noqa: BLE001 - web3 and eth-tester raise many types for a revert
            raise decode_revert(exc) from exc
        return self.send(tx, sender)

    def deploy(self, abi: list[dict[str, Any]], bytecode: str, sender: LocalAccount, *args: Any) -> TxReceipt:
        """Deploy a contract from `sender` and return the receipt (its `contractAddress` is set)."""
        factory = self.w3.eth.contract(abi=abi, bytecode=bytecode)
        try:
            tx = factory.constructor(*args).build_transaction(
                {"from": sender.address, "nonce": self._nonce(sender)}
            )
        except Exception as exc:  # noqa: BLE001
            raise decode_revert(exc) from exc
        return self.send(tx, sender)

    def send_value(self, sender: LocalAccount, to: str, value: int) -> TxReceipt:
        """Send `value` wei from `sender` to `to`."""
        tx = {"to": to, "value": value, "gas": 21_000, "nonce": self._nonce(sender), "chainId": self.chain_id,
              "maxFeePerGas": int(self.w3.eth.gas_price) * 2, "maxPriorityFeePerGas": int(self.w3.eth.gas_price)}
        return self.send(tx, sender)

    def send(self, tx: dict[str, Any], sender: LocalAccount) -> TxReceipt:
        signed = sender.sign_transaction(tx)
        try:
            tx_hash = self.w3.eth.send_raw_transaction(signed.raw_transaction)
            # A local node mines at once: poll often. A public chain mines every few seconds: poll gently.
            poll = LOCAL_RECEIPT_POLL if self.is_local else REMOTE_RECEIPT_POLL
            receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=120, poll_latency=poll)
        except Exception as exc:  # noqa: BLE001
            raise ChainError(f"transaction from {sender.address} failed: {exc}") from exc
        if receipt["status"] != 1:
            raise ChainError(f"transaction {tx_hash.hex()} was mined but failed (out of gas or reverted)")
        return receipt

    def _nonce(self, sender: LocalAccount) -> int:
        # Every transaction waits for its receipt, so the node's pending count is always current.
        return int(self.w3.eth.get_transaction_count(sender.address, "pending"))


def connect(network: str = LOCALHOST, rpc_url: str | None = None) -> Chain:
    """Connect to `network`: `embedded`, `localhost`, or any name with an explicit `rpc_url`.

    Raises:
        ChainError: no node answers at the URL (the message says how to start one).
    """
    if network == EMBEDDED and rpc_url is None:
        return _embedded_chain()
    url = rpc_url or (LOCALHOST_URL if network == LOCALHOST else None)
    if url is None:
        raise InputError(f"unknown network {network!r}: use `embedded`, `localhost`, give --rpc-url, or name it in "
                         "openledger.toml under [networks]")
    w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 30}))
    if not w3.is_connected():
        hint = "start one with `openledger node`" if url == LOCALHOST_URL else "check --rpc-url"
        raise ChainError(f"no Ethereum node answers at {url}; {hint}")
    return Chain(w3=w3, network=network, rpc_url=url)


def _embedded_chain() -> Chain:
    from eth_tester import EthereumTester, PyEVMBackend
    from web3 import EthereumTesterProvider

    w3 = Web3(EthereumTesterProvider(EthereumTester(PyEVMBackend())))
    # Fund the dev-mnemonic accounts so that the embedded chain and `openledger node` share accounts.
    funder = w3.eth.accounts[0]
    for account in dev_accounts():
        w3.eth.send_transaction({"from": funder, "to": account.address, "value": _DEV_FUNDING_WEI})
    return Chain(w3=w3, network=EMBEDDED)


@cache
def dev_accounts() -> tuple[LocalAccount, ...]:
    """The well-known accounts of the dev mnemonic (the same as anvil's and hardhat's defaults)."""
    return tuple(
        Account.from_mnemonic(DEV_MNEMONIC, account_path=f"m/44'/60'/0'/0/{i}") for i in range(DEV_ACCOUNT_COUNT)
    )


def load_account(
    chain: Chain,
    *,
    keystore: Path | None = None,
    password: str | None = None,
    key_env: str | None = None,
    dev_index: int | None = None,
) -> LocalAccount:
    """Resolve the account to sign with: a keystore file, a key in an environment variable, or a dev account.

    The dev mnemonic's keys are public, so they are refused on any chain that is not local.

    Raises:
        InputError: the account source is missing, unreadable, or not allowed on this chain.
    """
    if keystore is not None:
        if not keystore.is_file():
            raise InputError(f"keystore file {keystore} not found")
        if password is None:
            raise InputError("keystore given without a password: set OPENLEDGER_KEYSTORE_PASSWORD")
        try:
            return Account.from_key(Account.decrypt(keystore.read_text(), password))
        except ValueError as exc:
            raise InputError(f"cannot decrypt keystore {keystore}: {exc}") from exc
    if key_env:
        key = os.environ.get(key_env)
        if not key:
            raise InputError(f"environment variable {key_env} is not set; export the private key there")
        try:
            return Account.from_key(key)
        except (ValueError, TypeError) as exc:
            raise InputError(f"environment variable {key_env} does not hold a valid private key") from exc
    index = 0 if dev_index is None else dev_index
    if not chain.is_local:
        raise InputError(
            f"chain {chain.chain_id} is not a local chain: the dev mnemonic is public; use --keystore or --key-env"
        )
    if not 0 <= index < DEV_ACCOUNT_COUNT:
        raise InputError(f"dev account index {index} out of range 0..{DEV_ACCOUNT_COUNT - 1}")
    return dev_accounts()[index]


def decode_revert(exc: BaseException) -> ChainError:
    """Turn whatever web3 or eth-tester raised for a revert into a `ContractRevertError` when possible."""
    data = _revert_data(exc)
    if data is None:
        return ChainError(f"call failed: {exc}")
    if len(data) < 4:
        return ContractRevertError("Revert", ())
    selector, payload = data[:4], data[4:]
    error = _known_errors().get(selector)
    if error is None:
        return ContractRevertError(f"UnknownError(0x{data.hex()})", ())
    name, types = error
    try:
        args = tuple(abi_decode(types, payload))
    except Exception:  # noqa: BLE001 - malformed payload: keep the name
        args = ()
    return ContractRevertError(name, args)


def _revert_data(exc: BaseException) -> bytes | None:
    data = getattr(exc, "data", None)
    if isinstance(data, str) and data.startswith("0x"):
        return bytes.fromhex(data[2:])
    if isinstance(data, dict) and isinstance(data.get("data"), str):
        return bytes.fromhex(data["data"].removeprefix("0x"))
    for arg in getattr(exc, "args", ()):
        if isinstance(arg, bytes):
            return arg
        if isinstance(arg, str):
            marker = "execution reverted: b"
            if marker in arg:
                return ast.literal_eval(arg[arg.index(marker) + len(marker) - 1 :])
            if arg.startswith("0x") and len(arg) >= 10:
                return bytes.fromhex(arg[2:])
    return None


@cache
def _known_errors() -> dict[bytes, tuple[str, list[str]]]:
    import json

    errors: dict[bytes, tuple[str, list[str]]] = {
        function_signature_to_4byte_selector("Error(string)"): ("Error", ["string"]),
        function_signature_to_4byte_selector("Panic(uint256)"): ("Panic", ["uint256"]),
    }
    for path in ARTIFACTS_DIR.glob("*.json"):
        for item in json.loads(path.read_text())["abi"]:
            if item["type"] == "error":
                types = [_abi_type(i) for i in item["inputs"]]
                selector = function_signature_to_4byte_selector(f"{item['name']}({','.join(types)})")
                errors[selector] = (item["name"], types)
    return errors


def _abi_type(item: dict[str, Any]) -> str:
    kind = item["type"]
    if kind.startswith("tuple"):
        return "(" + ",".join(_abi_type(c) for c in item["components"]) + ")" + kind[len("tuple") :]
    return kind
