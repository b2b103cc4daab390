"""Running the projections: catch up, rebuild, follow.

Events are read by paging the event store's notifications from each
generation's position. A page is applied to a projection in ONE transaction
that first moves its tracking position (see Store.claim) and then runs the
handlers, so every event is applied exactly once, in order. A handler that
raises stops the run: its page is rolled back, the events before the failing
one are applied again in a transaction of their own, and the position stays
just before the failing event.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import replace
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from eventsourcing.persistence import Notification, Tracking
from eventsourcing.utils import resolve_topic

from ledger.domain.errors import LedgerError
from projections import handlers
from projections.storage.generations import Generation, Moved
from projections.storage.rows import Rows

if TYPE_CHECKING:
    from projections.fold import Fold

Batch = list[tuple[Any, Tracking]]
Progress = Callable[[int], Any]


class ProjectionFailed(LedgerError):
    """A handler (or the write of its rows) raised: the projection is stuck
    just before the event it failed on. Names the projection, the event's
    position, its partner and its type (rule `projection`, exit 1)."""

    rule = "projection"
    code = "projection-failed"

    def __init__(
        self,
        name: str,
        event: Any,
        tracking: Tracking,
        position: int,
        error: BaseException,
        partner: str | None = None,
    ) -> None:
        self.name = name
        self.notification_id = tracking.notification_id
        self.position = position
        self.partner = _printable(partner) if partner is not None else None
        self.event = type(event).__name__
        of = f" of partner {self.partner}" if self.partner else ""
        super().__init__(
            f"projection {name} is stuck on the event at position "
            f"{self.notification_id} ({self.event}{of}): "
            f"{type(error).__name__}: {_first_line(error)}; its position stays "
            f"at {position} "
            "and its reports can't be brought up to date. Fix the cause, then run "
            f"`ledger projections rebuild {name}` or the report again"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            **super().as_dict(),
            "projection": self.name,
            "position": self.notification_id,
            "partner": self.partner,
            "event": self.event,
        }

    def record(self) -> dict[str, Any]:
        """What `projections status` shows of it."""
        return {
            "event_position": self.notification_id,
            "partner": self.partner,
            "event": self.event,
            "message": self.message,
        }


def _first_line(error: BaseException) -> str:
    """The error's first line (a database error goes on with its SQL)."""
    lines = str(error).splitlines()
    return _printable(lines[0]) if lines else ""


def _printable(text: str) -> str:
    """Text as it can be shown and stored anywhere: control characters and
    lone surrogates escaped."""
    if text.isprintable():
        return text
    return text.encode("unicode_escape", "backslashreplace").decode("ascii")


class RebuildRunning(LedgerError):
    """Another process is rebuilding the projections of this ledger."""

    rule = "busy"
    code = "rebuild-running"


class _HandlerFailed(Exception):
    def __init__(
        self, index: int, event: Any, tracking: Tracking, error: Exception
    ) -> None:
        super().__init__(str(error))
        self.index, self.event, self.tracking, self.error = (
            index,
            event,
            tracking,
            error,
        )


class Runner:
    """Applies events to the generations of a store: control.Store
    (SQLAlchemy) or, on an SQLite file, lite.LiteStore (sqlite3), which have
    the same methods and rows (rows.py)."""

    def __init__(
        self, app: Any, store: Any, page_size: int = 1000, log: Any = None
    ) -> None:
        self.app = app
        self.store = store
        self.page_size = page_size
        # Where pages of events are read: the application's event rows, or
        # on an SQLite file its log through sqlite3 (ledger/store/sqlite_log.py)
        self.log = log
        self.fold: Fold | None = None  # the last rebuild's fold, if it folded

    # -- applying events -------------------------------------------------------

    def apply(
        self, generation: Generation, batch: Batch, rows: Rows | None = None
    ) -> None:
        """Apply a batch in one transaction, or stop at the failing event.
        `rows` (the generation's rows kept in memory) are forgotten when the
        transaction fails, since they may hold its rolled-back changes."""
        rows = (rows or self.store.rows(generation.name, generation.generation)).at(
            generation.position
        )
        try:
            self._write(generation, batch, rows)
        except _HandlerFailed as failed:
            rows.forget()
            position = self._apply_before(generation, batch[: failed.index], rows)
            raise self._failed(generation, failed, position) from failed.error
        except Moved:
            rows.forget()
            raise
        except self.store.data_errors as error:
            # Writing the page's rows failed (e.g. a value the column can't
            # hold): apply the events one by one to find the one it is.
            rows.forget()
            if len(batch) == 1:
                single_failure = _HandlerFailed(0, batch[0][0], batch[0][1], error)
                raise self._failed(
                    generation, single_failure, generation.position
                ) from error
            for single in batch:
                self.apply(generation, [single], rows)
                generation = replace(generation, position=single[1].notification_id)
        except BaseException:
            rows.forget()
            raise

    def _failed(
        self, generation: Generation, failed: _HandlerFailed, position: int
    ) -> ProjectionFailed:
        """The error for a failed event, remembered for `projections status`."""
        error = ProjectionFailed(
            generation.name,
            failed.event,
            failed.tracking,
            position,
            failed.error,
            self._partner_of(failed.event),
        )
        try:
            self.store.record_failure(generation, error.record())
        except self.store.database_error:
            pass  # the error itself still says everything; status won't show it
        return error

    def _partner_of(self, event: Any) -> str | None:
        """The partner an event belongs to: its own field, or its aggregate's
        enrollment (the first event), read only when something failed."""
        partner = getattr(event, "partner", None)
        if partner is not None:
            return str(partner)
        originator = getattr(event, "originator_id", None)
        if originator is None:
            return None
        for row in self.app.event_rows.first_versions([originator]):
            first = self.app.mapper.to_domain_event(row.stored())
            return getattr(first, "partner", None)
        return None

    def _apply_before(self, generation: Generation, done: Batch, rows: Rows) -> int:
        """Apply the events before a failing one; return the new position."""
        if not done:
            return generation.position
        try:
            self._write(generation, done, rows)
        except BaseException:
            rows.forget()
            raise
        return done[-1][1].notification_id

    def _write(self, generation: Generation, batch: Batch, rows: Rows) -> None:
        projection_class = handlers.PROJECTIONS[generation.name]
        with self.store.transaction() as conn:
            self.store.claim(conn, generation, batch[-1][1].notification_id)
            view = handlers.View(conn, rows, self.history)
            projection = projection_class(view)
            for index, (event, tracking) in enumerate(batch):
                if event is None or not handlers.handles(
                    projection_class, event.__class__
                ):
                    continue
                try:
                    projection.process_event(event, tracking)
                except Exception as error:
                    raise _HandlerFailed(index, event, tracking, error) from error
            rows.flush(conn)
        rows.position = batch[-1][1].notification_id

    def history(self, originator_id: Any, version: int) -> list[Any]:
        """The events of one aggregate up to a version (for a void)."""
        return [
            self.app.decode(row)
            for row in self.app.event_rows.of_aggregate(originator_id)
            if row.originator_version <= version
        ]

    def _apply_live(self, generation: Generation, batch: Batch, rows: Rows) -> None:
        """Apply to a live generation; if a rebuild replaced it meanwhile
        (its tables are gone), leave it: the next page reads the new one."""
        try:
            self.apply(generation, batch, rows)
        except Moved:
            return
        except (ProjectionFailed, self.store.database_error):
            if self.store.live_generation(generation.name) == generation.generation:
                raise

    def _apply_fresh(self, generation: Generation, batch: Batch, rows: Rows) -> None:
        try:
            self.apply(generation, batch, rows)
        except Moved:
            return

    # -- reading pages -----------------------------------------------------------

    def run(
        self,
        generations: Callable[[], list[Generation]],
        apply: Callable[[Generation, Batch, Rows], None],
        progress: Progress | None = None,
    ) -> int:
        """Page notifications after the lowest position until none is left;
        return how many events were read and applied."""
        applied = 0
        cache: dict[tuple[str, int], Rows] = {}  # each generation's rows, across pages
        while True:
            current = generations()
            page = self.notifications(min(g.position for g in current))
            if not page:
                return applied
            events = self._decode(page, current)
            for generation in current:
                batch = [
                    e for e in events if e[1].notification_id > generation.position
                ]
                if batch:
                    apply(generation, batch, self._rows(cache, generation))
            applied += len(page)
            if progress is not None:
                progress(len(page))

    def notifications(self, after: int) -> list[Notification]:
        """The next page of stored events after a position."""
        if self.log is not None:
            return self.log.notifications(after, self.page_size)  # type: ignore[no-any-return]
        return self.app.event_rows.notifications(after, self.page_size)

    def _rows(self, cache: dict[tuple[str, int], Rows], generation: Generation) -> Rows:
        """The generation's rows in memory; at position 0 its tables are
        still empty, so they are complete."""
        key = (generation.name, generation.generation)
        if key not in cache:
            cache[key] = self.store.rows(
                generation.name,
                generation.generation,
                generation.position,
                complete=generation.position == 0,
            )
        return cache[key]

    def _decode(self, page: list[Notification], current: list[Generation]) -> Batch:
        """Each notification as (event, tracking); the event is None where no
        projection handles its class, so it is never decoded."""
        classes = tuple(handlers.PROJECTIONS[g.name] for g in current)
        events: Batch = []
        for notification in page:
            needed = _needed(classes, notification.topic)
            event = self.app.mapper.to_domain_event(notification) if needed else None
            events.append((event, Tracking(self.app.name, notification.id)))
        return events

    def catch_up(self, progress: Progress | None = None) -> int:
        return self.run(self.store.live, self._apply_live, progress)

    def rebuild(self, names: tuple[str, ...], progress: Progress | None = None) -> int:
        """Fill new generations from the first event, then point readers at
        them in one transaction; until then readers use the old ones. The
        log up to its head is folded partner by partner (fold.py); what
        comes after, and a log a handler fails on, is applied page by page
        (the failing event is then named as in a catch-up).

        One rebuild at a time: it holds the projections' lock (RebuildRunning
        if another rebuild holds it) and first drops the generations a killed
        rebuild left behind."""
        with self.store.exclusive() as taken:
            if not taken:
                raise RebuildRunning(
                    "another `ledger projections rebuild` is running on this "
                    "ledger: reports keep answering from the current tables; "
                    "run this one again once it is done, if still needed"
                )
            self.store.drop_orphans()
            return self._rebuild(names, progress)

    def _rebuild(self, names: tuple[str, ...], progress: Progress | None) -> int:
        from projections.fold import Fold  # rebuilds only: SQLAlchemy's bulk writes

        # Their keys are built once the fold has written the rows (fold.py).
        fresh = self.store.next_generations(names, keyed=False)
        head = self.head()
        applied = 0
        self.fold = Fold(self.app, self.store, self.history)
        try:
            folded = self.fold.run(fresh, head, progress)
        except Exception:
            self.fold = None
            if self.store.positions(fresh) != fresh:
                raise
            self.store.index(fresh)  # the pages below keep rows up by key
        else:
            # The events no projection needs were never read: counted here.
            applied = self.app.event_rows.count_upto(head)
            if progress is not None and applied > folded:
                progress(applied - folded)
        applied += self.run(
            lambda: self.store.positions(fresh), self._apply_fresh, progress
        )
        self.store.flip(fresh)
        return applied

    # -- status --------------------------------------------------------------------

    def head(self) -> int:
        return self.app.event_rows.head()

    def lag(self, position: int) -> int:
        """How many stored events come after `position`."""
        return self.app.event_rows.count_after(position)

    def low(self) -> int:
        return min(g.position for g in self.store.live())

    # -- following -----------------------------------------------------------------

    def follow(
        self,
        stop: threading.Event,
        until: int | None = None,
        timeout: float | None = None,
        interval: float = 1.0,
        announce: Callable[[str], Any] = lambda message: None,
    ) -> int:
        """Keep the projections caught up until `stop` is set, `timeout`
        seconds pass, or every projection reached position `until`. Runs on
        the event store's subscription where it has one (PostgreSQL LISTEN /
        NOTIFY), else polls every `interval` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        applied = self.catch_up()
        if _reached(self.low(), until):
            return applied
        try:
            subscription = self.app.event_rows.subscribe(self.low())
        except NotImplementedError:
            dialect = self.app.event_rows.dialect
            announce(f"{dialect} cannot push new events: polling every {interval:g}s")
            return applied + self._poll(stop, until, deadline, interval)
        announce("following the event store's notifications (Ctrl-C to stop)")
        return applied + self._listen(subscription, stop, until, deadline)

    def _poll(
        self,
        stop: threading.Event,
        until: int | None,
        deadline: float | None,
        interval: float,
    ) -> int:
        applied = 0
        while not _reached(self.low(), until):
            wait = (
                interval
                if deadline is None
                else min(interval, deadline - time.monotonic())
            )
            if wait < 0 or stop.wait(wait):
                break
            applied += self.catch_up()
        return applied

    def _listen(
        self,
        subscription: Any,
        stop: threading.Event,
        until: int | None,
        deadline: float | None,
    ) -> int:
        applied, low = 0, self.low()
        watcher = threading.Thread(
            target=_stop_later, args=(subscription, stop, deadline), daemon=True
        )
        with subscription:
            watcher.start()
            try:
                for notification in subscription:
                    if notification.id > low:
                        applied += self.catch_up()
                        low = self.low()
                    if _reached(low, until):
                        break
            finally:
                stop.set()
        watcher.join()
        return applied


@lru_cache(maxsize=256)
def _needed(classes: tuple[type, ...], topic: str) -> bool:
    """Whether any of these projections handles events of this topic."""
    return any(handlers.handles(c, resolve_topic(topic)) for c in classes)


def _reached(position: int, until: int | None) -> bool:
    return until is not None and position >= until


def _stop_later(
    subscription: Any, stop: threading.Event, deadline: float | None
) -> None:
    stop.wait(None if deadline is None else max(0.0, deadline - time.monotonic()))
    subscription.stop()
