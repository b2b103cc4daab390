"""ledger demo: the FAQ's own example, recorded and printed."""

from __future__ import annotations

from datetime import date

import click

from commands.context import pass_context
from commands.output import emit
from ledger.domain.identity import default_actor

PARTNER = "DEMO-CONTOSO"
DEFAULT_ACTOR = "admin@contoso.example"


def demo_steps(app, actor: str = DEFAULT_ACTOR) -> list[tuple[str, dict]]:
    """Each step has a request id, so running the demo again records nothing new.
    Every step is recorded as `actor`."""
    d = date.fromisoformat
    steps = [
        (
            "Enroll on 2020-01-31: benefits expire 2021-01-31 (R1, R2)",
            lambda r: app.enroll(
                PARTNER, d("2020-01-31"), actor, name="Contoso", request_id=r
            ),
        ),
        (
            "Grant 20 Azure licenses as product keys",
            lambda r: app.grant_benefit(
                PARTNER,
                "AZURE-2020",
                "product-key",
                "Azure",
                20,
                d("2020-02-01"),
                actor,
                request_id=r,
            ),
        ),
        (
            "Activate the benefit",
            lambda r: app.activate_benefit(
                PARTNER, "AZURE-2020", d("2020-02-01"), actor, request_id=r
            ),
        ),
        (
            "Register the partner's own demo tenant (R8)",
            lambda r: app.add_tenant(
                PARTNER, "contoso-demo", d("2020-02-01"), actor, request_id=r
            ),
        ),
        (
            "Receive a key for 10 licenses",
            lambda r: app.issue_key(
                PARTNER,
                "AZURE-2020",
                "KEY-0001",
                10,
                d("2020-11-01"),
                actor,
                request_id=r,
            ),
        ),
        (
            "Redeem it on 2020-12-01: usable until 2021-12-01 (R7)",
            lambda r: app.redeem_key(
                PARTNER,
                "KEY-0001",
                "contoso-demo",
                "SUB-1",
                "new",
                d("2020-12-01"),
                actor,
                request_id=r,
            ),
        ),
        (
            "Renew on 2020-12-01, inside the renewal window (R3, R4)",
            lambda r: app.renew(PARTNER, d("2020-12-01"), actor, request_id=r),
        ),
        (
            "Grant 5 Visual Studio subscriptions in the new year",
            lambda r: app.grant_benefit(
                PARTNER,
                "VS-2021",
                "user-subscription",
                "Visual Studio Enterprise",
                5,
                d("2021-02-01"),
                actor,
                request_id=r,
            ),
        ),
        (
            "Activate them",
            lambda r: app.activate_benefit(
                PARTNER, "VS-2021", d("2021-02-01"), actor, request_id=r
            ),
        ),
        (
            "Add a user from the AAD tenant (R12)",
            lambda r: app.add_user(
                PARTNER,
                "dev@contoso.example",
                "aad",
                d("2021-02-01"),
                actor,
                request_id=r,
            ),
        ),
        (
            "Assign a seat: reassignable 90 days later (R14)",
            lambda r: app.assign_seat(
                PARTNER,
                "VS-2021",
                "dev@contoso.example",
                d("2021-02-01"),
                actor,
                request_id=r,
            ),
        ),
    ]
    return [
        (title, step(f"demo-{n}")) for n, (title, step) in enumerate(steps, start=1)
    ]


@click.command()
@pass_context
def demo(obj) -> None:
    """Record the FAQ's example (benefit expiry 2021-01-31, key redeemed
    2020-12-01) for partner DEMO-CONTOSO and print each answer.

    Every step carries a request id: running the demo twice records nothing new.
    The steps are recorded as --actor, or as admin@contoso.example without one.

    \b
    Example:
      ledger demo
      ledger --db postgresql+psycopg://postgres@127.0.0.1:5432/test demo
    """
    results = demo_steps(
        obj.app, default_actor(obj.app.identity(), obj.actor) or DEFAULT_ACTOR
    )
    if obj.output != "table":  # one document: a row per step
        rows = [{"step": title, "answer": answer} for title, answer in results]
        emit(obj.output, rows, ("step", "answer"))
        return
    for title, answer in results:
        click.secho(f"\n== {title}", bold=True)
        emit(obj.output, answer)
    click.echo()
    click.secho("== Membership on 2021-06-01", bold=True)
    emit(obj.output, obj.app.partner_show(PARTNER, date(2021, 6, 1)))


COMMANDS = [demo]
