"""The read models of a PostgreSQL ledger through psycopg alone, for a
report on caught-up projections: the live generations, their positions and
the report queries (reading.py, shared with SQLite's lite.py), on the
connection of ledger/store/pg_database.py. No SQLAlchemy is imported: its
start-up was most of a one-partner report's time.

Every transaction acts as the role SQLAlchemy's read-model engine acts as
(ledger/store/identity.py): on a ledger set up for a team it begins with
`SET LOCAL ROLE` to the reader group, which owns these tables. A database
error is psycopg's own, which reads as it did through SQLAlchemy
(ledger/store/errors.py, `_what_failed`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import psycopg

from projections.storage.reading import ReadStore

if TYPE_CHECKING:
    from ledger.store.pg_database import Database


class PgStore(ReadStore):
    """Reads of the read models on a psycopg connection; `begin`: the
    statements each transaction starts with (the reader group's role)."""

    mark = "%s"
    text_dates = False  # DATE columns, read as dates by psycopg
    gone = (psycopg.Error,)  # as SQLAlchemy's store (control.py) catches DBAPIError

    def __init__(self, database: Database, begin: list[Any]) -> None:
        self.database = database
        self.begin = begin

    @contextmanager
    def snapshot(self) -> Iterator[psycopg.Connection[Any]]:
        """One transaction (rolled back if it raises), as the read models'
        role."""
        conn = self.database.connection()
        with conn.transaction():
            for statement in self.begin:
                conn.execute(statement)
            yield conn
