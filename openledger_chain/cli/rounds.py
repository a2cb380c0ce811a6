"""`openledger round propose|sign|submit|finalize|veto` and `openledger claim`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from openledger_chain.cli.options import (
    ADDRESS,
    EXISTING_DIR,
    EXISTING_FILE,
    ID,
    abort,
    account_options,
    committee_identities,
    console,
    dask_context,
    dask_options,
    encryption_key_option,
    err_console,
    fetch_options,
    fetch_settings,
    format_amount,
    handle_errors,
    network_options,
    open_ledger,
    parse_amount,
    print_exclusions,
    print_rows,
    read_db_option,
    read_source,
    recompute_options,
    resolve_account,
    warn_if_not_on_dask,
)

#: A round file the command reads (checked while the command line is parsed).
ROUND_FILE = EXISTING_FILE


@click.group("round", short_help="Attribution rounds: propose, sign (k of n), submit, finalize.")
def round_group() -> None:
    """An attribution round turns measured contribution values into stake. One operator proposes a
    round file, each oracle checks and signs it, anyone submits it and publishes its score list;
    after the challenge window (a guardian may veto) anyone finalizes it, and contributors claim."""


@round_group.command("commit-eval", short_help="Commit the hash of a round's evaluation set (model owner).")
@network_options
@account_options(4, "model owner")
@click.option("--model", "model_id", type=ID, required=True)
@click.option("--round", "round_id", type=ID, required=True, help="The round this evaluation set is for (1, 2, ...).")
@click.argument("eval_path", type=EXISTING_FILE)
@handle_errors
def commit_eval(network: str, rpc_url: str | None, keystore: Path | None, key_env: str | None, dev_account: int | None,
                model_id: int, round_id: int, eval_path: Path) -> None:
    """Commit keccak256(EVAL_PATH) as the evaluation set of round ROUND: oracles propose and sign the
    round only on this file. Keep the file private until the round is final, then reveal it
    (`round reveal-eval`); draw the next round's set from rows never revealed. Once per round.
    Default key: dev account 4 (the model owner on local chains)."""
    from eth_utils import keccak

    ledger = open_ledger(network, rpc_url)
    owner = resolve_account(ledger.chain, keystore, key_env, dev_account, default_dev=4)
    eval_hash = keccak(eval_path.read_bytes())
    receipt = ledger.commit_evaluation(owner, model_id, round_id, eval_hash)
    console.print(f"committed evaluation set 0x{eval_hash.hex()} for round {round_id} of model {model_id} "
                  f"(gas {receipt['gasUsed']})", highlight=False)


@round_group.command("reveal-eval", short_help="Reveal a round's evaluation set to the committee, after the round.")
@network_options
@account_options(4, "model owner")
@click.option("--model", "model_id", type=ID, required=True)
@click.option("--round", "round_id", type=ID, required=True)
@click.option("--file", "eval_path", type=EXISTING_FILE, required=True,
              help="The round's evaluation CSV: it must hash to the set committed for the round.")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Where to write the encrypted file [default: FILE.age]; publish it at URI.")
@click.option("--public", is_flag=True, help="Reveal FILE unencrypted, to everyone (URI then serves FILE itself).")
@click.option("--no-fetch-check", is_flag=True, help="Reveal without checking that URI serves the file (content that "
              "goes online only later); oracles cannot use it until it does.")
@click.option("--ipfs-gateway", envvar="OPENLEDGER_IPFS_GATEWAY", default=None,
              help="HTTP gateway through which an ipfs:// URI is checked [default: https://ipfs.io].")
@click.argument("uri")
@handle_errors
def reveal_eval(network: str, rpc_url: str | None, keystore: Path | None, key_env: str | None, dev_account: int | None,
                model_id: int, round_id: int, eval_path: Path, out: Path | None, public: bool, no_fetch_check: bool,
                ipfs_gateway: str | None, uri: str) -> None:
    """After round ROUND is final, encrypt its committed evaluation set FILE to the committee (only the model's
    oracles and guardians can read it) and announce URI as where it is published. Committee members recompute
    the round from it, and later rounds fetch it from URI and count it, so copies of its rows earn
    nothing. Refused before anything is sent: a FILE other than the committed one, a URI without a scheme every
    oracle fetches (https://, http://, ipfs://CID, file://), and a URI that does not serve exactly the published
    bytes (the encrypted file, or with --public FILE itself, whose hash is the committed one); an encrypted file
    written for a refused reveal is removed."""
    from openledger_chain.preflight import check_uri

    check_uri(uri, "URI")
    from eth_utils import keccak
    from rich.markup import escape

    from openledger_chain.committee import contributor_recipient, read_committee
    from openledger_chain.confidential import encrypt_file
    from openledger_chain.fetch import FetchSettings
    from openledger_chain.preflight import check_served

    ledger = open_ledger(network, rpc_url)
    owner = resolve_account(ledger.chain, keystore, key_env, dev_account, default_dev=4)
    committed, _ = ledger.evaluation_commitment(model_id, round_id)
    if keccak(eval_path.read_bytes()) != committed:
        abort(f"{eval_path} is not the evaluation set committed for round {round_id} of model {model_id} "
              f"(0x{committed.hex()}); reveal the committed file", 2)
    encrypted = None
    if not public:
        out = out or eval_path.with_name(eval_path.name + ".age")
        if out.exists():
            abort(f"{out} exists; choose another --out (an encrypted file is never written over)", 2)
        epoch, recipient = contributor_recipient(read_committee(ledger))
        encrypt_file(eval_path, out, recipient)
        encrypted = out
    published = encrypted or eval_path
    try:
        if no_fetch_check:
            err_console.print(f"[yellow]warning[/]: did not check that {escape(uri)} serves {escape(str(published))} "
                              "(--no-fetch-check); oracles cannot use the revealed set until it does",
                              highlight=False, soft_wrap=True)
        else:
            written_here = " (reveal-eval writes it before the check: serve its folder at that address)"
            fix = (f"publish {published} there first{written_here if encrypted else ''}, or add --no-fetch-check "
                   "if it goes online only later")
            expected = committed if encrypted is None else keccak(encrypted.read_bytes())
            check_served(uri, expected, str(published), FetchSettings(ipfs_gateway=ipfs_gateway), fix)
        receipt = ledger.reveal_evaluation(owner, model_id, round_id, uri)
    except BaseException:
        if encrypted is not None:
            encrypted.unlink(missing_ok=True)  # nothing revealed: leave no encrypted copy behind
        raise
    if encrypted is not None:
        where = f"{uri} serves it" if not no_fetch_check else "publish that file"
        line = f"encrypted {eval_path.name} to the committee (epoch {epoch}) as {encrypted}; {where}"
        err_console.print(escape(line), highlight=False, soft_wrap=True)
    console.print(f"revealed the evaluation set of round {round_id} of model {model_id} at {uri} "
                  f"(gas {receipt['gasUsed']})", highlight=False, soft_wrap=True)


@round_group.command("propose", short_help="Run attribution and write the next round file.")
@network_options
@click.option("--model", "model_id", type=ID, required=True)
@click.option("--spec", "spec_path", type=EXISTING_FILE, required=True,
              help="The model's spec file (must hash to its registered spec hash).")
@click.option("--eval", "eval_path", type=EXISTING_FILE, required=True,
              help="The round's evaluation CSV (must hash to the owner's commitment, see `round commit-eval`).")
@click.option("--emission", default=None, help="Stake to mint this round, in tokens (default: the model's per-round "
              "maximum). Fixed emission policy only: under the spec's improvement policy the measured gain decides it.")
@click.option("--seed", type=int, default=None, help="Overrides the spec's seed.")
@click.option("--rounds-dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Where round files go [default: openledger.toml's rounds_dir, else rounds].")
@click.option("--data-dir", type=EXISTING_DIR, default=Path("."), show_default=True,
              help="Base folder for contributions registered with relative URIs.")
@click.option("--revealed", "revealed", multiple=True, type=EXISTING_FILE,
              help="An earlier round's evaluation set as a local file (repeatable): stands in for fetching a set "
              "revealed on-chain, or adds one committed for an earlier round but never revealed. Without it, every "
              "set revealed on-chain is fetched from its URI and counted: copies of its rows earn nothing.")
@click.option("--overwrite", is_flag=True, help="Replace an existing file for this round (its signatures are lost).")
@click.option("--valid-for", "valid_hours", type=click.IntRange(1), default=7 * 24, show_default=True,
              help="Hours (of chain time, from now) the round's signatures stay submittable; after that its "
                   "signed deadline has passed and the round is proposed again.")
@account_options(1, "oracle")
@encryption_key_option
@fetch_options
@read_db_option
@dask_options
@handle_errors
def propose(network: str, rpc_url: str | None, model_id: int, spec_path: Path, eval_path: Path, emission: str | None,
            seed: int | None, rounds_dir: Path | None, data_dir: Path, revealed: tuple[Path, ...], overwrite: bool,
            valid_hours: int, keystore: Path | None, key_env: str | None, dev_account: int | None, encryption_key: Path | None,
            ipfs_gateway: str | None, cache_dir: Path | None, max_content_bytes: int, db_url: str | None,
            workers: int | None, scheduler: str | None) -> None:
    """Fetch the model's active contributions (paths, file://, http(s)://, ipfs://), check each against
    its registered content hash, value them with the spec's method, allocate the emission, build the
    cumulative Merkle tree and write the (unsigned) round file. A contribution that cannot be fetched or
    does not match its hash is left out with the reason; it never blocks the round. Files encrypted to the
    committee are opened with your committee key (--encryption-key; a dev account's own on local chains); the
    account options only say whose key that is: propose sends nothing."""
    emission_units = parse_amount(emission) if emission is not None else None  # before the node and the engine
    from openledger_chain.config import load_config
    from openledger_chain.oracle import propose_round

    ledger = open_ledger(network, rpc_url)
    oracle = resolve_account(ledger.chain, keystore, key_env, dev_account, default_dev=1)
    identities = committee_identities(ledger, encryption_key, oracle)
    rounds_dir = rounds_dir or load_config().rounds_dir
    with dask_context(scheduler, workers), _progress() as progress:
        task = progress.add_task("attribution", total=None)
        path, round_file = propose_round(
            ledger, model_id, spec_path=spec_path, eval_path=eval_path, rounds_dir=rounds_dir, data_dir=data_dir,
            emission=emission_units, seed=seed, revealed=revealed,
            overwrite=overwrite, fetch=fetch_settings(data_dir, ipfs_gateway, cache_dir, max_content_bytes, identities),
            source=read_source(ledger, db_url), valid_for=valid_hours * 3600,
            progress=lambda stage, done, total: progress.update(task, description=stage, completed=done, total=total),
        )
    warn_if_not_on_dask(scheduler, workers, round_file.body["method"]["name"])
    excluded = [i for i in round_file.body["inputs"] if "excluded" in i]
    for item in excluded:
        err_console.print(f"[yellow]excluded[/] contribution {item['id']}: {item['excluded']}", highlight=False)
    print_exclusions(round_file.body["contributions"])
    _print_unsettled(round_file.body)
    _print_scores(round_file)
    _print_emission(round_file.body)
    from openledger_chain.cli.bonds import print_round_bonds

    print_round_bonds(round_file.body)
    console.print(f"wrote {path} (round {round_file.round.round_id}, root {round_file.body['merkleRoot']}); "
                  "next: each oracle runs `openledger round sign`", highlight=False)


def _print_emission(body: dict) -> None:
    """The improvement policy's arithmetic, one line (nothing under the fixed policy)."""
    from openledger_chain.oracle import EMISSION_BLOCK

    block = body.get(EMISSION_BLOCK)
    if block is None:
        return
    console.print(f"emission (improvement policy): min(cap left {format_amount(int(block['capLeft']))}, rate "
                  f"{format_amount(int(block['rate']))} x max(0, U_now {block['uNow']} - U_before {block['uBefore']})) = "
                  f"{format_amount(int(block['emission']))}; U_before: round {block['beforeRound']}'s data on this "
                  "round's evaluation set", highlight=False)


def _print_unsettled(body: dict[str, Any]) -> None:
    """Registrations still displaceable at the snapshot: left for a later round, said once."""
    from openledger_chain.oracle import unsettled_note
    from openledger_chain.types import ContributionId

    unsettled = {ContributionId(int(u["id"])): int(u["settlesAt"]) for u in body.get("unsettled", [])}
    if unsettled:
        err_console.print(f"[yellow]note[/]: {unsettled_note(unsettled)}", highlight=False)


@round_group.command("sign", short_help="Check a round file (recompute it, with --spec/--eval) and sign it.")
@network_options
@account_options(1, "oracle")
@click.argument("round_file", type=ROUND_FILE)
@recompute_options
@click.option("--signature-out", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Also write your signature alone to this small file, to hand back to whoever submits "
              "(`round collect` / `round submit` merge it).")
@encryption_key_option
@fetch_options
@handle_errors
def sign(network: str, rpc_url: str | None, keystore: Path | None, key_env: str | None, dev_account: int | None,
         round_file: Path, spec_path: Path | None, eval_path: Path | None, data_dir: Path, revealed: tuple[Path, ...],
         signature_out: Path | None, encryption_key: Path | None, ipfs_gateway: str | None, cache_dir: Path | None,
         max_content_bytes: int) -> None:
    """Check ROUND_FILE (its hash, tree, cumulative sums, score-list hash, chain and distributor, that
    only contributors of its inputs are scored, the model's spec and the committed evaluation set), rerun
    the attribution from the registered contributions (opened with your committee key) and add the signing
    oracle's EIP-712 signature to it only if every score matches. --spec and --eval are required: an oracle
    never signs a proposer's scores on trust. On a machine of its own, an oracle hands back ROUND_FILE or,
    smaller, its --signature-out file. Default key: dev account 1 (an oracle on local chains)."""
    if spec_path is None or eval_path is None:
        abort("round sign recomputes the round before signing: give --spec (the model's spec) and --eval (the "
              "round's evaluation set)", 2)
    if signature_out is not None and signature_out.exists():
        abort(f"{signature_out} exists; choose another --signature-out (one is never written over)", 2)
    from openledger_chain.oracle import RecomputeInputs, sign_round_file
    from openledger_chain.round_signatures import detach, write_signature_file

    ledger = open_ledger(network, rpc_url)
    oracle = resolve_account(ledger.chain, keystore, key_env, dev_account, default_dev=1)
    identities = committee_identities(ledger, encryption_key, oracle)
    recompute = RecomputeInputs(spec_path, eval_path, data_dir, revealed,
                                fetch_settings(data_dir, ipfs_gateway, cache_dir, max_content_bytes, identities))
    signed = sign_round_file(ledger, round_file, oracle, recompute)
    console.print("scores recomputed from the registered contributions: identical", highlight=False)
    threshold = ledger.distributor.functions.threshold().call()
    console.print(f"{oracle.address} signed; {len(signed.signatures)} of {threshold} signatures needed", highlight=False)
    if signature_out is not None:
        write_signature_file(signature_out, detach(signed, ledger.chain.chain_id, ledger.distributor.address,
                                                   oracle.address))
        console.print(f"wrote {signature_out}: hand it to whoever submits the round", highlight=False)


@round_group.command("collect", short_help="Merge oracle signatures from other machines into a round file.")
@network_options
@click.argument("round_file", type=ROUND_FILE)
@click.argument("signatures", nargs=-1, required=True, type=ROUND_FILE)
@handle_errors
def collect(network: str, rpc_url: str | None, round_file: Path, signatures: tuple[Path, ...]) -> None:
    """Add to ROUND_FILE the oracle signatures in SIGNATURES: signature files (`round sign --signature-out`) or
    signed copies of the same round file, from any number of machines. Each must recover, for exactly this
    round on this chain, to a current oracle; a second signature of the same oracle is dropped; the order is
    the contract's. Sends nothing: `round submit` follows."""
    from openledger_chain.round_signatures import collect_signatures

    ledger = open_ledger(network, rpc_url)
    merged = collect_signatures(ledger, round_file, signatures)
    _print_merged(ledger, round_file, merged)


def _print_merged(ledger, round_file: Path, merged) -> None:  # noqa: ANN001 - OpenLedger, round_signatures.Merged
    threshold = ledger.distributor.functions.threshold().call()
    added = ", ".join(merged.added) if merged.added else "none"
    dropped = f"; {merged.duplicates} duplicate{'s' if merged.duplicates != 1 else ''} dropped" if merged.duplicates else ""
    console.print(f"{round_file}: signatures added: {added}{dropped}; {len(merged.round_file.signatures)} signatures, "
                  f"{threshold} needed", highlight=False)


@round_group.command("submit", short_help="Submit a signed round and publish its score list on-chain.")
@network_options
@account_options(1, "oracle")
@click.argument("round_file", type=ROUND_FILE)
@click.argument("signatures", nargs=-1, type=ROUND_FILE)
@click.option("--gas-target", type=click.IntRange(100_000), default=None,
              help="Gas per score-publishing transaction to aim at [default: half the block gas limit].")
@click.option("--chunk", type=click.IntRange(1), default=None, help="At most this many score entries per transaction.")
@handle_errors
def submit(network: str, rpc_url: str | None, keystore: Path | None, key_env: str | None, dev_account: int | None,
           round_file: Path, signatures: tuple[Path, ...], gas_target: int | None, chunk: int | None) -> None:
    """Submit ROUND_FILE with its oracle signatures (ascending signer order) and publish every score
    entry in chunks sized by gas (each estimated before it is sent). SIGNATURES (signature files or signed
    copies from oracles on other machines) are merged into ROUND_FILE first, as `round collect` does. Only an
    oracle may publish scores, so sign with an oracle key (default: dev account 1). Safe to re-run, also after
    a crash or a kill: a round already pending or final is never posted twice, and publishing resumes where
    it stopped."""
    from openledger_chain.oracle import submit_round_file
    from openledger_chain.round_signatures import collect_signatures

    ledger = open_ledger(network, rpc_url)
    sender = resolve_account(ledger.chain, keystore, key_env, dev_account, default_dev=1)
    if signatures:
        _print_merged(ledger, round_file, collect_signatures(ledger, round_file, signatures))
    with _progress() as progress:
        task = progress.add_task("publish scores", total=None)
        result = submit_round_file(ledger, round_file, sender, chunk=chunk, gas_target=gas_target,
                                   progress=lambda _s, done, total: progress.update(task, completed=done, total=total))
    if not result.submitted and result.published_entries == 0:
        console.print("round already submitted and published (or final): nothing to do")
        return
    window = ledger.distributor.functions.challengeWindow().call()
    console.print(f"{'submitted; ' if result.submitted else ''}published {result.published_entries} score entries "
                  f"in {len(result.receipts)} transactions; finalize after the {window} s challenge window")


@round_group.command("finalize", short_help="Finalize a model's pending round after its challenge window.")
@network_options
@account_options(0, "deployer")
@click.option("--model", "model_id", type=ID, required=True)
@handle_errors
def finalize(network: str, rpc_url: str | None, keystore: Path | None, key_env: str | None, dev_account: int | None,
             model_id: int) -> None:
    """Make the model's pending round final; its root becomes claimable."""
    from openledger_chain.oracle import finalize_round

    ledger = open_ledger(network, rpc_url)
    sender = resolve_account(ledger.chain, keystore, key_env, dev_account)
    receipt = finalize_round(ledger, model_id, sender)
    from web3.logs import DISCARD

    (event,) = ledger.distributor.events.RoundFinalized().process_receipt(receipt, errors=DISCARD)
    console.print(f"round {event['args']['roundId']} of model {model_id} is final; contributors can claim")


@round_group.command("veto", short_help="Veto a model's pending round (guardian only).")
@network_options
@account_options(0, "guardian")
@click.option("--model", "model_id", type=ID, required=True)
@handle_errors
def veto(network: str, rpc_url: str | None, keystore: Path | None, key_env: str | None, dev_account: int | None,
         model_id: int) -> None:
    """Veto the pending round during its challenge window; the same signed round can never return. Check a
    pending round first with `openledger verify --model M --round R` (or its round file): veto when it fails."""
    ledger = open_ledger(network, rpc_url)
    guardian = resolve_account(ledger.chain, keystore, key_env, dev_account, role="guardian")
    ledger.chain.transact(ledger.distributor.functions.vetoRound(model_id), guardian)
    console.print(f"vetoed the pending round of model {model_id}")


@click.command("claim", short_help="Claim your stake: proofs rebuilt from the chain, or from a round file.")
@network_options
@account_options(5, "contributor")
@click.argument("round_file", type=ROUND_FILE, required=False)
@click.option("--model", "model_id", type=ID, default=None, help="Claim on this model, with a proof rebuilt from "
              "the chain's published score lists (no round file needed).")
@click.option("--all", "all_models", is_flag=True, help="Claim on every model with stake to claim, in one claimMany.")
@click.option("--account", "account", type=ADDRESS, default=None, help="Claim for this address (stake always goes to it; "
              "default: the signing account).")
@click.option("--rounds-dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Round files (as `round propose` lays them out) that say why a contribution earned nothing, when "
              "there is nothing to claim [default: openledger.toml's rounds_dir, else rounds].")
@read_db_option
@handle_errors
def claim(network: str, rpc_url: str | None, keystore: Path | None, key_env: str | None, dev_account: int | None,
          round_file: Path | None, model_id: int | None, all_models: bool, account: str | None,
          rounds_dir: Path | None, db_url: str | None) -> None:
    """Mint the account's stake, less what it already claimed. With --model (or --all) the proof comes from
    the chain alone: every final round's published score list gives the cumulative amounts, whose tree must
    have the distributor's root. With ROUND_FILE (the latest final round's file) the proof comes from it.
    With nothing to claim it says why: all claimed already (how much), or what the latest final round made
    of each of the account's contributions (excluded and why, valued at zero), from the round files at hand."""
    if sum((round_file is not None, model_id is not None, all_models)) != 1:
        abort("give exactly one of ROUND_FILE, --model M or --all", 2)
    from openledger_chain.claims import ClaimError, claim_all_from_chain, claim_from_chain
    from openledger_chain.cli.views import abort_nothing_to_claim, round_files_at_hand
    from openledger_chain.errors import ContractRevertError
    from openledger_chain.oracle import RoundError, claim_from_round_file
    from openledger_chain.views import model_ids, read_round_body

    ledger = open_ledger(network, rpc_url)
    sender = resolve_account(ledger.chain, keystore, key_env, dev_account, default_dev=5)
    who = account or sender.address
    source = read_source(ledger, db_url)
    try:
        if all_models:
            stakes, receipt = claim_all_from_chain(ledger, who, sender, source)
        elif model_id is not None:
            amount, receipt = claim_from_chain(ledger, model_id, who, sender, source)
        else:
            amount, receipt = claim_from_round_file(ledger, round_file, who, sender)
    except (ClaimError, RoundError, ContractRevertError) as exc:
        if isinstance(exc, ContractRevertError) and exc.name != "RewardDistributorNothingToClaim":
            raise
        models = (model_ids(ledger) if all_models else [model_id] if model_id is not None
                  else [int(read_round_body(round_file)[0]["modelId"])])
        abort_nothing_to_claim(ledger, models, who, exc, source,
                               round_files_at_hand([round_file] if round_file else [], rounds_dir), all_models)
        raise
    if all_models:
        for stake in stakes:
            console.print(f"claimed {format_amount(stake.amount)} stake of model {stake.model_id} for {who}",
                          highlight=False)
        plural = "s" if len(stakes) != 1 else ""
        console.print(f"claimed on {len(stakes)} model{plural} in one claimMany (gas {receipt['gasUsed']})",
                      highlight=False)
        return
    console.print(f"claimed {format_amount(amount)} stake for {who} (gas {receipt['gasUsed']})", highlight=False)


SHOWN_SCORES = 20


def _print_scores(round_file) -> None:  # noqa: ANN001 - oracle.RoundFile
    """The largest allocations (all of them up to SHOWN_SCORES); the round file has every line."""
    scores = round_file.body["scores"]
    top = sorted(scores, key=lambda s: -int(s["amount"]))[:SHOWN_SCORES] if len(scores) > SHOWN_SCORES else scores
    rows = [{"account": s["account"], "share": f"{int(s['score']) / 10**18:.6f}", "stake": format_amount(int(s["amount"]))}
            for s in top]
    title = f"round {round_file.round.round_id} of model {round_file.round.model_id}"
    if len(scores) > SHOWN_SCORES:
        title += f": the {SHOWN_SCORES} largest of {len(scores)} allocations (all are in the round file)"
    print_rows(title, rows)


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=err_console,
                    transient=True)
