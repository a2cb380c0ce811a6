"""The project configuration file, `openledger.toml` in the working folder (or `$OPENLEDGER_CONFIG`).

Every key is optional; command-line options and environment variables override it:

    deployments_dir = "deployments"   # where `deploy` writes, and every command reads, deployments/<network>.json
    rounds_dir = "rounds"             # where `round propose` writes round files
    db = "sqlite:///openledger.db"    # the index read commands use (like --db / OPENLEDGER_DB)

    [networks]                         # named networks: `--network sepolia` needs no --rpc-url
    sepolia = "https://rpc.sepolia.example"

    [accounts]                         # who signs for each role when no key option is given:
    oracle = "keys/oracle.json"        #   a keystore file (password in OPENLEDGER_KEYSTORE_PASSWORD)
    contributor = 6                    #   or a dev account index (local chains only)
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from openledger_chain.errors import InputError

CONFIG_FILE = "openledger.toml"
KEYS = {"deployments_dir", "rounds_dir", "db", "networks", "accounts"}
ROLES = {"deployer", "oracle", "model owner", "contributor", "payer", "guardian"}


@dataclass(frozen=True)
class Config:
    deployments_dir: Path = Path("deployments")
    rounds_dir: Path = Path("rounds")
    db: str | None = None
    networks: dict[str, str] = field(default_factory=dict)
    accounts: dict[str, Path | int] = field(default_factory=dict)  # role -> keystore file or dev index
    source: Path | None = None  # the file read, if any


def load_config() -> Config:
    """The configuration: `$OPENLEDGER_CONFIG`, else `./openledger.toml` if present, else the defaults.

    Raises:
        InputError: the file is not valid TOML, has an unknown key or a value of the wrong type.
    """
    named = os.environ.get("OPENLEDGER_CONFIG")
    path = Path(named) if named else Path(CONFIG_FILE)
    if not path.is_file():
        if named:
            raise InputError(f"OPENLEDGER_CONFIG names {path}, which does not exist")
        return Config()
    try:
        data = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path} is not valid TOML ({exc}); see `openledger --help`") from exc
    unknown = set(data) - KEYS
    if unknown:
        raise InputError(f"{path}: unknown key(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(KEYS))}")
    networks = data.get("networks", {})
    if not isinstance(networks, dict) or not all(isinstance(v, str) for v in networks.values()):
        raise InputError(f"{path}: [networks] maps each network name to its RPC URL string")
    accounts = data.get("accounts", {})
    if not isinstance(accounts, dict) or set(accounts) - ROLES or not all(
            isinstance(v, str) or (isinstance(v, int) and not isinstance(v, bool)) for v in accounts.values()):
        raise InputError(f"{path}: [accounts] maps roles ({', '.join(sorted(ROLES))}) to a keystore path or a dev "
                         "account index")
    for key in ("deployments_dir", "rounds_dir", "db"):
        if key in data and not isinstance(data[key], str):
            raise InputError(f"{path}: {key} must be a string")
    return Config(
        deployments_dir=Path(data.get("deployments_dir", "deployments")),
        rounds_dir=Path(data.get("rounds_dir", "rounds")),
        db=data.get("db"),
        networks=dict(networks),
        accounts={role: value if isinstance(value, int) else Path(value) for role, value in accounts.items()},
        source=path,
    )
