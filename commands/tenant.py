"""ledger tenant add (R8; built from ledger/registry.py)."""

from __future__ import annotations

import click

from commands.writes import add_write_commands


@click.group()
def tenant() -> None:
    """Register the cloud tenants a partner owns (demo use only, R8)."""


add_write_commands(tenant)

COMMANDS = [tenant]
