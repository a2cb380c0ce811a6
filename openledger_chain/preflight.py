"""What `openledger contribute` and `openledger round reveal-eval` check before anything is sent, so that nothing
careless is written on-chain for good (a registration costs gas and stays; every round must then exclude it):

- the URI names a scheme every oracle fetches (`file://`, `http(s)://`, `ipfs://CID`), not a bare `host:port/x`
  or a file name that each oracle would look for on its own machine;
- it serves exactly the bytes being published there, read as an oracle reads it (`fetch.probe`: the same
  schemes, size limit, timeout and retries);
- a contribution's file is what the oracles read for its kind under the model's registered spec: a CSV with a
  header, the spec's label column, its feature columns (when the spec names them), numeric features and at
  least one row for `data` and `annotation`; a recipe for the spec's estimator for `finetune`; a claim file for
  `compute` and `evaluation`.

Each check raises `InputError` with one line naming the problem and the fix. Nothing here sends a transaction
or writes a file (the spec, when fetched over the network, lands in the content cache like any fetch).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from openledger_chain.errors import InputError

if TYPE_CHECKING:
    from openledger_chain.attribution.spec import Spec
    from openledger_chain.contracts import OpenLedger
    from openledger_chain.fetch import FetchSettings
    from openledger_chain.types import ContributionKind

# The attribution package (numpy, scikit-learn) loads inside the functions that read files: `check_uri` must
# answer a bad command line at once.

__all__ = ["FETCHABLE_SCHEMES", "check_contribution_file", "check_served", "check_uri", "registered_spec"]

#: The schemes every oracle fetches (`fetch.py` also reads bare paths, but on-chain a bare path means a file on
#: each oracle's own machine, relative to its --data-dir: never what a contributor meant).
FETCHABLE_SCHEMES = ("file", "http", "https", "ipfs")
# "127.0.0.1:8800/x.csv", "localhost:8800", "files.example.org:80/x": a host and a port, no scheme.
_HOST_PORT = re.compile(r"^[A-Za-z0-9.-]+:\d+(/|$)")
_SHOWN_FEATURES = 4
#: The kinds whose files are CSV rows (`attribution.engine.ROW_KINDS`).
_ROW_KINDS = ("data", "annotation")


def check_uri(uri: str, name: str = "--uri") -> str:
    """`uri` if it names a scheme every oracle fetches and is well formed.

    Args:
        uri: What would be registered on-chain.
        name: How the command line calls it, for the message.

    Raises:
        InputError: no scheme (a bare `host:port/x` or a path), another scheme, no host or CID, whitespace.
    """
    if not uri or uri != uri.strip() or any(c.isspace() or ord(c) < 32 for c in uri):
        raise InputError(f"{name} {uri!r} is empty or holds whitespace; give the URI where the file is published "
                         "(https://…, ipfs://CID or file://…)")
    if _HOST_PORT.match(uri):
        raise InputError(f"{name} {uri} has no scheme, so oracles would look for a local file of that name; "
                         f"write http://{uri} (or https://)")
    try:
        parsed = urlparse(uri)
        parsed.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError as exc:
        raise InputError(f"{name} {uri} is not a well-formed URI ({exc}); give https://…, ipfs://CID or file://…") \
            from None
    scheme = parsed.scheme.lower()
    if not scheme:
        raise InputError(f"{name} {uri} has no scheme, so each oracle would look for that file on its own machine; "
                         f"give where it is published (https://… or ipfs://CID), or {Path(uri).resolve().as_uri()} "
                         "(readable on this machine only)")
    if scheme not in FETCHABLE_SCHEMES:
        raise InputError(f"{name} {uri}: oracles cannot fetch {scheme}: URIs; publish the file at https://…, "
                         "ipfs://CID or file://…")
    if scheme in ("http", "https") and not parsed.hostname:
        raise InputError(f"{name} {uri} names no host; write {scheme}://HOST[:PORT]/PATH")
    if scheme == "ipfs" and not parsed.netloc:
        raise InputError(f"{name} {uri} names no content id; write ipfs://CID[/PATH]")
    if scheme == "file" and (not parsed.path or parsed.netloc not in ("", "localhost")):
        raise InputError(f"{name} {uri} is not a local file URI; write file:///ABSOLUTE/PATH")
    return uri


def check_served(uri: str, expected: bytes, what: str, settings: FetchSettings, fix: str) -> int:
    """Check that `uri` serves, now, bytes whose keccak256 is `expected` (those of `what`); returns their size.

    Raises:
        InputError: it serves nothing an oracle can fetch (HTTP error, timeout, too large, no such file), or other
            bytes; the message ends with `fix`.
    """
    from openledger_chain.fetch import probe

    served = probe(uri, settings)
    if served.digest is None:
        raise InputError(f"{uri} does not serve {what} ({served.problem}); {fix}")
    if served.digest != expected:
        raise InputError(f"{uri} serves {served.size:,} bytes that are not {what} (keccak256 0x{served.digest.hex()}, "
                         f"not 0x{expected.hex()}); {fix}")
    return served.size


def registered_spec(ledger: OpenLedger, model_id: int, spec_path: Path | None, settings: FetchSettings) -> Spec:
    """The model's registered spec: `spec_path` when given (it must hash to the spec hash on-chain), else fetched
    from the spec URI the model's registration announced and checked against that hash.

    Raises:
        ContractRevertError: no such model.
        InputError: `spec_path` is another spec; the registered URI cannot be read here; the spec does not parse.
    """
    from eth_utils import keccak

    from openledger_chain.attribution.spec import parse_spec
    from openledger_chain.fetch import fetch_contribution
    from openledger_chain.files import parse_json

    model = ledger.get_model(model_id)
    registered = f"0x{model.spec_hash.hex()}"
    if spec_path is not None:
        if not spec_path.is_file():
            raise InputError(f"spec file {spec_path} not found")
        data = spec_path.read_bytes()
        if keccak(data) != model.spec_hash:
            raise InputError(f"{spec_path} hashes to 0x{keccak(data).hex()}, but model {model_id} registered spec "
                             f"hash {registered}; give the model's spec, or leave out --spec to fetch it from the "
                             "URI its owner registered")
        where = str(spec_path)
    else:
        where = ledger.spec_uri(model_id)
        fetched = fetch_contribution(where, model.spec_hash, settings)
        if fetched.path is None:
            raise InputError(f"cannot read model {model_id}'s spec at its registered URI {where} ({fetched.excluded}); "
                             f"give it with --spec FILE (the file hashing to {registered})")
        data = fetched.path.read_bytes()
    try:
        raw = parse_json(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise InputError(f"model {model_id}'s registered spec ({where}) is not valid JSON; no round can run on it, "
                         "ask its owner") from None
    return parse_spec(raw, where)


def check_contribution_file(path: Path, kind: ContributionKind, spec: Spec, model_id: int) -> str:
    """Check `path` as an oracle reads a `kind` contribution to the model under `spec`; returns what was found
    ("569 rows, 10 feature columns").

    Raises:
        InputError: a file the round would leave out as malformed (the message says where and what, then what the
            spec asks for).
    """
    from openledger_chain.attribution.kinds import check_claim, check_recipe
    from openledger_chain.attribution.manifest import Contribution
    from openledger_chain.attribution.table import read_rows

    name = kind.name.lower()
    entry = Contribution("0", "0x" + "00" * 20, name, path, 0)
    try:
        if name in _ROW_KINDS:
            table = read_rows(path, spec)
            rows = len(table.labels)
            if spec.embedding is not None:
                return f"{rows} row{'s' if rows != 1 else ''}, {spec.embedding.dimension}-dimensional {spec.embedding.model} vectors"
            if spec.text is not None:
                return f"{rows} text{'s' if rows != 1 else ''} in column {spec.text.column!r}"
            return f"{rows} row{'s' if rows != 1 else ''}, {len(table.columns)} feature columns"
        if name == "finetune":
            check_recipe(entry, spec)
            return f"a recipe for {spec.estimator_name}"
        check_claim(entry)
        return "a claim file"
    except InputError as exc:
        raise InputError(f"{exc}; {_wanted(name, spec, model_id)}") from None


def _wanted(kind: str, spec: Spec, model_id: int) -> str:
    """What model `model_id`'s spec asks of a `kind` file, in one clause."""
    if kind not in _ROW_KINDS:
        what = (f"a JSON recipe {{\"params\": {{…}}}} for {spec.estimator_name}" if kind == "finetune" else
                "a JSON claim {\"units\": N, \"attestation\": {\"signer\": …, \"signature\": …}}")
        return f"a {kind} contribution to model {model_id} is {what}; fix the file or the --kind"
    classes = f" with a label in {{{', '.join(spec.classes)}}}" if spec.classes is not None else ""
    if spec.embedding is not None:
        e = spec.embedding
        return (f"model {model_id}'s spec takes a Parquet file (a fixed-size list<float> column {e.column!r} and the label "
                f"column {spec.label!r}) or an .npz of arrays features and labels, {e.dimension}-dimensional "
                f"{e.model} vectors{', each l2-normalised' if e.normalization == 'l2' else ''}, finite, at least one "
                f"row{classes}; fix the file")
    if spec.text is not None:
        return (f"model {model_id}'s spec takes a CSV with a header row and exactly the text column {spec.text.column!r} "
                f"and the label column {spec.label!r}, at least one row{classes}; fix the file")
    if spec.features is None:
        features = "numeric feature columns"
    else:
        shown = ", ".join(spec.features[:_SHOWN_FEATURES]) + (", …" if len(spec.features) > _SHOWN_FEATURES else "")
        features = f"exactly its {len(spec.features)} numeric feature columns ({shown})"
    classes = f" with a label in {{{', '.join(spec.classes)}}}" if spec.classes is not None else ""
    target = " (a numeric target)" if spec.task == "regression" else ""
    return (f"model {model_id}'s spec takes a CSV with a header row, the label column {spec.label!r}{target}, {features} "
            f"and at least one row{classes}; fix the file")
