"""ledger user add | offer | show (R12, R15)."""

from __future__ import annotations

from typing import Any

import click

from commands.context import on_option, pass_context, today, write_options
from commands.output import emit
from ledger.domain.rules import OFFERS


class EmailType(click.ParamType):
    name = "EMAIL"

    def convert(self, value: Any, param: Any, ctx: Any) -> str:
        local, _, domain = str(value).partition("@")
        if not local or "." not in domain or " " in value:
            self.fail(f"{value!r} is not an e-mail address", param, ctx)
        return str(value).lower()


class OfferType(click.ParamType):
    name = "OFFER"

    def convert(self, value: Any, param: Any, ctx: Any) -> str:
        if value in OFFERS or (value.startswith("other:") and len(value) > 6):
            return value
        self.fail(
            f"{value!r} is not one of {', '.join(OFFERS)} or other:NAME", param, ctx
        )


EMAIL = EmailType()


@click.group()
def user() -> None:
    """Users who can receive seats, and the offers they hold outside the ledger."""


@user.command()
@click.argument("partner_id", metavar="PARTNER")
@click.argument("email", type=EMAIL)
@click.option(
    "--source",
    required=True,
    type=click.Choice(["user-management", "aad"]),
    help="The partner's User Management list, or its AAD tenant.",
)
@write_options
@pass_context
def add(obj, partner_id: str, email: str, source: str, write: dict) -> None:
    """Add EMAIL to PARTNER's users; only users can receive seats (R12).

    \b
    Example:
      ledger --actor ops@contoso.com user add MPN-1 dev@contoso.com --source aad
    """
    emit(obj.output, obj.app.add_user(partner_id, email, source, **write))


@user.command()
@click.argument("partner_id", metavar="PARTNER")
@click.argument("email", type=EMAIL)
@click.argument("offer", type=OfferType())
@write_options
@pass_context
def offer(obj, partner_id: str, email: str, offer: str, write: dict) -> None:
    """Record that EMAIL already has OFFER outside the ledger (a fact, R15).

    OFFER: enterprise-agreement, cloud-solution-partner, azure-in-open,
    azure-pass, action-pack, or other:NAME.

    \b
    Example:
      ledger --actor ops@contoso.com user offer MPN-1 dev@contoso.com azure-pass
    """
    emit(obj.output, obj.app.record_offer(partner_id, email, offer, **write))


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


COMMANDS = [user]
