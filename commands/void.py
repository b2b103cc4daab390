"""ledger void: mend a mistake with a later event that says so."""

from __future__ import annotations

import click

from commands.context import pass_context, write_options
from commands.output import emit


@click.command("void")
@click.argument("partner_id", metavar="PARTNER")
@click.argument("position", type=int, metavar="POSITION")
@click.option(
    "--reason",
    required=True,
    help="Why the event is void (1..500 characters); kept in the log.",
)
@write_options
@pass_context
def void(obj, partner_id: str, position: int, reason: str, write: dict) -> None:
    """Void PARTNER's event at POSITION (as `audit history` prints it): from
    then on the partner is as if it had never happened, at every date, while
    `audit replay --known-at` an earlier instant still shows it. Refused while
    a later event depends on it: void the later ones first, latest first.

    \b
    Example:
      ledger --actor ops@contoso.com void MPN-1 42 \\
        --reason "seat given to the wrong user" --on 2021-03-01
    """
    emit(obj.output, obj.app.void(partner_id, position, reason, **write))


COMMANDS = [void]
