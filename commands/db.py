"""ledger db setup | reader add/remove | operator add/remove/list.

A PostgreSQL ledger shared by a team: the database authenticates people
(login roles) and refuses edits of the log (a trigger). Only the database's
owner runs these; anyone else is refused (exit 1).
"""

from __future__ import annotations

import click

from commands.context import listing, pass_context
from commands.output import Page, emit

ROLE = click.argument("role")


@click.group()
def db() -> None:
    """Roles, identities and the append-only log of a PostgreSQL ledger.

    Once `ledger db setup` ran, the actor of a write is the e-mail bound to
    the connection's login role, not what --actor says.
    """


@db.command()
@click.option(
    "--owner-email",
    default=None,
    metavar="EMAIL",
    help="The e-mail the owner's own login role writes as.",
)
@pass_context
def setup(obj, owner_email: str | None) -> None:
    """Set the database up for a team (owner only; safe to run again).

    Creates the ledger's tables if missing; the group roles
    `<db>_ledger_reader` (reports and audits) and `<db>_ledger_operator`
    (writes too) with the least privileges each needs; the table that binds
    login roles to e-mails; and a trigger that refuses UPDATE, DELETE and
    TRUNCATE on the event tables for every role, the owner included.
    Existing read models are handed to the reader group, so whichever
    reader or operator runs a report, an audit or a rebuild maintains them.

    \b
    Example:
      ledger --db postgresql+psycopg://ledger_owner@db.example/benefits \\
        db setup --owner-email owner@contoso.com
    """
    from projections.storage.tables import is_read_model_table

    emit(obj.output, obj.app.team.setup(owner_email, is_read_model_table))


@db.group()
def reader() -> None:
    """Login roles that run reports and audits (owner only)."""


@reader.command("add")
@ROLE
@pass_context
def reader_add(obj, role: str) -> None:
    """Let the login role ROLE run reports and audits (not write).

    \b
    Example:
      ledger db reader add auditor
    """
    emit(obj.output, obj.app.team.add_reader(role))


@reader.command("remove")
@ROLE
@pass_context
def reader_remove(obj, role: str) -> None:
    """Take the reader group away from the login role ROLE.

    \b
    Example:
      ledger db reader remove auditor
    """
    emit(obj.output, obj.app.team.remove_reader(role))


@db.group()
def operator() -> None:
    """Login roles that write, each as the e-mail bound to it (owner only)."""


@operator.command("add")
@ROLE
@click.argument("email")
@pass_context
def operator_add(obj, role: str, email: str) -> None:
    """Bind the login role ROLE to EMAIL, its actor, and let it write.

    \b
    Example:
      ledger db operator add alice alice@contoso.com
    """
    emit(obj.output, obj.app.team.add_operator(role, email))


@operator.command("remove")
@ROLE
@pass_context
def operator_remove(obj, role: str) -> None:
    """Unbind the login role ROLE and take the operator group away from it.

    \b
    Example:
      ledger db operator remove alice
    """
    emit(obj.output, obj.app.team.remove_operator(role))


@operator.command("list")
@listing("role", "email", "bound_at", "writes")
@pass_context
def operator_list(obj, page: Page) -> None:
    """Every bound login role, its e-mail (its actor), when it was bound,
    and whether it may write now (`writes`).

    \b
    Example:
      ledger -o json db operator list
    """
    page.emit(obj.output, obj.app.team.operators())


COMMANDS = [db]
