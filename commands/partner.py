"""ledger partner enroll | renew | show (R1-R4)."""

from __future__ import annotations

import click

from commands.context import on_option, pass_context, today
from commands.output import emit
from commands.params import ValueType
from commands.writes import add_write_commands
from ledger.domain.values import NAME


@click.group()
def partner() -> None:
    """Enroll partners, renew memberships and show membership periods."""


@partner.command()
@click.argument("partner_id", metavar="PARTNER", type=ValueType(NAME))
@on_option("Show the period that contains this date; default today (UTC).")
@pass_context
def show(obj, partner_id: str, on) -> None:
    """Show PARTNER's membership period on a date, its status and admins.

    \b
    Example:
      ledger -o json partner show MPN-1 --on 2020-12-01
    """
    emit(obj.output, obj.app.partner_show(partner_id, on or today()))


add_write_commands(partner)

COMMANDS = [partner]
