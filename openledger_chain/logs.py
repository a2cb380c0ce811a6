"""Reading contract events the way real providers allow: `eth_getLogs` over block ranges that shrink
when a node refuses a large one (range or result caps), decoded with eth-abi from the committed ABIs.

The indexer reads every event through this module; it is independent of web3's contract objects, so a
log costs one eth-abi decode.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from weakref import WeakKeyDictionary

from eth_abi import decode as abi_decode
from eth_utils import event_abi_to_log_topic
from eth_utils.abi import collapse_if_tuple

from openledger_chain.address import to_checksum_address
from openledger_chain.chain import transient_reason

DEFAULT_MAX_RANGE = 2_000  # blocks per eth_getLogs; many hosted providers cap ranges at 2k-10k
MIN_RANGE = 1


@dataclass(frozen=True)
class DecodedLog:
    event: str
    address: str
    block_number: int
    block_hash: str
    tx_hash: str
    log_index: int
    args: dict[str, Any]


class EventDecoder:
    """Decodes the logs of the given ABIs (their events, keyed by topic 0)."""

    def topics_of(self, names: Iterable[str]) -> list[str]:
        """topic 0 of each named event, for an eth_getLogs filter."""
        wanted = set(names)
        return ["0x" + topic.hex() for topic, abi in self._events.items() if abi["name"] in wanted]

    def __init__(self, abis: Iterable[list[dict[str, Any]]]) -> None:
        self._events: dict[bytes, dict[str, Any]] = {}
        for abi in abis:
            for item in abi:
                if item.get("type") == "event" and not item.get("anonymous"):
                    self._events[event_abi_to_log_topic(item)] = item

    def decode(self, log: Any) -> DecodedLog | None:
        """The decoded log, or None for an event none of the ABIs declares."""
        topics = [_as_bytes(t) for t in log["topics"]]
        abi = self._events.get(topics[0]) if topics else None
        if abi is None:
            return None
        indexed = [i for i in abi["inputs"] if i["indexed"]]
        plain = [i for i in abi["inputs"] if not i["indexed"]]
        if len(indexed) != len(topics) - 1:
            raise ValueError(f"a {abi['name']} log with {len(topics) - 1} indexed topics, not {len(indexed)}")
        # Indexed values are one 32-byte word each: decoded together, one eth-abi call per log instead of one per
        # topic (over a quarter of reading 100,000 registrations went to eth-abi).
        args: dict[str, Any] = dict(zip([i["name"] for i in indexed],
                                        abi_decode([collapse_if_tuple(i) for i in indexed], b"".join(topics[1:])),
                                        strict=True))
        # Strings as bytes, decoded here: anyone can register a URI that is not UTF-8 (the contract takes any
        # bytes), and a strict decode would stop every reader of the registry -- propose, verify, the indexer.
        values = abi_decode(["bytes" if i["type"] == "string" else collapse_if_tuple(i) for i in plain],
                            _as_bytes(log["data"]))
        args.update({item["name"]: value for item, value in zip(plain, values, strict=True)})
        return DecodedLog(
            event=abi["name"],
            address=to_checksum_address(log["address"]),
            block_number=_as_int(log["blockNumber"]),
            block_hash="0x" + _as_bytes(log["blockHash"]).hex(),
            tx_hash="0x" + _as_bytes(log["transactionHash"]).hex(),
            log_index=_as_int(log["logIndex"]),
            args={item["name"]: _typed(item, args[item["name"]]) for item in (*indexed, *plain)},
        )



def _as_bytes(value: Any) -> bytes:
    """A log field as bytes: a node's raw "0x..." hex, or web3's HexBytes (the embedded chain's logs)."""
    return bytes.fromhex(value[2:]) if isinstance(value, str) else bytes(value)


def _as_int(value: Any) -> int:
    """A log quantity as an int: a node's raw "0x..." hex, or web3's int."""
    return int(value, 16) if isinstance(value, str) else int(value)


class LogsRefused(Exception):
    """The node answered eth_getLogs with an error (a range or result cap, usually)."""


def _typed(item: dict[str, Any], value: Any) -> Any:
    """A decoded value as readers use it, by its ABI type: addresses checksummed, bytes as 0x-hex, strings as text
    (invalid bytes become U+FFFD), structs as dicts keyed by their component names, arrays element by element.
    By type, never by looks: a registered URI may be any 42 characters starting with "0x", and must be read back
    as it was registered (it once went through the address checksum, which raised on a non-hex one, stopping every
    reader of the registry, and changed the case of a hex one)."""
    kind = item["type"]
    if kind.endswith("]"):
        element = {**item, "type": kind[: kind.rindex("[")]}
        return [_typed(element, v) for v in value]
    if kind == "tuple":
        return {c["name"]: _typed(c, v) for c, v in zip(item["components"], value, strict=True)}
    if kind == "string":  # read as bytes at the top level (decode), as text by eth-abi inside structs and arrays
        return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else value
    if kind == "address":
        return to_checksum_address(value)
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return value


def get_logs(w3: Any, addresses: Sequence[str], from_block: int, to_block: int,
             max_range: int = DEFAULT_MAX_RANGE, topics: list[Any] | None = None) -> Iterator[tuple[int, int, list[Any]]]:
    """Yield `(start, end, raw logs)` covering [from_block, to_block] in order, in ranges of at most
    `max_range` blocks, halving a range whenever the node refuses it (too many blocks or results).
    `topics` is eth_getLogs' topic filter (e.g. `[[topic0 of each wanted event]]`).

    Raises:
        the node's error when even a single block is refused.
    """
    tester = getattr(w3.provider, "ethereum_tester", None)
    if tester is not None:
        yield from_block, to_block, _embedded_logs(w3, tester, addresses, from_block, to_block, topics)
        return
    span = max(max_range, MIN_RANGE)
    start = from_block
    while start <= to_block:
        end = min(start + span - 1, to_block)
        try:
            query: dict[str, Any] = {"fromBlock": hex(start), "toBlock": hex(end),
                                     "address": [to_checksum_address(a) for a in addresses]}
            if topics is not None:
                query["topics"] = topics
            # The node's answer as it is, not through web3's result formatters: they turned every field of every log
            # into HexBytes and checksummed each log's address, a quarter of reading 100,000 registrations; decode()
            # reads the hex itself.
            response = w3.provider.make_request("eth_getLogs", [query])
            if "error" in response:
                raise LogsRefused(f"eth_getLogs {start}..{end}: {response['error']}")
            logs = response["result"]
        except Exception as exc:
            # A node that does not answer has refused nothing: shrinking the range would only wait longer.
            if end == start or transient_reason(exc) is not None:
                raise
            span = max((end - start + 1) // 2, MIN_RANGE)  # the node refused: ask for less
            continue
        yield start, end, list(logs)
        start = end + 1


@dataclass
class _SeenLogs:
    """Every log of an embedded chain up to block `to_block` (whose hash is `block_hash`), oldest first."""
    to_block: int = -1
    block_hash: bytes = b""
    logs: list[Any] = field(default_factory=list)


#: Per embedded chain (its EthereumTester), shared by every reader of it: eth-tester answers eth_getLogs by
#: reading every block of the range, so with the settlement blocks tests and the demo mine, each scan from the
#: deployment block cost seconds. Each block is read once here; a query filters the logs in memory.
_EMBEDDED_LOGS: WeakKeyDictionary[Any, _SeenLogs] = WeakKeyDictionary()


def _embedded_logs(w3: Any, tester: Any, addresses: Sequence[str], from_block: int, to_block: int,
                   topics: list[Any] | None) -> list[Any]:
    seen = _EMBEDDED_LOGS.setdefault(tester, _SeenLogs())
    head = int(w3.eth.block_number)
    # A chain reverted to a snapshot under the cache: its last block seen is gone or has another hash now.
    reverted = seen.to_block > head or (
        seen.to_block >= 0 and bytes(w3.eth.get_block(seen.to_block)["hash"]) != seen.block_hash)
    if reverted:
        seen.to_block, seen.block_hash, seen.logs = -1, b"", []
    wanted_to = min(to_block, head)
    if wanted_to > seen.to_block:
        seen.logs.extend(w3.eth.get_logs({"fromBlock": seen.to_block + 1, "toBlock": wanted_to}))
        seen.to_block, seen.block_hash = wanted_to, bytes(w3.eth.get_block(wanted_to)["hash"])
    wanted_addresses = {a.lower() for a in addresses}
    return [log for log in seen.logs if from_block <= int(log["blockNumber"]) <= to_block
            and str(log["address"]).lower() in wanted_addresses and _topics_match(log["topics"], topics)]


def _topics_match(log_topics: Sequence[bytes], topics: list[Any] | None) -> bool:
    """eth_getLogs' topic filter: position i matches any of a list, one value, or anything (None)."""
    for position, wanted in enumerate(topics or []):
        if wanted is None:
            continue
        options = wanted if isinstance(wanted, list) else [wanted]
        if position >= len(log_topics) or not any(bytes(log_topics[position]) == _topic_bytes(o) for o in options):
            return False
    return True


def _topic_bytes(topic: str | bytes) -> bytes:
    return bytes.fromhex(topic.removeprefix("0x")) if isinstance(topic, str) else bytes(topic)
