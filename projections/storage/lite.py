"""The read models of an SQLite ledger through the standard library's
sqlite3, for what a report waits for: the live generations and their
positions, a catch-up (rows read by key, a page's changes written and the
position moved in one transaction) and the report queries (reading.py,
shared with PostgreSQL's pg.py). No SQLAlchemy is imported: its start-up is
most of a one-partner report's time.

The tables are those tables.py declares and creates (on a ledger's first
report, and by a rebuild, both through SQLAlchemy), described by layout.py;
rows are read and written as SQLAlchemy does on SQLite (a date is ISO text,
read back as a date), so both paths see and leave the same rows
(tests/test_lite_projections.py), and a database error reads as it did
through SQLAlchemy (ledger/store/errors.py, worded_as_sqlalchemy).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ledger.store.errors import worded_as_sqlalchemy
from ledger.store.sqlite_log import reader_connection
from projections.storage.generations import Generation, Moved
from projections.storage.layout import FAILURES_TABLE, TRACKING_TABLE
from projections.storage.reading import ReadStore, Row, SqlTable, sql_tables
from projections.storage.rows import Key, Rows


def _run(conn: sqlite3.Connection, sql: str, params: Any = ()) -> sqlite3.Cursor:
    with worded_as_sqlalchemy():
        return conn.execute(sql, params)


def _run_many(conn: sqlite3.Connection, sql: str, rows: list[Any]) -> None:
    with worded_as_sqlalchemy():
        conn.executemany(sql, rows)


def lite_tables(name: str, generation: int) -> dict[str, SqlTable]:
    """The tables of one projection generation, by short name, as sqlite3
    reads and writes them (dates as ISO text)."""
    return sql_tables(name, generation, "?", True)


class LiteRows(Rows):
    """Rows (rows.py) whose four SQL statements go through sqlite3."""

    tables: dict[str, SqlTable]

    @staticmethod
    def _key_names(table: SqlTable) -> list[str]:
        return list(table.key)

    def _select_where(
        self, conn: sqlite3.Connection, table: str, column: str, value: Any
    ) -> list[Row]:
        found = self.tables[table]
        with worded_as_sqlalchemy():
            return found.select(
                conn, f'"{column}" = ?', found.stored((value,), (column,))
            )

    def _load(self, conn: sqlite3.Connection, table: str, key: Key) -> Row | None:
        found = self.tables[table]
        where = " AND ".join(f'"{name}" = ?' for name in found.key)
        with worded_as_sqlalchemy():
            rows = found.select(conn, where, found.stored(key, found.key))
        return rows[0] if rows else None

    def _delete(self, conn: sqlite3.Connection, table: str, keys: list[Key]) -> None:
        found = self.tables[table]
        where = " AND ".join(f'"{name}" = ?' for name in found.key)
        _run_many(
            conn,
            f'DELETE FROM "{found.name}" WHERE {where}',
            [found.stored(key, found.key) for key in keys],
        )

    def _insert(self, conn: sqlite3.Connection, table: str, rows: list[Row]) -> None:
        found = self.tables[table]
        names = ", ".join(f'"{c}"' for c in found.columns)
        marks = ", ".join("?" for _ in found.columns)
        _run_many(
            conn,
            f'INSERT INTO "{found.name}" ({names}) VALUES ({marks})',
            [
                found.stored([row[c] for c in found.columns], found.columns)
                for row in rows
            ],
        )


class LiteStore(ReadStore):
    """The control tables and a generation's tables, on one sqlite3
    connection of its own (autocommit; transactions are explicit); the
    reports' reads are reading.py's."""

    gone = (sqlite3.OperationalError,)  # absent tables

    # What a page's rows can fail on for what they hold (runner.py): the
    # sqlite3 errors SQLAlchemy would have raised as DataError and
    # IntegrityError, and a value sqlite3 can't bind.
    data_errors = (
        sqlite3.DataError,
        sqlite3.IntegrityError,
        OverflowError,
        ValueError,
        TypeError,
    )
    database_error = sqlite3.Error

    def __init__(self, path: str, timeout: float) -> None:
        self.path = path
        self.timeout = timeout
        self._conn: sqlite3.Connection | None = None

    def connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = reader_connection(self.path, self.timeout)
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A transaction holding SQLite's write lock from its start,
        committed when the block ends, rolled back if it raises."""
        conn = self.connection()
        _run(conn, "BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.rollback()
            raise
        _run(conn, "COMMIT")

    @contextmanager
    def snapshot(self) -> Iterator[sqlite3.Connection]:
        """One read transaction: a report's reads see one state."""
        conn = self.connection()
        _run(conn, "BEGIN")
        try:
            with worded_as_sqlalchemy():
                yield conn
        finally:
            _run(conn, "COMMIT")

    def _rows(self, query: str, params: Any = ()) -> list[Any]:
        """One statement on its own (autocommit)."""
        return _run(self.connection(), query, params).fetchall()

    # -- generations ----------------------------------------------------------

    def claim(
        self, conn: sqlite3.Connection, generation: Generation, position: int
    ) -> None:
        """Move a generation's position in the transaction that writes its
        rows; Moved if another runner moved it first."""
        moved = _run(
            conn,
            f"UPDATE {TRACKING_TABLE} SET position = ? "
            "WHERE name = ? AND generation = ? AND position = ?",
            (position, generation.name, generation.generation, generation.position),
        )
        if moved.rowcount != 1:
            raise Moved(generation.name)

    def record_failure(self, generation: Generation, failure: dict[str, Any]) -> None:
        """Remember the event a generation is stuck on (one per projection)."""
        with self.transaction() as conn:
            _run(
                conn, f"DELETE FROM {FAILURES_TABLE} WHERE name = ?", (generation.name,)
            )
            _run(
                conn,
                f"INSERT INTO {FAILURES_TABLE} "
                "(name, generation, event_position, partner, event, message) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (
                    generation.name,
                    generation.generation,
                    failure["event_position"],
                    failure["partner"],
                    failure["event"],
                    failure["message"],
                ),
            )

    def rows(
        self,
        name: str,
        generation: int,
        position: int | None = None,
        complete: bool = False,
    ) -> LiteRows:
        """A generation's rows in memory (see rows.py)."""
        return LiteRows(lite_tables(name, generation), position, complete)
