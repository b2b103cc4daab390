"""Bulk writes of a rebuild: many rows of one table in one statement.

SQLite takes them as one executemany; PostgreSQL as one COPY (executemany
there sends one message per row). Both run in the caller's transaction.
"""

from __future__ import annotations

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
    """SQLite: one executemany on the driver's cursor, with dates written as
    SQLAlchemy writes them there (ISO text), skipping its per-row work."""
    names = [c.name for c in table.columns]
    dates = {c.name for c in table.columns if isinstance(c.type, sa.Date)}
    columns = ", ".join(f'"{name}"' for name in names)
    marks = ", ".join("?" for _ in names)
    values = [
        tuple(
            row[n].isoformat() if n in dates and row[n] is not None else row[n]
            for n in names
        )
        for row in rows
    ]
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    cursor.executemany(
        f'INSERT INTO "{table.name}" ({columns}) VALUES ({marks})', values
    )


def _copy(conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    from psycopg import sql

    names = [c.name for c in table.columns]
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table.name), sql.SQL(", ").join(map(sql.Identifier, names))
    )
    # The psycopg connection under SQLAlchemy's, inside its open transaction.
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row([row[name] for name in names])
