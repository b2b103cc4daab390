"""ledger benefit grant | activate | show (R2, R5, R6, R16)."""

from __future__ import annotations

import click

from commands.context import pass_context, write_options
from commands.output import emit
from ledger.domain.rules import BENEFIT_KINDS


@click.group()
def benefit() -> None:
    """Grant benefits for an enrollment year and activate them."""


@benefit.command()
@click.argument("partner_id", metavar="PARTNER")
@click.argument("benefit_id", metavar="BENEFIT")
@click.option(
    "--kind",
    required=True,
    type=click.Choice(BENEFIT_KINDS),
    help="What the benefit is.",
)
@click.option(
    "--product", required=True, help="Product name, e.g. 'Visual Studio Enterprise'."
)
@click.option(
    "--quantity",
    required=True,
    type=click.IntRange(min=1),
    help="Licenses, seats or support incidents.",
)
@write_options
@pass_context
def grant(
    obj,
    partner_id: str,
    benefit_id: str,
    kind: str,
    product: str,
    quantity: int,
    write: dict,
) -> None:
    """Grant BENEFIT to PARTNER in the period that contains --on.

    It expires on that period's renewal date (R2); seats of user-assigned
    benefits get 30 more days (R5).

    \b
    Example:
      ledger --actor ops@contoso.com benefit grant MPN-1 VS-2020 \\
        --kind user-subscription --product "Visual Studio Enterprise" \\
        --quantity 5 --on 2020-02-01
    """
    emit(
        obj.output,
        obj.app.grant_benefit(partner_id, benefit_id, kind, product, quantity, **write),
    )


@benefit.command()
@click.argument("partner_id", metavar="PARTNER")
@click.argument("benefit_id", metavar="BENEFIT")
@write_options
@pass_context
def activate(obj, partner_id: str, benefit_id: str, write: dict) -> None:
    """Activate BENEFIT, by its activate-by date at the latest (R2, R5, R6).

    A technical benefit gets an Access ID (R16).

    \b
    Example:
      ledger --actor ops@contoso.com benefit activate MPN-1 VS-2020 --on 2020-02-02
    """
    emit(obj.output, obj.app.activate_benefit(partner_id, benefit_id, **write))


@benefit.command()
@click.argument("partner_id", metavar="PARTNER")
@click.argument("benefit_id", metavar="BENEFIT")
@pass_context
def show(obj, partner_id: str, benefit_id: str) -> None:
    """Show BENEFIT: kind, quantity, expiry and activation.

    \b
    Example:
      ledger -o json benefit show MPN-1 VS-2020
    """
    emit(obj.output, obj.app.benefit_show(partner_id, benefit_id))


COMMANDS = [benefit]
