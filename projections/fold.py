"""Rebuild by fold: fill new generations from the log in one pass.

Instead of paging every stored event in log order through the tables, a
rebuild reads only the events of the types the projections handle,
aggregate by aggregate (one partner at a time), folds each partner's events
through the same handlers as catch-up (handlers.py) into rows held in
memory, and writes the rows of many partners with one bulk insert per table
(storage/bulk.py). Every projection's rows belong to one partner, so folding
partners apart gives the rows that applying the log in order gives.

Memory holds one partner's events and rows, plus the rows waiting for their
bulk insert (at most `flush_rows`), whatever the size of the log.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import itemgetter
from typing import Any

import sqlalchemy as sa
from eventsourcing.persistence import Tracking

from ledger.domain.partner import Enrolled, PartnerEvent
from ledger.store.decoding import EventStates
from ledger.store.topics import topics_of
from projections import handlers
from projections.storage import tables_of
from projections.storage.bulk import insert_rows
from projections.storage.control import Generation, Store
from projections.storage.rows import ViewError

History = Callable[[Any, int], list[Any]]
Progress = Callable[[int], Any]
Key = tuple[Any, ...]
KeyOf = Callable[[dict[str, Any]], Key]
FLUSH_ROWS = 20_000


def event_classes() -> list[type]:
    """Every class of event a partner records."""
    found: list[type] = [Enrolled]
    pending = [PartnerEvent]
    while pending:
        cls = pending.pop()
        for sub in cls.__subclasses__():
            if sub not in found:
                found.append(sub)
                pending.append(sub)
    return found


def needed_topics(names: tuple[str, ...]) -> list[str]:
    """The stored topics of every event type one of these projections handles."""
    classes = [handlers.PROJECTIONS[name] for name in names]
    return sorted(
        topic
        for event_class in event_classes()
        if any(handlers.handles(c, event_class) for c in classes)
        for topic in topics_of(event_class)
    )


class FoldView(handlers.View):
    """The rows of one partner's fold, all in memory: the generation is
    fresh (its tables are empty), so a row not here does not exist. The
    handlers read and change them through View's methods, which here work
    on plain dicts by key (no store, nothing to track for a write-back):
    the fold takes every row for the bulk insert once the partner is done.
    Every event is that partner's, whose enrollment (the first event) named
    it."""

    def __init__(
        self, keys: dict[str, KeyOf], partner: str | None, history: History
    ) -> None:
        self.conn = None
        self.history = history
        self.partner_id = partner
        self.key_of = keys
        self.tables: dict[str, dict[Key, dict[str, Any]]] = {t: {} for t in keys}

    def partner(self, event: Any) -> str:
        if self.partner_id is None:
            return super().partner(event)
        return self.partner_id

    def get(self, table: str, **key: Any) -> dict[str, Any] | None:
        return self.tables[table].get(self.key_of[table](key))

    def insert(self, table: str, **values: Any) -> None:
        rows, key = self.tables[table], self.key_of[table](values)
        if key in rows:
            raise ViewError(f"{table} already has a row {key}")
        rows[key] = values

    def update(self, table: str, where: dict[str, Any], **values: Any) -> bool:
        rows, key = self.tables[table], self.key_of[table](where)
        row = rows.get(key)
        if row is None:
            return False
        rows[key] = {**row, **values}
        return True

    # View's own, each without its second call (handlers run them for most
    # events: a rebuild spends its time here).
    def update_one(self, table: str, where: dict[str, Any], **values: Any) -> None:
        rows, key = self.tables[table], self.key_of[table](where)
        row = rows.get(key)
        if row is None:
            raise ViewError(f"{table} has no row {where}")
        rows[key] = {**row, **values}

    def value(self, table: str, column: str, **where: Any) -> Any:
        row = self.tables[table].get(self.key_of[table](where))
        return None if row is None else row[column]

    def delete(self, table: str, **where: Any) -> None:
        self.tables[table].pop(self.key_of[table](where), None)

    def drop_partner(self, partner: str) -> None:
        for rows in self.tables.values():
            for key in [k for k, row in rows.items() if row["partner"] == partner]:
                del rows[key]

    def drain(self) -> dict[str, list[dict[str, Any]]]:
        """Every row, by table, taken out of the view."""
        drained = {table: list(rows.values()) for table, rows in self.tables.items()}
        for rows in self.tables.values():
            rows.clear()
        return drained


class Plan:
    """Which handlers an event class runs: for each class (looked up once),
    the position of each projection that handles it and its handler."""

    def __init__(self, classes: list[type[handlers.LedgerProjection]]) -> None:
        self.classes = classes
        self.found: dict[type, list[tuple[int, Any]]] = {}

    def get(self, event_class: type) -> list[tuple[int, Any]]:
        found = self.found.get(event_class)
        if found is None:
            found = self.found[event_class] = [
                (index, run)
                for index, cls in enumerate(self.classes)
                if (run := handlers.handler(cls, event_class)) is not None
            ]
        return found


def _key_getters(tables: dict[str, sa.Table]) -> dict[str, KeyOf]:
    """For each table, a function giving a row's primary key as a tuple."""
    return {
        name: _key_getter([c.name for c in table.primary_key.columns])
        for name, table in tables.items()
    }


def _key_getter(names: list[str]) -> KeyOf:
    if len(names) == 1:
        (name,) = names
        return lambda values: (values[name],)
    return itemgetter(*names)


class Fold:
    """One rebuild's pass over the log, into fresh generations."""

    def __init__(
        self,
        app: Any,
        store: Store,
        history: History,
        flush_rows: int = FLUSH_ROWS,
    ) -> None:
        self.app = app
        self.store = store
        self.history = history
        self.flush_rows = flush_rows
        # What memory held at most (see tests): one partner's rows, and the
        # rows waiting for their bulk insert.
        self.peak_rows = 0
        self.peak_pending = 0

    def run(
        self, fresh: list[Generation], upto: int, progress: Progress | None = None
    ) -> int:
        """Fold every event up to position `upto` into these (empty)
        generations, in one transaction that moves them to `upto`; return
        how many events were folded (`progress` is told as they are)."""
        names = tuple(g.name for g in fresh)
        plan = Plan([handlers.PROJECTIONS[name] for name in names])
        keys = [_key_getters(tables_of(g.name, g.generation)) for g in fresh]
        pending: dict[tuple[str, str], list[dict[str, Any]]] = {}
        tracking = Tracking(self.app.name, upto)
        decoder = EventStates(self.app.mapper)
        rows = self.app.event_rows
        folded = total = waiting = 0
        with self.store.transaction() as conn:
            for g in fresh:
                self.store.claim(conn, g, upto)
            for originator_id, stored in rows.aggregates(
                needed_topics(names), upto, conn
            ):
                events = decoder.events(originator_id, stored)
                drained = self._fold(events, plan, keys, tracking)
                held = 0
                for name, tables in zip(names, drained):
                    for table, live in tables.items():
                        held += len(live)
                        pending.setdefault((name, table), []).extend(live)
                self.peak_rows = max(self.peak_rows, held)
                folded += len(events)
                total += len(events)
                waiting += held
                self.peak_pending = max(self.peak_pending, waiting)
                if waiting >= self.flush_rows:
                    self._flush(conn, fresh, pending)
                    waiting = 0
                    if progress is not None:
                        progress(folded)
                        folded = 0
            if progress is not None and folded:
                progress(folded)
            self._flush(conn, fresh, pending)
            # The tables were made without keys: built now, rows all in.
            self.store.index(fresh, conn)
        return total

    def _fold(
        self,
        events: list[Any],
        plan: Plan,
        keys: list[dict[str, KeyOf]],
        tracking: Tracking,
    ) -> list[dict[str, list[dict[str, Any]]]]:
        """Apply one partner's events to every projection's rows in memory;
        return the rows of each projection (in the order of `keys`), by
        table."""
        history = self._history(events)
        partner = getattr(events[0], "partner", None)
        views = [FoldView(key_of, partner, history) for key_of in keys]
        projections = [cls(view) for cls, view in zip(plan.classes, views)]
        for event in events:
            for index, run in plan.get(event.__class__):
                run(projections[index], event, tracking)
        return [view.drain() for view in views]

    def _history(self, events: list[Any]) -> History:
        """A void's history from the partner's events in memory; from the
        store when it needs an event of a type not read (a void of one)."""

        def history(originator_id: Any, version: int) -> list[Any]:
            kept = [e for e in events if e.originator_version <= version]
            if kept and kept[-1].originator_version == version:
                return kept
            return self.history(originator_id, version)

        return history

    def _flush(
        self,
        conn: Any,
        fresh: list[Generation],
        pending: dict[tuple[str, str], list[dict[str, Any]]],
    ) -> None:
        generations = {g.name: g.generation for g in fresh}
        for (name, table), rows in pending.items():
            insert_rows(conn, tables_of(name, generations[name])[table], rows)
            rows.clear()
