"""Contributed files and evaluation sets, readable only by a model's committee: age v1 through pyrage.

The format is age (https://age-encryption.org/v1; X25519 recipients, ChaCha20-Poly1305 in 64 KiB
chunks), written and read by `pyrage` (the Python bindings of rage, the Rust implementation) and readable
by the Go reference tool `age`. Nothing here is hand-written cryptography: this module only chooses keys,
bounds what it will try to decrypt, and checks plaintext hashes.

The envelope has two layers, both ordinary age files:

- a contributed file is encrypted to the committee's *epoch key*, one X25519 identity shared by the
  committee members of that epoch (`age -r <epoch recipient>`);
- the epoch key's secret is *wrapped* (age-encrypted) to each member's own published key and posted on
  the chain, so a member added later needs only the small epoch keys wrapped to it, never a contributor's
  help or a file re-encrypted; a member removed is left out of the next epoch and cannot read what is
  encrypted after it (it keeps what it could already read).

Why age rather than crypt4gh: age has two independent, maintained implementations (rage through pyrage,
~250 MB/s here, and the Go reference tool in Debian) and a small spec; crypt4gh's header re-encryption is
what the epoch key gives us without a second format. This module touches no chain: `committee.py` reads
the keys and wraps from `CommitteeKeys`.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

import bech32
import pyrage
from eth_hash.auto import keccak

from openledger_chain.errors import InputError

AGE_MAGIC = b"age-encryption.org/v1\n"
#: Largest age header this toolkit reads: a stranger's file with a huge header, or thousands of recipient
#: stanzas (each one an X25519 operation per identity tried), must not stall the oracles that fetch it.
MAX_HEADER_BYTES = 8 * 1024
MAX_STANZAS = 16
#: An identity string is 74 characters; a wrapped epoch key holds one (and a comment line).
MAX_WRAPPED_PLAINTEXT = 256
_IDENTITY_HRP = "age-secret-key-"
_DEV_KEY_DOMAIN = b"openledger-chain dev committee encryption key"

Identity = pyrage.x25519.Identity


#: Why a file encrypted to the committee is left out by someone who holds no committee key.
COMMITTEE_ONLY = "encrypted to the committee; only a committee member's key opens it"


class DecryptionError(InputError):
    """An age file that this toolkit refuses to read, or that none of the given keys opens."""


class CommitteeOnlyError(InputError):
    """A computation needs files only the committee can read, and no committee key is held here."""


def is_encrypted(data: bytes) -> bool:
    """Whether `data` starts like an age v1 file."""
    return data.startswith(AGE_MAGIC)


def generate_identity() -> Identity:
    """A new random X25519 identity (a member key or an epoch key)."""
    return pyrage.x25519.Identity.generate()


def dev_identity(private_key: bytes) -> Identity:
    """The encryption identity of a dev-mnemonic account: derived from its (public) private key, so the demo
    and local walkthroughs need no key files. Never used off local chains (dev keys are refused there)."""
    secret = keccak(_DEV_KEY_DOMAIN + private_key)
    encoded = bech32.bech32_encode(_IDENTITY_HRP, bech32.convertbits(secret, 8, 5, True))
    return pyrage.x25519.Identity.from_str(encoded.upper())


def recipient_of(identity: Identity) -> str:
    """The `age1…` public key of `identity`."""
    return str(identity.to_public())


def check_recipient(recipient: str) -> str:
    """`recipient` if it is an age X25519 public key, else an InputError naming it."""
    try:
        pyrage.x25519.Recipient.from_str(recipient)
    except (pyrage.RecipientError, ValueError) as exc:
        raise InputError(f"{recipient!r} is not an age X25519 public key (age1…, 62 characters)") from exc
    return recipient


def encrypt_file(source: Path, target: Path, recipient: str) -> None:
    """Encrypt `source` to `recipient` into `target` (streamed; written atomically, never half a file)."""
    public = pyrage.x25519.Recipient.from_str(check_recipient(recipient))
    tmp = target.with_name(f".{target.name}.partial")
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with source.open("rb") as reader, tmp.open("wb") as writer:
            pyrage.encrypt_io(reader, writer, [public])
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def encrypt_bytes(data: bytes, recipient: str) -> bytes:
    return pyrage.encrypt(data, [pyrage.x25519.Recipient.from_str(check_recipient(recipient))])


def check_header(data: bytes) -> None:
    """Refuse an age file whose header is larger than MAX_HEADER_BYTES or has more than MAX_STANZAS recipient
    stanzas, before any key is tried on it."""
    if not is_encrypted(data):
        raise DecryptionError("not an age-encrypted file")
    end = data.find(b"\n--- ", 0, MAX_HEADER_BYTES)
    if end < 0:
        raise DecryptionError(f"age header larger than {MAX_HEADER_BYTES} bytes")
    stanzas = data[len(AGE_MAGIC):end + 1].count(b"\n-> ") + data[len(AGE_MAGIC):].startswith(b"-> ")
    if stanzas > MAX_STANZAS:
        raise DecryptionError(f"age header with {stanzas} recipient stanzas (at most {MAX_STANZAS} are read)")


def decrypt_bytes(data: bytes, identities: Sequence[Identity]) -> bytes:
    """The plaintext of the age file `data`, opened with any of `identities`; DecryptionError if the header is
    out of bounds, no identity opens it, or the ciphertext was altered (age authenticates every chunk)."""
    check_header(data)
    if not identities:
        raise DecryptionError(COMMITTEE_ONLY)
    try:
        return pyrage.decrypt(data, list(identities))
    except pyrage.DecryptError as exc:
        raise DecryptionError(f"does not decrypt with the committee keys held here ({exc})") from exc


class _HashingWriter:
    """A writer that hashes (keccak256) what passes through it."""

    def __init__(self, writer: BinaryIO) -> None:
        self._writer = writer
        self._hash = keccak.new(b"")

    def write(self, chunk: bytes) -> int:
        self._hash.update(bytes(chunk))
        return self._writer.write(chunk)

    def digest(self) -> bytes:
        return self._hash.digest()


def decrypt_into(data: bytes, identities: Sequence[Identity], writer: BinaryIO) -> bytes:
    """Decrypt the age file `data` into `writer` chunk by chunk (the plaintext is never whole in memory);
    returns the keccak256 of the plaintext. DecryptionError as `decrypt_bytes`; on one, `writer` may hold a
    partial plaintext, which the caller discards."""
    check_header(data)
    if not identities:
        raise DecryptionError(COMMITTEE_ONLY)
    hashing = _HashingWriter(writer)
    try:
        pyrage.decrypt_io(io.BytesIO(data), hashing, list(identities))
    except pyrage.DecryptError as exc:
        raise DecryptionError(f"does not decrypt with the committee keys held here ({exc})") from exc
    return hashing.digest()


def wrap_identity(identity: Identity, member_recipient: str) -> bytes:
    """`identity` (an epoch key) encrypted to one member's public key: what the chain stores per member."""
    text = f"# public key: {recipient_of(identity)}\n{identity}\n".encode()
    return encrypt_bytes(text, member_recipient)


def unwrap_identity(wrapped: bytes, member: Identity) -> Identity:
    """The identity inside a wrap posted for `member`; DecryptionError if it is not one."""
    text = decrypt_bytes(wrapped, [member])
    if len(text) > MAX_WRAPPED_PLAINTEXT:
        raise DecryptionError("a wrapped key larger than one age identity")
    return _identity_from_text(text.decode("utf-8", "replace"), "the wrapped key")


def _identity_from_text(text: str, where: str) -> Identity:
    lines = [line.strip() for line in text.splitlines() if line.strip().startswith("AGE-SECRET-KEY-1")]
    if len(lines) != 1:
        raise DecryptionError(f"{where} holds no single AGE-SECRET-KEY-1… line")
    try:
        return pyrage.x25519.Identity.from_str(lines[0])
    except pyrage.IdentityError as exc:
        raise DecryptionError(f"{where} holds no valid age identity") from exc


# ----- key files


def save_identity(identity: Identity, path: Path, password: str) -> None:
    """Write `identity` to `path` encrypted with `password` (age's scrypt passphrase format: `age -d` opens
    it), mode 0600, refusing to overwrite an existing file."""
    if path.exists():
        raise InputError(f"{path} exists; choose another path (an encryption key file is never overwritten)")
    if not password:
        raise InputError("no password: set OPENLEDGER_KEYSTORE_PASSWORD (it protects the key file)")
    text = f"# public key: {recipient_of(identity)}\n{identity}\n".encode()
    sealed = pyrage.passphrase.encrypt(text, password)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(sealed)


def load_identity(path: Path, password: str | None) -> Identity:
    """The identity in a key file written by `save_identity` (or by `age-keygen | age -p`)."""
    if not path.is_file():
        raise InputError(f"encryption key file {path} not found; create one with `openledger keys create`")
    if not password:
        raise InputError(f"{path} is password-protected: set OPENLEDGER_KEYSTORE_PASSWORD")
    sealed = path.read_bytes()
    if len(sealed) > 4096 or not is_encrypted(sealed):
        raise InputError(f"{path} is not an encryption key file (expected a passphrase-encrypted age file)")
    try:
        text = pyrage.passphrase.decrypt(sealed, password)
    except pyrage.DecryptError as exc:
        raise InputError(f"cannot open {path}: wrong OPENLEDGER_KEYSTORE_PASSWORD, or not a key file") from exc
    return _identity_from_text(text.decode("utf-8", "replace"), str(path))
