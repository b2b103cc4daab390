"""ledger ticket open (R17; built from ledger/registry.py)."""

from __future__ import annotations

import click

from commands.writes import add_write_commands


@click.group()
def ticket() -> None:
    """Technical support tickets against technical benefits."""


add_write_commands(ticket)

COMMANDS = [ticket]
