"""ledger ticket open (R17)."""

from __future__ import annotations

import click

from commands.context import pass_context, write_options
from commands.output import emit


@click.group()
def ticket() -> None:
    """Technical support tickets against technical benefits."""


@ticket.command("open")
@click.argument("partner_id", metavar="PARTNER")
@click.argument("benefit_id", metavar="BENEFIT")
@click.option("--product", required=True, help="The product you're trying to install.")
@write_options
@pass_context
def open_ticket(
    obj, partner_id: str, benefit_id: str, product: str, write: dict
) -> None:
    """Open a support ticket for --product on the activated technical BENEFIT;
    it uses one incident (R17).

    \b
    Example:
      ledger --actor ops@contoso.com ticket open MPN-1 SUP-2020 --product "SQL Server"
    """
    emit(obj.output, obj.app.open_ticket(partner_id, benefit_id, product, **write))


COMMANDS = [ticket]
