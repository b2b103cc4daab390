"""Bulk writes of a rebuild: many rows of one table in one statement.

SQLite takes them as one executemany; PostgreSQL as one COPY (executemany
there sends one message per row). Both run in the caller's transaction.
"""

from __future__ import annotations

import sqlite3
from datetime import date
from operator import itemgetter
from typing import Any

import sqlalchemy as sa


def insert_rows(
    conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]
) -> None:
    """Insert these rows (dicts by column name) into a projection table."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        _copy(conn, table, rows)
    else:
        _executemany(conn, table, rows)


def _executemany(
    conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]
) -> None:
    """SQLite: one executemany on the driver's cursor, skipping SQLAlchemy's
    per-row work; dates are bound as it stores them there (see below)."""
    names = [c.name for c in table.columns]
    values = _getter(names)
    columns = ", ".join(f'"{name}"' for name in names)
    marks = ", ".join("?" for _ in names)
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    insert = f'INSERT INTO "{table.name}" ({columns}) VALUES ({marks})'
    cursor.executemany(insert, map(values, rows))


# A date bound by sqlite3 is its ISO text, as SQLAlchemy's Date stores it on
# SQLite: what sqlite3's default adapter (deprecated since Python 3.12) does,
# registered here so that it stays so. The driver calls it without a Python
# frame; converting a rebuild's dates row by row beforehand cost more.
sqlite3.register_adapter(date, date.isoformat)


def _getter(names: list[str]) -> Any:
    """A function giving a row's values in column order, as a tuple."""
    if len(names) == 1:
        (name,) = names
        return lambda row: (row[name],)
    return itemgetter(*names)


def _copy(conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """PostgreSQL: one COPY on the driver's connection, in its transaction."""
    from psycopg import sql

    names = [c.name for c in table.columns]
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table.name), sql.SQL(", ").join(map(sql.Identifier, names))
    )
    values = _getter(names)
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(values(row))
