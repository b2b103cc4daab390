"""ledger key issue | redeem, ledger subscription show (R2, R7-R10)."""

from __future__ import annotations

import click

from commands.context import on_option, pass_context, today, write_options
from commands.output import emit
from ledger.domain.rules import REDEEM_MODES


@click.group()
def key() -> None:
    """Issue product keys from a benefit and redeem them on a demo tenant."""


@key.command()
@click.argument("partner_id", metavar="PARTNER")
@click.argument("benefit_id", metavar="BENEFIT")
@click.argument("key_code", metavar="KEY")
@click.option(
    "--licenses", required=True, type=click.IntRange(min=1), help="Licenses on the key."
)
@write_options
@pass_context
def issue(
    obj, partner_id: str, benefit_id: str, key_code: str, licenses: int, write: dict
) -> None:
    """Record KEY, delivered by the activated product-key BENEFIT.

    The licenses of a benefit's keys never add up to more than its quantity.

    \b
    Example:
      ledger --actor ops@contoso.com key issue MPN-1 AZ-2020 KEY-1 \\
        --licenses 10 --on 2020-11-01
    """
    emit(
        obj.output,
        obj.app.issue_key(partner_id, benefit_id, key_code, licenses, **write),
    )


@key.command()
@click.argument("partner_id", metavar="PARTNER")
@click.argument("key_code", metavar="KEY")
@click.option("--tenant", required=True, help="A tenant the partner owns (R8).")
@click.option(
    "--subscription", required=True, help="Subscription to create, add to or extend."
)
@click.option(
    "--mode",
    required=True,
    type=click.Choice(REDEEM_MODES),
    help="new: create; add: more licenses, same license-days; "
    "extend: one more year. Final.",
)
@write_options
@pass_context
def redeem(
    obj,
    partner_id: str,
    key_code: str,
    tenant: str,
    subscription: str,
    mode: str,
    write: dict,
) -> None:
    """Redeem KEY once, by the benefit expiry date (R2, R9, R10).

    The key is usable for one year from redemption (R7).

    \b
    Example:
      ledger --actor ops@contoso.com key redeem MPN-1 KEY-1 \\
        --tenant contoso-demo.onmicrosoft.com --subscription SUB-1 \\
        --mode new --on 2020-12-01
    """
    answer = obj.app.redeem_key(
        partner_id, key_code, tenant, subscription, mode, **write
    )
    emit(obj.output, answer)


@click.group()
def subscription() -> None:
    """Show cloud subscriptions created from product keys."""


@subscription.command()
@click.argument("partner_id", metavar="PARTNER")
@click.argument("sub", metavar="SUB")
@on_option("Report the status on this date; default today (UTC).")
@pass_context
def show(obj, partner_id: str, sub: str, on) -> None:
    """Show SUB's tenant, licenses, end and status on a date.

    \b
    Example:
      ledger -o json subscription show MPN-1 SUB-1 --on 2021-06-01
    """
    emit(obj.output, obj.app.subscription_show(partner_id, sub, on or today()))


COMMANDS = [key, subscription]
