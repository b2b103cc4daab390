"""The event log of an SQLite ledger read with the standard library's
sqlite3 alone (no SQLAlchemy): its head and whether an aggregate has events
(log_reads.py), which is all a report asks of the log while its projections
are caught up (eventsourcing is not even imported), and pages of
notifications for a catch-up, on a connection of the reader's own (the
application's recorder has one connection, for its own writes)."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

from ledger.store.errors import worded_as_sqlalchemy
from ledger.store.log_reads import EVENTS_TABLE, LogReads

if TYPE_CHECKING:
    from eventsourcing.persistence import Notification


def sqlite_path(url: str) -> str | None:
    """The file of an SQLAlchemy SQLite URL (`sqlite:///ledger.db`,
    `sqlite:////abs/path.db`), or None for another database or an in-memory
    one (left to SQLAlchemy)."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or "?" in url:
        return None
    path = url[len(prefix) :]
    return path if path and path != ":memory:" else None


def reader_connection(path: str, timeout: float) -> sqlite3.Connection:
    """A reader's own sqlite3 connection to the ledger file (the log's, the
    read models'): autocommit, transactions explicit, usable from the
    thread that `projections follow` runs in; an error to open it reads as
    it did through SQLAlchemy."""
    with worded_as_sqlalchemy():
        return sqlite3.connect(
            path, timeout=timeout, isolation_level=None, check_same_thread=False
        )


class SqliteLog(LogReads):
    """Reads of the event table, on one sqlite3 connection of its own."""

    def __init__(self, path: str, timeout: float, table: str = EVENTS_TABLE) -> None:
        self.path = path
        self.timeout = timeout
        self.table = table
        self._conn: sqlite3.Connection | None = None

    def connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = reader_connection(self.path, self.timeout)
        return self._conn

    def _one(self, query: str, params: tuple[object, ...] = ()) -> tuple | None:
        with worded_as_sqlalchemy():
            row: tuple | None = self.connection().execute(query, params).fetchone()
        return row

    def notifications(self, after: int, limit: int) -> list[Notification]:
        """The next `limit` events after a position, as the library's
        notifications (what projections track their position by); a state
        not stored as bytes is DamagedEvent naming its position, as through
        SQLAlchemy (ledger/store/events.py)."""
        from uuid import UUID

        from eventsourcing.persistence import Notification

        from ledger.store.damage import state_bytes

        query = (
            "SELECT id, originator_id, originator_version, topic, state "
            f"FROM {self.table} WHERE id > ? ORDER BY id LIMIT ?"
        )
        with worded_as_sqlalchemy():
            page = self.connection().execute(query, (after, limit)).fetchall()
        return [
            Notification(
                id=position,
                originator_id=UUID(bytes=bytes(originator)),
                originator_version=version,
                topic=topic,
                state=state_bytes(position, state),
            )
            for position, originator, version, topic, state in page
        ]
