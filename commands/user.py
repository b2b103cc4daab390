"""ledger user add | offer | show (R12, R15)."""

from __future__ import annotations

from typing import Any

import click

from commands.context import on_option, pass_context, today
from commands.output import emit
from commands.params import ValueType
from commands.writes import add_write_commands
from ledger.domain.erasure import ref_of_pseudonym
from ledger.domain.values import EMAIL as EMAIL_VALUE


class UserType(ValueType):
    """An e-mail, or the pseudonym a forgotten user reads as."""

    def convert(self, raw: Any, param: Any, ctx: Any) -> Any:
        if ref_of_pseudonym(str(raw)) is not None:
            return str(raw)
        return super().convert(raw, param, ctx)


USER = UserType(EMAIL_VALUE)


@click.group()
def user() -> None:
    """Users who can receive seats, and the offers they hold outside the ledger."""


@user.command()
@click.argument("partner_id", metavar="PARTNER")
@click.argument("email", type=USER)
@on_option("Offers held on this date; default today (UTC).")
@pass_context
def show(obj, partner_id: str, email: str, on) -> None:
    """Show EMAIL's source, offers, seats and any Bulk Credit conflict (R15).

    EMAIL may be the pseudonym of a forgotten user (forgotten-3f9a1c0b7d2e).

    \b
    Example:
      ledger -o json user show MPN-1 dev@contoso.com
    """
    emit(obj.output, obj.app.user_show(partner_id, email, on or today()))


add_write_commands(user)

COMMANDS = [user]
