"""The event log of a PostgreSQL ledger, as a report on caught-up
projections reads it (log_reads.py), on the psycopg connection of
pg_database.py."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ledger.store.log_reads import LogReads

if TYPE_CHECKING:
    from uuid import UUID

    from ledger.store.pg_database import Database


class PgLog(LogReads):
    """Reads of the event table, each a statement on its own (autocommit),
    as the login role (the read models' role is not the log's)."""

    mark = "%s"

    def __init__(self, database: Database) -> None:
        self.database = database

    def _one(self, query: str, params: tuple[object, ...] = ()) -> tuple | None:
        found = self.database.rows(query, params)
        return found[0] if found else None

    def _bound(self, originator_id: UUID) -> object:
        return originator_id  # a UUID column
