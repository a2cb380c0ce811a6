"""Shared CLI plumbing: the console, `abort`, and the options every chain command takes."""

from __future__ import annotations

from typing import NoReturn

import click
from rich.console import Console

console = Console()
err_console = Console(stderr=True)


def abort(message: str, exit_code: int = 1) -> NoReturn:
    """Print a one-line error to stderr and exit with `exit_code`."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise SystemExit(exit_code)
