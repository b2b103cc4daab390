"""What every command shares: the global options, the application (built on
first use, inside the entry point) and the option bundles for writes."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date, datetime, timezone
from typing import Any

import click

from ledger.domain.dates import parse_date


class DateType(click.ParamType):
    name = "DATE"

    def convert(self, value: Any, param: Any, ctx: Any) -> date:
        if isinstance(value, date):
            return value
        try:
            return parse_date(value)
        except ValueError:
            self.fail(f"{value!r} is not a date of the form YYYY-MM-DD", param, ctx)


DATE = DateType()


def today() -> date:
    """Today in UTC: the CLI edge is the only place that reads the clock."""
    return datetime.now(tz=timezone.utc).date()


class Context:
    def __init__(self, db: str, actor: str | None, output: str) -> None:
        self.db = db
        self.actor = actor
        self.output = output
        self._app: Any = None

    @property
    def app(self) -> Any:
        """The Ledger application, built on first use: `--help` and bad input
        never pay for importing the storage stack."""
        if self._app is None:
            from ledger.application import Ledger

            self._app = Ledger(self.db)
        return self._app

    def require_actor(self) -> str:
        if not self.actor:
            raise click.UsageError(
                "this write needs an actor: pass --actor EMAIL or set LEDGER_ACTOR"
            )
        return self.actor

    def close(self) -> None:
        if self._app is not None:
            self._app.close()


pass_context = click.make_pass_decorator(Context)


def on_option(
    help_text: str = "Effective date (YYYY-MM-DD); default today (UTC).",
) -> Callable:
    return click.option("--on", "on", type=DATE, default=None, help=help_text)


def write_options(func: Callable) -> Callable:
    """--on and --request-id, and the actor, for every write. The wrapped
    command receives `write` = dict(on=..., actor=..., request_id=...)."""

    @on_option()
    @click.option(
        "--request-id",
        default=None,
        help="Idempotency key: repeating it with the same content records nothing "
        "and prints the first answer.",
    )
    @functools.wraps(func)
    def wrapper(
        *args: Any, on: date | None, request_id: str | None, **kwargs: Any
    ) -> Any:
        ctx = click.get_current_context().find_object(Context)
        write = {
            "on": on or today(),
            "actor": ctx.require_actor(),
            "request_id": request_id,
        }
        return func(*args, write=write, **kwargs)

    return wrapper


def within_days(obj: Context, within: int | None, on: date) -> int:
    """R11: the days ahead that count as "expiring soon": as given, or the
    policy's expiring_soon_days in force on the date."""
    return within if within is not None else obj.app.policy_on(on).expiring_soon_days
