"""ledger seat assign | sign-in | reassign | release | show (R5, R12-R15)."""

from __future__ import annotations

import click

from commands.context import pass_context, write_options
from commands.output import emit
from commands.user import EMAIL

PARTNER = click.argument("partner_id", metavar="PARTNER")
SEAT = click.argument("seat_id", metavar="SEAT")


@click.group()
def seat() -> None:
    """Seats of user-assigned benefits, numbered BENEFIT#1 .. BENEFIT#N."""


@seat.command()
@PARTNER
@click.argument("benefit_id", metavar="BENEFIT")
@click.argument("email", type=EMAIL)
@write_options
@pass_context
def assign(obj, partner_id: str, benefit_id: str, email: str, write: dict) -> None:
    """Give EMAIL a free seat of the activated BENEFIT (R5, R12, R14, R15).

    \b
    Example:
      ledger --actor ops@contoso.com seat assign MPN-1 VS-2020 dev@contoso.com \\
        --on 2021-01-01
    """
    emit(obj.output, obj.app.assign_seat(partner_id, benefit_id, email, **write))


@seat.command("sign-in")
@PARTNER
@SEAT
@write_options
@pass_context
def sign_in(obj, partner_id: str, seat_id: str, write: dict) -> None:
    """Record that SEAT's user logged in: the seat becomes active (R13).

    \b
    Example:
      ledger --actor ops@contoso.com seat sign-in MPN-1 'VS-2020#1' --on 2021-01-02
    """
    emit(obj.output, obj.app.sign_in(partner_id, seat_id, **write))


@seat.command()
@PARTNER
@SEAT
@click.argument("email", type=EMAIL)
@write_options
@pass_context
def reassign(obj, partner_id: str, seat_id: str, email: str, write: dict) -> None:
    """Move SEAT to EMAIL, 90 days after its current assignment (R14).

    \b
    Example:
      ledger --actor ops@contoso.com seat reassign MPN-1 'VS-2020#1' \\
        qa@contoso.com --on 2021-04-01
    """
    emit(obj.output, obj.app.reassign_seat(partner_id, seat_id, email, **write))


@seat.command()
@PARTNER
@SEAT
@write_options
@pass_context
def release(obj, partner_id: str, seat_id: str, write: dict) -> None:
    """Free SEAT. Giving it to someone else inside its 90-day window is still
    a reassignment, refused the same way (R14).

    \b
    Example:
      ledger --actor ops@contoso.com seat release MPN-1 'VS-2020#1' --on 2021-02-01
    """
    emit(obj.output, obj.app.release_seat(partner_id, seat_id, **write))


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


COMMANDS = [seat]
