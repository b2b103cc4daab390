"""How long a write waits behind another one's lock: bounded, the same on
every connection of the ledger's engine.

SQLite: the busy timeout (`PRAGMA busy_timeout`), how long a connection
retries while another holds the write lock. PostgreSQL: `lock_timeout`, how
long a statement waits for a lock (the event table's, a read model's row).
Past the bound the database raises, and the store boundary answers
LedgerBusy: "the ledger is busy, try again" (exit 1).

This module bounds SQLAlchemy's engines (reports, audits, projections); the
native stores that writes go through set the same bound on their own
connections (ledger/store/sqlite.py, ledger/store/pg_database.py)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa


def bound_lock_waits(engine: sa.Engine, seconds: float) -> None:
    """Set the lock timeout on every connection the engine opens from now
    on, and close the ones it already pooled (opened before, unbounded)."""
    millis = max(1, round(seconds * 1000))
    dialect = engine.dialect.name

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            if dialect == "sqlite":
                cursor.execute(f"PRAGMA busy_timeout = {millis}")
            elif dialect == "postgresql":
                cursor.execute(f"SET lock_timeout = {millis}")
        finally:
            cursor.close()
        if dialect == "postgresql":
            dbapi_connection.commit()  # a SET outside any transaction of the ledger's

    sa.event.listen(engine, "connect", on_connect)
    engine.dispose()
