"""The projections' tables, in the ledger's own database, as SQLAlchemy
tables (their columns are declared in layout.py).

Each projection keeps its rows in tables of one *generation* (`proj_<name>_g<N>`):
a rebuild fills generation N+1 while readers keep using N, then one
transaction points readers at N+1. Two control tables sit beside them:
`projection_tracking` (the position of each projection generation, written in
the same transaction as its rows) and `projection_live` (the generation
readers use). Only dates are stored: nothing that depends on "today".
"""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from sqlalchemy.schema import CreateIndex, CreateTable, DropTable

from projections.storage.layout import (
    FAILURES_TABLE,
    LAYOUTS,
    LIVE_TABLE,
    TRACKING_TABLE,
    Column,
    layout,
    table_name,
)

__all__ = [
    "CONTROL",
    "FAILURES",
    "LAYOUTS",
    "LIVE",
    "TRACKING",
    "create_tables",
    "define",
    "drop_tables",
    "is_read_model_table",
    "table_name",
]

CONTROL = sa.MetaData()

TRACKING = sa.Table(
    TRACKING_TABLE,
    CONTROL,
    sa.Column("name", sa.String(40), primary_key=True),
    sa.Column("generation", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("position", sa.BigInteger, nullable=False),
)

LIVE = sa.Table(
    LIVE_TABLE,
    CONTROL,
    sa.Column("name", sa.String(40), primary_key=True),
    sa.Column("generation", sa.Integer, nullable=False),
)

# The event a projection generation is stuck on: a handler (or its write)
# failed there, so its position stays just before it. Kept for `projections
# status`; it no longer applies once the generation's position passed it.
FAILURES = sa.Table(
    FAILURES_TABLE,
    CONTROL,
    sa.Column("name", sa.String(40), primary_key=True),
    sa.Column("generation", sa.Integer, nullable=False),
    sa.Column("event_position", sa.BigInteger, nullable=False),
    sa.Column("partner", sa.String, nullable=True),
    sa.Column("event", sa.String, nullable=False),
    sa.Column("message", sa.String, nullable=False),
)

TYPES = {
    "string": sa.String,
    "date": sa.Date,
    "integer": sa.Integer,
    "bigint": sa.BigInteger,
}


def _column(column: Column) -> sa.Column:
    kind = sa.String(column.length) if column.length else TYPES[column.type]
    settings: dict[str, Any] = (
        {"primary_key": True} if column.key else {"nullable": column.nullable}
    )
    if column.indexed:
        settings["index"] = True
    if column.key and column.type == "integer":
        settings["autoincrement"] = False  # a number, not a row id
    return sa.Column(column.name, kind, **settings)


def define(projection: str, generation: int) -> dict[str, sa.Table]:
    """The tables of one projection generation, by short name."""
    metadata = sa.MetaData()
    return {
        table: sa.Table(
            table_name(projection, table, generation),
            metadata,
            *map(_column, columns),
        )
        for table, columns in layout(projection).items()
    }


def create_tables(
    conn: sa.Connection, tables: dict[str, sa.Table], keyed: bool = True
) -> None:
    """Create a generation's tables in the caller's transaction, one
    statement each (no per-table check first). Tables a killed rebuild
    created before its generation was tracked are kept: nothing was ever
    written to them (a generation is filled only once it is tracked).

    Unless `keyed`, without their keys and indexes: a rebuild fills them in
    bulk, then builds those at once (`index_tables`), which costs a fraction
    of keeping each B-tree up row by row (at 1M events on SQLite, its bulk
    insert took twice as long with them, past SQLite's page cache)."""
    for table in tables.values():
        conn.execute(CreateTable(table if keyed else _bare(table), if_not_exists=True))
        if keyed:
            for index in table.indexes:
                conn.execute(CreateIndex(index, if_not_exists=True))


def index_tables(conn: sa.Connection, tables: dict[str, sa.Table]) -> None:
    """Build the keys (a unique index on the primary key's columns: the same
    rows are refused) and the indexes of tables created without them."""
    quote = conn.dialect.identifier_preparer.quote
    for table in tables.values():
        columns = ", ".join(quote(c.name) for c in table.primary_key.columns)
        conn.execute(
            sa.text(
                f"CREATE UNIQUE INDEX IF NOT EXISTS {quote(table.name + '_key')} "
                f"ON {quote(table.name)} ({columns})"
            )
        )
        for index in table.indexes:
            conn.execute(CreateIndex(index, if_not_exists=True))


def _bare(table: sa.Table) -> sa.Table:
    """The same table without its primary key (its columns stay NOT NULL)."""
    return sa.Table(
        table.name,
        sa.MetaData(),
        *(sa.Column(c.name, c.type, nullable=c.nullable) for c in table.columns),
    )


def drop_tables(conn: sa.Connection, tables: dict[str, sa.Table]) -> None:
    """Drop a generation's tables (those that exist) in the caller's
    transaction."""
    for table in tables.values():
        conn.execute(DropTable(table, if_exists=True))


def is_read_model_table(name: str) -> bool:
    """Whether a table of the ledger's database belongs to the projections
    (a generation's table or a control table): `ledger db setup` hands
    these to the reader group."""
    return (
        name in CONTROL.tables or re.fullmatch(r"proj_[a-z_]+_g\d+", name) is not None
    )
