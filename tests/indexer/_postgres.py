"""Start a throwaway PostgreSQL server from Debian's `postgresql` package (tests and benchmarks)."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from _ports import free_port


class PostgresMissing(RuntimeError):
    pass


def _binaries() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise PostgresMissing("the indexer's PostgreSQL tests need a PostgreSQL server: `apt-get install postgresql` "
                              "(`.ci/run` does it)")
    return Path(found[-1]).parent


def _as_postgres(*command: str) -> list[str]:
    # PostgreSQL refuses to run as root; as another user it runs directly.
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else list(command)


@contextmanager
def running_postgres() -> Iterator[str]:
    """Yield `postgresql+psycopg://postgres@127.0.0.1:PORT` of a fresh server, removed afterwards."""
    binaries = _binaries()
    root = Path(tempfile.mkdtemp(prefix="openledger-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    data, port = root / "data", free_port()
    subprocess.run(_as_postgres(str(binaries / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"),
                   check=True, capture_output=True)
    subprocess.run(_as_postgres(str(binaries / "pg_ctl"), "-D", str(data), "-w", "-l", str(root / "log"), "-o",
                                f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off", "start"),
                   check=True, capture_output=True)
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run(_as_postgres(str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"),
                       capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
