"""Many writes in one transaction: what `Ledger.batch()` keeps between saves.

Under a batch, a write does not save at once: its Partner aggregate (with the
new event pending) and its Request record stay here, later writes load the
in-memory aggregate, and `Ledger.flush()` saves everything pending in ONE
`save(...)` call, which is one transaction. A write that a rule rejects raises
before its event is triggered (check, then trigger exactly one event), so it
leaves the cached aggregate as it was.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from functools import lru_cache
from typing import Any
from uuid import UUID

from ledger.domain.partner import Partner, Request
from ledger.domain.partner import request_uuid as _request_uuid

request_uuid = lru_cache(maxsize=4 * 4096)(_request_uuid)

MAX_CACHED = 100


class Batch:
    """Aggregates and request records not yet saved, and a bounded cache of
    the partners this batch has loaded."""

    def __init__(self, max_cached: int = MAX_CACHED) -> None:
        self.max_cached = max_cached
        self.partners: OrderedDict[UUID, Partner] = OrderedDict()
        self.changed: dict[UUID, Partner] = {}
        self.requests: dict[UUID, Request] = {}
        self.stored: dict[UUID, Request] = {}
        self.absent: set[UUID] = set()
        self.has_policy = False
        self.policy_log: Any = None

    def remember_policy(self, log: Any) -> None:
        """The policy log as read once for this batch (until the next save)."""
        self.has_policy = True
        self.policy_log = log

    def cached(self, partner_id: UUID) -> Partner | None:
        found = self.partners.get(partner_id)
        if found is not None:
            self.partners.move_to_end(partner_id)
        return found

    def keep(self, partner: Partner) -> None:
        self.partners[partner.id] = partner
        self.partners.move_to_end(partner.id)

    def add(self, partner: Partner, request: Request | None) -> None:
        """A write's changes, saved at the next flush."""
        self.keep(partner)
        self.changed[partner.id] = partner
        if request is not None:
            self.requests[request.id] = request

    def pending(self) -> list[Any]:
        return [*self.changed.values(), *self.requests.values()]

    def saved(self) -> None:
        """Everything pending was saved: keep the cache, within its bound."""
        self.changed.clear()
        self.has_policy = False
        self.stored.update(self.requests)
        self.absent -= self.requests.keys()
        self.requests.clear()
        while len(self.partners) > self.max_cached:
            self.partners.popitem(last=False)

    def drop(self) -> None:
        """Forget everything: nothing pending is saved (dry run, or a failed save)."""
        self.partners.clear()
        self.changed.clear()
        self.requests.clear()
        self.stored.clear()
        self.absent.clear()
        self.has_policy = False

    def known(self, request_id: str) -> bool:
        """Whether a request id was already recorded (stored or pending)."""
        uuid = request_uuid(request_id)
        return uuid in self.requests or uuid in self.stored

    def pending_request(self, request_id: str) -> Request | None:
        """The record of a request id, pending or fetched by `prefetch`."""
        uuid = request_uuid(request_id)
        return self.requests.get(uuid) or self.stored.get(uuid)

    def surely_absent(self, request_id: str) -> bool:
        return request_uuid(request_id) in self.absent

    def prefetch(self, app: Any, request_ids: Iterable[str]) -> None:
        """Fetch in one query the records of those request ids that are
        already stored, so each write of the batch need not ask the store."""
        wanted = {request_uuid(r) for r in request_ids} - self.requests.keys()
        self.stored = {}
        self.absent = set(wanted)
        if not wanted:
            return
        import sqlalchemy as sa  # the storage stack, only when a batch runs

        record = app.recorder.events_record_cls
        ids = list(wanted)
        with app.recorder.transaction(commit=False) as session:
            for start in range(
                0, len(ids), 900
            ):  # within SQLite's bound-parameter limit
                # A request's record is its version 1: naming the whole unique key
                # keeps the planner on the index even before the table is analyzed.
                query = sa.select(
                    record.originator_id, record.topic, record.state
                ).where(
                    record.originator_id.in_(ids[start : start + 900]),
                    record.originator_version == 1,
                )
                for row in session.execute(query):
                    request = _request(app, *row)
                    self.stored[request.id] = request
        self.absent = wanted - self.stored.keys()


def _request(app: Any, originator_id: Any, topic: str, state: Any) -> Request:
    from eventsourcing.persistence import StoredEvent

    stored = StoredEvent(
        originator_id=_as_uuid(originator_id),
        originator_version=1,
        topic=topic,
        state=bytes(state),
    )
    return app.mapper.to_domain_event(stored).mutate(None)


def _as_uuid(value: Any) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))


def record(app: Any, processing_event: Any) -> list[Any]:
    """Store a batch's events as the library's recorder does (same table
    lock on PostgreSQL, same NOTIFY, IntegrityError on a clash), but with one
    SQLAlchemy Core executemany instead of one ORM object per event."""
    import sqlalchemy as sa
    from eventsourcing.persistence import Notification, Recording

    events = processing_event.events
    stored = [app.mapper.to_stored_event(event) for event in events]
    recorder = app.recorder
    table = recorder.events_record_cls.__table__
    rows = [
        {
            "originator_id": s.originator_id,
            "originator_version": s.originator_version,
            "topic": s.topic,
            "state": s.state,
        }
        for s in stored
    ]
    with recorder.transaction(commit=True) as session:
        recorder._lock_table(session)
        if session.bind.dialect.name == "postgresql":
            ids = _copy(session, table, rows)
        else:
            insert = sa.insert(table).returning(
                table.c.id, sort_by_parameter_order=True
            )
            ids = list(session.execute(insert, rows).scalars())
        recorder._notify_channel(session)
    return [
        Recording(
            event,
            Notification(
                id=n,
                originator_id=s.originator_id,
                originator_version=s.originator_version,
                topic=s.topic,
                state=s.state,
            ),
        )
        for event, s, n in zip(events, stored, ids)
    ]


def _copy(session: Any, table: Any, rows: list[dict[str, Any]]) -> list[int]:
    """PostgreSQL: COPY the rows in (the table is locked, so their ids are the
    last len(rows) values of its sequence)."""
    import psycopg
    from eventsourcing.persistence import IntegrityError

    columns = ("originator_id", "originator_version", "topic", "state")
    cursor = session.connection().connection.driver_connection.cursor()
    name = table.name if table.schema is None else f"{table.schema}.{table.name}"
    try:
        with cursor.copy(f"COPY {name} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([row[c] for c in columns])
    except psycopg.IntegrityError as error:
        raise IntegrityError(error) from error
    cursor.execute(f"SELECT currval(pg_get_serial_sequence('{name}', 'id'))")
    last = cursor.fetchone()[0]
    return list(range(last - len(rows) + 1, last + 1))
