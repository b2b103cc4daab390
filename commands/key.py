"""ledger key issue | redeem, ledger subscription show (R2, R7-R10)."""

from __future__ import annotations

import click

from commands.context import on_option, pass_context, today
from commands.output import emit
from commands.writes import add_write_commands


@click.group()
def key() -> None:
    """Issue product keys from a benefit and redeem them on a demo tenant."""


@click.group()
def subscription() -> None:
    """Show cloud subscriptions created from product keys."""


@subscription.command()
@click.argument("partner_id", metavar="PARTNER")
@click.argument("sub", metavar="SUB")
@on_option("Report the status on this date; default today (UTC).")
@pass_context
def show(obj, partner_id: str, sub: str, on) -> None:
    """Show SUB's tenant, licenses, end and status on a date.

    \b
    Example:
      ledger -o json subscription show MPN-1 SUB-1 --on 2021-06-01
    """
    emit(obj.output, obj.app.subscription_show(partner_id, sub, on or today()))


add_write_commands(key)

COMMANDS = [key, subscription]
