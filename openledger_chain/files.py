"""Reading the JSON files others hand us, and writing the files this toolkit publishes (deployment
records, round files)."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

#: Nesting depth at which a JSON file is refused. eth-account's py_ecc raises Python's recursion limit
#: to 100,000, at which json's C decoder overflows the C stack on deeply nested input (a segfault, not an
#: error); under this limit it raises RecursionError instead. Our files nest a few levels deep.
JSON_MAX_DEPTH = 1000


def parse_json(text: str) -> Any:
    """`json.loads(text)`, raising RecursionError (not crashing) on input nested deeper than JSON_MAX_DEPTH."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(min(limit, JSON_MAX_DEPTH))
    try:
        return json.loads(text)
    finally:
        sys.setrecursionlimit(limit)

# Deployment and round files are meant to be published: readable by everyone, like `cp` would make them.
PUBLIC_FILE_MODE = 0o644


def write_public_file(path: Path, text: str) -> None:
    """Write `text` to `path` atomically (a crash never leaves half a file), mode 0644.

    `mkstemp` creates its file 0600; the mode is set before the rename, so no reader ever sees the file
    with other permissions."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.chmod(tmp, PUBLIC_FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
