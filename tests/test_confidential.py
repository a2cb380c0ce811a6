"""Files encrypted to the committee: age v1 through pyrage, checked against the Go reference tool `age`
(Debian's package) in both directions, bounded before any key is tried, and opened by `fetch` into a
cache private to its user."""

from __future__ import annotations

import shutil
import stat
import subprocess
from pathlib import Path

import pyrage
import pytest
from eth_utils import keccak

from openledger_chain.confidential import (
    MAX_STANZAS,
    DecryptionError,
    decrypt_bytes,
    dev_identity,
    encrypt_bytes,
    encrypt_file,
    generate_identity,
    load_identity,
    recipient_of,
    save_identity,
    unwrap_identity,
    wrap_identity,
)
from openledger_chain.errors import InputError
from openledger_chain.fetch import FetchSettings, fetch_contribution

ROWS = b"f1,f2,label\n0.25,1.5,1\n3.0,-2.0,0\n"
AGE = shutil.which("age")


def _age(*args: str, data: bytes = b"") -> bytes:
    if AGE is None:
        pytest.fail("the reference tool `age` is not installed: apt-get install age (.ci/run does)")
    return subprocess.run([AGE, *args], input=data, capture_output=True, check=True).stdout


def _identity_file(tmp_path: Path, identity: pyrage.x25519.Identity) -> Path:
    path = tmp_path / "identity.txt"
    path.write_text(f"{identity}\n")
    return path


def test_a_file_we_encrypt_opens_with_the_reference_age_tool(tmp_path: Path) -> None:
    epoch_key = generate_identity()
    source, target = tmp_path / "rows.csv", tmp_path / "rows.csv.age"
    source.write_bytes(ROWS)
    encrypt_file(source, target, recipient_of(epoch_key))
    assert ROWS not in target.read_bytes()
    assert _age("-d", "-i", str(_identity_file(tmp_path, epoch_key)), str(target)) == ROWS


def test_a_file_the_reference_tool_encrypts_opens_here(tmp_path: Path) -> None:
    epoch_key = generate_identity()
    ciphertext = _age("-r", recipient_of(epoch_key), data=ROWS)
    assert decrypt_bytes(ciphertext, [epoch_key]) == ROWS


def test_a_wrapped_epoch_key_opens_with_age_and_the_member_key(tmp_path: Path) -> None:
    member, epoch_key = generate_identity(), generate_identity()
    wrapped = wrap_identity(epoch_key, recipient_of(member))
    text = _age("-d", "-i", str(_identity_file(tmp_path, member)), data=wrapped).decode()
    assert str(epoch_key) in text
    assert recipient_of(unwrap_identity(wrapped, member)) == recipient_of(epoch_key)
    with pytest.raises(DecryptionError):
        unwrap_identity(wrapped, generate_identity())


def test_wrong_key_altered_ciphertext_and_no_key_are_refused() -> None:
    key = generate_identity()
    ciphertext = bytearray(encrypt_bytes(ROWS, recipient_of(key)))
    with pytest.raises(DecryptionError, match="does not decrypt"):
        decrypt_bytes(bytes(ciphertext), [generate_identity()])
    with pytest.raises(DecryptionError, match="only a committee member"):
        decrypt_bytes(bytes(ciphertext), [])
    ciphertext[-3] ^= 1  # inside the last chunk's authentication tag
    with pytest.raises(DecryptionError):
        decrypt_bytes(bytes(ciphertext), [key])


def test_headers_out_of_bounds_are_refused_before_any_key_is_tried() -> None:
    key = generate_identity()
    many = [pyrage.x25519.Recipient.from_str(recipient_of(generate_identity())) for _ in range(MAX_STANZAS)]
    crowded = pyrage.encrypt(ROWS, [pyrage.x25519.Recipient.from_str(recipient_of(key)), *many])
    with pytest.raises(DecryptionError, match="recipient stanzas"):
        decrypt_bytes(crowded, [key])
    # One fewer (plus rage's grease stanza) is still read.
    assert decrypt_bytes(pyrage.encrypt(ROWS, [pyrage.x25519.Recipient.from_str(recipient_of(key)), *many[:-2]]),
                         [key]) == ROWS
    huge = b"age-encryption.org/v1\n-> X25519 " + b"A" * 20_000 + b"\n--- x\n"
    with pytest.raises(DecryptionError, match="header larger"):
        decrypt_bytes(huge, [key])
    with pytest.raises(DecryptionError, match="not an age"):
        decrypt_bytes(ROWS, [key])


def test_dev_identities_are_deterministic_distinct_and_valid() -> None:
    a, b = dev_identity(b"\x01" * 32), dev_identity(b"\x02" * 32)
    assert recipient_of(a) == recipient_of(dev_identity(b"\x01" * 32)) != recipient_of(b)
    assert decrypt_bytes(encrypt_bytes(ROWS, recipient_of(a)), [a]) == ROWS


def test_key_files_are_password_protected_private_and_never_overwritten(tmp_path: Path) -> None:
    identity = generate_identity()
    path = tmp_path / "keys" / "member.age"
    save_identity(identity, path, "correct horse")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert str(identity).encode() not in path.read_bytes()
    assert recipient_of(load_identity(path, "correct horse")) == recipient_of(identity)
    with pytest.raises(InputError, match="wrong OPENLEDGER_KEYSTORE_PASSWORD"):
        load_identity(path, "wrong")
    with pytest.raises(InputError, match="exists"):
        save_identity(generate_identity(), path, "correct horse")
    with pytest.raises(InputError, match="not found"):
        load_identity(tmp_path / "missing", "x")


def test_fetch_opens_committee_files_into_a_private_cache(tmp_path: Path) -> None:
    key = generate_identity()
    encrypted = tmp_path / "rows.csv.age"
    encrypted.write_bytes(encrypt_bytes(ROWS, recipient_of(key)))
    cache = tmp_path / "cache"
    settings = FetchSettings(base_dir=tmp_path, cache_dir=cache, identities=(key,))
    fetched = fetch_contribution("rows.csv.age", keccak(ROWS), settings)
    assert fetched.excluded is None and fetched.path is not None and fetched.path.read_bytes() == ROWS
    assert stat.S_IMODE(fetched.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700
    outsider = FetchSettings(base_dir=tmp_path, cache_dir=tmp_path / "outsider")
    assert "only a committee member" in fetch_contribution("rows.csv.age", keccak(ROWS), outsider).excluded
    stranger = FetchSettings(base_dir=tmp_path, cache_dir=tmp_path / "stranger", identities=(generate_identity(),))
    assert "does not decrypt" in fetch_contribution("rows.csv.age", keccak(ROWS), stranger).excluded
    # Encrypted bytes that open to something else than the registered content are not that content.
    other = FetchSettings(base_dir=tmp_path, cache_dir=tmp_path / "other", identities=(key,))
    assert fetch_contribution("rows.csv.age", keccak(b"other"), other).excluded == (
        "decrypts to other bytes than its registered content hash")
    # Nothing is left behind where a file did not open, or opened to other bytes: no partial plaintext.
    assert [p for d in ("stranger", "other") for p in (tmp_path / d).rglob("*") if p.is_file()] == []
