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
from typing import Any

from eventsourcing.persistence import Tracking

from ledger.domain.partner import Enrolled, PartnerEvent
from ledger.store.topics import topics_of
from projections import handlers
from projections.storage import tables_of
from projections.storage.bulk import insert_rows
from projections.storage.control import Generation, Store
from projections.storage.rows import Rows

History = Callable[[Any, int], list[Any]]
Progress = Callable[[int], Any]
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


class PartnerView(handlers.View):
    """The view of one partner's fold: every event is that partner's, whose
    enrollment (the first event) named it."""

    def __init__(self, partner: str, rows: Rows, history: History) -> None:
        super().__init__(None, rows, history)
        self.partner_id = partner

    def partner(self, event: Any) -> str:
        return self.partner_id


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
        projections = {
            g.name: (
                handlers.PROJECTIONS[g.name],
                Rows(tables_of(g.name, g.generation), complete=True),
            )
            for g in fresh
        }
        pending: dict[tuple[str, str], list[dict[str, Any]]] = {}
        tracking = Tracking(self.app.name, upto)
        folded = total = 0
        with self.store.transaction() as conn:
            for g in fresh:
                self.store.claim(conn, g, upto)
            for events in self._partners(conn, names, upto):
                held = self._fold(events, projections, tracking, pending)
                self.peak_rows = max(self.peak_rows, held)
                folded += len(events)
                total += len(events)
                waiting = sum(len(rows) for rows in pending.values())
                self.peak_pending = max(self.peak_pending, waiting)
                if waiting >= self.flush_rows:
                    self._flush(conn, fresh, pending)
                    if progress is not None:
                        progress(folded)
                        folded = 0
            if progress is not None and folded:
                progress(folded)
            self._flush(conn, fresh, pending)
        return total

    def _partners(self, conn: Any, names: tuple[str, ...], upto: int) -> Any:
        """The needed events, decoded, one aggregate's list at a time, read
        on the connection the rows are written on."""
        to_event = self.app.mapper.to_domain_event
        events: list[Any] = []
        rows = self.app.event_rows.by_aggregate(needed_topics(names), upto, conn)
        for row in rows:
            if events and events[-1].originator_id != row.originator_id:
                yield events
                events = []
            events.append(to_event(row.stored()))
        if events:
            yield events

    def _fold(
        self,
        events: list[Any],
        projections: dict[str, tuple[type[handlers.LedgerProjection], Rows]],
        tracking: Tracking,
        pending: dict[tuple[str, str], list[dict[str, Any]]],
    ) -> int:
        """Apply one partner's events to every projection's rows in memory,
        then move those rows to the pending inserts; return how many rows
        the partner's fold held."""
        history = self._history(events)
        partner = getattr(events[0], "partner", None)
        held = 0
        for name, (cls, rows) in projections.items():
            view = (
                handlers.View(None, rows, history)
                if partner is None
                else PartnerView(partner, rows, history)
            )
            projection = cls(view)
            handler = handlers.handler
            for event in events:
                run = handler(cls, event.__class__)
                if run is not None:
                    run(projection, event, tracking)
            for table, live in rows.drain().items():
                held += len(live)
                pending.setdefault((name, table), []).extend(live)
        return held

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
