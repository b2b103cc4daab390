"""Telling a storage failure from any other error, for the error boundary."""

from __future__ import annotations


def is_database_error(error: BaseException) -> bool:
    """Whether an error came from the database or the event store (a lost
    connection, a full disk, a lock, a constraint), not from the ledger's
    own code. Imports the storage stack only when asked."""
    import sqlite3

    import psycopg
    from eventsourcing.persistence import PersistenceError
    from sqlalchemy.exc import SQLAlchemyError

    # A driver's own error can surface unwrapped (e.g. from a raw connection).
    return isinstance(
        error, PersistenceError | SQLAlchemyError | sqlite3.Error | psycopg.Error
    )
