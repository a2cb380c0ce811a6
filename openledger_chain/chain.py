"""Networks, accounts and transactions.

Two kinds of network:
- `embedded`: eth-tester on py-evm inside this process (tests, the demo, one-shot scripts); its state
  ends with the process.
- JSON-RPC nodes: `localhost` (http://127.0.0.1:8545, e.g. `openledger node`) or any `--rpc-url`.

Every transaction is signed locally with eth-account and sent raw, so the embedded chain and a real
node take exactly the same path. Reverts are decoded into `ContractRevertError(name, args)` using the
custom errors of every committed artifact, with a one-line explanation from `revert_hints`: a transaction's
(estimated or sent) opens "transaction reverted", a read's (`Chain.call`) "the chain refused the read".
"""

from __future__ import annotations

import ast
import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import Any, TypeVar

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import function_signature_to_4byte_selector
from eth_utils.abi import collapse_if_tuple, function_abi_to_4byte_selector, get_abi_input_types
from web3 import HTTPProvider, Web3
from web3._utils.transactions import fill_transaction_defaults
from web3.contract.contract import Contract, ContractFunction
from web3.exceptions import TransactionNotFound
from web3.types import RPCEndpoint, TxReceipt

from openledger_chain.build.artifacts import ARTIFACTS_DIR
from openledger_chain.errors import ChainError, ContractRevertError, InputError
from openledger_chain.revert_hints import READ_REFUSED, TRANSACTION_REVERTED, TokenUnits, describe

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


# Transient transport failures (connection errors, timeouts, HTTP 429 and 5xx) are retried this many
# times, after 0.25, 0.5, 1, 2, 4 s (at most MAX_BACKOFF each, or what a 429's Retry-After asks up to that):
# about 8 s in all, enough for a provider's rate limit window or a node restart, short enough to fail visibly.
RPC_RETRIES = 5
RPC_BACKOFF = 0.25
MAX_BACKOFF = 8.0
# Local-node methods that change the node again each time it takes them: a request that timed out may still have
# been taken, so the provider never re-sends them (Chain.mine_blocks finishes what a timed-out request left).
NOT_RETRIED = frozenset({"anvil_mine", "hardhat_mine", "evm_mine", "evm_increaseTime"})
# A transaction not mined within this many seconds is replaced: same nonce, fees raised by at least
# REPLACEMENT_BUMP (12.5%: above the 10% geth, anvil and most pools require to accept a replacement).
DEFAULT_TX_TIMEOUT = 120.0
MAX_REPLACEMENTS = 3
REPLACEMENT_BUMP_NUM, REPLACEMENT_BUMP_DEN = 9, 8
# A batch of writes targets this fraction of the block gas limit per transaction: the EIP-1559 target, so a
# transaction fits any block with room to spare and never needs a block to itself.
DEFAULT_GAS_TARGET_FRACTION = 0.5

logger = logging.getLogger("openledger_chain")
T = TypeVar("T")


class RetryingHTTPProvider(HTTPProvider):
    """web3's HTTP provider, retrying every request (reads and sends alike) on transient transport failures:
    connection errors, timeouts, HTTP 429 and 5xx, with exponential backoff, `retries` times at most.

    A JSON-RPC error (a revert, a rejected transaction) is an answer, not a failure: it is never retried.
    Re-sending a raw transaction is safe: the node answers "already known" (handled by `Chain.send`) or
    takes it once. The local-node methods of NOT_RETRIED are not: mining twice mines twice as many blocks.
    This replaces web3's own retry, which skips eth_sendRawTransaction and retries 4xx too.
    """

    def __init__(self, url: str, *, timeout: float = 30.0, retries: int = RPC_RETRIES,
                 backoff: float = RPC_BACKOFF) -> None:
        super().__init__(url, request_kwargs={"timeout": timeout}, exception_retry_configuration=None)
        self.retries = retries
        self.backoff = backoff

    def _make_request(self, method: Any, request_data: bytes) -> bytes:
        for attempt in range(self.retries + 1):
            try:
                return super()._make_request(method, request_data)
            except Exception as exc:  # noqa: BLE001 - classified right below; anything else is re-raised
                reason = transient_reason(exc)
                if reason is None or attempt == self.retries or str(method) in NOT_RETRIED:
                    raise
                delay = min(self.backoff * 2**attempt, MAX_BACKOFF)
                delay = max(delay, min(_retry_after(exc), MAX_BACKOFF))
                logger.warning("%s answered %s to %s; retrying in %.2g s (%d of %d)",
                               self.endpoint_uri, reason, method, delay, attempt + 1, self.retries)
                time.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


def transient_reason(exc: BaseException) -> str | None:
    """Why `exc` is worth retrying ("HTTP 503", "a timeout", "a connection error"), or None if it is not."""
    import requests

    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        status = exc.response.status_code
        if status == 429 or status >= 500:
            # Some gateways answer a revert with HTTP 500 and a JSON-RPC error: that is an answer, not an outage.
            if "revert" in (exc.response.text or "").lower():
                return None
            return f"HTTP {status}"
        return None
    if isinstance(exc, requests.Timeout):
        return "a timeout"
    if isinstance(exc, (requests.ConnectionError, ConnectionError)):
        return "a connection error"
    return None


def _retry_after(exc: BaseException) -> float:
    response = getattr(exc, "response", None)
    value = response.headers.get("Retry-After") if response is not None else None
    try:
        return float(value) if value is not None else 0.0
    except ValueError:
        return 0.0


@dataclass(frozen=True)
class Calldata:
    """A contract call encoded once with eth-abi, for calls whose arguments are too large for web3.

    web3 normalizes and validates every argument again on every estimate and every send (checksums
    each address through Keccak): a 5,000-entry ``publishScores`` took it ~3 s per encoding, 47 of the
    55 s of submitting a 10,000-contributor round. :meth:`Chain.estimate` and :meth:`Chain.transact`
    take this in place of a ``ContractFunction``.
    """

    to: str
    data: bytes

    @classmethod
    def of(cls, contract: Contract, name: str, *args: Any) -> Calldata:
        """``contract.functions.<name>(*args)``, encoded (addresses inside `args` may be 20-byte values)."""
        abi = contract.get_function_by_name(name).abi
        return cls(contract.address, function_abi_to_4byte_selector(abi) + abi_encode(get_abi_input_types(abi), args))


@dataclass
class Chain:
    """A connection to one chain, named after the network (`embedded`, `localhost`, or a URL's name).

    `tx_timeout`: seconds a sent transaction may wait to be mined before it is replaced (same nonce, fees up
    12.5%), at most `max_replacements` times; then `send` fails naming the transaction and its fees.
    """

    w3: Web3
    network: str
    rpc_url: str | None = None
    tx_timeout: float = DEFAULT_TX_TIMEOUT
    max_replacements: int = MAX_REPLACEMENTS

    @cached_property
    def chain_id(self) -> int:
        # Once per connection: every signature's domain needs it, and onboarding 2,500 contributors
        # asked the node 5,000 times (15 of its 56 s).
        return int(self.w3.eth.chain_id)

    @cached_property
    def block_gas_limit(self) -> int:
        return int(self.w3.eth.get_block("latest")["gasLimit"])

    @property
    def default_gas_target(self) -> int:
        """Gas a batch of writes aims at per transaction: half the block gas limit (the EIP-1559 target)."""
        return int(self.block_gas_limit * DEFAULT_GAS_TARGET_FRACTION)

    @property
    def is_local(self) -> bool:
        return self.network == EMBEDDED or self.chain_id in LOCAL_CHAIN_IDS

    def call(self, function: ContractFunction, *, sender: str | None = None, doing: str = READ_REFUSED) -> Any:
        """`function.call()` (as `sender`, if given): a read, nothing is sent.

        Raises:
            ContractRevertError: the call reverts; its message opens with `doing` ("the chain refused the read"),
                never "transaction reverted".
        """
        try:
            return function.call({"from": sender} if sender else None)
        except Exception as exc:  # noqa: BLE001 - web3 and eth-tester raise many types for a revert
            raise decode_revert(exc, doing=doing) from exc

    def estimate(self, function: ContractFunction | Calldata, sender: LocalAccount, *, value: int = 0) -> int:
        """Gas `function` needs from `sender`, estimated on the block it would be mined in.

        Raises:
            ContractRevertError: the call reverts (decoded custom error).
        """
        try:
            # Estimate against the pending block: the block the transaction will be mined in. Against
            # `latest`, a call that needs an earlier block (a registration revealing a commitment) fails
            # on a node; eth-tester already estimates on its pending block and takes no block argument.
            block = None if self.network == EMBEDDED else "pending"
            params: dict[str, Any] = {"from": sender.address, "value": value}
            if isinstance(function, Calldata):
                call = params | {"to": function.to, "data": function.data}
                return int(self.w3.eth.estimate_gas(call, block) if block else self.w3.eth.estimate_gas(call))
            return int(function.estimate_gas(params, block_identifier=block))
        except Exception as exc:  # noqa: BLE001 - web3 and eth-tester raise many types for a revert
            raise decode_revert(exc) from exc

    def transact(self, function: ContractFunction | Calldata, sender: LocalAccount, *, value: int = 0,
                 estimate: int | None = None) -> TxReceipt:
        """Sign and send `function` from `sender`, wait for the receipt, and decode any revert.

        `estimate`: a gas estimate just made for this call (by `estimate`), to spare the node a second one.

        Raises:
            ContractRevertError: the call reverts (decoded custom error), before anything is sent.
            ChainError: the node rejected the transaction, it was never mined, or mined with a failure status.
        """
        params: dict[str, Any] = {"from": sender.address, "value": value}
        if estimate is None:
            estimate = self.estimate(function, sender, value=value)
        try:
            # A margin: the block the transaction lands in may have a later timestamp than the one it
            # was estimated on, and a timestamp-dependent branch (publishScores extending the
            # challenge window) then costs a few thousand gas more. Unused gas is not charged.
            gas = max(estimate, min(estimate * 5 // 4, self.block_gas_limit))
            params |= {"nonce": self._nonce(sender), "gas": gas}
            if isinstance(function, Calldata):
                # The defaults (chain id, fee fields) web3's build_transaction fills for a ContractFunction.
                tx = dict(fill_transaction_defaults(self.w3, params | {"to": function.to, "data": function.data}))
            else:
                tx = function.build_transaction(params)
        except Exception as exc:  # noqa: BLE001 - web3 and eth-tester raise many types for a revert
            raise decode_revert(exc) from exc
        return self.send(tx, sender)

    def transact_in_chunks(
        self,
        items: Sequence[T],
        call: Callable[[Sequence[T]], ContractFunction | Calldata],
        sender: LocalAccount,
        *,
        gas_target: int | None = None,
        max_items: int | None = None,
        first_guess: int = 50,
        on_revert: Callable[[Sequence[T], ContractRevertError], Sequence[T]] | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> list[TxReceipt]:
        """Send `call(chunk)` for consecutive chunks of `items`, each sized so its estimated gas is at most
        `gas_target` (default: `default_gas_target`), at most `max_items` long.

        Each chunk is sized from the gas the previous one took per item and checked with `eth_estimateGas`
        (shrunk when over the target, grown when well under it) just before it is sent, once the chunk before
        it is mined: chunks may depend on each other (score lists must be published in order).

        `on_revert(remaining, error)`: when a chunk's estimate reverts, return the remaining items to go on
        with (for example without the invalid entry the error names), or raise; without it, the revert is
        raised. `progress(done, total)` is called after each chunk.

        Raises:
            ContractRevertError: a chunk reverts (and `on_revert` does not handle it).
            ChainError: a single item needs more gas than a block holds.
        """
        target = gas_target or self.default_gas_target
        limit = max_items or len(items) or 1
        remaining = list(items)
        total, done = len(remaining), 0
        size = max(1, min(first_guess, limit))
        receipts: list[TxReceipt] = []
        while remaining:
            size = max(1, min(size, len(remaining), limit))
            try:
                size, gas, function = self._fit_chunk(remaining, call, sender, size, target, limit)
            except ContractRevertError as exc:
                if on_revert is None:
                    raise
                before = len(remaining)
                remaining = list(on_revert(remaining, exc))
                total -= before - len(remaining)
                continue
            receipts.append(self.transact(function, sender, estimate=gas))
            remaining = remaining[size:]
            done += size
            if progress:
                progress(done, total)
            # The next chunk starts from this one's gas per item (its fixed cost amortized: a slight undershoot).
            size = max(1, size * target // max(gas, 1))
        return receipts

    def _fit_chunk(self, items: Sequence[T], call: Callable[[Sequence[T]], ContractFunction | Calldata],
                   sender: LocalAccount, size: int, target: int, limit: int) -> tuple[int, int, ContractFunction | Calldata]:
        """The largest chunk (from `size`, a few estimates at most) whose estimated gas fits `target`:
        (its size, its gas, its call, built once for the estimate and the send)."""
        best: tuple[int, int, ContractFunction | Calldata] | None = None
        for _ in range(8):
            function = call(items[:size])
            try:
                gas = self.estimate(function, sender)
            except ContractRevertError:
                raise
            except ChainError as exc:
                # More gas than a block holds: the node refuses to estimate at all ("exceeds allowance").
                if size == 1 or not _over_block_gas(exc):
                    raise
                size = (best[0] + size) // 2 if best is not None else size // 2
                if best is not None and size <= best[0]:
                    return best
                continue
            if gas <= target:
                best = (size, gas, function)
                grown = min(len(items), limit, size * target * 49 // (gas * 50))
                # Close enough to the target (or nothing left to add): send it.
                if gas * 10 >= target * 9 or grown <= size:
                    return best
                size = grown
            elif best is not None:
                return best
            elif size == 1:
                if gas > self.block_gas_limit:
                    raise ChainError(f"one item needs {gas:,} gas, more than a block holds ({self.block_gas_limit:,})")
                return 1, gas, function  # over the target but within a block: one item per transaction
            else:
                # Gas grows about linearly with the chunk: one proportional step nearly always lands under.
                size = max(1, min(size - 1, size * target * 49 // (gas * 50)))
        return best if best is not None else self._fit_chunk(items, call, sender, 1, target, limit)

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

    # ----- local nodes only: what a developer needs that no real chain offers

    def fund(self, address: str, wei: int) -> int:
        """Add `wei` to `address`'s balance on a local node, so a fresh key can pay gas; returns the new balance.

        Sets the balance with `anvil_setBalance` (anvil, `openledger node`), else sends it from dev account 0
        (another local node with the dev mnemonic's accounts funded, as hardhat's are).

        Raises:
            InputError: the chain is not a local node (see `require_local_node`).
            ChainError: the node can neither set a balance nor take dev account 0's transfer.
        """
        self.require_local_node("fund an address")
        balance = int(self.w3.eth.get_balance(address)) + wei  # type: ignore[arg-type]
        response = self.w3.provider.make_request(RPCEndpoint("anvil_setBalance"), [address, hex(balance)])
        if "error" not in response:
            return balance
        self.send_value(dev_accounts()[0], address, wei)
        return int(self.w3.eth.get_balance(address))  # type: ignore[arg-type]

    def advance_time(self, seconds: int) -> tuple[int, int]:
        """Move a local node's clock `seconds` forward and mine a block at the new time (`evm_increaseTime`,
        then `evm_mine`: anvil, hardhat, ganache): returns that block's number and timestamp.

        Raises:
            InputError: the chain is not a local node (see `require_local_node`).
            ChainError: the node refused either call.
        """
        self.require_local_node("move time")
        for method, params in (("evm_increaseTime", [seconds]), ("evm_mine", [])):
            response = self.w3.provider.make_request(RPCEndpoint(method), params)
            if "error" in response:
                raise ChainError(f"the node at {self.rpc_url} refused {method}: {response['error']}")
        block = self.w3.eth.get_block("latest")
        return int(block["number"]), int(block["timestamp"])

    def mine_blocks(self, count: int) -> int:
        """Mine `count` empty blocks on a local chain (the embedded one included) and return the latest block
        number: what a registration waits out before rounds count it (`openledger_chain.settlement`). One call
        however many blocks: the embedded chain's `mine_blocks`, anvil's `anvil_mine` (hardhat: `hardhat_mine`).

        Raises:
            InputError: the chain is not local (see `require_local_node`).
            ChainError: the node refused to mine.
        """
        if count < 0:
            raise InputError(f"cannot mine {count} blocks; give a number of blocks >= 0")
        if self.network == EMBEDDED:
            self.w3.provider.ethereum_tester.mine_blocks(count)  # type: ignore[attr-defined]
            return int(self.w3.eth.block_number)
        self.require_local_node("mine blocks")
        height = int(self.w3.eth.block_number)
        target = height + count
        for attempt in range(RPC_RETRIES + 1):
            if height >= target:
                return height
            try:
                self._mine(target - height)
                height = int(self.w3.eth.block_number)
            except Exception as exc:  # noqa: BLE001 - classified right below; anything else is re-raised
                if transient_reason(exc) is None or attempt == RPC_RETRIES:
                    raise
                # The node may have taken the request and still be mining: mine only what is left once it stops.
                logger.warning("%s answered %s to mining %d blocks; finishing from the height it reaches",
                               self.rpc_url, transient_reason(exc), target - height)
                height = self._settled_height()
        raise ChainError(f"the node at {self.rpc_url} reached block {height}, not {target}, after {RPC_RETRIES + 1} "
                         "requests to mine; check the node")

    def _mine(self, count: int) -> None:
        """One request mining `count` blocks: anvil's `anvil_mine`, else hardhat's `hardhat_mine`."""
        errors = []
        for method in ("anvil_mine", "hardhat_mine"):
            response = self.w3.provider.make_request(RPCEndpoint(method), [hex(count)])
            if "error" not in response:
                return
            errors.append(f"{method}: {response['error']}")
        raise ChainError(f"the node at {self.rpc_url} mines no blocks on request ({'; '.join(errors)})")

    def _settled_height(self, interval: float = 0.5) -> int:
        """The node's block number once two reads `interval` seconds apart agree (it is not mining any more)."""
        height = int(self.w3.eth.block_number)
        while True:
            time.sleep(interval)
            now = int(self.w3.eth.block_number)
            if now == height:
                return height
            height = now

    def require_local_node(self, what: str) -> None:
        """Refuse, in one line, to `what` anywhere but a local node another process can reach.

        Raises:
            InputError: the embedded chain (it lives inside one process), or a chain whose id is not local.
        """
        if self.network == EMBEDDED:
            raise InputError(f"cannot {what} on the embedded chain: it has no node to ask; its dev accounts start "
                             "with 10,000 ETH each, and `chain.w3.provider.ethereum_tester.time_travel(timestamp)` "
                             "moves its time")
        if not self.is_local:
            raise InputError(f"chain {self.chain_id} at {self.rpc_url} is not a local chain: only a local node "
                             f"(chain id {', '.join(map(str, sorted(LOCAL_CHAIN_IDS)))}) lets anyone {what}")

    def send(self, tx: dict[str, Any], sender: LocalAccount) -> TxReceipt:
        """Sign and broadcast `tx`, and wait for it to be mined.

        A transaction not mined within `tx_timeout` is replaced by the same one with the same nonce and fees
        raised by at least 12.5% (maxFeePerGas and maxPriorityFeePerGas, or gasPrice), at most
        `max_replacements` times, each logged as one line; whichever of them is mined is the result.

        Raises:
            ChainError: the node rejected it, none was mined in time, its nonce was taken by another
                transaction, or it was mined with a failure status (never retried: a revert stays a revert).
        """
        sent: list[bytes] = []
        nonce = int(tx["nonce"])
        poll = LOCAL_RECEIPT_POLL if self.is_local else REMOTE_RECEIPT_POLL
        receipt: TxReceipt | None = None
        for attempt in range(self.max_replacements + 1):
            signed = sender.sign_transaction(tx)
            self._broadcast(signed.raw_transaction, bytes(signed.hash), sender, nonce, sent)
            sent.append(bytes(signed.hash))
            receipt = self._wait_for_any(sent, self.tx_timeout, poll)
            if receipt is not None:
                break
            if int(self.w3.eth.get_transaction_count(sender.address, "latest")) > nonce:
                # Something took the nonce meanwhile: ours (mined just now), or another sender of this key.
                receipt = self._wait_for_any(sent, max(2 * poll, 1.0), poll)
                if receipt is None:
                    raise ChainError(f"nonce {nonce} of {sender.address} was used by another transaction while "
                                     f"0x{sent[-1].hex()} waited; is this key used elsewhere at the same time?")
                break
            if attempt == self.max_replacements:
                raise ChainError(
                    f"transaction 0x{sent[-1].hex()} (nonce {nonce}) was not mined after {attempt + 1} attempts of "
                    f"{self.tx_timeout:g} s each, the last at {_fee_text(tx)}; check the node, or raise "
                    "OPENLEDGER_TX_TIMEOUT, and run the command again (it resumes)")
            replacement = self._bumped(tx)
            logger.warning("transaction 0x%s (nonce %d) not mined after %g s; replacing it with the same nonce at "
                           "%s (was %s)", sent[-1].hex(), nonce, self.tx_timeout, _fee_text(replacement),
                           _fee_text(tx))
            tx = replacement
        assert receipt is not None
        if receipt["status"] != 1:
            raise ChainError(f"transaction 0x{bytes(receipt['transactionHash']).hex()} was mined but failed "
                             "(out of gas or reverted)")
        return receipt

    def _broadcast(self, raw: bytes, tx_hash: bytes, sender: LocalAccount, nonce: int, sent: list[bytes]) -> None:
        try:
            self.w3.eth.send_raw_transaction(raw)
        except Exception as exc:  # noqa: BLE001 - nodes word these differently; classified by message
            message = str(exc).lower()
            # A retried send whose first try reached the node, or the same bytes twice: it is in the pool.
            if "already known" in message or "known transaction" in message or "already imported" in message:
                return
            # Our earlier attempt was mined between the timeout and this replacement: wait for it.
            if sent and "nonce too low" in message:
                return
            raise ChainError(f"the node refused transaction 0x{tx_hash.hex()} (nonce {nonce}) from "
                             f"{sender.address}: {exc}") from exc

    def _wait_for_any(self, hashes: Sequence[bytes], timeout: float, poll: float) -> TxReceipt | None:
        """The receipt of whichever of `hashes` is mined first, or None after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            for tx_hash in hashes:
                try:
                    return self.w3.eth.get_transaction_receipt(tx_hash)
                except TransactionNotFound:
                    continue
            if time.monotonic() >= deadline:
                return None
            time.sleep(poll)

    def _bumped(self, tx: dict[str, Any]) -> dict[str, Any]:
        """`tx` with fees raised by at least 12.5% each, and to at least what the network asks now."""
        def up(value: int) -> int:
            return max(-(-value * REPLACEMENT_BUMP_NUM // REPLACEMENT_BUMP_DEN), value + 1)

        if "gasPrice" in tx:
            return tx | {"gasPrice": max(up(int(tx["gasPrice"])), int(self.w3.eth.gas_price))}
        priority = up(int(tx["maxPriorityFeePerGas"]))
        base_fee = int(self.w3.eth.get_block("latest").get("baseFeePerGas", 0))
        return tx | {"maxPriorityFeePerGas": priority,
                     "maxFeePerGas": max(up(int(tx["maxFeePerGas"])), 2 * base_fee + priority)}

    def wait_until_settled(self, address: str, timeout: float | None = None) -> None:
        """Wait until none of `address`'s transactions is still waiting in the node's pool (for example ones a
        killed run sent), so what is read next is the state they lead to.

        Raises:
            ChainError: some are still pending after `timeout` (default: `tx_timeout`) seconds.
        """
        deadline = time.monotonic() + (self.tx_timeout if timeout is None else timeout)
        poll = LOCAL_RECEIPT_POLL if self.is_local else REMOTE_RECEIPT_POLL
        while True:
            mined = int(self.w3.eth.get_transaction_count(address, "latest"))
            pending = int(self.w3.eth.get_transaction_count(address, "pending"))
            if pending <= mined:
                return
            if time.monotonic() >= deadline:
                raise ChainError(f"{address} has {pending - mined} transaction(s) (nonces {mined}..{pending - 1}) "
                                 "still waiting to be mined from an earlier run; wait for them, or replace them "
                                 "with your wallet, then run the command again")
            time.sleep(poll)

    def _nonce(self, sender: LocalAccount) -> int:
        # Every transaction waits for its receipt, so the node's pending count is always current.
        return int(self.w3.eth.get_transaction_count(sender.address, "pending"))


def _over_block_gas(exc: BaseException) -> bool:
    message = str(exc).lower()
    return any(m in message for m in ("exceeds allowance", "exceeds block gas limit", "gas limit reached",
                                      "out of gas", "intrinsic gas too high"))


def _fee_text(tx: dict[str, Any]) -> str:
    if "gasPrice" in tx:
        return f"gasPrice {_gwei(int(tx['gasPrice']))}"
    return (f"maxFeePerGas {_gwei(int(tx['maxFeePerGas']))}, "
            f"maxPriorityFeePerGas {_gwei(int(tx['maxPriorityFeePerGas']))}")


def _gwei(wei: int) -> str:
    return f"{wei / 10**9:.4g} gwei"


def connect(network: str = LOCALHOST, rpc_url: str | None = None) -> Chain:
    """Connect to `network`: `embedded`, `localhost`, or any name with an explicit `rpc_url`.

    Every request is retried on transient failures (see `RetryingHTTPProvider`); a sent transaction not
    mined within OPENLEDGER_TX_TIMEOUT seconds (default 120) is replaced with higher fees.

    Raises:
        ChainError: no node answers at the URL (the message says how to start one).
    """
    if network == EMBEDDED and rpc_url is None:
        return _embedded_chain()
    url = rpc_url or (LOCALHOST_URL if network == LOCALHOST else None)
    if url is None:
        raise InputError(f"unknown network {network!r}: use `embedded`, `localhost`, give --rpc-url, or name it in "
                         "openledger.toml under [networks]")
    provider = RetryingHTTPProvider(url, timeout=30, retries=0)
    w3 = Web3(provider)
    # The first contact is not retried: a node that is not running should be said at once, not in 8 s.
    if not w3.is_connected():
        hint = "start one with `openledger node`" if url == LOCALHOST_URL else "check --rpc-url"
        raise ChainError(f"no Ethereum node answers at {url}; {hint}")
    provider.retries = RPC_RETRIES
    return Chain(w3=w3, network=network, rpc_url=url, tx_timeout=_tx_timeout())


def _tx_timeout() -> float:
    value = os.environ.get("OPENLEDGER_TX_TIMEOUT")
    if not value:
        return DEFAULT_TX_TIMEOUT
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not seconds > 0:
        raise InputError(f"OPENLEDGER_TX_TIMEOUT={value!r} is not a positive number of seconds")
    return seconds


def _embedded_chain() -> Chain:
    from eth_tester import EthereumTester, PyEVMBackend
    from web3 import EthereumTesterProvider

    backend = PyEVMBackend()
    # The class too: eth-tester rebuilds the chain object (same class) when it reverts to a snapshot.
    backend.chain.gas_estimator = _estimate_gas
    type(backend.chain).gas_estimator = staticmethod(_estimate_gas)
    w3 = Web3(EthereumTesterProvider(EthereumTester(backend)))
    # Fund the dev-mnemonic accounts so that the embedded chain and `openledger node` share accounts.
    funder = w3.eth.accounts[0]
    for account in dev_accounts():
        w3.eth.send_transaction({"from": funder, "to": account.address, "value": _DEV_FUNDING_WEI})
    return Chain(w3=w3, network=EMBEDDED)


def _estimate_gas(state: Any, transaction: Any) -> int:
    """The embedded chain's eth_estimateGas: a run at the block gas limit, then one at what it used plus the
    1/64 of gas each call keeps back (EIP-150); only if that runs out of gas, py-evm's binary search. py-evm's
    default search alone ran each transaction ~12 times: three quarters of the test suite's chain time.
    Like the search (whose tolerance is 21,000), the result may exceed the minimum; the receipt's gas is exact."""
    from eth.estimators.gas import binary_gas_search_intrinsic_tolerance
    from eth.vm.spoof import SpoofTransaction

    def run(gas: int) -> Any:
        snapshot = state.snapshot()
        try:
            return state.apply_transaction(SpoofTransaction(transaction, gas=gas, gas_price=0))
        finally:
            state.revert(snapshot)

    computation = run(state.gas_limit)
    if computation.is_error:
        raise computation.error
    used = state.gas_limit - computation.get_gas_remaining()  # before refunds: a refund needs the gas first
    guess = min(state.gas_limit, used + used // 63 + 1)
    if not run(guess).is_error:
        return guess
    return int(binary_gas_search_intrinsic_tolerance(state, transaction))


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


def decode_revert(exc: BaseException, *, doing: str = TRANSACTION_REVERTED) -> ChainError:
    """Turn whatever web3 or eth-tester raised for a revert into a `ContractRevertError` when possible.

    `doing` opens its message: "transaction reverted" (an estimate or a send), `READ_REFUSED` for a read call
    (nothing was sent, so a read never says "transaction"), or what else was being tried.
    """
    data = _revert_data(exc)
    if data is None:
        return ChainError(f"call failed: {exc}")
    return decode_error_data(data, doing=doing)


def decode_error_data(data: bytes, *, doing: str = TRANSACTION_REVERTED) -> ContractRevertError:
    """A contract's revert data (selector + ABI-encoded arguments) as a `ContractRevertError` whose message
    explains it (`openledger_chain.revert_hints`).

    `ContributionRegistryBatchEntryInvalid(index, reason)` is unwrapped: the error is the entry's own (its
    name and arguments), with `batch_index` set and the message naming the entry.
    """
    if len(data) < 4:
        return ContractRevertError("Revert", (), f"{doing} without a reason (no error data): out of gas, a call "
                                   "to an address without code, or a contract that gives no reason")
    selector, payload = data[:4], data[4:]
    error = _known_errors().get(selector)
    if error is None:
        return ContractRevertError(f"UnknownError(0x{data.hex()})", (), f"{doing} with an error none of this "
                                   f"toolkit's contracts declares (0x{data.hex()}); is the deployment from another "
                                   "version of openledger-chain?")
    name, types, _ = error
    try:
        args = tuple(abi_decode(types, payload))
    except Exception:  # noqa: BLE001 - malformed payload: keep the name
        args = ()
    if name == "ContributionRegistryBatchEntryInvalid" and len(args) == 2:
        index, reason = int(args[0]), bytes(args[1])
        inner = decode_error_data(reason, doing=f"{doing}: entry {index} of the batch")
        return ContractRevertError(inner.name, inner.error_args, str(inner), batch_index=index)
    return revert_error(name, args, doing=doing)


def revert_error(name: str, args: Sequence[Any] = (), *, doing: str = TRANSACTION_REVERTED,
                 token: TokenUnits | None = None, says: str | None = None) -> ContractRevertError:
    """`ContractRevertError(name, args)` with its one-line explanation (`revert_hints.describe`): `token`, the
    decimals and symbol of the token its token amounts are in, and `says`, a better explanation, when the
    caller knows them."""
    names = _error_arg_names().get(name)
    return ContractRevertError(name, tuple(args), describe(name, args, names, doing=doing, token=token, says=says))


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
def _known_errors() -> dict[bytes, tuple[str, list[str], list[str]]]:
    """Every error of the committed artifacts (and Solidity's Error and Panic) by selector: name, types, names."""
    import json

    errors: dict[bytes, tuple[str, list[str], list[str]]] = {
        function_signature_to_4byte_selector("Error(string)"): ("Error", ["string"], ["message"]),
        function_signature_to_4byte_selector("Panic(uint256)"): ("Panic", ["uint256"], ["code"]),
    }
    for path in ARTIFACTS_DIR.glob("*.json"):
        for item in json.loads(path.read_text())["abi"]:
            if item["type"] == "error":
                types = [collapse_if_tuple(i) for i in item["inputs"]]
                selector = function_signature_to_4byte_selector(f"{item['name']}({','.join(types)})")
                errors[selector] = (item["name"], types, [i["name"] for i in item["inputs"]])
    return errors


@cache
def _error_arg_names() -> dict[str, list[str]]:
    return {name: names for name, _, names in _known_errors().values()}
