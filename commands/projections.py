"""ledger projections status | rebuild | follow."""

from __future__ import annotations

import sys
import threading
from typing import Any

import click

from commands.context import listing, pass_context
from commands.output import Page, emit
from projections import NAMES


@click.group()
def projections() -> None:
    """The read models behind the reports: their position, rebuilds, and
    keeping them up to date."""


STATUS = ("name", "position", "head", "lag", "stuck")


@projections.command()
@listing(*STATUS)
@pass_context
def status(obj, page: Page) -> None:
    """Per projection: its position, the head of the event store and the lag
    (how many events it has not applied yet).

    \b
    Example:
      ledger -o json projections status
    """
    page.emit(obj.output, _reports(obj).status())


@projections.command()
@click.argument("name", required=False, type=click.Choice(NAMES))
@pass_context
def rebuild(obj, name: str | None) -> None:
    """Rebuild NAME (every projection if omitted) from the first event into
    new tables; reports keep reading the old tables until the new ones are
    complete. Shows a progress bar on a terminal.

    \b
    Example:
      ledger projections rebuild entitlements
    """
    reports = _reports(obj)
    if sys.stdout.isatty():
        length = reports.events_after(0)
        with click.progressbar(length=length, label="rebuilding") as bar:
            applied = reports.rebuild(name, progress=bar.update)
    else:
        applied = reports.rebuild(name)
    rebuilt = [row for row in reports.status() if name in (None, row["name"])]
    emit(
        obj.output, [{**row, "events": applied} for row in rebuilt], (*STATUS, "events")
    )


@projections.command()
@click.option(
    "--until-position",
    type=click.IntRange(min=0),
    default=None,
    help="Stop once every projection reached this position.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0),
    default=None,
    help="Stop after this many seconds.",
)
@click.option(
    "--interval",
    type=click.FloatRange(min=0.01),
    default=1.0,
    show_default=True,
    help="Seconds between polls where the database cannot push new events (SQLite).",
)
@pass_context
def follow(
    obj, until_position: int | None, timeout: float | None, interval: float
) -> None:
    """Keep the projections caught up as events are recorded, until Ctrl-C.
    On PostgreSQL it runs on the event store's subscription (LISTEN/NOTIFY);
    SQLite cannot push, so it polls every --interval seconds.

    \b
    Example:
      ledger --db postgresql+psycopg://postgres@127.0.0.1:5432/test projections follow
    """
    reports = _reports(obj)
    stop = threading.Event()
    try:
        reports.follow(stop, until_position, timeout, interval, announce=_note)
    except KeyboardInterrupt:
        stop.set()
        _note("stopped")
    emit(obj.output, reports.status(), STATUS)


def _reports(obj: Any) -> Any:
    from projections import Reports

    return Reports(obj.app)


def _note(message: Any) -> None:
    click.echo(message, err=True)


COMMANDS = [projections]
