"""The `openledger` command line: a thin layer over the library (parse, call, render)."""

from __future__ import annotations

import click

from openledger_chain import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="openledger")
def main() -> None:
    """OpenLedger Chain: record AI-model contributions on an EVM chain, attribute their value,
    and pay contributors a stake in the model."""


def _register_commands() -> None:
    from openledger_chain.cli import attribute

    main.add_command(attribute.attribute)


_register_commands()
