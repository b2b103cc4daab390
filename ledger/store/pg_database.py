"""One psycopg (v3) connection to a PostgreSQL ledger, opened from the same
SQLAlchemy URL the rest of the ledger takes, for the native store
(ledger/store/postgres.py), the team's identity and the users' keys: a write
imports neither SQLAlchemy nor its ORM, and makes one connection.

The URL is read as SQLAlchemy reads it for its psycopg dialect: user,
password, host, port and database, and every query parameter passed on to
the driver as a connection parameter (`?options=-csearch_path%3Dschema`).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote

if TYPE_CHECKING:
    import psycopg
    from eventsourcing.persistence import PersistenceError

# SQLAlchemy's URL pattern (sqlalchemy/engine/url.py `_parse_url`), for the
# one driver the native store speaks.
_URL = re.compile(
    r"""
    postgresql\+psycopg://
    (?:
        (?P<username>[^:/]*)
        (?::(?P<password>[^@]*))?
    @)?
    (?:
        (?:
            \[(?P<ipv6host>[^/\?]+)\] |
            (?P<ipv4host>[^/:\?]+)
        )?
        (?::(?P<port>[^/\?]*))?
    )?
    (?:/(?P<database>[^\?]*))?
    (?:\?(?P<query>.*))?
    $
    """,
    re.X,
)


def connect_args(url: str) -> dict[str, Any] | None:
    """The psycopg connection parameters of a `postgresql+psycopg://` URL,
    or None for any URL the native store leaves to SQLAlchemy (another
    driver, several hosts, a query parameter given twice)."""
    found = _URL.match(url)
    if found is None:
        return None
    parts = found.groupdict()
    host = parts["ipv6host"] or parts["ipv4host"]
    if host is not None and "," in host:
        return None
    args: dict[str, Any] = {}
    if parts["username"]:
        args["user"] = unquote(parts["username"])
    if parts["password"]:
        args["password"] = unquote(parts["password"])
    if host:
        args["host"] = host
    if parts["port"]:
        if not parts["port"].isdigit():
            return None
        args["port"] = int(parts["port"])
    if parts["database"]:
        args["dbname"] = parts["database"]
    query = parse_qsl(parts["query"] or "")
    if len({name for name, _ in query}) != len(query):
        return None
    args.update(query)
    return args


# psycopg's error classes -> eventsourcing's, as eventsourcing-sqlalchemy
# translates SQLAlchemy's (the driver's error kept as the cause), most
# specific first.
_ERRORS = (
    "IntegrityError",
    "OperationalError",
    "DataError",
    "ProgrammingError",
    "InternalError",
    "NotSupportedError",
    "InterfaceError",
    "DatabaseError",
)


def persistence_error(error: BaseException) -> PersistenceError:
    """eventsourcing's error for a psycopg error (its class or a parent's).
    eventsourcing is imported only then: a report on caught-up read models
    connects through this module without loading it (projections/reports.py)."""
    from eventsourcing import persistence

    names = {cls.__name__ for cls in type(error).__mro__}
    for name in _ERRORS:
        if name in names:
            return getattr(persistence, name)(error)  # type: ignore[no-any-return]
    return persistence.PersistenceError(error)


class Database:
    """A psycopg connection in autocommit mode, opened on first use, with the
    ledger's lock timeout; transactions are explicit. One per thread: a
    thread that reads (`projections follow`) never runs inside another
    thread's open write transaction (a command is one thread: one connection)."""

    def __init__(self, args: dict[str, Any], lock_seconds: float) -> None:
        self.args = args
        self.lock_millis = max(1, round(lock_seconds * 1000))
        self._local = threading.local()
        self._opened: list[psycopg.Connection[Any]] = []
        self._lock = threading.Lock()

    def connect(self) -> psycopg.Connection[Any]:
        """A new connection with the lock timeout set (the subscription's
        listener opens its own)."""
        import psycopg

        try:
            conn = psycopg.connect(autocommit=True, **self.args)
            conn.execute(f"SET lock_timeout = {self.lock_millis}")
        except psycopg.Error as error:
            raise persistence_error(error) from error
        return conn

    def connection(self) -> psycopg.Connection[Any]:
        """This thread's connection."""
        conn: psycopg.Connection[Any] | None = getattr(self._local, "conn", None)
        if conn is None or conn.closed:
            conn = self._local.conn = self.connect()
            with self._lock:
                self._opened.append(conn)
        return conn

    @contextmanager
    def transaction(self) -> Iterator[psycopg.Cursor[Any]]:
        """BEGIN ... COMMIT (ROLLBACK on any error); psycopg's errors come
        out as eventsourcing's persistence errors."""
        import psycopg

        conn = self.connection()
        try:
            with conn.transaction(), conn.cursor() as cursor:
                yield cursor
        except psycopg.Error as error:
            raise persistence_error(error) from error

    def rows(self, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        """The rows of one statement, run on its own (autocommit)."""
        import psycopg

        try:
            with self.connection().cursor() as cursor:
                cursor.execute(sql, params)
                return cursor.fetchall() if cursor.description is not None else []
        except psycopg.Error as error:
            raise persistence_error(error) from error

    def close(self) -> None:
        with self._lock:
            opened, self._opened = self._opened, []
        for conn in opened:
            conn.close()
