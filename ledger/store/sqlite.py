"""The embedded store: eventsourcing recorders on the standard library's
sqlite3, over the very tables eventsourcing-sqlalchemy creates.

A write through the CLI then imports neither SQLAlchemy nor its ORM: the
single write a person waits for is start-up, one read and one insert. The
tables and their bytes are those of eventsourcing-sqlalchemy (an aggregate id
is its 16 UUID bytes, the state a BLOB), so ledgers written by either open
with the other, and reports, audits and projections keep reading the same
rows through SQLAlchemy Core (ledger/store/events.py).

Writes take SQLite's write lock when they begin (BEGIN IMMEDIATE), so
positions are assigned and committed in order, and a clash on
(originator_id, originator_version) is eventsourcing's IntegrityError, as with
every recorder: two writers of one partner, exactly one wins.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from uuid import UUID

from eventsourcing.persistence import (
    AggregateRecorder,
    ApplicationRecorder,
    IntegrityError,
    Notification,
    OperationalError,
    PersistenceError,
    StoredEvent,
    Subscription,
)

from ledger.store.native import NativeFactory, version_range
from ledger.store.sqlite_log import sqlite_path

__all__ = ["Database", "EventRecorder", "Factory", "SnapshotRecorder", "sqlite_path"]

SQLITE_PATH = "SQLITE_PATH"
SQLITE_BUSY_SECONDS = "SQLITE_BUSY_SECONDS"
DEFAULT_BUSY_SECONDS = 5.0
MAX_PARAMETERS = 900  # per statement, below SQLite's bound-parameter limit

EVENTS_DDL = (
    "CREATE TABLE IF NOT EXISTS {table} (\n"
    "\tid INTEGER NOT NULL, \n"
    "\toriginator_id BINARY(16) NOT NULL, \n"
    "\toriginator_version INTEGER NOT NULL, \n"
    "\ttopic TEXT NOT NULL, \n"
    "\tstate BLOB NOT NULL, \n"
    "\tPRIMARY KEY (id)\n"
    ")",
    "CREATE UNIQUE INDEX IF NOT EXISTS {table}_aggregate_idx "
    "ON {table} (originator_id, originator_version)",
)
SNAPSHOTS_DDL = (
    "CREATE TABLE IF NOT EXISTS {table} (\n"
    "\toriginator_id BINARY(16) NOT NULL, \n"
    "\toriginator_version INTEGER NOT NULL, \n"
    "\ttopic TEXT NOT NULL, \n"
    "\tstate BLOB NOT NULL, \n"
    "\tPRIMARY KEY (originator_id, originator_version)\n"
    ")",
)


class Database:
    """One sqlite3 connection in autocommit mode; transactions are explicit."""

    def __init__(self, path: str, busy_seconds: float) -> None:
        self.path = path
        self.busy_seconds = busy_seconds
        self._conn: sqlite3.Connection | None = None

    def connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = sqlite3.connect(
                self.path,
                timeout=self.busy_seconds,
                isolation_level=None,
                check_same_thread=False,
            )
        return self._conn

    @contextmanager
    def transaction(self, write: bool) -> Iterator[sqlite3.Cursor]:
        """A transaction: IMMEDIATE for a write (the write lock, waited for
        up to the busy timeout), a plain read otherwise. Errors come out as
        eventsourcing's persistence errors."""
        conn = self.connection()
        cursor = conn.cursor()
        try:
            cursor.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield cursor
            except BaseException:
                conn.rollback()
                raise
            conn.commit()
        except sqlite3.IntegrityError as error:
            raise IntegrityError(error) from error
        except sqlite3.OperationalError as error:
            raise OperationalError(error) from error
        except sqlite3.Error as error:
            raise PersistenceError(error) from error
        finally:
            cursor.close()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _id_bytes(originator_id: UUID | str) -> bytes:
    """An aggregate id as the table keeps it: its 16 bytes."""
    if isinstance(originator_id, UUID):
        return originator_id.bytes
    return UUID(originator_id).bytes


def _stored(row: Sequence[Any]) -> StoredEvent:
    return StoredEvent(
        originator_id=UUID(bytes=bytes(row[0])),
        originator_version=row[1],
        topic=row[2],
        state=row[3],
    )


class SnapshotRecorder(AggregateRecorder):
    """An aggregate's snapshots (or events) by (originator_id, version)."""

    ddl: tuple[str, ...] = SNAPSHOTS_DDL

    def __init__(self, database: Database, table: str) -> None:
        self.database = database
        self.table = table

    def create_table(self) -> None:
        """Create the table if it is missing (checked first with a read, so
        opening a ledger never waits for the write lock)."""
        exists = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
        with self.database.transaction(write=False) as cursor:
            if cursor.execute(exists, (self.table,)).fetchone() is not None:
                return
        with self.database.transaction(write=True) as cursor:
            for statement in self.ddl:
                cursor.execute(statement.format(table=self.table))

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        with self.database.transaction(write=True) as cursor:
            return self._insert(cursor, stored_events)

    def _insert(
        self, cursor: sqlite3.Cursor, stored_events: Sequence[StoredEvent]
    ) -> Sequence[int] | None:
        cursor.executemany(
            f"INSERT INTO {self.table} "
            "(originator_id, originator_version, topic, state) VALUES (?, ?, ?, ?)",
            [
                (
                    _id_bytes(s.originator_id),
                    s.originator_version,
                    s.topic,
                    s.state,
                )
                for s in stored_events
            ],
        )
        return None

    def select_events(
        self,
        originator_id: UUID | str,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> Sequence[StoredEvent]:
        ident = (
            originator_id if isinstance(originator_id, UUID) else UUID(originator_id)
        )
        sql, params = version_range(
            "SELECT originator_id, originator_version, topic, state "
            f"FROM {self.table} WHERE originator_id = ?",
            "?",
            gt,
            lte,
            desc,
            limit,
        )
        with self.database.transaction(write=False) as cursor:
            rows = cursor.execute(sql, [ident.bytes, *params])
            return [_stored(row) for row in rows]


class EventRecorder(SnapshotRecorder, ApplicationRecorder):
    """The application's events, each with its position (the id column)."""

    ddl = EVENTS_DDL

    def _insert(
        self, cursor: sqlite3.Cursor, stored_events: Sequence[StoredEvent]
    ) -> Sequence[int] | None:
        """Under the write lock, SQLite gives a new row max(id) + 1: the
        positions of a batch are the next ones, in order (no RETURNING per row)."""
        cursor.execute(f"SELECT max(id) FROM {self.table}")
        last = cursor.fetchone()[0] or 0
        super()._insert(cursor, stored_events)
        return list(range(last + 1, last + 1 + len(stored_events)))

    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> Sequence[Notification]:
        sql = (
            "SELECT id, originator_id, originator_version, topic, state "
            f"FROM {self.table} WHERE 1 = 1"
        )
        params: list[Any] = []
        if start is not None:
            sql += " AND id >= ?" if inclusive_of_start else " AND id > ?"
            params.append(start)
        if stop is not None:
            sql += " AND id <= ?"
            params.append(stop)
        if topics:
            sql += f" AND topic IN ({', '.join('?' * len(topics))})"
            params += list(topics)
        sql += " ORDER BY id LIMIT ?"
        params.append(limit)
        with self.database.transaction(write=False) as cursor:
            return [
                Notification(
                    id=row[0],
                    originator_id=UUID(bytes=bytes(row[1])),
                    originator_version=row[2],
                    topic=row[3],
                    state=row[4],
                )
                for row in cursor.execute(sql, params)
            ]

    def select_first_versions(
        self, originator_ids: Sequence[UUID]
    ) -> list[Notification]:
        """Version 1 of each of these aggregates that is stored, with its
        position: a bulk import's look-up of its request records and new
        partners, in few queries (no SQLAlchemy to load for it)."""
        found: list[Notification] = []
        with self.database.transaction(write=False) as cursor:
            for start in range(0, len(originator_ids), MAX_PARAMETERS):
                chunk = [
                    i.bytes for i in originator_ids[start : start + MAX_PARAMETERS]
                ]
                sql = (
                    "SELECT id, originator_id, originator_version, topic, state "
                    f"FROM {self.table} WHERE originator_version = 1 AND "
                    f"originator_id IN ({', '.join('?' * len(chunk))})"
                )
                found += [
                    Notification(
                        id=row[0],
                        originator_id=UUID(bytes=bytes(row[1])),
                        originator_version=row[2],
                        topic=row[3],
                        state=row[4],
                    )
                    for row in cursor.execute(sql, chunk)
                ]
        return found

    def max_notification_id(self) -> int | None:
        with self.database.transaction(write=False) as cursor:
            return cursor.execute(f"SELECT max(id) FROM {self.table}").fetchone()[0]

    def subscribe(
        self, gt: int | None = None, topics: Sequence[str] = ()
    ) -> Subscription[ApplicationRecorder]:
        raise NotImplementedError("SQLite cannot push new events: poll instead")


class Factory(NativeFactory):
    """eventsourcing's factory for the ledger's embedded store (named by the
    PERSISTENCE_MODULE environment variable, as every persistence module is)."""

    snapshot_recorder = SnapshotRecorder
    event_recorder = EventRecorder

    def __init__(self, env: Any) -> None:
        super().__init__(env)
        path = self.env.get(SQLITE_PATH)
        if not path:
            raise PersistenceError("SQLITE_PATH names no database file")
        busy = float(self.env.get(SQLITE_BUSY_SECONDS) or DEFAULT_BUSY_SECONDS)
        self.database = Database(path, busy)
