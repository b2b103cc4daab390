"""What a report asks of the event log while its projections are caught up:
its head and whether an aggregate has events. Plain SQL on a driver's own
connection (sqlite_log.py on SQLite, pg_log.py on PostgreSQL): neither
SQLAlchemy nor eventsourcing is imported."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from uuid import UUID

# The Ledger application's event table (ledger/store/sqlite.py and
# postgres.py name each table after its application;
# tests/test_lite_projections.py checks it).
EVENTS_TABLE = "ledger_events"


class LogReads:
    """The head and existence reads; a driver gives `_one` (one row of a
    statement, or None), its placeholder and how an aggregate id is bound."""

    table = EVENTS_TABLE
    mark = "?"

    def _one(self, query: str, params: tuple[object, ...] = ()) -> tuple | None:
        raise NotImplementedError

    def _bound(self, originator_id: UUID) -> object:
        """An aggregate id as the driver binds it (SQLite keeps 16 bytes)."""
        return originator_id.bytes

    def head(self) -> int:
        """The position of the last stored event (0 for an empty log)."""
        found = self._one(f"SELECT max(id) FROM {self.table}")
        return int(found[0] or 0) if found else 0

    def exists(self, originator_id: UUID) -> bool:
        """Whether an aggregate has any stored event."""
        query = f"SELECT 1 FROM {self.table} WHERE originator_id = {self.mark} LIMIT 1"
        return self._one(query, (self._bound(originator_id),)) is not None
