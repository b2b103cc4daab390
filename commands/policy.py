"""ledger policy show | set: the parameters RULES.md leaves to policy."""

from __future__ import annotations

import click

from commands.context import on_option, pass_context, today
from commands.output import emit
from commands.writes import add_write_commands


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


add_write_commands(policy)

COMMANDS = [policy]
