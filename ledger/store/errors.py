"""Storage failures, translated at the store boundary into ledger errors.

Whatever the database raises (through eventsourcing, SQLAlchemy or the driver
itself, e.g. psycopg's COPY) comes out as one of these, each a LedgerError
(exit 1 at the CLI) with a message that says what to do:

- LedgerBusy: a lock was held longer than the ledger's lock timeout (SQLite's
  busy timeout, PostgreSQL's lock_timeout, a deadlock): try again;
- StoreFull: the database ran out of space (SQLite "disk is full",
  PostgreSQL DiskFull and its other "insufficient resources" errors);
- StoreFailed: any other database error (a lost connection, ...).

An (originator, version) clash is not translated here: the application turns
it into a Conflict (rule concurrency) itself.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from ledger.domain.errors import LedgerError

# The lock timeout a connection gets unless told otherwise (seconds).
DEFAULT_LOCK_TIMEOUT = 10.0


class StoreFailed(LedgerError):
    rule = "database"
    code = "database-error"


class LedgerBusy(StoreFailed):
    code = "busy"


class StoreFull(StoreFailed):
    code = "disk-full"


def is_database_error(error: BaseException) -> bool:
    """Whether an error came from the database or the event store (a lost
    connection, a full disk, a lock, a constraint), not from the ledger's
    own code. A library not imported yet raised nothing: it is not imported
    for the question (a write on the native stores never loads SQLAlchemy)."""
    from eventsourcing.persistence import PersistenceError

    kinds: list[type] = [PersistenceError]
    # A driver's own error can surface unwrapped (e.g. from a raw connection).
    for module, name in (
        ("sqlalchemy.exc", "SQLAlchemyError"),
        ("sqlite3", "Error"),
        ("psycopg", "Error"),
    ):
        loaded = sys.modules.get(module)
        if loaded is not None:
            kinds.append(getattr(loaded, name))
    return isinstance(error, tuple(kinds))


def _causes(error: BaseException) -> Iterator[BaseException]:
    """The error, what it wraps (SQLAlchemy's `.orig`) and its causes."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [error]
    while todo:
        current = todo.pop(0)
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        orig = getattr(current, "orig", None)
        todo += [
            orig if isinstance(orig, BaseException) else None,
            current.__cause__,
            current.__context__,
        ]
        todo += [a for a in current.args if isinstance(a, BaseException)]


BUSY_SQLSTATES = {"55P03", "40P01", "57014"}  # lock timeout, deadlock, canceled
BUSY_TEXTS = ("database is locked", "database table is locked", "lock timeout")


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0][:300] if text else type(error).__name__


def _what_failed(error: BaseException) -> str:
    """The first line of a database error as the ledger has always shown it:
    in SQLAlchemy's words, `(psycopg.errors.Name) message`, also for a
    driver error that the native PostgreSQL store raised without SQLAlchemy."""
    causes = list(_causes(error))
    if not any(type(c).__module__.startswith("sqlalchemy") for c in causes):
        for cause in causes:
            kind = type(cause)
            if kind.__module__.split(".")[0] == "psycopg":
                said = f"({kind.__module__}.{kind.__name__}) {_first_line(cause)}"
                return said[:300]
    return _first_line(error)


def translated(error: BaseException) -> StoreFailed:
    """The ledger error for a database error."""
    if isinstance(error, StoreFailed):
        return error
    for cause in _causes(error):
        state = getattr(cause, "sqlstate", None) or ""
        text = str(cause).lower()
        if state in BUSY_SQLSTATES or any(t in text for t in BUSY_TEXTS):
            return LedgerBusy(
                "the ledger is busy: another write held its lock longer than the "
                "lock timeout (--lock-timeout / LEDGER_LOCK_TIMEOUT); nothing of "
                "this write was recorded, try again"
            )
        if state.startswith("53") or "disk is full" in text or "disk full" in text:
            return StoreFull(
                "the ledger database is full (no space left for this write: "
                f"{_first_line(cause)}); nothing of this write was recorded: free "
                "space, then run it again"
            )
    return StoreFailed(f"the ledger database failed: {_what_failed(error)}")


class _Worded:
    """Marks an sqlite3 error worded as SQLAlchemy words it."""


_WORDED: dict[type, type] = {}


@contextmanager
def worded_as_sqlalchemy() -> Iterator[None]:
    """sqlite3 errors raised inside, as SQLAlchemy raised them where this
    code used to go through it (the read models, pages of the event log):
    an error of the same class name (a subclass of the driver's), whose
    message reads `(sqlite3.OperationalError) database is locked`, so every
    message built from it stays as it was."""
    import sqlite3

    try:
        yield
    except sqlite3.Error as error:
        if isinstance(error, _Worded):
            raise
        kind = type(error)
        if kind not in _WORDED:
            _WORDED[kind] = type(kind.__name__, (kind, _Worded), {})
        worded = _WORDED[kind](f"({kind.__module__}.{kind.__name__}) {error}")
        raise worded from error


@contextmanager
def store_errors() -> Iterator[None]:
    """Translate any database error raised inside into a StoreFailed; an
    eventsourcing IntegrityError (a version clash) passes as it is, for the
    application to answer as a Conflict."""
    from eventsourcing.persistence import IntegrityError

    try:
        yield
    except IntegrityError:
        raise
    except StoreFailed:
        raise
    except Exception as error:
        if not is_database_error(error):
            raise
        raise translated(error) from error
