"""`python -m openledger_chain.cli`: the same as the `openledger` command."""

from openledger_chain.cli import main

main()
