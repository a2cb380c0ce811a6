"""Writing the files this toolkit publishes (deployment records, round files)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

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
