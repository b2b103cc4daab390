"""ledger user add | offer | show (R12, R15)."""

from __future__ import annotations

import click

from commands.context import on_option, pass_context, today
from commands.output import emit
from commands.params import ValueType
from commands.writes import add_write_commands
from ledger.domain.values import EMAIL as EMAIL_VALUE

EMAIL = ValueType(EMAIL_VALUE)


@click.group()
def user() -> None:
    """Users who can receive seats, and the offers they hold outside the ledger."""


@user.command()
@click.argument("partner_id", metavar="PARTNER")
@click.argument("email", type=EMAIL)
@on_option("Offers held on this date; default today (UTC).")
@pass_context
def show(obj, partner_id: str, email: str, on) -> None:
    """Show EMAIL's source, offers, seats and any Bulk Credit conflict (R15).

    \b
    Example:
      ledger -o json user show MPN-1 dev@contoso.com
    """
    emit(obj.output, obj.app.user_show(partner_id, email, on or today()))


add_write_commands(user)

COMMANDS = [user]
