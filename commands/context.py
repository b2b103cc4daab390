"""What every command shares: the global options, the application (built on
first use, inside the entry point) and the option bundles for writes."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date, datetime, timezone
from typing import Any

import click

from commands.output import Page
from commands.params import ValueType
from ledger.domain.values import DAY
from ledger.store.errors import DEFAULT_LOCK_TIMEOUT  # no storage stack loaded

DATE = ValueType(DAY)


def today() -> date:
    """Today in UTC: the CLI edge is the only place that reads the clock."""
    return datetime.now(tz=timezone.utc).date()


def now() -> datetime:
    """This instant in UTC, to the second (e.g. a calendar file's DTSTAMP)."""
    return datetime.now(tz=timezone.utc).replace(microsecond=0)


OUTPUT_FORMATS = ("table", "json", "csv")
DEFAULT_DB = "sqlite:///ledger.db"


class Context:
    """The global options of one invocation and the application they open.

    Built before the command line is parsed (so an error found while parsing
    already knows the output format asked for), then filled in by the global
    options wherever they were given: before or after the subcommand."""

    def __init__(
        self, db: str = DEFAULT_DB, actor: str | None = None, output: str = "table"
    ) -> None:
        self.db = db
        self.actor = actor
        self.output = output
        self.lock_timeout = DEFAULT_LOCK_TIMEOUT
        self._app: Any = None

    @property
    def app(self) -> Any:
        """The Ledger application, built on first use: `--help` and bad input
        never pay for importing the storage stack."""
        if self._app is None:
            from ledger.application import Ledger

            self._app = Ledger(self.db, lock_timeout=self.lock_timeout)
        return self._app

    def close(self) -> None:
        if self._app is not None:
            self._app.close()


# The global options: (name of the Context attribute, declarations, settings).
# The root group takes them with their env var and default; every command
# below it takes them again (no env var, no default), so they can be given
# before or after the subcommand; the last one given wins.
GLOBAL_OPTIONS: tuple[tuple[str, tuple[str, ...], dict[str, Any]], ...] = (
    (
        "db",
        ("--db",),
        {
            "metavar": "URL",
            "envvar": "LEDGER_DB",
            "default": DEFAULT_DB,
            "help": "SQLAlchemy URL of the ledger, e.g. "
            "postgresql+psycopg://postgres@127.0.0.1:5432/test (env LEDGER_DB; "
            f"default {DEFAULT_DB}).",
        },
    ),
    (
        "actor",
        ("--actor",),
        {
            "metavar": "EMAIL",
            "envvar": "LEDGER_ACTOR",
            "default": None,
            "help": "E-mail of who makes a write (env LEDGER_ACTOR).",
        },
    ),
    (
        "output",
        ("-o", "--output"),
        {
            "type": click.Choice(OUTPUT_FORMATS),
            "envvar": "LEDGER_OUTPUT",
            "default": "table",
            "help": "Output format, also of errors (env LEDGER_OUTPUT; default table).",
        },
    ),
    (
        "lock_timeout",
        ("--lock-timeout",),
        {
            "metavar": "SECONDS",
            "type": click.FloatRange(min=0.001),
            "envvar": "LEDGER_LOCK_TIMEOUT",
            "default": DEFAULT_LOCK_TIMEOUT,
            "help": "How long a write waits behind another one's lock before "
            '"the ledger is busy, try again" (exit 1) (env LEDGER_LOCK_TIMEOUT; '
            f"default {DEFAULT_LOCK_TIMEOUT:g}).",
        },
    ),
)


def root_global_options(func: Callable) -> Callable:
    """The global options on the root group, each stored in the Context."""
    for attr, decls, settings in reversed(GLOBAL_OPTIONS):
        func = click.option(
            *decls, expose_value=False, callback=_store(attr), **settings
        )(func)
    return func


def add_global_options(command: click.Command) -> click.Command:
    """Give COMMAND and every command below it the global options (once), so
    `ledger partner show P -o json` means `ledger -o json partner show P`.
    Applies to any command, however and whenever it was added to the tree."""
    if not getattr(command, "_ledger_global_options", False):
        names = {name for p in command.params for name in p.opts}
        for attr, decls, settings in GLOBAL_OPTIONS:
            if names.isdisjoint(decls):
                local = {k: v for k, v in settings.items() if k != "envvar"}
                local["default"] = None
                local["help"] = str(settings["help"]).split(" (env")[0] + "."
                command.params.append(
                    click.Option(
                        list(decls), expose_value=False, callback=_store(attr), **local
                    )
                )
        command._ledger_global_options = True  # type: ignore[attr-defined]
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            add_global_options(sub)
    return command


def _store(attr: str) -> Callable[[click.Context, click.Parameter, Any], Any]:
    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        obj = ctx.find_object(Context)
        if value is not None and obj is not None:
            setattr(obj, attr, value)
        return value

    return callback


pass_context = click.make_pass_decorator(Context)


def on_option(
    help_text: str = "Effective date (YYYY-MM-DD); default today (UTC).",
) -> Callable:
    return click.option("--on", "on", type=DATE, default=None, help=help_text)


def write_options(func: Callable) -> Callable:
    """--on and --request-id, and the actor, for every write. The wrapped
    command receives `write` = dict(on=..., actor=..., request_id=...); the
    application decides the actor (--actor, or on a PostgreSQL ledger set up
    for a team, the e-mail bound to the login role)."""

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
        ctx = click.get_current_context().ensure_object(Context)
        write = {
            "on": on or today(),
            "actor": ctx.actor,
            "request_id": request_id,
        }
        return func(*args, write=write, **kwargs)

    return wrapper


def listing(*columns: str, after: str | None = None) -> Callable:
    """A command that prints rows with these COLUMNS (CSV prints them as its
    header even with no rows) gets --limit and --offset, and --after when the
    rows are ordered by the key AFTER (e.g. position). The wrapped command
    receives `page`, a Page, and prints with `page.emit(fmt, rows)`."""

    def decorate(func: Callable) -> Callable:
        @click.option(
            "--limit",
            type=click.IntRange(min=0),
            default=None,
            metavar="N",
            help="Print at most N rows.",
        )
        @click.option(
            "--offset",
            type=click.IntRange(min=0),
            default=0,
            metavar="N",
            help="Skip the first N rows.",
        )
        @functools.wraps(func)
        def wrapper(*args: Any, limit: int | None, offset: int, **kwargs: Any) -> Any:
            position = kwargs.pop("after", None)
            page = Page(columns, limit, offset, position, after or "position")
            return func(*args, page=page, **kwargs)

        if after is None:
            return wrapper
        return click.option(
            "--after",
            type=click.IntRange(min=0),
            default=None,
            metavar=after.upper(),
            help=f"Only rows after this {after} (the last one of the page before).",
        )(wrapper)

    return decorate
