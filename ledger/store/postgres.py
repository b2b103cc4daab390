"""The native PostgreSQL store: eventsourcing recorders on one psycopg
connection (ledger/store/pg_database.py), over the very tables
eventsourcing-sqlalchemy creates.

A write through the CLI then imports neither SQLAlchemy nor its ORM. The
tables are eventsourcing-sqlalchemy's, column for column and index for index
(an aggregate id a UUID, a position a BIGSERIAL, the state BYTEA), so ledgers
written by either open with the other, and reports, audits and projections
keep reading the same rows through SQLAlchemy Core (ledger/store/events.py).

Its write protocol is eventsourcing-sqlalchemy's too: a write locks the
event table (`LOCK TABLE ... IN EXCLUSIVE MODE`, waited for up to the lock
timeout), so positions are assigned and committed in order; it sends
`NOTIFY <table>` for `projections follow`; a clash on (originator_id,
originator_version) is eventsourcing's IntegrityError, with nothing written.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from threading import Thread
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.persistence import (
    AggregateRecorder,
    ApplicationRecorder,
    ListenNotifySubscription,
    Notification,
    PersistenceError,
    StoredEvent,
    Subscription,
)

from ledger.store.errors import DEFAULT_LOCK_TIMEOUT
from ledger.store.native import NativeFactory, version_range
from ledger.store.pg_database import Database, persistence_error

if TYPE_CHECKING:
    import psycopg

PG_URL = "PG_URL"
PG_LOCK_SECONDS = "PG_LOCK_SECONDS"

# What eventsourcing-sqlalchemy's models create (CREATE TABLE as SQLAlchemy
# emits it for them on PostgreSQL, IF NOT EXISTS added for racing openers).
EVENTS_DDL = (
    "CREATE TABLE IF NOT EXISTS {table} (\n"
    "\tid BIGSERIAL NOT NULL, \n"
    "\toriginator_id UUID NOT NULL, \n"
    "\toriginator_version BIGINT NOT NULL, \n"
    "\ttopic TEXT NOT NULL, \n"
    "\tstate BYTEA NOT NULL, \n"
    "\tPRIMARY KEY (id)\n"
    ")",
    "CREATE UNIQUE INDEX IF NOT EXISTS {table}_aggregate_idx "
    "ON {table} (originator_id, originator_version)",
)
SNAPSHOTS_DDL = (
    "CREATE TABLE IF NOT EXISTS {table} (\n"
    "\toriginator_id UUID NOT NULL, \n"
    "\toriginator_version BIGINT NOT NULL, \n"
    "\ttopic TEXT NOT NULL, \n"
    "\tstate BYTEA NOT NULL, \n"
    "\tPRIMARY KEY (originator_id, originator_version)\n"
    ")",
)
COLUMNS = "originator_id, originator_version, topic, state"
_NAME = re.compile(r"[a-z_][a-z0-9_]*")


def _uuid(originator_id: UUID | str) -> UUID:
    return originator_id if isinstance(originator_id, UUID) else UUID(originator_id)


def _stored(row: Sequence[Any]) -> StoredEvent:
    return StoredEvent(
        originator_id=row[0],
        originator_version=row[1],
        topic=row[2],
        state=bytes(row[3]),
    )


def _notification(row: Sequence[Any], state: Any) -> Notification:
    """A row (id, originator_id, originator_version, topic, state) with its
    state as given."""
    return Notification(
        id=row[0],
        originator_id=row[1],
        originator_version=row[2],
        topic=row[3],
        state=state,
    )


class SnapshotRecorder(AggregateRecorder):
    """An aggregate's snapshots (or events) by (originator_id, version)."""

    ddl: tuple[str, ...] = SNAPSHOTS_DDL

    def __init__(self, database: Database, table: str) -> None:
        if not _NAME.fullmatch(table):  # unquoted in SQL: a plain name only
            raise PersistenceError(f"not a plain table name: {table!r}")
        self.database = database
        self.table = table

    def create_table(self) -> None:
        """Create the table if it is missing (looked up first, so opening a
        ledger takes no lock and needs no CREATE privilege)."""
        if self._exists():
            return
        try:
            with self.database.transaction() as cursor:
                for statement in self.ddl:
                    cursor.execute(statement.format(table=self.table))
        except PersistenceError:
            if not self._exists():  # else another process made it meanwhile
                raise

    def _exists(self) -> bool:
        found = self.database.rows("SELECT to_regclass(%s)", (self.table,))
        return found[0][0] is not None

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        with self.database.transaction() as cursor:
            return self._insert(cursor, stored_events)

    def _insert(
        self, cursor: psycopg.Cursor[Any], stored_events: Sequence[StoredEvent]
    ) -> Sequence[int] | None:
        self._copy(cursor, stored_events)
        return None

    def _copy(
        self, cursor: psycopg.Cursor[Any], stored_events: Sequence[StoredEvent]
    ) -> None:
        """COPY the rows in: one statement however many there are."""
        with cursor.copy(f"COPY {self.table} ({COLUMNS}) FROM STDIN") as copy:
            for s in stored_events:
                copy.write_row(
                    (_uuid(s.originator_id), s.originator_version, s.topic, s.state)
                )

    def select_events(
        self,
        originator_id: UUID | str,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> Sequence[StoredEvent]:
        sql, params = version_range(
            f"SELECT {COLUMNS} FROM {self.table} WHERE originator_id = %s",
            "%s",
            gt,
            lte,
            desc,
            limit,
        )
        rows = self.database.rows(sql, [_uuid(originator_id), *params])
        return [_stored(row) for row in rows]


class EventRecorder(SnapshotRecorder, ApplicationRecorder):
    """The application's events, each with its position (the id column)."""

    ddl = EVENTS_DDL

    @property
    def channel_name(self) -> str:
        """eventsourcing-sqlalchemy's channel: the table's name."""
        return self.table

    def _insert(
        self, cursor: psycopg.Cursor[Any], stored_events: Sequence[StoredEvent]
    ) -> Sequence[int] | None:
        """Under the table lock no other writer draws from the id sequence:
        the positions of a batch are the last ones it drew, in order."""
        self._lock_table(cursor)
        self._copy(cursor, stored_events)
        cursor.execute(
            "SELECT currval(pg_get_serial_sequence(%s, 'id'))", (self.table,)
        )
        (last,) = cursor.fetchone() or (0,)
        self._notify_channel(cursor)
        return list(range(last - len(stored_events) + 1, last + 1))

    def _lock_table(self, cursor: psycopg.Cursor[Any]) -> None:
        cursor.execute(f"LOCK TABLE {self.table} IN EXCLUSIVE MODE")

    def _notify_channel(self, cursor: psycopg.Cursor[Any]) -> None:
        cursor.execute(f"NOTIFY {self.channel_name}")

    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> Sequence[Notification]:
        sql = f"SELECT id, {COLUMNS} FROM {self.table} WHERE true"
        params: list[Any] = []
        if start is not None:
            sql += " AND id >= %s" if inclusive_of_start else " AND id > %s"
            params.append(start)
        if stop is not None:
            sql += " AND id <= %s"
            params.append(stop)
        if topics:
            sql += " AND topic = ANY(%s)"
            params.append(list(topics))
        sql += " ORDER BY id LIMIT %s"
        params.append(limit)
        return [
            _notification(row, bytes(row[4])) for row in self.database.rows(sql, params)
        ]

    def select_first_versions(
        self, originator_ids: Sequence[UUID]
    ) -> list[Notification]:
        """Version 1 of each of these aggregates that is stored, with its
        position: a bulk import's look-up of its request records and new
        partners, in one query (no SQLAlchemy to load for it). The state as
        the database holds it (the caller checks it is bytes)."""
        sql = (
            f"SELECT id, {COLUMNS} FROM {self.table} "
            "WHERE originator_id = ANY(%s) AND originator_version = 1"
        )
        rows = self.database.rows(sql, (list(originator_ids),))
        return [_notification(row, row[4]) for row in rows]

    def max_notification_id(self) -> int | None:
        found = self.database.rows(f"SELECT max(id) FROM {self.table}")
        return None if found[0][0] is None else int(found[0][0])

    def subscribe(
        self, gt: int | None = None, topics: Sequence[str] = ()
    ) -> Subscription[ApplicationRecorder]:
        return NotifiedSubscription(self, gt=gt, topics=topics)


class NotifiedSubscription(ListenNotifySubscription[EventRecorder]):
    """New events as PostgreSQL announces them (LISTEN on the recorder's
    channel, on a connection of its own, in a thread), as eventsourcing's
    own PostgreSQL subscription does."""

    def __init__(
        self, recorder: EventRecorder, gt: int | None, topics: Sequence[str]
    ) -> None:
        super().__init__(recorder=recorder, gt=gt, topics=topics)
        self._listen_thread = Thread(target=self._listen, daemon=True)
        self._listen_thread.start()

    def __exit__(self, *args: object, **kwargs: Any) -> None:
        try:
            super().__exit__(*args, **kwargs)
        finally:
            self._listen_thread.join()

    def _listen(self) -> None:
        try:
            with self._recorder.database.connect() as conn:
                conn.execute(f"LISTEN {self._recorder.channel_name}")
                while not self._has_been_stopped and not self._thread_error:
                    # at most 0.1 s per wait, so a stop is seen promptly
                    for _ in conn.notifies(timeout=0.1, stop_after=1):
                        self._has_been_notified.set()
        except BaseException as error:
            if self._thread_error is None:
                self._thread_error = (
                    persistence_error(error) if _is_driver_error(error) else error
                )
            self.stop()


def _is_driver_error(error: BaseException) -> bool:
    return type(error).__module__.startswith("psycopg")


class Factory(NativeFactory):
    """eventsourcing's factory for the native PostgreSQL store (named by the
    PERSISTENCE_MODULE environment variable, as every persistence module is)."""

    snapshot_recorder = SnapshotRecorder
    event_recorder = EventRecorder

    def __init__(self, env: Any) -> None:
        super().__init__(env)
        from ledger.store.pg_database import connect_args

        args = connect_args(self.env.get(PG_URL) or "")
        if args is None:
            raise PersistenceError("PG_URL names no postgresql+psycopg database")
        lock = float(self.env.get(PG_LOCK_SECONDS) or DEFAULT_LOCK_TIMEOUT)
        self.database = Database(args, lock)
