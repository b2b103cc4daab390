"""ledger init | admin grant | admin revoke: ledger admins and partner admins."""

from __future__ import annotations

import click

from commands.context import DATE, pass_context, write_options
from commands.output import emit
from ledger.domain.ledger_admins import INIT_ON

ARGS = click.argument("args", nargs=-1, metavar="PARTNER EMAIL")
LEDGER = click.option(
    "--ledger",
    "ledger_admin",
    metavar="EMAIL",
    default=None,
    help="Grant or revoke a ledger admin (ledger-wide writes such as `policy set`) "
    "instead of a partner admin.",
)


def _partner_and_email(args: tuple[str, ...], ledger_admin: str | None) -> list[str]:
    """PARTNER EMAIL, or nothing with --ledger EMAIL."""
    if ledger_admin is not None:
        if args:
            raise click.UsageError("--ledger EMAIL takes no PARTNER or other EMAIL")
        return []
    if len(args) != 2:
        raise click.UsageError("give PARTNER EMAIL, or --ledger EMAIL")
    return list(args)


@click.group()
def admin() -> None:
    """Grant and revoke partner admins (MPN partner admin role) and ledger admins."""


@admin.command()
@ARGS
@LEDGER
@write_options
@pass_context
def grant(obj, args: tuple[str, ...], ledger_admin: str | None, write: dict) -> None:
    """Make EMAIL an admin of PARTNER, or (--ledger EMAIL) a ledger admin,
    from --on.

    \b
    Example:
      ledger --actor ops@contoso.com admin grant MPN-1 it@contoso.com
      ledger --actor ops@contoso.com admin grant --ledger audit@contoso.com
    """
    named = _partner_and_email(args, ledger_admin)
    if ledger_admin is not None:
        emit(obj.output, obj.app.grant_ledger_admin(ledger_admin, **write))
    else:
        emit(obj.output, obj.app.grant_admin(*named, **write))


@admin.command()
@ARGS
@LEDGER
@write_options
@pass_context
def revoke(obj, args: tuple[str, ...], ledger_admin: str | None, write: dict) -> None:
    """Revoke EMAIL's admin role on PARTNER, or (--ledger EMAIL) a ledger
    admin, from --on (never the last admin).

    \b
    Example:
      ledger --actor ops@contoso.com admin revoke MPN-1 it@contoso.com
      ledger --actor ops@contoso.com admin revoke --ledger audit@contoso.com
    """
    named = _partner_and_email(args, ledger_admin)
    if ledger_admin is not None:
        emit(obj.output, obj.app.revoke_ledger_admin(ledger_admin, **write))
    else:
        emit(obj.output, obj.app.revoke_admin(*named, **write))


@click.command()
@click.option("--admin", "email", required=True, metavar="EMAIL")
@click.option(
    "--on",
    type=DATE,
    default=None,
    help="From when the admin holds the role; default the first date the "
    "ledger accepts, so policy changes of any date are allowed.",
)
@click.option("--request-id", default=None, help="Idempotency key.")
@pass_context
def init(obj, email: str, on, request_id: str | None) -> None:
    """Name the ledger's first ledger admin, who may change the policy and
    grant other ledger admins. Running it again with an admin of the ledger
    changes nothing; once the ledger has an admin, anyone else is refused.

    \b
    Example:
      ledger init --admin ops@contoso.com
    """
    answer = obj.app.init_ledger(
        email, on or INIT_ON, actor=obj.actor, request_id=request_id
    )
    emit(obj.output, answer)


COMMANDS = [init, admin]
