"""`openledger deploy`: deploy the contracts and write deployments/<network>.json."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from openledger_chain.cli.options import (
    ADDRESS,
    abort,
    deployments_dir as deployments_dir_of,
    account_options,
    console,
    handle_errors,
    json_option,
    network_options,
    network_url,
    print_rows,
    resolve_account,
)


@click.command("deploy", short_help="Deploy registry and distributor; write deployments/<network>.json.")
@network_options
@account_options(0, "deployer")
@click.option("--oracle", "oracles", type=ADDRESS, multiple=True, help="Oracle signer address (repeat). Default on local "
              "chains: dev accounts 1-3.")
@click.option("--threshold", type=int, default=None, help="Signatures needed per round (k). Default: 2, or 1 "
              "with a single oracle.")
@click.option("--challenge-window", type=int, default=3600, show_default=True, help="Seconds a guardian may veto.")
@click.option("--min-challenge-window", type=int, default=None, help="Shortest window the admin may ever set. "
              "Default: the window, at most 3600; at least 3600 outside local chains.")
@click.option("--admin-delay", type=int, default=None, help="Seconds every admin change (oracles, threshold, "
              "window, roles) waits in the AdminTimelock. Default: the window plus one day; must exceed the window.")
@click.option("--guardian", type=ADDRESS, default=None, help="Address that vetoes rounds and pauses; not the deployer "
              "outside local chains (default on local chains: the deployer).")
@click.option("--force", is_flag=True, help="Redeploy even if a live deployment exists.")
@click.option("--deployments-dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              envvar="OPENLEDGER_DEPLOYMENTS_DIR", help="Where deployments/<network>.json goes; every command reads "
              "it from there [default: openledger.toml's deployments_dir, else deployments].")
@json_option
@handle_errors
def deploy(network: str, rpc_url: str | None, keystore: Path | None, key_env: str | None, dev_account: int | None,
           oracles: tuple[str, ...], threshold: int | None, challenge_window: int, min_challenge_window: int | None,
           admin_delay: int | None, guardian: str | None, force: bool, deployments_dir: Path, as_json: bool) -> None:
    """Deploy AdminTimelock, ContributionRegistry and RewardDistributor (plus a DevPaymentToken on local
    chains), CommitteeKeys and the ContributionBonds vault, make the distributor the only stake minter and the
    vault the registry's one bond vault, and record it all. The deployer's key proposes
    admin changes through the timelock; the guardian vetoes and pauses at once.

    Re-running finds the existing deployment (same chain, same code) and does nothing; --force
    redeploys."""
    if oracles:  # what needs no chain to check is checked before connecting
        _check_options(oracles, threshold if threshold is not None else min(2, len(oracles)))
    from openledger_chain.chain import connect, dev_accounts
    from openledger_chain.deployments import ensure_deployment, security_policy
    from openledger_chain.errors import DeploymentError

    chain = connect(network, network_url(network, rpc_url))
    deployments_dir = deployments_dir_of(deployments_dir)
    deployer = resolve_account(chain, keystore, key_env, dev_account)
    explicit_oracles = bool(oracles)
    source = click.get_current_context().get_parameter_source("challenge_window")
    challenge_window_given = source is not None and source.name != "DEFAULT"
    if not oracles:
        if not chain.is_local:
            abort("name the oracle signers with --oracle (repeat it) on a non-local chain", 2)
        oracles = tuple(a.address for a in dev_accounts()[1:4])
    k = threshold if threshold is not None else min(2, len(oracles))
    _check_options(oracles, k)
    try:  # before any gas is spent
        security_policy(chain.is_local, deployer.address, challenge_window=challenge_window,
                        min_challenge_window=min_challenge_window, admin_delay=admin_delay, guardian=guardian)
    except DeploymentError as exc:
        abort(str(exc), 2)
    with console.status("deploying …") as status:
        deployment, deployed = ensure_deployment(
            chain, deployer, force=force, directory=deployments_dir, oracles=list(oracles), threshold=k,
            challenge_window=challenge_window, min_challenge_window=min_challenge_window, admin_delay=admin_delay,
            guardian=guardian,
            on_step=lambda text: status.update(text),
        )
    if not deployed:
        _refuse_ignored_options(deployment.config, oracles if explicit_oracles else None, threshold, challenge_window,
                                challenge_window_given, guardian)
    rows = [{"contract": name, "address": c.address, "block": c.block_number, "tx": c.tx_hash}
            for name, c in deployment.contracts.items()]
    print_rows(f"{'deployed' if deployed else 'already deployed'} on {network} (chain id {deployment.chain_id}); "
               f"{deployment.config.threshold} of {len(deployment.config.oracles)} oracles sign rounds", rows, as_json)


def _check_options(oracles: tuple[str, ...], threshold: int) -> None:
    """Refuse options the distributor's constructor would revert on, before any gas is spent."""
    if len(set(oracles)) != len(oracles):
        abort("an --oracle address is given twice; name each oracle once", 2)
    if not 1 <= threshold <= len(oracles):
        abort(f"--threshold must be between 1 and the number of oracles ({len(oracles)}), got {threshold}", 2)


def _refuse_ignored_options(
    config: Any, oracles: tuple[str, ...] | None, threshold: int | None, challenge_window: int, window_given: bool,
    guardian: str | None,
) -> None:
    """An existing deployment is reused as it is: options that ask for something else are an error, not ignored."""
    differs = []
    if oracles is not None and sorted(oracles, key=lambda a: int(a, 16)) != sorted(config.oracles, key=lambda a: int(a, 16)):
        differs.append("--oracle")
    if threshold is not None and threshold != config.threshold:
        differs.append("--threshold")
    if window_given and challenge_window != config.challenge_window:
        differs.append("--challenge-window")
    if guardian is not None and guardian != config.guardian:
        differs.append("--guardian")
    if differs:
        abort(f"already deployed with other settings than {', '.join(differs)}; run with --force to deploy anew "
              "(the existing contracts stay where they are)", 2)
