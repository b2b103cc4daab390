"""The root `ledger` group: global options, and errors translated at one
boundary (rule -> exit 1, bad input -> exit 2, never a traceback)."""

from __future__ import annotations

from typing import Any

import click

from commands import (
    admin,
    audit,
    benefit,
    demo,
    importer,
    key,
    partner,
    policy,
    projections,
    report,
    seat,
    tenant,
    ticket,
    user,
)
from commands.context import Context
from commands.output import FORMATS, emit_error
from ledger import __version__
from ledger.domain.errors import InvalidInput, LedgerError


class LedgerGroup(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except InvalidInput as error:
            raise click.UsageError(error.message, ctx=ctx) from None
        except LedgerError as error:
            _fail(ctx, error.as_dict())
        except Exception as error:
            if not _is_database_error(error):
                raise
            detail = str(error).splitlines()[0] if str(error) else type(error).__name__
            _fail(
                ctx,
                {
                    "rule": None,
                    "code": "database-error",
                    "message": f"the ledger database failed: {detail}",
                },
            )


def _is_database_error(error: Exception) -> bool:
    """Storage failures, told apart without importing the storage stack up front."""
    from ledger.store.errors import is_database_error

    return is_database_error(error)


def _fail(ctx: click.Context, error: dict[str, Any]) -> None:
    fmt = ctx.obj.output if isinstance(ctx.obj, Context) else "table"
    emit_error(fmt, error)
    ctx.exit(1)


@click.group(cls=LedgerGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--db",
    envvar="LEDGER_DB",
    default="sqlite:///ledger.db",
    show_default=True,
    help="SQLAlchemy URL of the ledger, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test"
    " (env LEDGER_DB).",
)
@click.option(
    "--actor",
    envvar="LEDGER_ACTOR",
    help="E-mail of who makes a write (env LEDGER_ACTOR).",
)
@click.option(
    "-o",
    "--output",
    envvar="LEDGER_OUTPUT",
    type=click.Choice(FORMATS),
    default="table",
    show_default=True,
    help="Output format (env LEDGER_OUTPUT).",
)
@click.version_option(__version__, prog_name="ledger")
@click.pass_context
def cli(ctx: click.Context, db: str, actor: str | None, output: str) -> None:
    """An event-sourced ledger of partner-program benefits.

    Every write is an immutable event; reports and audits are rebuilt from them.

    \b
    Example:
      ledger --actor ops@contoso.com partner enroll MPN-1 --on 2020-01-31
      ledger -o json partner show MPN-1 --on 2020-12-01
    """
    ctx.obj = Context(db, actor, output)
    ctx.call_on_close(ctx.obj.close)


for module in (
    partner,
    admin,
    benefit,
    tenant,
    key,
    user,
    seat,
    ticket,
    policy,
    demo,
    importer,
    audit,
    report,
    projections,
):
    for command in module.COMMANDS:
        cli.add_command(command)


def main() -> None:
    cli(prog_name="ledger")
