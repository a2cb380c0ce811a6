"""Fetch a contribution's bytes from its registered URI, check them against the registered content hash,
and keep them in a local cache keyed by that hash.

Every oracle and verifier must be able to read every contribution, so besides local paths (`file://`,
relative paths) URIs may be `http(s)://` or `ipfs://CID[/path]` (through an HTTP gateway). A fetch is
bounded (size limit, timeout, a few retries with backoff) and never raises for the content's sake: a
contribution that cannot be fetched, is too large, or does not match its hash is excluded with the
reason, so one bad contribution never fails a round.

A contribution encrypted to the committee (an age file: see `confidential.py`) is opened with the committee
keys in `FetchSettings.identities`; its plaintext must have the registered hash (the hash is always the
plaintext's) and is kept in the cache, which is private to its user (folder 0700, files 0600). Without a
committee key, an encrypted file is left out as such.

`probe` reads what a URI serves the same way (schemes, size limit, timeout, retries) without caching or opening
anything: what a contributor checks before registering the URI (`preflight.py`).
"""

from __future__ import annotations

import http.client
import os
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

from eth_utils import keccak

from openledger_chain.confidential import DecryptionError, Identity, decrypt_into, is_encrypted

DEFAULT_IPFS_GATEWAY = "https://ipfs.io"
DEFAULT_MAX_BYTES = 256 * 1024 * 1024
DEFAULT_TIMEOUT = 30.0
DEFAULT_RETRIES = 2  # after the first attempt; only for timeouts, connection errors and HTTP 5xx
CHUNK = 1024 * 1024


@dataclass(frozen=True)
class FetchSettings:
    """How remote contributions are fetched (`OPENLEDGER_IPFS_GATEWAY`, `OPENLEDGER_CACHE_DIR` set defaults)."""

    base_dir: Path = Path(".")  # relative URIs resolve against it
    cache_dir: Path | None = None  # default: $OPENLEDGER_CACHE_DIR, else ~/.cache/openledger/content
    ipfs_gateway: str | None = None  # default: $OPENLEDGER_IPFS_GATEWAY, else https://ipfs.io
    max_bytes: int = DEFAULT_MAX_BYTES
    timeout: float = DEFAULT_TIMEOUT
    retries: int = DEFAULT_RETRIES
    identities: tuple[Identity, ...] = ()  # committee epoch keys: open files encrypted to the committee

    def cache(self) -> Path:
        if self.cache_dir is not None:
            return self.cache_dir
        configured = os.environ.get("OPENLEDGER_CACHE_DIR")
        return Path(configured) if configured else Path.home() / ".cache" / "openledger" / "content"

    def gateway(self) -> str:
        return (self.ipfs_gateway or os.environ.get("OPENLEDGER_IPFS_GATEWAY") or DEFAULT_IPFS_GATEWAY).rstrip("/")


@dataclass(frozen=True)
class Fetched:
    """The contribution's bytes on local disk (`path`), or why it is excluded (`excluded`)."""

    path: Path | None
    excluded: str | None = None


def fetch_contribution(uri: str, content_hash: bytes, settings: FetchSettings) -> Fetched:
    """A local file holding exactly the registered bytes of `uri`, or the reason there is none."""
    try:
        return _fetch(uri, content_hash, settings)
    except (ValueError, http.client.InvalidURL) as exc:
        # urllib refuses URIs such as "http://[oops" (ValueError) or "http://a b/x" (InvalidURL): one
        # contributor's registered URI must not stop everyone's round.
        return Fetched(None, f"malformed URI ({exc})")


@dataclass(frozen=True)
class Served:
    """What a URI serves now: the keccak256 and size of its bytes, or why it serves nothing (`problem`)."""

    digest: bytes | None
    size: int = 0
    problem: str | None = None


def probe(uri: str, settings: FetchSettings) -> Served:
    """Read what `uri` serves now, as an oracle would fetch it (same schemes, size limit, timeout and retries),
    without caching or decrypting anything: what `contribute` and `round reveal-eval` compare with the file they
    publish before its URI goes on-chain."""
    try:
        parsed = urlparse(uri)
        if parsed.scheme not in ("", "file", "http", "https", "ipfs"):
            return Served(None, problem=f"unsupported URI scheme {parsed.scheme!r}")
        if parsed.scheme in ("", "file"):
            path = Path(unquote(parsed.path)) if parsed.scheme == "file" else Path(uri)
            path = path if path.is_absolute() else settings.base_dir / path
            if not path.is_file():
                return Served(None, problem=f"no file at {path}")
            if path.stat().st_size > settings.max_bytes:
                return Served(None, problem=f"larger than {settings.max_bytes} bytes")
            data = path.read_bytes()
        else:
            url = uri if parsed.scheme != "ipfs" else f"{settings.gateway()}/ipfs/{parsed.netloc}{parsed.path}"
            data = _get(url, settings)
    except _Unavailable as exc:
        return Served(None, problem=str(exc))
    except (ValueError, http.client.InvalidURL) as exc:
        return Served(None, problem=f"malformed URI ({exc})")
    return Served(keccak(data), len(data))


def _fetch(uri: str, content_hash: bytes, settings: FetchSettings) -> Fetched:
    parsed = urlparse(uri)
    if parsed.scheme not in ("", "file", "http", "https", "ipfs"):
        return Fetched(None, f"unsupported URI scheme {parsed.scheme!r} (use a path, file://, http(s):// or ipfs://)")
    cached = settings.cache() / content_hash.hex()
    if parsed.scheme in ("", "file"):
        # A local file is read where it is (it may have gone since: then it is not found, cache or not).
        path = Path(unquote(parsed.path)) if parsed.scheme == "file" else Path(uri)
        path = path if path.is_absolute() else settings.base_dir / path
        if not path.is_file():
            return Fetched(None, "file not found")
        if path.stat().st_size > settings.max_bytes:
            return Fetched(None, f"larger than {settings.max_bytes} bytes")
        data = path.read_bytes()
        if keccak(data) == content_hash:
            return Fetched(path)
        if is_encrypted(data) and _is_cached(cached, content_hash):
            return Fetched(cached)  # opened before
        return _open_encrypted(data, content_hash, cached, settings)
    if _is_cached(cached, content_hash):
        return Fetched(cached)
    url = uri if parsed.scheme != "ipfs" else f"{settings.gateway()}/ipfs/{parsed.netloc}{parsed.path}"
    return _download(url, content_hash, cached, settings)


def _is_cached(cached: Path, content_hash: bytes) -> bool:
    return cached.is_file() and keccak(cached.read_bytes()) == content_hash


def _open_encrypted(data: bytes, content_hash: bytes, target: Path, settings: FetchSettings) -> Fetched:
    """`data` that is not the registered content: an age file opening to it with a committee key, decrypted
    straight into the private cache (never whole in memory), or excluded with why."""
    if not is_encrypted(data):
        return Fetched(None, "content hash mismatch")
    _private_folder(target.parent)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            digest = decrypt_into(data, settings.identities, handle)
        if digest != content_hash:
            return Fetched(None, "decrypts to other bytes than its registered content hash")
        os.replace(tmp, target)
        return Fetched(target)
    except DecryptionError as exc:
        return Fetched(None, str(exc))
    finally:
        Path(tmp).unlink(missing_ok=True)


def _download(url: str, content_hash: bytes, target: Path, settings: FetchSettings) -> Fetched:
    try:
        data = _get(url, settings)
    except _Unavailable as exc:
        return Fetched(None, str(exc))
    if keccak(data) != content_hash:
        return _open_encrypted(data, content_hash, target, settings)
    _write_atomically(target, data)
    return Fetched(target)


def _get(url: str, settings: FetchSettings) -> bytes:
    """The bytes at `url`, at most `settings.max_bytes`, retried on timeouts, connection errors and HTTP 5xx.

    Raises:
        _Unavailable: why there are none (HTTP status, timeout, too large, cannot connect).
    """
    reason = "not fetched"
    for attempt in range(settings.retries + 1):
        if attempt:
            time.sleep(min(0.5 * 2 ** (attempt - 1), 4.0))
        try:
            return _read_bounded(url, settings)
        except _TooLarge:
            raise _Unavailable(f"larger than {settings.max_bytes} bytes") from None
        except urllib.error.HTTPError as exc:
            reason = f"HTTP {exc.code} from {url}"
            if exc.code < 500:
                raise _Unavailable(reason) from None  # a 404 will not change on retry
            continue
        except (TimeoutError, urllib.error.URLError, OSError) as exc:
            timed_out = isinstance(exc, TimeoutError) or "timed out" in str(exc)
            reason = f"timed out after {settings.timeout:g} s" if timed_out else f"cannot fetch {url} ({exc})"
            continue
    raise _Unavailable(reason)


class _Unavailable(Exception):
    pass


class _TooLarge(Exception):
    pass


def _read_bounded(url: str, settings: FetchSettings) -> bytes:
    request = urllib.request.Request(url, headers={"User-Agent": "openledger-chain"})
    with urllib.request.urlopen(request, timeout=settings.timeout) as response:  # noqa: S310 - schemes checked
        declared = response.headers.get("Content-Length")
        if declared is not None and declared.isdigit() and int(declared) > settings.max_bytes:
            raise _TooLarge
        chunks, size = [], 0
        while chunk := response.read(CHUNK):
            size += len(chunk)
            if size > settings.max_bytes:
                raise _TooLarge
            chunks.append(chunk)
    return b"".join(chunks)


def _private_folder(folder: Path) -> None:
    """The cache folder, which may hold committee plaintext: readable by its user alone (0700)."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    if folder.stat().st_mode & 0o077:
        os.chmod(folder, 0o700)


def _write_atomically(target: Path, data: bytes) -> None:
    """Write into the private cache: the file 0600 (mkstemp's), renamed into place whole."""
    _private_folder(target.parent)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, target)
