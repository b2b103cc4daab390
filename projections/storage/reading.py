"""What a report asks of the read models, in plain SQL on a driver's own
connection (sqlite3's or psycopg's), with no SQLAlchemy: whether every
projection has a live generation, their positions, and a report query over
a generation's tables.

lite.py (SQLite) and pg.py (PostgreSQL) differ only in the driver's
placeholder (`?` or `%s`), how a date is kept (ISO text on SQLite, as
SQLAlchemy keeps it there; a DATE that psycopg reads as a date), and how a
transaction begins; both read the tables that tables.py creates, as
layout.py describes them.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import date
from functools import lru_cache
from typing import Any, NamedTuple

from projections import NAMES
from projections.storage.generations import Generation
from projections.storage.layout import LIVE_TABLE, TRACKING_TABLE, layout, table_name

Row = dict[str, Any]

# A report query's access to a generation's tables: fetch(table, partner,
# between) -> the rows of that table (of one partner, unless None), with
# `between` = (column, low, high) keeping those whose column is in [low, high].
Between = tuple[str, Any, Any] | None
Fetch = Callable[[str, str | None, Between], list[Row]]


class SqlTable(NamedTuple):
    """A projection table as a driver reads and writes it."""

    name: str
    columns: tuple[str, ...]
    key: tuple[str, ...]
    dates: frozenset[str]  # columns kept as ISO text (none on PostgreSQL)
    mark: str  # the driver's placeholder

    def select(self, conn: Any, where: str, params: Any) -> list[Row]:
        """The rows matching WHERE (SQL over quoted column names), as dicts
        in column order, dates as dates."""
        names = ", ".join(f'"{c}"' for c in self.columns)
        query = f'SELECT {names} FROM "{self.name}"' + (
            f" WHERE {where}" if where else ""
        )
        found = conn.execute(query, params).fetchall()
        dates = self.dates
        if not dates:
            return [dict(zip(self.columns, values)) for values in found]
        return [
            {
                c: (date.fromisoformat(v) if c in dates and v is not None else v)
                for c, v in zip(self.columns, values)
            }
            for values in found
        ]

    def stored(self, values: Any, names: tuple[str, ...]) -> tuple[Any, ...]:
        """Values of these columns as the table keeps them."""
        return tuple(
            v.isoformat() if n in self.dates and v is not None else v
            for n, v in zip(names, values)
        )

    def where(self, partner: Any, between: Between) -> tuple[str, list[Any]]:
        """The WHERE clause and parameters of a report's fetch."""
        mark = self.mark
        where: list[str] = []
        params: list[Any] = []
        if between is not None:
            column, low, high = between
            where.append(f'"{column}" >= {mark} AND "{column}" <= {mark}')
            params += self.stored((low, high), (column, column))
        if isinstance(partner, str):
            where.append(f'"partner" = {mark}')
            params.append(partner)
        elif partner is not None:  # several (`audit check`'s chunks)
            chosen = list(partner)
            where.append(f'"partner" IN ({", ".join([mark] * len(chosen))})')
            params += chosen
        return " AND ".join(where), params


@lru_cache(maxsize=128)
def sql_tables(
    name: str, generation: int, mark: str, text_dates: bool
) -> dict[str, SqlTable]:
    """The tables of one projection generation, by short name."""
    return {
        table: SqlTable(
            table_name(name, table, generation),
            tuple(c.name for c in columns),
            tuple(c.name for c in columns if c.key),
            frozenset(c.name for c in columns if text_dates and c.type == "date"),
            mark,
        )
        for table, columns in layout(name).items()
    }


class ReadStore:
    """The report side of the read models over a driver's connection.

    A dialect says its placeholder (`mark`), whether dates are text, what
    reading absent tables raises (`gone`), and gives `snapshot()`: one
    transaction, yielding the connection, for reads that belong together."""

    mark = "?"
    text_dates = True
    gone: tuple[type[BaseException], ...] = ()

    def snapshot(self) -> AbstractContextManager[Any]:
        raise NotImplementedError

    def _rows(self, query: str, params: Any = ()) -> list[Any]:
        with self.snapshot() as conn:
            return list(conn.execute(query, params).fetchall())

    def tables(self, name: str, generation: int) -> dict[str, SqlTable]:
        return sql_tables(name, generation, self.mark, self.text_dates)

    def missing(self) -> bool:
        """Whether a projection has no live generation yet (or the control
        tables are not there): they are then made through SQLAlchemy."""
        try:
            found = self._rows(f"SELECT name FROM {LIVE_TABLE}")
        except self.gone:
            return True
        return bool(set(NAMES) - {name for (name,) in found})

    def live(self, names: tuple[str, ...] = NAMES) -> list[Generation]:
        """The generations readers use, with their positions, in NAMES order."""
        query = (
            f"SELECT t.name, t.generation, t.position FROM {TRACKING_TABLE} t "
            f"JOIN {LIVE_TABLE} l ON l.name = t.name AND l.generation = t.generation"
        )
        found = {row[0]: Generation(*row) for row in self._rows(query)}
        return [found[name] for name in names]

    def live_generation(self, name: str) -> int:
        query = f"SELECT generation FROM {LIVE_TABLE} WHERE name = {self.mark}"
        ((generation,),) = self._rows(query, (name,))
        return int(generation)

    def report(self, name: str, generation: int, query: Callable[[Fetch], Any]) -> Any:
        """`query(fetch)` on a generation's tables, in one snapshot; None if
        they are gone (a rebuild replaced that generation meanwhile)."""
        tables = self.tables(name, generation)
        try:
            with self.snapshot() as conn:

                def fetch(
                    table: str, partner: Any, between: Between = None
                ) -> list[Row]:
                    found = tables[table]
                    return found.select(conn, *found.where(partner, between))

                return query(fetch)
        except self.gone:
            if self.live_generation(name) == generation:
                raise
            return None
