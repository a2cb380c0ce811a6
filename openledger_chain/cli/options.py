"""Shared CLI plumbing: the consoles, `abort`, the options every chain command takes, and the
error boundary that turns library errors into one-line messages."""

from __future__ import annotations

import functools
import json
import logging
import os
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click
from rich.console import Console
from rich.table import Table

from openledger_chain.errors import InputError, OpenLedgerError
from openledger_chain.units import format_amount as format_amount  # re-exported: the commands import it here

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount

    from openledger_chain.sources import EventSource

# Wide enough for addresses and hashes when output goes to a file or a pipe (rich assumes 80 there).
_PIPE_WIDTH = 200
console = Console(width=None if Console().is_terminal else _PIPE_WIDTH)
err_console = Console(stderr=True)

F = TypeVar("F", bound=Callable[..., Any])


class AddressType(click.ParamType):
    """An EVM address option: checked (mixed case must carry a valid EIP-55 checksum), then checksummed."""

    name = "address"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        from openledger_chain.address import normalize_address

        try:
            return normalize_address(value, where="")
        except InputError:
            self.fail(f"{value!r} is not an address (0x followed by 40 hex digits, with a valid checksum if mixed case)",
                      param, ctx)


class IdType(click.ParamType):
    """A model or round id: a uint256 on-chain, so an integer in [0, 2**256)."""

    name = "id"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        try:
            number = int(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not an integer", param, ctx)
        if not 0 <= number < 2**256:
            self.fail(f"{number} is not an id (an integer in [0, 2**256))", param, ctx)
        return number


#: Address options and arguments.
ADDRESS = AddressType()
#: Model and round ids.
ID = IdType()
#: A file the command reads: click checks that it exists, is a file and is readable while it parses the command
#: line, so a missing file is said before anything heavy (web3, scikit-learn) is imported or any node is asked.
EXISTING_FILE = click.Path(path_type=Path, dir_okay=False, exists=True)
#: A folder the command reads from, checked the same way.
EXISTING_DIR = click.Path(path_type=Path, file_okay=False, exists=True)


def abort(message: str, exit_code: int = 1) -> NoReturn:
    """Print a one-line error to stderr and exit with `exit_code`."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True, markup=True)
    raise SystemExit(exit_code)


class _WarningLine(logging.Handler):
    """The library's warnings (an RPC retry, a transaction replaced) as one stderr line each."""

    def emit(self, record: logging.LogRecord) -> None:
        from rich.text import Text

        err_console.print(Text.assemble(("warning: ", "yellow"), record.getMessage()), highlight=False, soft_wrap=True)


def _show_library_warnings() -> None:
    library = logging.getLogger("openledger_chain")
    if not any(isinstance(h, _WarningLine) for h in library.handlers):
        library.addHandler(_WarningLine(logging.WARNING))
        library.setLevel(logging.WARNING)
        library.propagate = False


def handle_errors(func: F) -> F:
    """Turn an `OpenLedgerError` into a one-line error with its exit code (traceback only with -v)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _show_library_warnings()
        try:
            return func(*args, **kwargs)
        except OpenLedgerError as exc:
            if os.environ.get("OPENLEDGER_DEBUG"):
                raise
            abort(str(exc).replace("[", "\\["), exc.exit_code)
        except Exception as exc:
            # A database the index cannot reach (server down, wrong password) is an error, not a crash.
            if not type(exc).__module__.startswith("sqlalchemy") or os.environ.get("OPENLEDGER_DEBUG"):
                raise
            reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
            abort(f"database error: {reason}; check --db".replace("[", "\\["), 1)

    return wrapper  # type: ignore[return-value]


def network_options(func: F) -> F:
    """--network and --rpc-url, passed on as `network` and `rpc_url`."""
    func = click.option(
        "--rpc-url", envvar="OPENLEDGER_RPC_URL", default=None,
        help="JSON-RPC URL of the node (overrides the network's default URL).",
    )(func)
    func = click.option(
        "--network", "-n", envvar="OPENLEDGER_NETWORK", default="localhost", show_default=True,
        help="Deployment to use: `localhost` (openledger node) or a name of your own with --rpc-url.",
    )(func)
    return func


def account_options(dev_default: int, role: str) -> Callable[[F], F]:
    """--keystore, --key-env and --dev-account: where the signing key comes from; on local chains with no
    key given, dev account `dev_default` (the command's usual `role`).

    The key's source is checked before the command runs (a missing keystore file, named by --keystore or by
    openledger.toml's [accounts]; --keystore without a password; --key-env naming an unset variable or no key):
    said at once, not after connecting."""
    def decorate(func: F) -> F:
        role_name = role.split(",")[0]

        @functools.wraps(func)
        def checked(*args: Any, **kwargs: Any) -> Any:
            _check_key_source(kwargs.get("keystore"), kwargs.get("key_env"), kwargs.get("dev_account"), role_name)
            return func(*args, **kwargs)

        default_help = (f"Default: [accounts] {role_name} of openledger.toml, else {dev_default} (the {role}), "
                        "when no key is given.")
        return _account_options(checked, default_help)  # type: ignore[arg-type]

    return decorate


def _check_key_source(keystore: Path | None, key_env: str | None, dev_account: int | None, role: str) -> None:
    """Abort in one line if the key the command would sign with cannot be there (no chain needed to tell)."""
    if key_env is not None:
        key = os.environ.get(key_env, "").strip()
        if not key:
            abort(f"environment variable {key_env} is not set; export the private key there", 2)
        if not re.fullmatch(r"(0[xX])?[0-9a-fA-F]{64}", key):
            abort(f"environment variable {key_env} does not hold a private key (64 hex digits)", 2)
    if keystore is None and key_env is None and dev_account is None:
        from openledger_chain.config import load_config

        try:
            configured = load_config().accounts.get(role)
        except OpenLedgerError as exc:
            abort(str(exc).replace("[", "\\["), exc.exit_code)
        if isinstance(configured, Path) and not configured.is_file():
            abort(f"keystore file {configured} (\\[accounts] {role} in openledger.toml) not found", 2)
    elif keystore is not None and os.environ.get("OPENLEDGER_KEYSTORE_PASSWORD") is None:
        abort(f"keystore {keystore} given without a password: set OPENLEDGER_KEYSTORE_PASSWORD", 2)


def _account_options(func: F, default_help: str) -> F:
    func = click.option(
        "--dev-account", type=click.IntRange(0, 9), default=None,
        help=f"Index 0-9 of a dev-mnemonic account (local chains only). {default_help}",
    )(func)
    func = click.option(
        "--key-env", default=None, metavar="VAR",
        help="Name of an environment variable holding the private key.",
    )(func)
    func = click.option(
        "--keystore", type=EXISTING_FILE, default=None,
        help="Encrypted keystore file (password from OPENLEDGER_KEYSTORE_PASSWORD).",
    )(func)
    return func


def fetch_options(func: F) -> F:
    """--ipfs-gateway, --cache-dir and --max-content-bytes: how contributions are fetched by URI."""
    func = click.option("--max-content-bytes", type=click.IntRange(min=1), default=256 * 1024 * 1024,
                        show_default=True, help="Largest contribution fetched; a larger one is left out.")(func)
    func = click.option("--cache-dir", type=click.Path(path_type=Path, file_okay=False), default=None,
                        envvar="OPENLEDGER_CACHE_DIR", help="Where fetched contributions are kept, by content hash "
                        "[default: ~/.cache/openledger/content].")(func)
    func = click.option("--ipfs-gateway", envvar="OPENLEDGER_IPFS_GATEWAY", default=None,
                        help="HTTP gateway for ipfs:// contributions [default: https://ipfs.io].")(func)
    return func


def recompute_options(func: F) -> F:
    """--spec, --eval, --data-dir and --revealed: what rerunning a round's attribution needs (verify, sign)."""
    func = click.option("--revealed", "revealed", type=EXISTING_FILE, multiple=True,
                        help="A local copy of an earlier round's evaluation set the round counts (repeat): "
                        "stands in for fetching it from the URI it was revealed at on-chain.")(func)
    func = click.option("--data-dir", type=EXISTING_DIR, default=Path("."),
                        show_default=True, help="Folder that relative contribution URIs resolve against.")(func)
    func = click.option("--eval", "eval_path", type=EXISTING_FILE, default=None,
                        help="The round's evaluation set (its hash must be the one committed on-chain).")(func)
    func = click.option("--spec", "spec_path", type=EXISTING_FILE, default=None,
                        help="The model's spec file: with --eval, rerun the attribution.")(func)
    return func


def dask_options(func: F) -> F:
    """--workers and --scheduler: run the closed-form valuation on Dask (same result, bit for bit)."""
    func = click.option("--scheduler", envvar="OPENLEDGER_DASK_SCHEDULER", default=None,
                        metavar="local|tcp://HOST:8786",
                        help="Value rows on Dask: 'local' starts a cluster on this machine, an address uses that "
                        "cluster's workers. tknn_shapley/knn_shapley only; bit-for-bit the in-process result. "
                        "Needs the dask extra.")(func)
    func = click.option("--workers", type=click.IntRange(min=1), default=None,
                        help="Value rows on a local Dask cluster of N worker processes "
                        "(implies --scheduler local).")(func)
    return func


def dask_context(scheduler: str | None, workers: int | None) -> Any:
    """A context that values on Dask when --scheduler or --workers was given, else does nothing."""
    import contextlib

    if scheduler is None and workers is None:
        return contextlib.nullcontext()
    from openledger_chain.attribution.distributed import dask_valuation

    return dask_valuation(scheduler, workers=workers)


def warn_if_not_on_dask(scheduler: str | None, workers: int | None, method: str) -> None:
    """Say so when Dask was asked for but the spec's method cannot use it (it ran in this process)."""
    if (scheduler is not None or workers is not None) and method not in ("tknn_shapley", "knn_shapley"):
        err_console.print(f"[yellow]warning[/]: {method} runs in this process; only tknn_shapley and knn_shapley "
                          "run on Dask", highlight=False)


def fetch_settings(data_dir: Path, ipfs_gateway: str | None, cache_dir: Path | None, max_content_bytes: int,
                   identities: tuple[Any, ...] = ()) -> Any:
    from openledger_chain.fetch import FetchSettings

    return FetchSettings(base_dir=data_dir, cache_dir=cache_dir, ipfs_gateway=ipfs_gateway, max_bytes=max_content_bytes,
                         identities=identities)


def encryption_key_option(func: F) -> F:
    """--encryption-key: the committee member's own key file, which opens files encrypted to the committee."""
    return click.option(
        "--encryption-key", type=EXISTING_FILE, envvar="OPENLEDGER_ENCRYPTION_KEY",
        default=None, help="Your committee encryption key file (`openledger keys create`; password from "
        "OPENLEDGER_KEYSTORE_PASSWORD): opens contributions encrypted to the committee. Dev accounts on local "
        "chains derive theirs. Env OPENLEDGER_ENCRYPTION_KEY.")(func)


def member_identity(chain: Any, encryption_key: Path | None, account: LocalAccount | None) -> Any:
    """The committee member's own identity (its key file, or a dev account's on local chains), or None."""
    from openledger_chain.committee import member_identity as identity_of

    return identity_of(chain, account, encryption_key, os.environ.get("OPENLEDGER_KEYSTORE_PASSWORD"))


def committee_identities(ledger: Any, encryption_key: Path | None, account: LocalAccount | None) -> tuple[Any, ...]:
    """The epoch keys a committee member holds: empty for an outsider."""
    from openledger_chain.committee import committee_identities as identities_of

    return identities_of(ledger, member_identity(ledger.chain, encryption_key, account))


def read_db_option(func: F) -> F:
    """--db for read commands: read from the index (`openledger index run`) when it is current."""
    return click.option("--db", "db_url", envvar="OPENLEDGER_DB", default=None,
                        help="Read from this index (see `openledger index`) where it has caught up with the chain; "
                        "otherwise, and without --db, scan the chain (env OPENLEDGER_DB).")(func)


def read_source(ledger: Any, db_url: str | None) -> EventSource:
    """Where a read command reads events (an `openledger_chain.sources.EventSource`, handed to the oracle, the
    claims and the views): the index of --db (or openledger.toml's `db`) where it has caught up with the
    chain, else a chain scan."""
    from openledger_chain.config import load_config

    db_url = db_url or load_config().db
    if db_url is None:
        from openledger_chain.sources import ChainSource

        return ChainSource(ledger)
    from openledger_chain.indexer import open_database
    from openledger_chain.indexer.reads import IndexSource

    return IndexSource(ledger, open_database(db_url))


def json_option(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")(func)


# The role each command's default dev account plays (tests/_ledger_setup.py and the README use the same).
ROLE_OF_DEV_ACCOUNT = {0: "deployer", 1: "oracle", 4: "model owner", 5: "contributor", 8: "payer"}


def resolve_account(
    chain: Any, keystore: Path | None, key_env: str | None, dev_account: int | None, default_dev: int = 0,
    role: str | None = None,
) -> LocalAccount:
    """The signing account; with no key given, the one openledger.toml's [accounts] names for the command's
    `role` (by default the role of dev account `default_dev`), else dev account `default_dev`, said in one
    line on stderr: a forgotten --dev-account must not act as someone else unnoticed."""
    from openledger_chain.chain import load_account

    role = role or ROLE_OF_DEV_ACCOUNT.get(default_dev, "")
    fallback = False
    if dev_account is None and keystore is None and key_env is None:
        from openledger_chain.config import load_config

        configured = load_config().accounts.get(role)
        if isinstance(configured, Path):
            keystore = configured
        else:
            fallback = configured is None
            dev_account = default_dev if configured is None else configured
    account = load_account(
        chain,
        keystore=keystore,
        password=os.environ.get("OPENLEDGER_KEYSTORE_PASSWORD"),
        key_env=key_env,
        dev_index=dev_account,
    )
    if fallback:
        err_console.print(f"acting as dev account {default_dev} ({account.address}), the local chains' default "
                          f"{role or 'account'}; pass --dev-account/--keystore or set [accounts] in openledger.toml",
                          markup=False, highlight=False, soft_wrap=True)
    return account


def open_ledger(network: str, rpc_url: str | None) -> Any:
    """Connect to the network and load its checked deployment."""
    from openledger_chain.chain import EMBEDDED, connect
    from openledger_chain.contracts import OpenLedger
    from openledger_chain.deployments import load_deployment

    if network == EMBEDDED:
        abort("the embedded chain lives only inside one process; use `openledger demo`, or start `openledger node`", 2)
    chain = connect(network, network_url(network, rpc_url))
    return OpenLedger(chain, load_deployment(chain, deployments_dir()))


def network_url(network: str, rpc_url: str | None) -> str | None:
    """--rpc-url, else the network's URL in openledger.toml, else None (the network's built-in default)."""
    from openledger_chain.config import load_config

    return rpc_url or load_config().networks.get(network)


def deployments_dir(given: Path | None = None) -> Path:
    """--deployments-dir, else $OPENLEDGER_DEPLOYMENTS_DIR, else openledger.toml's, else ./deployments."""
    from openledger_chain.config import load_config

    configured = os.environ.get("OPENLEDGER_DEPLOYMENTS_DIR")
    return given or (Path(configured) if configured else load_config().deployments_dir)


def parse_amount(text: str, decimals: int = 18) -> int:
    """'1.5' -> 1.5 * 10**decimals base units; refuses negatives and excess precision."""
    try:
        value = Decimal(text)
        scaled = value * (Decimal(10) ** decimals)
    except (InvalidOperation, ArithmeticError):  # not a number, or too large for any decimal (1e999999)
        abort(f"amount {text!r} is not a number a token amount can be", 2)
    if not value.is_finite() or scaled >= 2**256:
        abort(f"amount {text!r} is out of range (at most 2**256 - 1 base units)", 2)
    if value < 0 or scaled != scaled.to_integral_value():
        abort(f"amount {text!r} must be non-negative with at most {decimals} decimals", 2)
    return int(scaled)


def print_rows(title: str, rows: list[dict[str, Any]], as_json: bool = False) -> None:
    """Render rows as a rich table, or as JSON with --json: every integer as a decimal string (like the round
    file, so no JSON reader rounds a 256-bit amount), bytes as 0x-hex, and keys in snake_case (a table header
    such as "content hash" becomes "content_hash"). Callers hand JSON raw values (base units, basis points,
    unix times), never the display strings they build for the table. Table cells are shown as they are: a
    value read from the chain or a file is never taken for rich markup (pass a `rich.text.Text` to style one)."""
    if as_json:
        click.echo(json.dumps(_json_safe(rows), indent=2, default=str))
        return
    from rich.text import Text

    if title:
        console.print(Text(title, style="bold"))
    if len(rows) == 1 and len(rows[0]) > 5:  # one wide record reads better as field/value lines
        rows = [{"field": k, "value": v} for k, v in rows[0].items()]
    table = Table()
    for column in rows[0].keys() if rows else []:
        table.add_column(Text(str(column)), overflow="fold")
    for row in rows:
        table.add_row(*(v if isinstance(v, Text) else Text(str(v)) for v in row.values()))
    console.print(table)


def _json_safe(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, dict):
        return {_json_key(str(k)): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def _json_key(key: str) -> str:
    """A key in snake_case: "holders' share" -> "holders_share", "contributionId" -> "contribution_id"; keys
    that are data (addresses, numbers) as they are."""
    import re

    if re.fullmatch(r"[a-z][a-z0-9_]*|0x[0-9a-fA-F]{40}|[0-9]+", key):
        return key
    return re.sub(r"[^0-9a-z]+", "_", re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", key).lower()).strip("_")


def format_time(timestamp: int, now: int) -> str:
    """A chain timestamp in local time, and how far from `now` (the chain's latest block): '… (in 41 min)'."""
    from datetime import datetime

    local = datetime.fromtimestamp(timestamp).astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")
    delta = timestamp - now
    size = abs(delta)
    span = f"{size} s" if size < 120 else f"{size // 60} min" if size < 7200 else f"{size / 3600:.1f} h"
    return f"{local} ({'in ' + span if delta > 0 else span + ' ago' if delta < 0 else 'now'})"


def print_exclusions(contributions: list[dict[str, Any]]) -> None:
    """One stderr line per contribution with rows left out of the valuation, and why (round files and OUT.json)."""
    for c in contributions:
        if c.get("excluded"):
            reasons = ", ".join(f"{count} {reason.replace('_', ' ')}" for reason, count in sorted(c["excluded"].items()))
            source = f" (derives from {c['derivative_of']})" if c.get("derivative_of") else ""
            err_console.print(f"[yellow]rows left out[/] of {c['id']}: {reasons}{source}", highlight=False)
