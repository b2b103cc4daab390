"""ledger tenant add (R8)."""

from __future__ import annotations

import click

from commands.context import pass_context, write_options
from commands.output import emit


@click.group()
def tenant() -> None:
    """Register the cloud tenants a partner owns (demo use only, R8)."""


@tenant.command()
@click.argument("partner_id", metavar="PARTNER")
@click.argument("tenant_id", metavar="TENANT")
@write_options
@pass_context
def add(obj, partner_id: str, tenant_id: str, write: dict) -> None:
    """Register TENANT as a cloud tenant PARTNER owns.

    \b
    Example:
      ledger --actor ops@contoso.com tenant add MPN-1 contoso-demo.onmicrosoft.com
    """
    emit(obj.output, obj.app.add_tenant(partner_id, tenant_id, **write))


COMMANDS = [tenant]
