"""ledger seat assign | sign-in | reassign | release | show (R5, R12-R15)."""

from __future__ import annotations

import click

from commands.context import pass_context
from commands.output import emit
from commands.writes import add_write_commands

PARTNER = click.argument("partner_id", metavar="PARTNER")
SEAT = click.argument("seat_id", metavar="SEAT")


@click.group()
def seat() -> None:
    """Seats of user-assigned benefits, numbered BENEFIT#1 .. BENEFIT#N."""


@seat.command()
@PARTNER
@SEAT
@pass_context
def show(obj, partner_id: str, seat_id: str) -> None:
    """Show SEAT: user, state, assigned_on and reassignable_on.

    \b
    Example:
      ledger -o json seat show MPN-1 'VS-2020#1'
    """
    emit(obj.output, obj.app.seat_show(partner_id, seat_id))


add_write_commands(seat)

COMMANDS = [seat]
