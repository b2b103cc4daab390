"""The read models of an SQLite ledger through the standard library's
sqlite3, for what a report waits for: the live generations and their
positions, a catch-up (rows read by key, a page's changes written and the
position moved in one transaction) and the report queries. No SQLAlchemy is
imported: its start-up is most of a one-partner report's time.

The tables are those tables.py declares and creates (on a ledger's first
report, and by a rebuild, both through SQLAlchemy), described by layout.py;
rows are read and written as SQLAlchemy does on SQLite (a date is ISO text,
read back as a date), so both paths see and leave the same rows
(tests/test_lite_projections.py), and a database error reads as it did
through SQLAlchemy (ledger/store/errors.py, worded_as_sqlalchemy).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from functools import lru_cache
from typing import Any, NamedTuple

from ledger.store.errors import worded_as_sqlalchemy
from projections import NAMES
from projections.storage.generations import Generation, Moved
from projections.storage.layout import (
    FAILURES_TABLE,
    LIVE_TABLE,
    TRACKING_TABLE,
    layout,
    table_name,
)
from projections.storage.rows import Key, Rows

Row = dict[str, Any]


def _run(conn: sqlite3.Connection, sql: str, params: Any = ()) -> sqlite3.Cursor:
    with worded_as_sqlalchemy():
        return conn.execute(sql, params)


def _run_many(conn: sqlite3.Connection, sql: str, rows: list[Any]) -> None:
    with worded_as_sqlalchemy():
        conn.executemany(sql, rows)


class LiteTable(NamedTuple):
    """A projection table as sqlite3 reads and writes it."""

    name: str
    columns: tuple[str, ...]
    key: tuple[str, ...]
    dates: frozenset[str]

    def select(self, conn: sqlite3.Connection, where: str, params: Any) -> list[Row]:
        """The rows matching WHERE (SQL over quoted column names), as dicts
        in column order, dates as dates."""
        names = ", ".join(f'"{c}"' for c in self.columns)
        query = f'SELECT {names} FROM "{self.name}"' + (
            f" WHERE {where}" if where else ""
        )
        dates = self.dates
        with worded_as_sqlalchemy():
            found = conn.execute(query, params).fetchall()
        return [
            {
                c: (date.fromisoformat(v) if c in dates and v is not None else v)
                for c, v in zip(self.columns, values)
            }
            for values in found
        ]

    def stored(self, values: Any, names: tuple[str, ...]) -> tuple[Any, ...]:
        """Values of these columns as the table keeps them (dates as text)."""
        return tuple(
            v.isoformat() if n in self.dates and v is not None else v
            for n, v in zip(names, values)
        )


@lru_cache(maxsize=64)
def lite_tables(name: str, generation: int) -> dict[str, LiteTable]:
    """The tables of one projection generation, by short name."""
    return {
        table: LiteTable(
            table_name(name, table, generation),
            tuple(c.name for c in columns),
            tuple(c.name for c in columns if c.key),
            frozenset(c.name for c in columns if c.type == "date"),
        )
        for table, columns in layout(name).items()
    }


class LiteRows(Rows):
    """Rows (rows.py) whose four SQL statements go through sqlite3."""

    tables: dict[str, LiteTable]

    @staticmethod
    def _key_names(table: LiteTable) -> list[str]:
        return list(table.key)

    def _select_where(
        self, conn: sqlite3.Connection, table: str, column: str, value: Any
    ) -> list[Row]:
        found = self.tables[table]
        return found.select(conn, f'"{column}" = ?', found.stored((value,), (column,)))

    def _load(self, conn: sqlite3.Connection, table: str, key: Key) -> Row | None:
        found = self.tables[table]
        where = " AND ".join(f'"{name}" = ?' for name in found.key)
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


# A report query's access to a generation's tables: fetch(table, partner,
# between) -> the rows of that table (of one partner, unless None), with
# `between` = (column, low, high) keeping those whose column is in [low, high].
Between = tuple[str, Any, Any] | None
Fetch = Callable[[str, str | None, Between], list[Row]]


class LiteStore:
    """The control tables and a generation's tables, on one sqlite3
    connection of its own (autocommit; transactions are explicit)."""

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
            with worded_as_sqlalchemy():
                self._conn = sqlite3.connect(
                    self.path,
                    timeout=self.timeout,
                    isolation_level=None,
                    check_same_thread=False,
                )
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

    # -- generations ----------------------------------------------------------

    def missing(self) -> bool:
        """Whether a projection has no live generation yet (or the control
        tables are not there): they are then made through SQLAlchemy."""
        try:
            found = _run(self.connection(), f"SELECT name FROM {LIVE_TABLE}")
            return bool(set(NAMES) - {name for (name,) in found})
        except sqlite3.OperationalError:
            return True

    def live(self, names: tuple[str, ...] = NAMES) -> list[Generation]:
        """The generations readers use, with their positions, in NAMES order."""
        query = (
            f"SELECT t.name, t.generation, t.position FROM {TRACKING_TABLE} t "
            f"JOIN {LIVE_TABLE} l ON l.name = t.name AND l.generation = t.generation"
        )
        found = {row[0]: Generation(*row) for row in _run(self.connection(), query)}
        return [found[name] for name in names]

    def live_generation(self, name: str) -> int:
        query = f"SELECT generation FROM {LIVE_TABLE} WHERE name = ?"
        (generation,) = _run(self.connection(), query, (name,)).fetchone()
        return int(generation)

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

    # -- reports --------------------------------------------------------------

    def report(self, name: str, generation: int, query: Callable[[Fetch], Any]) -> Any:
        """`query(fetch)` on a generation's tables; None if they are gone (a
        rebuild replaced that generation meanwhile)."""
        tables = lite_tables(name, generation)
        conn = self.connection()

        def fetch(table: str, partner: Any, between: Between = None) -> list[Row]:
            found = tables[table]
            where: list[str] = []
            params: list[Any] = []
            if between is not None:
                column, low, high = between
                where.append(f'"{column}" >= ? AND "{column}" <= ?')
                params += found.stored((low, high), (column, column))
            if isinstance(partner, str):
                where.append('"partner" = ?')
                params.append(partner)
            elif partner is not None:  # several (`audit check`'s chunks)
                chosen = list(partner)
                where.append(f'"partner" IN ({", ".join("?" * len(chosen))})')
                params += chosen
            return found.select(conn, " AND ".join(where), params)

        try:
            _run(conn, "BEGIN")  # one snapshot for all of the report's reads
            try:
                return query(fetch)
            finally:
                _run(conn, "COMMIT")
        except sqlite3.OperationalError:
            if self.live_generation(name) == generation:
                raise
            return None
