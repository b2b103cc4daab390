"""ledger report entitlements | expiring | reassignable | conflicts.

Each report first catches the projections up with the events, then reads them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from commands.context import DATE, listing, now, pass_context, today
from commands.output import Page, emit
from commands.params import ValueType, WholeType
from ledger.domain.values import NAME, WITHIN_DAYS

PARTNER = click.option(
    "--partner",
    "partner_id",
    metavar="PARTNER",
    type=ValueType(NAME),
    default=None,
    help="Only this partner (default: every partner).",
)
ON = click.option(
    "--on",
    "on",
    type=DATE,
    default=None,
    help="The date the report is for (YYYY-MM-DD); default today (UTC).",
)


@click.group()
def report() -> None:
    """Reports from the projections: what can be activated, what expires,
    which seats can move, and Bulk Credit conflicts."""


def _emit(obj: Any, page: Page, query: Callable[[Any], list[dict[str, Any]]]) -> None:
    """Catch the projections up, run the report, print a page of its rows.
    The application opens only if the reports need it (on an SQLite file,
    only when there are new events to apply)."""
    from projections import Reports

    reports = Reports.opening(obj.db, obj.lock_timeout, lambda: obj.app)
    page.emit(obj.output, query(reports))


@report.command()
@PARTNER
@ON
@listing(
    "partner",
    "benefit",
    "kind",
    "product",
    "quantity",
    "used",
    "remaining",
    "activated",
    "activated_on",
    "activate_by",
    "status",
)
@pass_context
def entitlements(obj, page: Page, partner_id: str | None, on: Any) -> None:
    """Per benefit: quantity, used, remaining, activated_on, activate_by and
    its status on the date: activated, available or expired (R2, R5, R6).

    \b
    Example:
      ledger report entitlements --partner MPN-1 --on 2020-12-01
    """
    _emit(obj, page, lambda reports: reports.entitlements(partner_id, on or today()))


@report.command()
@PARTNER
@ON
@click.option(
    "--within",
    type=WholeType(WITHIN_DAYS),
    metavar="DAYS",
    default=None,
    help="List what ends within DAYS days of the date; default the policy's "
    "expiring_soon_days in force on that date (30 unless changed).",
)
@listing("partner", "what", "id", "ends_on", "days_left", "remedy")
@pass_context
def expiring(
    obj, page: Page, partner_id: str | None, on: Any, within: int | None
) -> None:
    """What ends within DAYS of the date, with days_left and the FAQ's remedy:
    membership, benefits, keys, subscriptions and seats (R11).

    \b
    Example:
      ledger report expiring --partner MPN-1 --on 2021-01-01 --within 30
    """
    day = on or today()
    _emit(
        obj,
        page,
        lambda reports: reports.expiring(
            partner_id, day, obj.app.within_days(day, within)
        ),
    )


@report.command()
@PARTNER
@ON
@listing(
    "partner",
    "seat",
    "benefit",
    "user",
    "state",
    "assigned_on",
    "reassignable_on",
    "eligible",
)
@pass_context
def reassignable(obj, page: Page, partner_id: str | None, on: Any) -> None:
    """Every held seat: user, assigned_on, reassignable_on, and whether it can
    be reassigned on the date (eligible) (R14).

    \b
    Example:
      ledger report reassignable --partner MPN-1 --on 2021-04-01
    """
    _emit(obj, page, lambda reports: reports.reassignable(partner_id, on or today()))


@report.command()
@PARTNER
@listing("partner", "user", "seats", "offers")
@pass_context
def conflicts(obj, page: Page, partner_id: str | None) -> None:
    """Users who hold an Azure Bulk Credit seat and other offers (R15).

    \b
    Example:
      ledger -o csv report conflicts --partner MPN-1
    """
    _emit(obj, page, lambda reports: reports.conflicts(partner_id))


OUT = click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="Write the file here (default: standard output).",
)


def _write(obj: Any, out: str | None, data: bytes, what: dict[str, Any]) -> None:
    """The file to standard output, or to OUT with a line saying so."""
    if out is None:
        click.echo(data, nl=False)
        return
    if not out.isprintable():  # control characters, or bytes that are not UTF-8
        raise click.BadParameter(
            f"{out!a} is not a file name of printable UTF-8 text",
            param_hint="'--out'",
        )
    try:
        with open(out, "wb") as file:
            file.write(data)
    except OSError as error:
        raise click.BadParameter(
            f"can't write {out}: {error.strerror}", param_hint="'--out'"
        ) from None
    emit(obj.output, {"file": out, **what})


@report.command()
@PARTNER
@ON
@OUT
@pass_context
def calendar(obj, partner_id: str | None, on: Any, out: str | None) -> None:
    """An iCalendar (RFC 5545) file of every deadline in the partners'
    history, past and future: each period's renewal start date (R3) and
    renewal date (R1), each benefit's activate-by date (R2, R5 with grace),
    each key's usable-until (R7), each subscription's end (R10) and each held
    seat's reassignable-on date (R14). One all-day event each, judged met,
    open or missed on the date (the partner as of that date, as `audit
    replay` shows it), with the FAQ's remedy and an alarm the policy's
    expiring_soon_days (in force on the date) before. UIDs stay the same
    across runs, so calendar apps update events instead of duplicating them.

    \b
    Example:
      ledger report calendar --partner MPN-1 --on 2021-06-01 --out mpn-1.ics
    """
    from commands.render_ics import calendar_ics
    from projections import Reports

    day = on or today()
    found = Reports(obj.app).deadlines(partner_id, day)
    alarm = obj.app.policy_on(day).expiring_soon_days
    data = calendar_ics(found, day, alarm, now())
    _write(obj, out, data, {"on": day.isoformat(), "deadlines": len(found)})


@report.command()
@click.option(
    "--partner",
    "partner_id",
    metavar="PARTNER",
    required=True,
    help="The partner to draw.",
)
@ON
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="Write the page here (FILE.html; default: standard output).",
)
@pass_context
def timeline(obj, partner_id: str, on: Any, out: str | None) -> None:
    """One self-contained HTML page (inline SVG and CSS, no script, no
    request) that draws PARTNER's dates against a date axis, with a line at
    the date: enrollment periods with their renewal windows (R3) and grace
    (R5), each benefit's activation window (R2, R5), keys from redemption to
    usable-until (R7), subscriptions with their licenses (R10), and held seats
    from assignment to reassignable-on (R13, R14). The partner as of the date,
    as `audit replay` shows it; what voided events (`ledger void`) had drawn
    is shown struck through. Hover an item for its dates; every item has
    data-kind, data-id, data-start and data-end attributes.

    \b
    Example:
      ledger report timeline --partner MPN-1 --on 2021-06-01 --out mpn-1.html
    """
    from commands.render_timeline import items, timeline_html
    from ledger.domain.deadlines import PartnerDates
    from projections import Reports

    day = on or today()
    reports = Reports(obj.app)
    found = reports.dates(partner_id, day)
    dates = found[0] if found else PartnerDates(partner_id, day)
    voided = reports.voided(partner_id, day)
    page = timeline_html(dates, voided).encode()
    what = {"partner": partner_id, "on": day.isoformat(), "items": len(items(dates))}
    _write(obj, out, page, {**what, "voided": len(voided)})


COMMANDS = [report]
