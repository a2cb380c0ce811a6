"""Merkle trees byte-for-byte compatible with OpenZeppelin's `@openzeppelin/merkle-tree` 1.0.8.

`StandardMerkleTree` mirrors the JS `StandardMerkleTree`:

* leaf = keccak256(keccak256(abi.encode(leaf_encoding, value))) - the double hash keeps a
  64-byte leaf preimage from ever colliding with an internal node (second-preimage attacks);
* node = keccak256(sorted(a, b)) - sorted pairs, so proofs need no left/right flags and verify
  with OpenZeppelin's `MerkleProof.verify` on chain;
* the tree is a flat array (complete binary tree, root at 0, children of i at 2i+1 and 2i+2);
  leaf i of the sorted leaf list lives at `len(tree) - 1 - i`, and leaves are sorted by hash
  unless `sort_leaves=False`;
* `dump()` / `load()` use the JS `standard-v1` JSON shape, so dumps round-trip between both.

Values are stored as given (as tuples); `dump()` turns them into the JSON form the JS library
needs (integers as decimal strings, since `JSON.stringify` cannot serialize a BigInt; bytes
as 0x hex). Integers and their decimal/0x strings hash identically.

Deliberate differences with the JS library (stricter, never on a JS-produced dump):
addresses and `bytesN` must have exactly 20 / N bytes (JS silently pads shorter ones), numbers
given as strings must be decimal or 0x hex (JS `BigInt()` also takes "", " 1 ", "0b1"), and
`load()` also checks that values and leaves match one to one.

No web3 or chain code here on purpose: the oracle builds 100k-leaf trees off-chain and this
module must stay importable and fast without a node.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple

from openledger_chain.errors import InputError

try:  # safe-pysha3 (C, ~0.5 us/hash) comes with web3[tester] -> eth-tester[py-evm] -> eth-hash[pysha3].
    from sha3 import keccak_256 as _keccak_256

    KECCAK_BACKEND = "pysha3"

    def _keccak(data: bytes) -> bytes:
        return _keccak_256(data).digest()

except ImportError:  # pragma: no cover - pycryptodome is ~7x slower per call but always installed with web3.
    from Crypto.Hash import keccak as _cryptodome_keccak

    KECCAK_BACKEND = "pycryptodome"

    def _keccak(data: bytes) -> bytes:
        return _cryptodome_keccak.new(data=data, digest_bits=256).digest()


__all__ = [
    "FORMAT",
    "KECCAK_BACKEND",
    "MerkleError",
    "MultiProof",
    "StandardMerkleTree",
    "keccak256",
    "process_proof",
    "standard_leaf_hash",
    "standard_node_hash",
    "verify_proof",
]

FORMAT = "standard-v1"

HexStr = str
BytesLike = str | bytes | bytearray


class MerkleError(InputError):
    """A Merkle value, proof, leaf encoding or dump is malformed or inconsistent."""


class MultiProof(NamedTuple):
    """A multiproof as returned by JS `getMultiProof` (`proof_flags` is JS `proofFlags`)."""

    leaves: list[Any]
    proof: list[HexStr]
    proof_flags: list[bool]


# --------------------------------------------------------------------------- hashing


def keccak256(data: bytes) -> bytes:
    """Return the 32-byte Keccak-256 digest of `data` (Ethereum's keccak, not NIST SHA3)."""
    return _keccak(data)


def _node_hash(a: bytes, b: bytes) -> bytes:
    # Bytes compare lexicographically, which for equal 32-byte lengths is the JS BigInt order.
    return _keccak(a + b if a <= b else b + a)


def standard_node_hash(a: BytesLike, b: BytesLike) -> HexStr:
    """Hash two nodes as a sorted pair, like JS `standardNodeHash`.

    Args:
        a: 32-byte node (bytes or 0x hex).
        b: 32-byte node (bytes or 0x hex).

    Returns:
        The parent node as 0x-prefixed lowercase hex.
    """
    return "0x" + _node_hash(_node_bytes(a), _node_bytes(b)).hex()


_HEX_NODE = re.compile(r"0x[0-9a-fA-F]{64}")
_CANONICAL_NODE = re.compile(r"0x[0-9a-f]{64}")


def _node_bytes(node: object) -> bytes:
    """Parse one 32-byte tree node or proof element (0x hex or bytes)."""
    if isinstance(node, (bytes, bytearray)):
        if len(node) == 32:
            return bytes(node)
    elif isinstance(node, str) and _HEX_NODE.fullmatch(node):
        return bytes.fromhex(node[2:])
    raise MerkleError(f"Merkle node must be 32 bytes (0x + 64 hex digits), got {node!r}")


def process_proof(leaf: BytesLike, proof: Sequence[BytesLike]) -> HexStr:
    """Fold a proof into the root it implies, like JS `processProof`.

    Args:
        leaf: The 32-byte leaf hash (bytes or 0x hex).
        proof: Sibling hashes from the leaf up to (excluding) the root.

    Returns:
        The computed root as 0x-prefixed lowercase hex.

    Raises:
        MerkleError: An element is not a 32-byte node.
    """
    computed = _node_bytes(leaf)
    for sibling in proof:
        computed = _node_hash(computed, _node_bytes(sibling))
    return "0x" + computed.hex()


# --------------------------------------------------------------------------- ABI encoding
#
# eth_abi.encode costs ~10 us per leaf, more than the two keccaks, so the static basic types
# (everything an airdrop/claim leaf uses) are encoded by hand; anything dynamic or nested is
# normalized and handed to eth_abi, which produces the same standard ABI encoding as
# @metamask/abi-utils (cross-checked in tests/test_merkle.py).

_ZERO_12 = bytes(12)
_ZERO_31 = bytes(31)
_DECIMAL = re.compile(r"-?[0-9]+")
_HEX_NUMBER = re.compile(r"0[xX][0-9a-fA-F]+")
_HEX_BYTES = re.compile(r"0[xX](?:[0-9a-fA-F]{2})*")


def _parse_address(value: object) -> bytes:
    if isinstance(value, str):
        # fromhex() skips spaces, but a 42-char string with spaces cannot decode to 20 bytes.
        if len(value) == 42 and value[:2] in ("0x", "0X"):
            try:
                raw = bytes.fromhex(value[2:])
            except ValueError:
                pass
            else:
                if len(raw) == 20:
                    return raw
    elif isinstance(value, (bytes, bytearray)) and len(value) == 20:
        return bytes(value)
    raise MerkleError(f"invalid address {value!r}: expected 0x followed by 40 hex digits")


def _parse_int(value: object, abi_type: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        if _DECIMAL.fullmatch(value):
            return int(value, 10)
        if _HEX_NUMBER.fullmatch(value):
            return int(value, 16)
    raise MerkleError(f"invalid {abi_type} value {value!r}: expected an int or a decimal/0x-hex string")


def _parse_bool(value: object) -> bool:
    # JS accepts the literals and the strings "true"/"false", nothing else (not 0/1).
    if isinstance(value, bool):
        return value
    if value == "true":
        return True
    if value == "false":
        return False
    raise MerkleError(f"invalid bool value {value!r}: expected True/False or 'true'/'false'")


def _parse_bytes(value: object, abi_type: str) -> bytes:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, str) and _HEX_BYTES.fullmatch(value):
        return bytes.fromhex(value[2:])
    raise MerkleError(f"invalid {abi_type} value {value!r}: expected bytes or an even-length 0x hex string")


_Encoder = Callable[[object], bytes]


def _uint_encoder(bits: int, abi_type: str) -> _Encoder:
    limit = 1 << bits

    def encode(value: object) -> bytes:
        n = _parse_int(value, abi_type)
        if not 0 <= n < limit:
            raise MerkleError(f"{abi_type} value {n} out of range [0, 2**{bits})")
        return n.to_bytes(32, "big")

    return encode


def _int_encoder(bits: int, abi_type: str) -> _Encoder:
    half = 1 << (bits - 1)

    def encode(value: object) -> bytes:
        n = _parse_int(value, abi_type)
        if not -half <= n < half:
            raise MerkleError(f"{abi_type} value {n} out of range [-2**{bits - 1}, 2**{bits - 1})")
        return n.to_bytes(32, "big", signed=True)

    return encode


def _fixed_bytes_encoder(size: int, abi_type: str) -> _Encoder:
    padding = bytes(32 - size)

    def encode(value: object) -> bytes:
        raw = _parse_bytes(value, abi_type)
        if len(raw) != size:
            raise MerkleError(f"{abi_type} value must be exactly {size} bytes, got {len(raw)}")
        return raw + padding

    return encode


def _encode_address(value: object) -> bytes:
    return _ZERO_12 + _parse_address(value)


def _encode_bool(value: object) -> bytes:
    return _ZERO_31 + (b"\x01" if _parse_bool(value) else b"\x00")


_STATIC_TYPE = re.compile(r"(address|bool|(u?int)([0-9]*)|bytes([0-9]+))")


def _static_encoder(abi_type: str) -> _Encoder | None:
    """Return a 32-byte encoder for a static basic type, None for anything else."""
    match = _STATIC_TYPE.fullmatch(abi_type)
    if match is None:
        return None
    if abi_type == "address":
        return _encode_address
    if abi_type == "bool":
        return _encode_bool
    if match.group(2):
        bits = int(match.group(3) or 256)
        if not (8 <= bits <= 256 and bits % 8 == 0) or match.group(3).startswith("0"):
            raise MerkleError(f"invalid integer type {abi_type!r}")
        return (_uint_encoder if match.group(2) == "uint" else _int_encoder)(bits, abi_type)
    size = int(match.group(4))
    if not 1 <= size <= 32 or match.group(4).startswith("0"):
        raise MerkleError(f"invalid fixed bytes type {abi_type!r}")
    return _fixed_bytes_encoder(size, abi_type)


def _normalize_for_eth_abi(abi_type: Any, value: object) -> object:
    """Turn a JS-style value into what strict eth_abi expects, validating it on the way.

    `abi_type` is an `eth_abi.grammar` node; addresses become 20 raw bytes so eth_abi does
    not demand an EIP-55 checksum on mixed-case input (JS never checks it).
    """
    type_str = abi_type.to_type_str()
    if abi_type.is_array:
        if not isinstance(value, (list, tuple)):
            raise MerkleError(f"{type_str} value must be a list, got {value!r}")
        size = abi_type.arrlist[-1]
        if size and len(value) != size[0]:
            raise MerkleError(f"{type_str} value must have {size[0]} items, got {len(value)}")
        return [_normalize_for_eth_abi(abi_type.item_type, item) for item in value]
    components = getattr(abi_type, "components", None)
    if components is not None:
        if not isinstance(value, (list, tuple)) or len(value) != len(components):
            raise MerkleError(f"{type_str} value must be a list of {len(components)} items, got {value!r}")
        return tuple(_normalize_for_eth_abi(c, v) for c, v in zip(components, value))
    if type_str == "string":
        if not isinstance(value, str):
            raise MerkleError(f"string value must be a str, got {value!r}")
        return value
    if type_str == "bytes":
        return _parse_bytes(value, type_str)
    encoder = _static_encoder(type_str)
    if encoder is None:
        raise MerkleError(f"unsupported ABI type {type_str!r}")
    word = encoder(value)  # validates range/length exactly like the fast path
    if type_str == "address":
        return word[12:]
    if type_str == "bool":
        return word[31] == 1
    if abi_type.base == "bytes":
        return word[: abi_type.sub]
    return int.from_bytes(word, "big", signed=abi_type.base == "int")


def _leaf_encoder(leaf_encoding: Sequence[str]) -> Callable[[Sequence[object]], bytes]:
    """Compile `leaf_encoding` into a function value -> abi.encode(leaf_encoding, value)."""
    if isinstance(leaf_encoding, str) or not isinstance(leaf_encoding, Sequence):
        raise MerkleError(f"leaf encoding must be a list of ABI type strings, got {leaf_encoding!r}")
    types = list(leaf_encoding)
    if not all(isinstance(t, str) for t in types):
        raise MerkleError(f"leaf encoding must be a list of ABI type strings, got {leaf_encoding!r}")
    width = len(types)

    def check_arity(value: Sequence[object]) -> None:
        if not isinstance(value, (list, tuple)) or len(value) != width:
            raise MerkleError(f"leaf value must be a list of {width} items matching {types}, got {value!r}")

    static = [_static_encoder(t) for t in types]
    if all(enc is not None for enc in static):
        encoders: list[_Encoder] = static  # type: ignore[assignment]
        if width == 2:  # the common [address, uint256] claim leaf: skip the generic join loop
            enc0, enc1 = encoders

            def encode_pair(value: Sequence[object]) -> bytes:
                if value.__class__ not in (list, tuple) or len(value) != 2:
                    check_arity(value)
                return enc0(value[0]) + enc1(value[1])

            return encode_pair

        def encode_static(value: Sequence[object]) -> bytes:
            check_arity(value)
            return b"".join([enc(v) for enc, v in zip(encoders, value)])

        return encode_static

    import eth_abi  # only paid for by dynamic/nested encodings
    from eth_abi.exceptions import ABITypeError, ParseError
    from eth_abi.grammar import normalize, parse

    try:
        parsed = [parse(normalize(t)) for t in types]  # normalize: "uint" -> "uint256", as JS
        for p in parsed:
            p.validate()
    except (ParseError, ABITypeError) as exc:
        raise MerkleError(f"invalid leaf encoding {types}: {exc}") from exc
    canonical = [p.to_type_str() for p in parsed]

    def encode_dynamic(value: Sequence[object]) -> bytes:
        check_arity(value)
        return eth_abi.encode(canonical, [_normalize_for_eth_abi(p, v) for p, v in zip(parsed, value)])

    return encode_dynamic


def standard_leaf_hash(leaf_encoding: Sequence[str], value: Sequence[object]) -> HexStr:
    """Hash one leaf like JS `standardLeafHash`: keccak256(keccak256(abi.encode(types, value))).

    Args:
        leaf_encoding: ABI types, e.g. `["address", "uint256"]`.
        value: One leaf, e.g. `["0x1111...", 5 * 10**18]`.

    Returns:
        The leaf hash as 0x-prefixed lowercase hex.

    Raises:
        MerkleError: The encoding or the value is invalid.
    """
    return "0x" + _keccak(_keccak(_leaf_encoder(leaf_encoding)(value))).hex()


def verify_proof(
    root: BytesLike, leaf_encoding: Sequence[str], value: Sequence[object], proof: Sequence[BytesLike]
) -> bool:
    """Check a proof without the tree, like JS `StandardMerkleTree.verify`.

    Args:
        root: Expected root (0x hex or 32 bytes).
        leaf_encoding: ABI types of the leaf.
        value: The leaf value.
        proof: Sibling hashes as returned by `get_proof`.

    Returns:
        True if the proof links `value` to `root`.

    Raises:
        MerkleError: The value, root or a proof element is malformed (JS throws too).
    """
    leaf = _keccak(_keccak(_leaf_encoder(leaf_encoding)(value)))
    return process_proof(leaf, proof) == "0x" + _node_bytes(root).hex()


# --------------------------------------------------------------------------- JSON values


def _json_value(value: object) -> object:
    """Convert a leaf value to the JSON form the JS library dumps and can reload."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)  # JSON.stringify cannot serialize a BigInt; JS users pass decimal strings
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    if isinstance(value, (list, tuple)):
        return [_json_value(v) for v in value]
    raise MerkleError(f"leaf value item {value!r} is not JSON-serializable")


def _sibling(i: int) -> int:
    # i odd (left child) -> i + 1, i even (right child) -> i - 1; the JS i - (-1) ** (i % 2).
    return ((i - 1) ^ 1) + 1


# --------------------------------------------------------------------------- the tree


class StandardMerkleTree:
    """An OpenZeppelin-compatible Merkle tree over ABI-encoded leaves.

    Build with `of()` or `load()`; the constructor is internal. The tree is immutable.

    Example:
        >>> tree = StandardMerkleTree.of(
        ...     [["0x1111111111111111111111111111111111111111", 5 * 10**18],
        ...      ["0x2222222222222222222222222222222222222222", "2500000000000000000"]],
        ...     ["address", "uint256"])
        >>> tree.root
        '0xd4dee0beab2d53f2cc83e567171bd2820e49898130a22622b10ead383e90bd77'
        >>> tree.verify(0, tree.get_proof(0))
        True
    """

    __slots__ = ("_encode", "_hash_lookup", "_leaf_encoding", "_tree", "_tree_hex", "_tree_index", "_values")

    def __init__(
        self,
        tree: list[bytes],
        values: list[tuple[Any, ...]],
        tree_index: list[int],
        leaf_encoding: list[str],
        encode: Callable[[Sequence[object]], bytes],
    ) -> None:
        self._tree = tree
        self._tree_hex = ["0x" + node.hex() for node in tree]
        self._values = values
        self._tree_index = tree_index
        self._leaf_encoding = leaf_encoding
        self._encode = encode
        self._hash_lookup: dict[bytes, int] | None = None  # built on first lookup by value

    # ----------------------------------------------------------------- construction

    @classmethod
    def of(
        cls, values: Sequence[Sequence[Any]], leaf_encoding: Sequence[str], *, sort_leaves: bool = True
    ) -> StandardMerkleTree:
        """Build a tree, like JS `StandardMerkleTree.of(values, leafEncoding, {sortLeaves})`.

        Args:
            values: Leaf values, e.g. `[["0x11..11", 5 * 10**18], ...]`. uint/int items may be
                ints or decimal/0x strings, addresses 0x hex in any case, bytes as bytes or 0x hex.
            leaf_encoding: ABI types of one leaf, e.g. `["address", "uint256"]`.
            sort_leaves: Sort leaves by hash (JS default, needed for multiproofs).

        Returns:
            The tree.

        Raises:
            MerkleError: `values` is empty, or a value does not match `leaf_encoding`.
        """
        encode = _leaf_encoder(leaf_encoding)
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
            raise MerkleError(f"values must be a list of leaf values, got {type(values).__name__}")
        n = len(values)
        if n == 0:
            raise MerkleError("Expected non-zero number of leaves (values is empty)")
        stored = [tuple(v) if isinstance(v, (list, tuple)) else v for v in values]
        keccak = _keccak
        try:
            hashes = [keccak(keccak(encode(v))) for v in stored]
        except MerkleError as exc:
            raise MerkleError(f"{exc} (in values[{_first_bad(stored, encode)}])") from None

        # Stable sort, like JS Array.prototype.sort, so duplicate leaves keep their order.
        order = sorted(range(n), key=hashes.__getitem__) if sort_leaves else range(n)
        size = 2 * n - 1
        tree: list[bytes] = [b""] * size
        tree_index = [0] * n
        for leaf_pos, value_index in enumerate(order):
            node = size - 1 - leaf_pos
            tree[node] = hashes[value_index]
            tree_index[value_index] = node
        for i in range(size - 1 - n, -1, -1):
            a = tree[2 * i + 1]
            b = tree[2 * i + 2]
            tree[i] = keccak(a + b if a <= b else b + a)
        return cls(tree, stored, tree_index, list(leaf_encoding), encode)

    @classmethod
    def load(cls, data: Mapping[str, Any]) -> StandardMerkleTree:
        """Rebuild a tree from a `dump()` (ours or the JS one) and validate it fully.

        Args:
            data: The parsed `standard-v1` JSON.

        Returns:
            The tree.

        Raises:
            MerkleError: Unknown format, missing fields, malformed nodes, a value that does not
                hash to its leaf, or internal nodes that do not hash from their children.
        """
        if not isinstance(data, Mapping):
            raise MerkleError(f"Merkle dump must be a JSON object, got {type(data).__name__}")
        if data.get("format") != FORMAT:
            raise MerkleError(f"Unknown format {data.get('format')!r}, expected {FORMAT!r}")
        leaf_encoding = data.get("leafEncoding")
        if leaf_encoding is None:
            raise MerkleError("Expected leaf encoding (dump has no 'leafEncoding')")
        encode = _leaf_encoder(leaf_encoding)
        raw_tree = data.get("tree")
        raw_values = data.get("values")
        if not isinstance(raw_tree, list) or not raw_tree:
            raise MerkleError("Merkle dump 'tree' must be a non-empty list of 0x hex nodes")
        if not isinstance(raw_values, list):
            raise MerkleError("Merkle dump 'values' must be a list of {value, treeIndex} objects")
        if len(raw_tree) != 2 * len(raw_values) - 1:
            raise MerkleError(
                f"Merkle dump has {len(raw_tree)} nodes for {len(raw_values)} values, "
                f"expected {2 * len(raw_values) - 1}"
            )
        for i, node in enumerate(raw_tree):
            # Lowercase only: JS compares leaf hashes as strings and would reject other spellings.
            if not isinstance(node, str) or not _CANONICAL_NODE.fullmatch(node):
                raise MerkleError(f"Merkle dump tree[{i}] is not a lowercase 0x + 64 hex digit node: {node!r}")
        tree = [bytes.fromhex(node[2:]) for node in raw_tree]

        n = len(raw_values)
        first_leaf = n - 1
        values: list[tuple[Any, ...]] = []
        tree_index: list[int] = []
        seen: set[int] = set()
        for i, entry in enumerate(raw_values):
            if not isinstance(entry, Mapping) or "value" not in entry or "treeIndex" not in entry:
                raise MerkleError(f"Merkle dump values[{i}] must be an object with 'value' and 'treeIndex'")
            index = entry["treeIndex"]
            if not isinstance(index, int) or isinstance(index, bool) or not first_leaf <= index < len(tree):
                raise MerkleError(f"Merkle dump values[{i}].treeIndex {index!r} is not a leaf index")
            if index in seen:
                raise MerkleError(f"Merkle dump values[{i}].treeIndex {index} is used twice")
            seen.add(index)
            value = entry["value"]
            if not isinstance(value, list):
                raise MerkleError(f"Merkle dump values[{i}].value must be a list, got {value!r}")
            try:
                leaf = _keccak(_keccak(encode(value)))
            except MerkleError as exc:
                raise MerkleError(f"Merkle dump values[{i}]: {exc}") from None
            if leaf != tree[index]:
                raise MerkleError(f"Merkle dump values[{i}] does not hash to tree[{index}] (tampered value or tree)")
            values.append(tuple(value))
            tree_index.append(index)

        for i in range(first_leaf - 1, -1, -1):
            if tree[i] != _node_hash(tree[2 * i + 1], tree[2 * i + 2]):
                raise MerkleError(f"Merkle tree is invalid: tree[{i}] is not the hash of its children")
        return cls(tree, values, tree_index, list(leaf_encoding), encode)

    def dump(self) -> dict[str, Any]:
        """Return the JS-compatible `standard-v1` dump (a fresh, JSON-serializable dict).

        `json.dumps(tree.dump(), separators=(",", ":"), ensure_ascii=False)` equals the JS
        `JSON.stringify(tree.dump())` when JS was given the same values in string form.
        """
        return {
            "format": FORMAT,
            "leafEncoding": list(self._leaf_encoding),
            "tree": list(self._tree_hex),
            "values": [
                {"value": _json_value(value), "treeIndex": index}
                for value, index in zip(self._values, self._tree_index)
            ],
        }

    # ----------------------------------------------------------------- accessors

    @property
    def root(self) -> HexStr:
        """The root as 0x-prefixed lowercase hex."""
        return self._tree_hex[0]

    @property
    def leaf_encoding(self) -> list[str]:
        """The ABI types of a leaf."""
        return list(self._leaf_encoding)

    def __len__(self) -> int:
        return len(self._values)

    def __iter__(self) -> Iterator[tuple[int, tuple[Any, ...]]]:
        """Yield `(index, value)` in the original `values` order, like JS `entries()`."""
        return iter(enumerate(self._values))

    entries = __iter__

    def at(self, index: int) -> tuple[Any, ...] | None:
        """Return the value at `index` (negative counts from the end, like JS `Array.at`), or None."""
        try:
            return self._values[index]
        except IndexError:
            return None

    def tree_index(self, index: int) -> int:
        """Return the position in the flat tree array of the leaf for `values[index]`."""
        return self._tree_index[self._check_index(index)]

    def leaf_hash(self, value: Sequence[Any]) -> HexStr:
        """Return the leaf hash of `value` (which need not be in the tree) as 0x hex."""
        return "0x" + _keccak(_keccak(self._encode(value))).hex()

    def leaf_lookup(self, value: Sequence[Any]) -> int:
        """Return the index in the original values of `value`.

        Raises:
            MerkleError: The value is not in the tree.
        """
        if self._hash_lookup is None:
            # Later duplicates overwrite earlier ones, as in the JS Object.fromEntries lookup.
            self._hash_lookup = {self._tree[t]: i for i, t in enumerate(self._tree_index)}
        found = self._hash_lookup.get(_keccak(_keccak(self._encode(value))))
        if found is None:
            raise MerkleError(f"Leaf is not in tree: {value!r}")
        return found

    # ----------------------------------------------------------------- proofs

    def _check_index(self, index: int) -> int:
        if not 0 <= index < len(self._values):
            raise MerkleError(f"Index out of bounds: {index} (tree has {len(self._values)} values)")
        return index

    def _value_index(self, leaf: int | Sequence[Any]) -> int:
        if isinstance(leaf, int) and not isinstance(leaf, bool):
            return self._check_index(leaf)
        return self.leaf_lookup(leaf)

    def _proof_nodes(self, node: int) -> list[HexStr]:
        tree_hex = self._tree_hex
        proof = []
        while node > 0:
            proof.append(tree_hex[((node - 1) ^ 1) + 1])
            node = (node - 1) >> 1
        return proof

    def get_proof(self, leaf: int | Sequence[Any]) -> list[HexStr]:
        """Return the proof for a leaf, like JS `getProof`.

        Args:
            leaf: Index into the original `values`, or the leaf value itself.

        Returns:
            Sibling hashes (0x hex) from the leaf up to the root, as `MerkleProof.verify` expects.

        Raises:
            MerkleError: Index out of bounds or value not in the tree.
        """
        index = self._value_index(leaf)
        proof = self._proof_nodes(self._tree_index[index])
        # Same self-check as JS: re-hash the stored value and fold the proof (~20 keccaks).
        leaf_node = _keccak(_keccak(self._encode(self._values[index])))
        if process_proof(leaf_node, proof) != self.root:
            raise MerkleError(f"Unable to prove value {index}: tree is inconsistent")
        return proof

    def get_all_proofs(self) -> list[list[HexStr]]:
        """Return `[get_proof(i) for i in range(len(self))]`, without the per-proof re-hashing.

        Skipping the JS self-check is sound here: `of()` computed every node and `load()`
        re-verified every node and value, and the tree is immutable, so a proof read off the
        array is correct by construction. This makes 100k proofs cost list copies, not 2M keccaks.
        """
        tree_hex = self._tree_hex
        size = len(tree_hex)
        # Top-down memo: proof(node) = [sibling(node)] + proof(parent(node)).
        paths: list[list[HexStr]] = [[]] * size
        for node in range(1, size):
            paths[node] = [tree_hex[((node - 1) ^ 1) + 1], *paths[(node - 1) >> 1]]
        # Each leaf path is its own list (built by unpacking), so callers may mutate proofs freely.
        return [paths[t] for t in self._tree_index]

    def verify(self, leaf: int | Sequence[Any], proof: Sequence[BytesLike]) -> bool:
        """Check `proof` for a leaf against this tree's root, like JS `verify`.

        Args:
            leaf: Index into the original values, or a leaf value (need not be in the tree).
            proof: Sibling hashes.

        Returns:
            True if the proof links the leaf to the root.

        Raises:
            MerkleError: Index out of bounds, or a malformed value/proof element.
        """
        if isinstance(leaf, int) and not isinstance(leaf, bool):
            leaf = self._values[self._check_index(leaf)]
        node = _keccak(_keccak(self._encode(leaf)))
        return process_proof(node, proof) == self.root

    verify_proof = staticmethod(verify_proof)

    def get_multi_proof(self, leaves: Sequence[int | Sequence[Any]]) -> MultiProof:
        """Return a multiproof for several leaves, like JS `getMultiProof`.

        Args:
            leaves: Indices into the original values and/or leaf values.

        Returns:
            `MultiProof(leaves, proof, proof_flags)`; `leaves` are the values in the order
            OpenZeppelin's `MerkleProof.multiProofVerify` expects.

        Raises:
            MerkleError: Out-of-bounds/unknown leaf or a duplicated leaf.
        """
        indices = sorted((self._tree_index[self._value_index(leaf)] for leaf in leaves), reverse=True)
        if any(a == b for a, b in zip(indices, indices[1:])):
            raise MerkleError("Cannot prove duplicated index")
        stack = list(indices)
        proof: list[HexStr] = []
        flags: list[bool] = []
        pos = 0  # stack is a queue; a moving head avoids O(n) list.pop(0)
        while pos < len(stack) and stack[pos] > 0:
            j = stack[pos]
            pos += 1
            s = _sibling(j)
            if pos < len(stack) and stack[pos] == s:
                flags.append(True)
                pos += 1
            else:
                flags.append(False)
                proof.append(self._tree_hex[s])
            stack.append((j - 1) >> 1)
        if not indices:
            proof.append(self._tree_hex[0])
        node_to_value = {t: i for i, t in enumerate(self._tree_index)}
        values = [self._values[node_to_value[t]] for t in indices]
        result = MultiProof(values, proof, flags)
        if not self.verify_multi_proof(result):
            raise MerkleError("Unable to prove values: tree is inconsistent")
        return result

    def verify_multi_proof(self, multiproof: MultiProof) -> bool:
        """Check a multiproof against this tree's root, like JS `verifyMultiProof`.

        Raises:
            MerkleError: The multiproof is malformed (wrong counts or node sizes).
        """
        leaves = [
            _keccak(_keccak(self._encode(self._values[self._check_index(v)] if isinstance(v, int) else v)))
            for v in multiproof.leaves
        ]
        proof = [_node_bytes(p) for p in multiproof.proof]
        flags = list(multiproof.proof_flags)
        if len(proof) < flags.count(False):
            raise MerkleError("Invalid multiproof format")
        if len(leaves) + len(proof) != len(flags) + 1:
            raise MerkleError("Provided leaves and multiproof are not compatible")
        stack = list(leaves)
        pos = proof_pos = 0  # stack is a queue; a moving head avoids O(n) list.pop(0)
        for flag in flags:
            if pos + (2 if flag else 1) > len(stack):
                raise MerkleError("Invalid multiproof: proof flags consume more nodes than available")
            a = stack[pos]
            if flag:
                b = stack[pos + 1]
                pos += 2
            else:
                b = proof[proof_pos]
                pos += 1
                proof_pos += 1
            stack.append(_node_hash(a, b))
        if (len(stack) - pos) + (len(proof) - proof_pos) != 1:
            raise MerkleError("Invalid multiproof: does not reduce to a single root")
        root = stack[-1] if len(stack) > pos else proof[proof_pos]
        return "0x" + root.hex() == self.root

    def __repr__(self) -> str:
        return f"StandardMerkleTree(root={self.root}, leaves={len(self)}, leaf_encoding={self._leaf_encoding})"


def _first_bad(values: Sequence[object], encode: Callable[[Sequence[object]], bytes]) -> int:
    """Index of the first value `encode` rejects (only called on the error path)."""
    for i, value in enumerate(values):
        try:
            encode(value)  # type: ignore[arg-type]
        except MerkleError:
            return i
    return -1
