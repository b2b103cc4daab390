"""ledger admin grant | revoke."""

from __future__ import annotations

import click

from commands.context import pass_context, write_options
from commands.output import emit

EMAIL = click.argument("email")


@click.group()
def admin() -> None:
    """Grant and revoke partner admins (MPN partner admin role)."""


@admin.command()
@click.argument("partner_id", metavar="PARTNER")
@EMAIL
@write_options
@pass_context
def grant(obj, partner_id: str, email: str, write: dict) -> None:
    """Make EMAIL an admin of PARTNER.

    \b
    Example:
      ledger --actor ops@contoso.com admin grant MPN-1 it@contoso.com
    """
    emit(obj.output, obj.app.grant_admin(partner_id, email, **write))


@admin.command()
@click.argument("partner_id", metavar="PARTNER")
@EMAIL
@write_options
@pass_context
def revoke(obj, partner_id: str, email: str, write: dict) -> None:
    """Revoke EMAIL's admin role on PARTNER (never the last admin).

    \b
    Example:
      ledger --actor ops@contoso.com admin revoke MPN-1 it@contoso.com
    """
    emit(obj.output, obj.app.revoke_admin(partner_id, email, **write))


COMMANDS = [admin]
