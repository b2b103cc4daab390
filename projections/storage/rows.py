"""The rows a projection generation holds, kept in memory while a runner
applies events, and written back in the transaction that moves its position.

Handlers read and change rows by primary key; `flush` writes the changed
rows with one DELETE and one INSERT statement per table (executemany). A
fresh generation starts `complete` (its tables are empty, so a row not in
memory does not exist); otherwise a missing row is read from the table. The
rows remember the position they reflect: when another runner has moved the
generation since, they are forgotten and read again.

The SQL is in four small methods (select by a column or by key, delete and
insert many) on SQLAlchemy tables; lite.py's LiteRows does the same four on
the same tables through sqlite3.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import itemgetter
from typing import Any

Key = tuple[Any, ...]
MAX_ROWS = 50_000


def _key_getter(names: list[str]) -> Callable[[dict[str, Any]], Key]:
    """A function giving a row's key (a tuple of these columns' values)."""
    if len(names) == 1:
        (name,) = names
        return lambda values: (values[name],)
    return itemgetter(*names)


class ViewError(Exception):
    """A handler found the view not as the events say it must be."""


class Rows:
    def __init__(
        self,
        tables: dict[str, Any],
        position: int | None = None,
        complete: bool = False,
    ) -> None:
        self.tables = tables
        self.position = position  # what these rows reflect; None: unknown
        self.complete = complete
        self.keys = {name: self._key_names(t) for name, t in tables.items()}
        self._key_of = {name: _key_getter(names) for name, names in self.keys.items()}
        self.rows: dict[str, dict[Key, dict[str, Any] | None]] = {n: {} for n in tables}
        self.stored: dict[str, set[Key]] = {n: set() for n in tables}
        self.dirty: dict[str, set[Key]] = {n: set() for n in tables}

    @staticmethod
    def _key_names(table: Any) -> list[str]:
        return [c.name for c in table.primary_key.columns]

    def key(self, table: str, values: dict[str, Any]) -> Key:
        return self._key_of[table](values)

    def get(self, conn: Any, table: str, key: Key) -> dict[str, Any] | None:
        rows = self.rows[table]
        if key not in rows:
            rows[key] = None if self.complete else self._load(conn, table, key)
            if rows[key] is not None:
                self.stored[table].add(key)
        return rows[key]

    def keys_where(self, conn: Any, table: str, column: str, value: Any) -> list[Key]:
        """The keys of the live rows whose `column` is `value`: those in
        memory and, unless the rows are complete, those in the table."""
        rows = self.rows[table]
        if not self.complete:
            for row in self._select_where(conn, table, column, value):
                key = self.key(table, row)
                if key not in rows:
                    rows[key] = row
                    self.stored[table].add(key)
        return [k for k, r in rows.items() if r is not None and r[column] == value]

    def put(self, table: str, key: Key, row: dict[str, Any] | None) -> None:
        self.rows[table][key] = row
        self.dirty[table].add(key)

    def flush(self, conn: Any) -> None:
        """Write every changed row: delete the stored ones, insert the live ones."""
        for table, dirty in self.dirty.items():
            if dirty:
                self._write(conn, table, dirty)
            dirty.clear()
        if sum(len(rows) for rows in self.rows.values()) > MAX_ROWS:
            self.forget()

    def _write(self, conn: Any, table: str, dirty: set[Key]) -> None:
        stored = self.stored[table]
        gone = [key for key in dirty if key in stored]
        if gone:
            self._delete(conn, table, gone)
        rows = self.rows[table]
        live = [row for key in dirty if (row := rows[key]) is not None]
        if live:
            self._insert(conn, table, live)
        for key in dirty:
            (stored.add if rows[key] is not None else stored.discard)(key)

    # -- the SQL (SQLAlchemy Core; sqlalchemy is loaded by whoever made the
    # tables, so importing it here costs nothing) ---------------------------------

    def _select_where(
        self, conn: Any, table: str, column: str, value: Any
    ) -> list[dict[str, Any]]:
        import sqlalchemy as sa

        found = self.tables[table]
        query = sa.select(found).where(found.c[column] == value)
        return [dict(row) for row in conn.execute(query).mappings()]

    def _load(self, conn: Any, table: str, key: Key) -> dict[str, Any] | None:
        import sqlalchemy as sa

        found = self.tables[table]
        where = [found.c[name] == value for name, value in zip(self.keys[table], key)]
        row = conn.execute(sa.select(found).where(*where)).mappings().first()
        return dict(row) if row is not None else None

    def _delete(self, conn: Any, table: str, keys: list[Key]) -> None:
        import sqlalchemy as sa

        found, names = self.tables[table], self.keys[table]
        where = [found.c[name] == sa.bindparam(f"k_{name}") for name in names]
        conn.execute(
            sa.delete(found).where(*where),
            [{f"k_{n}": value for n, value in zip(names, key)} for key in keys],
        )

    def _insert(self, conn: Any, table: str, rows: list[dict[str, Any]]) -> None:
        import sqlalchemy as sa

        conn.execute(sa.insert(self.tables[table]), rows)

    def drain(self) -> dict[str, list[dict[str, Any]]]:
        """The live rows of each table, taken out of memory (a rebuild's fold
        is done with a partner: its rows go to the bulk insert)."""
        drained = {}
        for table, rows in self.rows.items():
            drained[table] = [row for row in rows.values() if row is not None]
            rows.clear()
            self.stored[table].clear()
            self.dirty[table].clear()
        return drained

    def at(self, position: int) -> Rows:
        """These rows, valid at `position`: if another runner moved the
        generation since they were read, forget them."""
        if self.position != position:
            self.forget()
            self.position = position
        return self

    def forget(self) -> None:
        """Drop what is in memory; later reads go to the tables."""
        self.position = None
        self.complete = False
        for table in self.tables:
            self.rows[table].clear()
            self.stored[table].clear()
            self.dirty[table].clear()
