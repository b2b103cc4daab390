"""The projections' own storage: their tables (one set per generation), the
control tables (positions and live generations), the rows kept in memory
while a page of events is applied, and the report queries. The only part of
projections/ that knows SQL.

Two stores over the same tables: control.Store through SQLAlchemy (every
database; rebuilds), and on an SQLite file lite.LiteStore through sqlite3
(catch-up and reports, without SQLAlchemy's start-up). Importing this
package loads neither; the names below are SQLAlchemy's, loaded on first use.
"""

from __future__ import annotations

from typing import Any

__all__ = ["DATA_ERRORS", "DatabaseError", "tables_of"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from projections.storage import alchemy

        return getattr(alchemy, name)
    raise AttributeError(f"module 'projections.storage' has no attribute {name!r}")
