"""ledger benefit grant | activate | show (R2, R5, R6, R16)."""

from __future__ import annotations

import click

from commands.context import pass_context
from commands.output import emit
from commands.writes import add_write_commands


@click.group()
def benefit() -> None:
    """Grant benefits for an enrollment year and activate them."""


@benefit.command()
@click.argument("partner_id", metavar="PARTNER")
@click.argument("benefit_id", metavar="BENEFIT")
@pass_context
def show(obj, partner_id: str, benefit_id: str) -> None:
    """Show BENEFIT: kind, quantity, expiry and activation.

    \b
    Example:
      ledger -o json benefit show MPN-1 VS-2020
    """
    emit(obj.output, obj.app.benefit_show(partner_id, benefit_id))


add_write_commands(benefit)

COMMANDS = [benefit]
