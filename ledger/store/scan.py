"""Reads of the whole event log for the audit walk, straight from the driver.

The audit chain hashes every stored row: building a Row, a UUID and a
SQLAlchemy result row for each costs more than the hash. These readers give
plain tuples, page by page (each page its own short query, as
EventRows.all: writers are never held up for the length of a walk), with
the aggregate id as the text `str(UUID)` gives, the form the chain hashes:

    (position, originator id text, version, topic, state)

The values are the driver's, as EventRows reads them (a state not stored as
bytes is passed on as it is, for the audit to judge); an aggregate id
SQLite holds as anything but 16 bytes fails as it fails there.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID

from ledger.store.errors import store_errors
from ledger.store.events import EventRows

Page = list[tuple[int, str, int, Any, Any]]


def originator_text(value: Any) -> str:
    """str(UUID) of an aggregate id as SQLite stores it (16 bytes)."""
    if type(value) is bytes and len(value) == 16:
        h = value.hex()
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
    return str(value if isinstance(value, UUID) else UUID(bytes=bytes(value)))


class LogScan:
    def __init__(self, rows: EventRows) -> None:
        self.engine = rows.engine
        self.postgres = rows.dialect == "postgresql"
        table = rows.table
        self.name = (
            table.name if table.schema is None else f"{table.schema}.{table.name}"
        )
        # PostgreSQL hashes the id's text itself; SQLite's 16 bytes are
        # formatted here (originator_text).
        oid = "originator_id::text AS oid" if self.postgres else "originator_id"
        mark = "%s" if self.postgres else "?"
        key = "%s::uuid" if self.postgres else "?"
        # The position breaks ties: a table whose unique index was dropped
        # may hold one version twice, and no row may fall between two pages.
        order = "ORDER BY originator_id, originator_version, id"
        self.page_sql = (
            f"SELECT id, {oid}, originator_version, topic, state FROM {self.name} "
            f"WHERE id > {mark} ORDER BY id LIMIT {mark}"
        )
        self.first_versions_sql = (
            f"SELECT {oid}, originator_version, id FROM {self.name} "
            f"WHERE id <= {mark} {order} LIMIT {mark}"
        )
        self.versions_sql = (
            f"SELECT {oid}, originator_version, id FROM {self.name} "
            f"WHERE (originator_id, originator_version, id) > ({key}, {mark}, {mark}) "
            f"AND id <= {mark} {order} LIMIT {mark}"
        )
        # PostgreSQL ranks each aggregate's events by position on the server
        # (one sort, no row sent but those found); SQLite's rows are read
        # along its covering index and compared by the walk (walk.irregular).
        self.out_of_order_sql = (
            "SELECT DISTINCT oid FROM (SELECT originator_id::text AS oid, "
            "originator_version AS version, row_number() OVER "
            "(PARTITION BY originator_id ORDER BY id) AS rank "
            f"FROM {self.name} WHERE id <= %s) AS ranked WHERE version <> rank"
        )
        self.last_version_sql = (
            f"SELECT max(originator_version) FROM {self.name} "
            f"WHERE originator_id = {key} AND id <= {mark}"
        )

    @contextmanager
    def _cursor(self) -> Iterator[Any]:
        """A cursor of the driver on a pooled connection, for one query
        (binary results on PostgreSQL: bytea without hex)."""
        with store_errors(), self.engine.connect() as conn:
            driver = conn.connection.driver_connection
            assert driver is not None
            cursor = driver.cursor(binary=True) if self.postgres else driver.cursor()
            try:
                yield cursor
            finally:
                cursor.close()

    def _fetch(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        with self._cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    def pages(self, after: int, page: int) -> Iterator[Page]:
        """Every event after a position, in order, `page` rows at a time."""
        while True:
            found = self._fetch(self.page_sql, (after, page))
            if not self.postgres:
                found = [(p, originator_text(o), v, t, s) for p, o, v, t, s in found]
            if found:
                yield found
            if len(found) < page:
                return
            after = found[-1][0]

    def versions(self, upto: int, page: int) -> Iterator[list[tuple[Any, int, int]]]:
        """(aggregate id, version, position) of every event up to a position,
        aggregate by aggregate, each in version order (along the unique
        index), `page` rows at a time. The aggregate id is the driver's value
        on SQLite (16 bytes: originator_text makes it the walk's text)."""
        found = self._fetch(self.first_versions_sql, (upto, page))
        while found:
            yield found
            if len(found) < page:
                return
            found = self._fetch(self.versions_sql, (*found[-1], upto, page))

    def out_of_order(self, upto: int) -> list[str] | None:
        """PostgreSQL: the aggregates whose events up to a position are not
        versions 1, 2, ..., n in order of position (their version is not
        their rank by position). None elsewhere: read them with `versions`."""
        if not self.postgres:
            return None
        return [
            originator for (originator,) in self._fetch(self.out_of_order_sql, (upto,))
        ]

    def last_version(self, originator: str, upto: int) -> int:
        """The highest version of an aggregate (by its text) stored up to a
        position; 0 if none."""
        key: Any = originator if self.postgres else UUID(originator).bytes
        (row,) = self._fetch(self.last_version_sql, (key, upto))
        return int(row[0] or 0)
