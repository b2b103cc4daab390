"""The eventsourcing Application on the ledger's store: the persistence
module by URL (an SQLite file through the standard library's sqlite3, a
`postgresql+psycopg://` database through psycopg, anything else through
eventsourcing-sqlalchemy), the
orjson transcoder, the event rows, and bulk recording for many writes in one
transaction."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cached_property
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.application import (
    Application,
    ProcessingEvent,
    project_aggregate,
)
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import (
    StoredEvent,
    Transcoder,
)

from ledger.store import topics  # noqa: F401 - old event topics resolve
from ledger.store.damage import state_bytes
from ledger.store.errors import DEFAULT_LOCK_TIMEOUT, StoreFailed, store_errors
from ledger.store.snapshots import SealedSnapshotStore, new_seal
from ledger.store.sqlite import SQLITE_BUSY_SECONDS, SQLITE_PATH, sqlite_path
from ledger.store.transcoder import OrjsonTranscoder

if TYPE_CHECKING:
    from ledger.store.events import EventRows, Row
    from ledger.store.pg_database import Database as PgDatabase


def store_env(url: str, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> dict[str, str]:
    """The eventsourcing environment for a database URL: an SQLite file is
    opened by ledger/store/sqlite.py, a PostgreSQL database on psycopg by
    ledger/store/postgres.py (no SQLAlchemy on a single write), any other URL
    by eventsourcing-sqlalchemy."""
    path = sqlite_path(url)
    if path is not None:
        return {
            "PERSISTENCE_MODULE": "ledger.store.sqlite:Factory",
            SQLITE_PATH: path,
            SQLITE_BUSY_SECONDS: str(lock_timeout),
        }
    # not an SQLite file: only now the PostgreSQL store's modules are loaded
    from ledger.store.pg_database import connect_args
    from ledger.store.postgres import PG_LOCK_SECONDS, PG_URL

    if connect_args(url) is not None:
        return {
            "PERSISTENCE_MODULE": "ledger.store.postgres:Factory",
            PG_URL: url,
            PG_LOCK_SECONDS: str(lock_timeout),
        }
    return {"PERSISTENCE_MODULE": "eventsourcing_sqlalchemy", "SQLALCHEMY_URL": url}


class StoredApplication(Application):
    """An Application whose events are also readable as rows (by aggregate,
    by position, by topic) and which can save a whole batch of aggregates
    with one bulk insert (`save_batch`)."""

    def __init__(self, url: str, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> None:
        self.url = url
        self.lock_timeout = lock_timeout
        with store_errors():
            super().__init__(env=store_env(url, lock_timeout))
        datastore = getattr(self.recorder, "datastore", None)
        if datastore is not None:  # eventsourcing-sqlalchemy's engine (PostgreSQL)
            from ledger.store.locks import bound_lock_waits

            bound_lock_waits(datastore.engine, lock_timeout)

    def save(self, *objs: Any, **kwargs: Any) -> Any:
        """Application.save, with database errors translated (LedgerBusy,
        StoreFull, StoreFailed); a version clash stays an IntegrityError."""
        with store_errors():
            return super().save(*objs, **kwargs)

    def save_batch(self, *objs: Any) -> int:
        """Save many aggregates (and events of aggregates never built: a
        batch's request records) in ONE transaction with one bulk insert, as
        `save` would store them (the same rows, the same snapshots, the same
        IntegrityError on a version clash); the number of events stored.

        Application.save's steps, three left out: collecting each object's
        events through the library's ProcessingEvent.collect_events, which
        checks it against two runtime-checkable Protocols (~20 µs an
        aggregate, a tenth of an import's save); answering a Recording per
        event; and its notify hooks, which this application does not use."""
        processing_event: ProcessingEvent[Any] = ProcessingEvent()
        for obj in objs:
            if isinstance(obj, Aggregate):
                processing_event.events += obj.collect_events()
                processing_event.aggregates[obj.id] = obj
            else:
                processing_event.events.append(obj)
        to_stored = self.mapper.to_stored_event
        stored = [to_stored(event) for event in processing_event.events]
        with store_errors():
            if self.native_store:
                # its recorder inserts in bulk itself (no SQLAlchemy to load)
                self.recorder.insert_events(stored)
            else:
                self.event_rows.insert_many(stored)
            self._take_snapshots(processing_event)
        return len(stored)

    @cached_property
    def event_rows(self) -> EventRows:
        """The event table through SQLAlchemy Core (imported on first use:
        a single write never needs it)."""
        from ledger.store.events import EventRows
        from ledger.store.locks import bound_lock_waits

        rows = EventRows(self.url, self.recorder)
        if getattr(self.recorder, "datastore", None) is None:  # an engine of its own
            bound_lock_waits(rows.engine, self.lock_timeout)
        return rows

    @property
    def pg_database(self) -> PgDatabase | None:
        """The native PostgreSQL store's connection (ledger/store/postgres.py),
        on which a write also asks who it is and keeps users' keys; None for
        any other store."""
        if sqlite_path(self.url) is not None:
            return None  # an SQLite file (and its modules not even loaded)
        from ledger.store.pg_database import Database as PgDatabase

        database = getattr(self.factory, "database", None)
        return database if isinstance(database, PgDatabase) else None

    @property
    def native_store(self) -> bool:
        """Whether the recorder is one of the ledger's own (ledger/store/
        sqlite.py, postgres.py), not eventsourcing-sqlalchemy's (which maps
        its table for the ORM)."""
        return not hasattr(self.recorder, "events_record_cls")

    @property
    def has_logins(self) -> bool:
        """Whether the database authenticates who connects (PostgreSQL), so
        it can say who writes; an SQLite file cannot."""
        return self.url.startswith(("postgresql", "postgres"))

    def construct_transcoder(self) -> Transcoder:
        return OrjsonTranscoder()

    def construct_snapshot_store(self) -> Any:
        """Snapshots trusted only when they match their seal in the event log
        (ledger/store/snapshots.py)."""
        recorder = self.factory.aggregate_recorder(purpose="snapshots")
        return SealedSnapshotStore(self.mapper, recorder, self.events)

    def take_snapshot(
        self,
        aggregate_id: Any,
        version: int | None = None,
        projector_func: Any = project_aggregate,
    ) -> None:
        """Application.take_snapshot, then its seal appended to the event log.
        `save` calls it after its events were committed, in a transaction of
        its own: if the database refuses it (busy, full), the write itself
        still happened and must not be reported as failed, so the snapshot is
        skipped (a load then folds from the previous one; an unsealed snapshot
        is never trusted)."""
        try:
            with store_errors():
                super().take_snapshot(aggregate_id, version, projector_func)
                store = self.snapshots
                if not isinstance(store, SealedSnapshotStore) or version is None:
                    return
                stored = store.stored_snapshot(aggregate_id, version)
                self.events.put([*new_seal(stored).collect_events()])
        except StoreFailed:
            pass

    def first_versions(self, originator_ids: Iterable[UUID]) -> list[StoredEvent]:
        """Version 1 of each of these aggregates that is stored (a request
        record, a partner's enrollment), in few queries. The ledger's own
        recorders answer themselves: a bulk import then never loads
        SQLAlchemy (~0.2 s)."""
        ids = list(originator_ids)
        select = getattr(self.recorder, "select_first_versions", None)
        if select is None:
            return [row.stored() for row in self.event_rows.first_versions(ids)]
        return [
            StoredEvent(
                originator_id=n.originator_id,
                originator_version=n.originator_version,
                topic=n.topic,
                state=state_bytes(n.id, n.state),
            )
            for n in select(ids)
        ]

    def decode(self, row: Row) -> Any:
        """The domain event a stored row holds."""
        return self.mapper.to_domain_event(row.stored())
