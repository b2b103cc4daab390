"""Snapshots the ledger can trust: each one sealed in the event log.

A snapshot lives outside the hash chain (table ledger_snapshots), so an edit
there would go unseen. When the ledger takes a snapshot it also appends a
seal to the event log: the sha256 of the snapshot's stored bytes, as the
event of a small aggregate of its own (`uuid5("snapshot:<aggregate>:<version>")`).
The seal is covered by the chain and by every digest a user keeps.

Loading trusts a snapshot only if its bytes match its seal; any other (edited,
inserted by hand, or written before seals existed) is passed over and the
aggregate is folded from its events, so a snapshot can't change a decision.
`audit verify` names every snapshot whose bytes don't match its seal.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import EventStore, StoredEvent

NAMESPACE = uuid5(NAMESPACE_URL, "benefits-ledger/snapshot-seals")


def seal_uuid(originator_id: UUID | str, version: int) -> UUID:
    return uuid5(NAMESPACE, f"snapshot:{originator_id}:{version}")


def fingerprint(stored: StoredEvent) -> str:
    """The sha256 of a stored snapshot: its topic and its state bytes."""
    digest = hashlib.sha256(stored.topic.encode() + b"\0")
    digest.update(bytes(stored.state))
    return digest.hexdigest()


class SnapshotSeal(Aggregate):
    """The seal of one snapshot (one event: created)."""

    class Sealed(Aggregate.Created):
        of_aggregate: str
        version: int
        sha256: str

    def __init__(self, of_aggregate: str, version: int, sha256: str) -> None:
        self.of_aggregate = of_aggregate
        self.version = version
        self.sha256 = sha256


def new_seal(stored: StoredEvent) -> SnapshotSeal:
    return SnapshotSeal._create(
        SnapshotSeal.Sealed,
        id=seal_uuid(stored.originator_id, stored.originator_version),
        of_aggregate=str(stored.originator_id),
        version=stored.originator_version,
        sha256=fingerprint(stored),
    )


class SealedSnapshotStore(EventStore):
    """The snapshot store, answering only snapshots that match their seal."""

    def __init__(self, mapper: Any, recorder: Any, events: EventStore) -> None:
        super().__init__(mapper=mapper, recorder=recorder)
        self.events = events

    def get(
        self,
        originator_id: Any,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> Iterator[Any]:
        stored = self.recorder.select_events(
            originator_id=originator_id, gt=gt, lte=lte, desc=desc
        )
        given = 0
        for snapshot in stored:
            if limit is not None and given >= limit:
                return
            if self.sealed(snapshot):
                given += 1
                yield self.mapper.to_domain_event(snapshot)

    def sealed(self, snapshot: StoredEvent) -> bool:
        """Whether a stored snapshot's bytes are those its seal records."""
        return self.seal_of(snapshot) == fingerprint(snapshot)

    def seal_of(self, snapshot: StoredEvent) -> str | None:
        """The sha256 the event log records for a snapshot, if any."""
        found = self.events.recorder.select_events(
            seal_uuid(snapshot.originator_id, snapshot.originator_version), limit=1
        )
        return self.recorded_sha256(found[0]) if found else None

    def recorded_sha256(self, stored_seal: StoredEvent) -> str | None:
        """The sha256 a stored seal records."""
        return getattr(self.mapper.to_domain_event(stored_seal), "sha256", None)

    def stored_snapshot(self, originator_id: UUID, version: int) -> StoredEvent:
        """The snapshot as stored (its bytes, for the seal)."""
        (found,) = self.recorder.select_events(
            originator_id=originator_id, gt=version - 1, lte=version
        )
        return found


def stored_snapshots(engine: Any, page: int = 500) -> Iterator[list[StoredEvent]]:
    """Every stored snapshot, by aggregate and version, `page` at a time
    (each page read after the last one's key: no page costs more than the
    one before)."""
    import sqlalchemy as sa

    table = sa.table(
        "ledger_snapshots",
        sa.column("originator_id"),
        sa.column("originator_version"),
        sa.column("topic"),
        sa.column("state"),
    )
    if not sa.inspect(engine).has_table("ledger_snapshots"):
        return
    key = sa.tuple_(table.c.originator_id, table.c.originator_version)
    after: tuple[Any, int] | None = None
    while True:
        query = sa.select(table).order_by(*key.clauses).limit(page)
        if after is not None:
            query = query.where(key > sa.tuple_(*map(sa.literal, after)))
        with engine.connect() as conn:
            rows = conn.execute(query).all()
        if rows:
            yield [_snapshot(row) for row in rows]
        if len(rows) < page:
            return
        after = (rows[-1][0], rows[-1][1])


def _snapshot(row: Any) -> StoredEvent:
    originator = row[0]
    if not isinstance(originator, UUID):
        originator = UUID(bytes=bytes(originator))
    return StoredEvent(originator, row[1], row[2], bytes(row[3]))


def forged_snapshots(app: Any) -> list[tuple[UUID, int, str]]:
    """(aggregate, version, why) of every snapshot that does not match its
    seal in the event log (the seals of a page of snapshots read at once)."""
    store = app.snapshots
    if not isinstance(store, SealedSnapshotStore):
        return []
    found = []
    for snapshots in stored_snapshots(app.event_rows.engine):
        ids = [seal_uuid(s.originator_id, s.originator_version) for s in snapshots]
        seals = {
            stored.originator_id: store.recorded_sha256(stored)
            for stored in app.first_versions(ids)
        }
        for snapshot, seal_id in zip(snapshots, ids):
            seal = seals.get(seal_id)
            if seal is None:
                continue  # never trusted when loading (e.g. taken before seals)
            if seal != fingerprint(snapshot):
                why = "its bytes differ from the seal the event log records (edited)"
                originator = UUID(str(snapshot.originator_id))
                found.append((originator, snapshot.originator_version, why))
    return found
