"""ledger partner enroll | renew | show (R1-R4)."""

from __future__ import annotations

import click

from commands.context import on_option, pass_context, today, write_options
from commands.output import emit


@click.group()
def partner() -> None:
    """Enroll partners, renew memberships and show membership periods."""


@partner.command()
@click.argument("partner_id", metavar="PARTNER")
@click.option("--name", default=None, help="Display name of the partner.")
@write_options
@pass_context
def enroll(obj, partner_id: str, name: str | None, write: dict) -> None:
    """Enroll PARTNER: opens a one-year enrollment period (R1).

    The actor becomes the partner's first admin.

    \b
    Example:
      ledger --actor ops@contoso.com partner enroll MPN-1 --on 2020-01-31 --name Contoso
    """
    emit(obj.output, obj.app.enroll(partner_id, name=name, **write))


@partner.command()
@click.argument("partner_id", metavar="PARTNER")
@write_options
@pass_context
def renew(obj, partner_id: str, write: dict) -> None:
    """Renew PARTNER's membership for the next year (R3, R4).

    Allowed from the renewal start date (90 days before the renewal date).

    \b
    Example:
      ledger --actor ops@contoso.com partner renew MPN-1 --on 2020-12-01
    """
    emit(obj.output, obj.app.renew(partner_id, **write))


@partner.command()
@click.argument("partner_id", metavar="PARTNER")
@on_option("Show the period that contains this date; default today (UTC).")
@pass_context
def show(obj, partner_id: str, on) -> None:
    """Show PARTNER's membership period on a date, its status and admins.

    \b
    Example:
      ledger -o json partner show MPN-1 --on 2020-12-01
    """
    emit(obj.output, obj.app.partner_show(partner_id, on or today()))


COMMANDS = [partner]
