"""ledger policy show | set: the parameters RULES.md leaves to policy."""

from __future__ import annotations

import click

from commands.context import on_option, pass_context, today, write_options
from commands.output import emit
from ledger.domain.policy import Policy


@click.group()
def policy() -> None:
    """Show or change policy parameters (days), each from an effective date."""


@policy.command()
@on_option("Show the policy in force on this date; default today (UTC).")
@pass_context
def show(obj, on) -> None:
    """Show the policy in force on a date and every recorded change.

    \b
    Example:
      ledger -o json policy show --on 2021-06-01
    """
    emit(obj.output, obj.app.policy_show(on or today()))


@policy.command("set")
@click.argument("name", type=click.Choice(Policy.names()))
@click.argument("days", type=click.IntRange(min=0))
@write_options
@pass_context
def set_policy(obj, name: str, days: int, write: dict) -> None:
    """Set NAME to DAYS from --on. Writes on or after that date use it; events
    recorded before keep the dates they were decided with.

    \b
    Example:
      ledger --actor ops@contoso.com policy set reassignment_days 60 --on 2021-01-01
    """
    emit(obj.output, obj.app.set_policy(name, days, **write))


COMMANDS = [policy]
