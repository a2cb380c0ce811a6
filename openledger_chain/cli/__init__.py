"""The `openledger` command line: a thin layer over the library (parse, call, render)."""

from __future__ import annotations

import click

from openledger_chain import __version__
from openledger_chain.cli import interrupts  # noqa: F401  first: records a Ctrl-C during the imports below


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="openledger")
def main() -> None:
    """OpenLedger Chain: record AI-model contributions on an EVM chain, measure what each one is worth,
    and pay contributors a stake in the model that earns its usage fees.

    Chain commands use the `localhost` network by default: start it with `openledger node`, then
    `openledger deploy`. `openledger demo` runs everything on an in-process chain."""


def _register_commands() -> None:
    from openledger_chain.cli import (
        admin, attribute, bonds, build, contribute, demo, deploy, fees, index, keys, model, node, rounds, verify, views,
    )

    for command in (
        build.compile_command, node.node, deploy.deploy, model.model, contribute.contribute,
        contribute.contributions, fees.usage, fees.fees, fees.faucet, rounds.round_group, rounds.claim,
        verify.verify, views.status, views.scores, index.index, keys.keys, admin.admin, attribute.attribute, demo.demo,
    ):
        main.add_command(command)
    model.model.add_command(views.list_models)
    main.add_command(bonds.bonds)
    model.model.add_command(bonds.set_bond)
    rounds.round_group.add_command(views.list_rounds)
    rounds.round_group.add_command(views.show_round)


_register_commands()
