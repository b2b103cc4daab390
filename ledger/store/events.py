"""The event table: every query that reads or writes stored events.

The rest of the ledger asks this module for events by aggregate, by position
(pages of notifications), by topic, or for the raw rows the hash chain covers,
and never sees a table, a column or a session. Everything here goes through
the recorder eventsourcing-sqlalchemy built for the application; the uses of
its internals are named and commented where they happen.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from eventsourcing.persistence import Notification, StoredEvent

from ledger.store.damage import state_bytes
from ledger.store.errors import store_errors

PAGE = 1000
# An event as a rebuild reads it: (position, aggregate id as the driver reads
# it, version, topic, state bytes).
Raw = tuple[int, Any, int, str, bytes]
SQLITE_MAX_PARAMETERS = 900  # below SQLite's bound-parameter limit


@dataclass(frozen=True)
class Row:
    """One stored event as the log holds it, with its global position."""

    position: int
    originator_id: UUID
    originator_version: int
    topic: str
    state: bytes

    def stored(self) -> StoredEvent:
        """As the library's StoredEvent; DamagedEvent naming the position if
        the state is not stored as bytes (edited by hand)."""
        return StoredEvent(
            originator_id=self.originator_id,
            originator_version=self.originator_version,
            topic=self.topic,
            state=state_bytes(self.position, self.state),
        )


def _state(value: Any) -> Any:
    """The state column as bytes (PostgreSQL answers a memoryview). Whatever
    else a database holds there (e.g. TEXT written by hand) is passed on as
    it is, for the audit to judge."""
    return bytes(value) if isinstance(value, memoryview) else value


def _uuid(value: Any) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))


def _stored_uuid(value: Any) -> UUID:
    """An aggregate id as a rebuild reads it: 16 bytes on SQLite (see
    UuidBytes), text on PostgreSQL."""
    return (
        UUID(bytes=bytes(value))
        if isinstance(value, (bytes, memoryview))
        else _uuid(value)
    )


class UuidBytes(sa.types.TypeDecorator[UUID]):
    """An aggregate id as its 16 bytes (how the event table keeps it on SQLite)."""

    impl = sa.LargeBinary(16)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        return value.bytes if isinstance(value, UUID) else value

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        return None if value is None else UUID(bytes=bytes(value))


def events_table(name: str, dialect: str = "sqlite") -> sa.Table:
    """The event table as eventsourcing-sqlalchemy creates it on SQLite (an
    aggregate id as 16 bytes) or on PostgreSQL (UUID, BIGINT positions)."""
    pg = dialect == "postgresql"
    number = sa.BigInteger if pg else sa.Integer
    return sa.Table(
        name,
        sa.MetaData(),
        sa.Column("id", number, primary_key=True),
        sa.Column("originator_id", sa.Uuid if pg else UuidBytes, nullable=False),
        sa.Column("originator_version", number, nullable=False),
        sa.Column("topic", sa.Text, nullable=False),
        sa.Column("state", sa.LargeBinary, nullable=False),
    )


class EventRows:
    """Reads and bulk writes of the application's event table."""

    def __init__(self, url: str, recorder: Any) -> None:
        self.recorder = recorder
        self.native = not hasattr(recorder, "events_record_cls")
        if self.native:
            # The native stores (ledger/store/sqlite.py, postgres.py): the
            # same table, described here for SQLAlchemy Core, on an engine of
            # our own.
            self.engine = sa.create_engine(url)
            self.table = events_table(recorder.table, self.engine.dialect.name)
        else:
            # eventsourcing-sqlalchemy keeps the mapped record class of the
            # event table on its recorder; its __table__ is the one schema we
            # query with SQLAlchemy Core (no ORM objects: reading stays cheap),
            # and its engine on the datastore: read models and the audit chain
            # live in the same database, so they share it.
            self.table = recorder.events_record_cls.__table__
            self.engine = recorder.datastore.engine

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def _columns(self) -> tuple[Any, ...]:
        c = self.table.c
        return (c.id, c.originator_id, c.originator_version, c.topic, c.state)

    def _read(self, query: Any) -> list[Row]:
        with store_errors(), self.engine.connect() as conn:
            return [
                Row(r[0], _uuid(r[1]), r[2], r[3], _state(r[4]))
                for r in conn.execute(query)
            ]

    # -- reading -----------------------------------------------------------------

    def of_aggregate(self, originator_id: UUID) -> list[Row]:
        """Every event of one aggregate, in version order: one query on the
        (originator_id, originator_version) index."""
        c = self.table.c
        query = (
            sa.select(*self._columns())
            .where(c.originator_id == originator_id)
            .order_by(c.originator_version)
        )
        return self._read(query)

    def exists(self, originator_id: UUID) -> bool:
        """Whether an aggregate has any stored event."""
        c = self.table.c
        query = sa.select(c.id).where(c.originator_id == originator_id).limit(1)
        with self.engine.connect() as conn:
            return conn.execute(query).first() is not None

    def with_topics(self, topics: Sequence[str]) -> list[Row]:
        """Every event stored under one of these topics, in position order."""
        c = self.table.c
        query = sa.select(*self._columns()).where(c.topic.in_(topics)).order_by(c.id)
        return self._read(query)

    def page(
        self, after: int, limit: int = PAGE, topics: Sequence[str] | None = None
    ) -> list[Row]:
        """The next `limit` events after a position (only these topics, if
        given), in position order."""
        c = self.table.c
        query = sa.select(*self._columns()).where(c.id > after)
        if topics is not None:
            query = query.where(c.topic.in_(topics))
        return self._read(query.order_by(c.id).limit(limit))

    def aggregates(
        self, topics: Sequence[str], upto: int, conn: sa.Connection, chunk: int = 5000
    ) -> Iterator[tuple[UUID, list[Raw]]]:
        """Every event stored under one of these topics up to a position,
        aggregate by aggregate: each aggregate's id and its events in version
        order, as the driver's rows (see Raw). One query, sorted by aggregate
        and version, read in chunks with the driver's own cursor (a
        server-side one on PostgreSQL), so that a rebuild folds one aggregate
        at a time and pays no per-row toll of SQLAlchemy. On `conn`: a reader
        that writes as it reads must do both on one connection (on SQLite, a
        write that spills to the file waits for every other connection's read
        to end). A state that is not bytes raises DamagedEvent naming its
        position."""
        key: Any = None
        events: list[Raw] = []
        for row in self._driver_rows(topics, upto, conn, chunk):
            position, originator, version, topic, state = row
            if originator != key:
                if events:
                    yield _stored_uuid(key), events
                key, events = originator, []
            if type(state) is not bytes:
                row = (
                    position,
                    originator,
                    version,
                    topic,
                    state_bytes(position, state),
                )
            events.append(row)
        if events:
            yield _stored_uuid(key), events

    def _driver_rows(
        self, topics: Sequence[str], upto: int, conn: sa.Connection, chunk: int
    ) -> Iterator[tuple[Any, ...]]:
        """The rows `aggregates` groups, straight from the driver.

        Both databases read the rows in table order and sort them (in
        bounded memory: SQLite's sorter and PostgreSQL's work_mem spill to
        temporary files): along the aggregate index every entry costs a
        random read of its row, to learn its topic, and half the log is
        request records no rebuild needs. At 1M events that is 1.3 s of
        SQLite's CPU against 2.3 s, 2.7 s of PostgreSQL's against 3.8 s."""
        driver = conn.connection.driver_connection
        name = self.table.name  # the recorder's, never user input
        if self.table.schema is not None:
            name = f'{self.table.schema}"."{name}'
        if conn.dialect.name == "postgresql":
            yield from self._pg_rows(driver, name, topics, upto, chunk)
            return
        marks = ", ".join("?" for _ in topics)
        cursor = driver.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(
                "SELECT id, originator_id, originator_version, topic, state "
                f'FROM "{name}" NOT INDEXED WHERE id <= ? AND topic IN ({marks}) '
                "ORDER BY originator_id, originator_version",
                (upto, *topics),
            )
            while rows := cursor.fetchmany(chunk):
                yield from rows
        finally:
            cursor.close()

    @staticmethod
    def _pg_rows(
        driver: Any, name: str, topics: Sequence[str], upto: int, chunk: int
    ) -> Iterator[tuple[Any, ...]]:
        """PostgreSQL: a server-side cursor, in binary, the aggregate id as
        text (a UUID is made once per aggregate, not once per row). A cursor
        is planned for its first tenth by default (the index); this one is
        read to its end."""
        driver.execute("SET LOCAL cursor_tuple_fraction = 1")
        with driver.cursor(name="ledger_aggregates", binary=True) as cursor:
            cursor.itersize = chunk
            cursor.execute(
                "SELECT id, originator_id::text AS aggregate, originator_version, "
                f'topic, state FROM "{name}" WHERE id <= %s AND topic = ANY(%s) '
                "ORDER BY originator_id, originator_version",
                (upto, list(topics)),
            )
            yield from cursor

    def count_upto(self, position: int) -> int:
        """How many stored events there are up to a position."""
        query = (
            sa.select(sa.func.count())
            .select_from(self.table)
            .where(self.table.c.id <= position)
        )
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def all(self, after: int | None = None, page: int = PAGE) -> Iterator[Row]:
        """Every event after a position (all of them by default), page by page."""
        position = -1 if after is None else after
        while True:
            rows = self.page(position, page)
            yield from rows
            if len(rows) < page:
                return
            position = rows[-1].position

    def notifications(
        self, after: int, limit: int = PAGE, topics: Sequence[str] | None = None
    ) -> list[Notification]:
        """A page of events as the library's notifications (what projections
        track their position by)."""
        return [
            Notification(
                id=r.position,
                originator_id=r.originator_id,
                originator_version=r.originator_version,
                topic=r.topic,
                state=state_bytes(r.position, r.state),
            )
            for r in self.page(after, limit, topics)
        ]

    def head(self) -> int:
        """The position of the last stored event (0 for an empty log)."""
        return self.recorder.max_notification_id() or 0

    def subscribe(self, after: int) -> Any:
        """The recorder's subscription to events after a position (PostgreSQL
        LISTEN/NOTIFY); NotImplementedError where the database cannot push."""
        return self.recorder.subscribe(gt=after)

    def count_after(self, position: int) -> int:
        """How many stored events come after a position."""
        query = (
            sa.select(sa.func.count())
            .select_from(self.table)
            .where(self.table.c.id > position)
        )
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def first_versions(self, originator_ids: Iterable[UUID]) -> list[Row]:
        """Version 1 of each of these aggregates that is stored (request
        records are single-event aggregates), in few queries. Naming the whole
        unique key keeps the planner on the index even on an unanalyzed table."""
        ids = list(originator_ids)
        c = self.table.c
        if self.dialect == "postgresql":
            # one array parameter: an IN list of thousands of parameters is
            # compiled anew for each query (3x the time of the query itself)
            from sqlalchemy.dialects.postgresql import ARRAY

            wanted = sa.bindparam("ids", ids, type_=ARRAY(sa.Uuid))
            return self._read(
                sa.select(*self._columns()).where(
                    c.originator_id == sa.any_(wanted), c.originator_version == 1
                )
            )
        found: list[Row] = []
        for start in range(0, len(ids), SQLITE_MAX_PARAMETERS):
            chunk = ids[start : start + SQLITE_MAX_PARAMETERS]
            query = sa.select(*self._columns()).where(
                c.originator_id.in_(chunk), c.originator_version == 1
            )
            found += self._read(query)
        return found

    # -- writing -----------------------------------------------------------------

    def insert_many(self, stored: list[StoredEvent]) -> list[int]:
        """Store many events in ONE transaction, as the library's recorder
        does (the same table lock on PostgreSQL, the same NOTIFY, and the same
        IntegrityError on a (originator_id, version) clash), but with one bulk
        statement instead of one ORM object per event; returns their positions
        in order."""
        if self.native:
            return list(self.recorder.insert_events(stored))
        recorder = self.recorder
        # The recorder's transaction translates database errors into
        # eventsourcing's (IntegrityError on a clash), as for its own writes.
        with store_errors(), recorder.transaction(commit=True) as session:
            # The recorder's own write protocol, kept identical: its table
            # lock (serialises writers on PostgreSQL so positions commit in
            # order) and its NOTIFY for `projections follow`. Both are private
            # methods of eventsourcing-sqlalchemy's recorder.
            recorder._lock_table(session)
            if self.dialect == "postgresql":
                ids = self._copy(session, stored)
            else:
                rows = [
                    {
                        "originator_id": s.originator_id,
                        "originator_version": s.originator_version,
                        "topic": s.topic,
                        "state": s.state,
                    }
                    for s in stored
                ]
                insert = sa.insert(self.table).returning(
                    self.table.c.id, sort_by_parameter_order=True
                )
                ids = list(session.execute(insert, rows).scalars())
            recorder._notify_channel(session)
        return ids

    def _copy(self, session: Any, stored: list[StoredEvent]) -> list[int]:
        """PostgreSQL: COPY the rows in. The table is locked, so their ids are
        the last len(rows) values of its sequence."""
        import psycopg
        from eventsourcing.persistence import IntegrityError

        columns = ("originator_id", "originator_version", "topic", "state")
        cursor = session.connection().connection.driver_connection.cursor()
        table = self.table
        name = table.name if table.schema is None else f"{table.schema}.{table.name}"
        try:
            with cursor.copy(f"COPY {name} ({', '.join(columns)}) FROM STDIN") as copy:
                for s in stored:
                    copy.write_row(
                        (s.originator_id, s.originator_version, s.topic, s.state)
                    )
        except psycopg.IntegrityError as error:
            raise IntegrityError(error) from error
        cursor.execute(f"SELECT currval(pg_get_serial_sequence('{name}', 'id'))")
        last = cursor.fetchone()[0]
        return list(range(last - len(stored) + 1, last + 1))
