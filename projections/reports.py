"""`Reports`: the Python API over the projections.

    reports = Reports(app)
    reports.entitlements("MPN-1", date(2020, 12, 1))

Every report first catches the projections up with the event store (cheap
when nothing is new), then reads the live generation's tables.

On an SQLite file, catching up and the reports (entitlements, expiring,
reassignable, conflicts) go through sqlite3 (storage/lite.py), and the
application is opened only when there are events to apply: a report on
caught-up projections loads neither SQLAlchemy nor the domain's events.
On PostgreSQL (`postgresql+psycopg://`), reports opened lazily (`opening`,
as the CLI does) read through psycopg alone (storage/pg.py) while every
projection is caught up, as the role SQLAlchemy's engine would act as; as
soon as one is behind or missing, or anything is unusual, they go the usual
way. Everything else (rebuild, status, follow, the calendar's dates) and
every other database go through SQLAlchemy (storage/control.py).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from datetime import date
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

from ledger.domain.errors import NotFound
from ledger.domain.references import mentions_users
from ledger.store.sqlite_log import SqliteLog, sqlite_path
from projections import NAMES
from projections.storage import queries
from projections.storage.lite import LiteStore

if TYPE_CHECKING:
    from ledger.domain.deadlines import Deadline, PartnerDates, VoidedDates
    from ledger.store.log_reads import LogReads
    from ledger.store.pg_database import Database
    from ledger.store.pg_log import PgLog
    from projections.runner import Progress, Runner
    from projections.storage.control import Store
    from projections.storage.pg import PgStore
    from projections.storage.reading import ReadStore

Rows = list[dict[str, Any]]
T = TypeVar("T")


class Reports:
    def __init__(self, app: Any, page_size: int = 1000) -> None:
        self.app = app
        self._start(app.url, app.lock_timeout, lambda: app, page_size)

    @classmethod
    def opening(
        cls,
        url: str,
        lock_timeout: float,
        open_app: Callable[[], Any],
        page_size: int = 1000,
    ) -> Reports:
        """The reports of the ledger at URL, opening its application
        (`open_app()`) only once they need it."""
        reports = cls.__new__(cls)
        reports._start(url, lock_timeout, open_app, page_size, native=True)
        return reports

    def _start(
        self,
        url: str,
        lock_timeout: float,
        open_app: Callable[[], Any],
        page_size: int,
        native: bool = False,
    ) -> None:
        """Choose the reads: sqlite3 on an SQLite file; psycopg alone on a
        caught-up PostgreSQL ledger when `native` (with the application
        not open yet, that is what saves SQLAlchemy's start-up); else
        SQLAlchemy's store."""
        self.url = url
        self._open_app = open_app
        self.page_size = page_size
        self._live: dict[str, int] = {}
        # reads through the driver alone (sqlite3, or psycopg while caught
        # up), with the log's head; None: through SQLAlchemy's store
        self.driver: ReadStore | None = None
        self.log: LogReads | None = None
        self.database: Database | None = None
        path = sqlite_path(url)
        if path is None:
            found = _caught_up_pg(url, lock_timeout) if native else None
            if found is None:
                self.store.ensure()
            else:
                self.driver, self.log = found
                self.database = found[0].database
            return
        # A new ledger (no file yet, or no read models in it) opens the
        # application and makes the tables through SQLAlchemy, once.
        lite = _lite(path, lock_timeout) if os.path.exists(path) else None
        if lite is None:
            self.store.ensure()
            lite = _lite(path, lock_timeout)
        if lite is not None:
            self.driver, self.log = lite, SqliteLog(path, lock_timeout)

    @cached_property
    def app(self) -> Any:
        return self._open_app()

    @cached_property
    def store(self) -> Store:
        """The read models through SQLAlchemy, on the team's engine: on a
        ledger set up for a team it acts as the reader group, which owns them."""
        from projections.storage.control import Store

        return Store(self.app.team.read_model_engine())

    @cached_property
    def runner(self) -> Runner:
        """Rebuilds, status and follow, through SQLAlchemy."""
        from projections.runner import Runner

        return Runner(self.app, self.store, self.page_size)

    @cached_property
    def _catching_up(self) -> Runner:
        """Catch-up: through sqlite3 on an SQLite file."""
        from projections.runner import Runner

        if self.driver is None:
            return self.runner
        return Runner(self.app, self.driver, self.page_size, self.log)

    # -- keeping up ----------------------------------------------------------

    def catch_up(self) -> int:
        """Apply the events recorded since each projection's position;
        return how many were applied."""
        if self.driver is not None and self.log is not None:
            low = min(g.position for g in self.driver.live())
            if self.log.head() <= low:
                return 0  # nothing new: the application need not even open
            if not isinstance(self.driver, LiteStore):
                # PostgreSQL: catching up, and every read after it, the
                # usual way (through SQLAlchemy)
                self.driver = self.log = None
                self._live.clear()
        return self._catching_up.catch_up()

    def rebuild(self, name: str | None = None, progress: Progress | None = None) -> int:
        """Rebuild one projection (all if None) from the first event into new
        tables; readers switch to them only once they are complete.
        `progress(n)` is called after each page of n events."""
        if name is not None and name not in NAMES:
            raise NotFound("projection", name)
        applied = self.runner.rebuild((name,) if name else NAMES, progress)
        self._live.clear()
        return applied

    def events_after(self, position: int) -> int:
        """How many events the log holds after a position."""
        return self.runner.lag(position)

    def follow(
        self,
        stop: threading.Event | None = None,
        until: int | None = None,
        timeout: float | None = None,
        interval: float = 1.0,
        announce: Callable[[str], Any] = lambda message: None,
    ) -> int:
        """Stay caught up until stopped (see Runner.follow)."""
        return self.runner.follow(
            stop or threading.Event(), until, timeout, interval, announce
        )

    def status(self) -> Rows:
        """Per projection: its position, the head of the event store, the lag,
        and `stuck`: the event it failed on (position, partner, event type and
        message) while its position is still before that event, else None."""
        head = self.runner.head()
        failures = self.store.failures()
        return [
            {
                "name": g.name,
                "position": g.position,
                "head": head,
                "lag": self.runner.lag(g.position),
                "stuck": _stuck(failures.get(g.name), g),
            }
            for g in self.store.live()
        ]

    # -- reports -------------------------------------------------------------

    def entitlements(self, partner: str | None, on: date) -> Rows:
        return self._report("entitlements", partner, queries.entitlement_rows, on)

    def expiring(self, partner: str | None, on: date, within: int) -> Rows:
        return self._report("expiry", partner, queries.expiring_rows, on, within)

    def reassignable(self, partner: str | None, on: date) -> Rows:
        return self._report("seats", partner, queries.reassignable_rows, on)

    def conflicts(self, partner: str | None = None) -> Rows:
        return self._report("conflicts", partner, queries.conflict_rows)

    def dates(self, partner: str | None, on: date) -> list[PartnerDates]:
        """Each partner's dated facts as of `on` (calendar and timeline)."""
        from projections.storage import calendar

        self.catch_up()
        found = self._read(
            "deadlines",
            lambda conn, tables: calendar.partner_dates(conn, tables, partner, on),
        )
        if not found:
            self.check_partner(partner)
        return found

    def voided(self, partner: str, on: date) -> list[VoidedDates]:
        """What the partner's voided events had drawn, for those that began
        by `on` (the timeline strikes them through)."""
        from projections.storage import calendar

        self.catch_up()
        return self._read(
            "voided", lambda conn, tables: calendar.voided(conn, tables, partner, on)
        )

    def deadlines(self, partner: str | None, on: date) -> list[Deadline]:
        """Every deadline of the partner (all if None) judged on `on`."""
        from ledger.domain.deadlines import deadlines

        return [d for found in self.dates(partner, on) for d in deadlines(found)]

    def _report(
        self, name: str, partner: str | None, query: Callable[..., Rows], *args: Any
    ) -> Rows:
        """Catch up, read the rows; no rows may mean an unknown partner."""
        self.catch_up()
        store: Any = self.driver or self.store
        rows = self._read(
            name,
            lambda fetch: query(fetch, partner, *args),
            store,
            store.report,
        )
        if not rows:
            self.check_partner(partner)
        # rows name users by reference: shown by e-mail, or pseudonym once
        # forgotten (ledger/store/subjects.py)
        return self.reveal(rows)

    def reveal(self, rows: Rows) -> Rows:
        """The application's reveal; while it is not open, the same through
        the users' key tables (on PostgreSQL on the connection the reports
        read on, as the application's native store would)."""
        if "app" in self.__dict__:
            return self.app.reveal(rows)  # type: ignore[no-any-return]
        if not mentions_users(rows):
            return rows  # e.g. entitlements: no user is named, no key is read
        from ledger.store.subjects import Subjects

        return Subjects(
            self.url, lambda: self.app.event_rows.engine, self.database
        ).reveal(rows)

    def check_partner(self, partner: str | None) -> None:
        """An unknown partner is bad input (exit 2 at the CLI)."""
        if partner is None:
            return
        from ledger.domain.ids import partner_uuid

        if self.log is not None and "app" not in self.__dict__:
            found = self.log.exists(partner_uuid(partner))
        else:
            found = self.app.event_rows.exists(partner_uuid(partner))
        if not found:
            raise NotFound("partner", partner)

    def read(self, name: str, query: Callable[[Any, Any], list[T]]) -> list[T]:
        """`query(conn, tables)` (SQLAlchemy) on the live generation of a
        projection, as it is (no catch-up, no check of the partner): `audit
        check` reads its chunks of partners so."""
        return self._read(name, query)

    def read_rows(self, name: str, query: Callable[..., list[T]]) -> list[T]:
        """`query(fetch)` (queries.py) on the live generation of a
        projection, as it is, through the store reports use."""
        store: Any = self.driver or self.store
        return self._read(name, query, store, store.report)

    def _read(
        self,
        name: str,
        query: Callable[..., list[T]],
        store: Any = None,
        read: Callable[[str, int, Callable[..., list[T]]], list[T] | None]
        | None = None,
    ) -> list[T]:
        """Read the live generation (remembered between reports) with
        `read(name, generation, query)` (the store's read_live by default);
        if a rebuild replaced it (its tables are gone), read the new one."""
        store = store or self.store
        read = read or store.read_live
        while True:
            generation = self._live.get(name) or store.live_generation(name)
            found = read(name, generation, query)
            if found is not None:
                self._live[name] = generation
                return found
            self._live[name] = store.live_generation(name)


def _lite(path: str, lock_timeout: float) -> LiteStore | None:
    """The sqlite3 store of an SQLite file that holds every projection's live
    generation, else None (and if the file is not even a database, the usual
    way, through the application, says what it is)."""
    lite = LiteStore(path, lock_timeout)
    try:
        if not lite.missing():
            return lite
    except lite.database_error:
        pass
    lite.close()
    return None


def _caught_up_pg(url: str, lock_timeout: float) -> tuple[PgStore, PgLog] | None:
    """The psycopg reads of a PostgreSQL ledger (a `postgresql+psycopg://`
    URL the native store takes: ledger/store/pg_database.py) whose every
    projection is caught up with the log, acting as the read models' role;
    else None: for projections missing or behind, a login role outside the
    reader group, or any database error, the usual way catches up, makes
    the tables, refuses or says what is wrong, as it always did."""
    from ledger.store.pg_database import Database, connect_args

    args = connect_args(url)
    if args is None:
        return None
    from ledger.store.errors import is_database_error
    from ledger.store.identity import read_model_begin
    from ledger.store.pg_log import PgLog
    from ledger.store.whoami import who_is_on
    from projections.storage.pg import PgStore

    database = Database(args, lock_timeout)
    try:
        begin = read_model_begin(database, who_is_on(database))
        if begin is not None:
            store, log = PgStore(database, begin), PgLog(database)
            if not store.missing():
                low = min(g.position for g in store.live())
                if log.head() <= low:
                    return store, log
    except Exception as error:
        if not is_database_error(error):
            raise
    database.close()
    return None


def _stuck(failure: dict[str, Any] | None, generation: Any) -> dict[str, Any] | None:
    """A recorded failure, if it still holds this live generation back."""
    if failure is None or failure["generation"] != generation.generation:
        return None
    if failure["event_position"] <= generation.position:
        return None
    return {
        "position": failure["event_position"],
        "partner": failure["partner"],
        "event": failure["event"],
        "message": failure["message"],
    }
