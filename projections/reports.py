"""`Reports`: the Python API over the projections.

    reports = Reports(app)
    reports.entitlements("MPN-1", date(2020, 12, 1))

Every report first catches the projections up with the event store (cheap
when nothing is new), then reads the live generation's tables.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date
from typing import Any

import sqlalchemy as sa

from ledger.domain.errors import NotFound
from ledger.domain.partner import partner_uuid
from projections import NAMES, queries
from projections.runner import Progress, Runner, tables_of
from projections.store import Store

Rows = list[dict[str, Any]]


class Reports:
    def __init__(self, app: Any, page_size: int = 1000) -> None:
        self.app = app
        self.store = Store(app.recorder.datastore.engine)
        self.store.ensure()
        self.runner = Runner(app, self.store, page_size)
        self._live: dict[str, int] = {}

    # -- keeping up ----------------------------------------------------------

    def catch_up(self) -> int:
        """Apply the events recorded since each projection's position;
        return how many were applied."""
        return self.runner.catch_up()

    def rebuild(self, name: str | None = None, progress: Progress | None = None) -> int:
        """Rebuild one projection (all if None) from the first event into new
        tables; readers switch to them only once they are complete.
        `progress(n)` is called after each page of n events."""
        if name is not None and name not in NAMES:
            raise NotFound("projection", name)
        applied = self.runner.rebuild((name,) if name else NAMES, progress)
        self._live.clear()
        return applied

    def follow(
        self,
        stop: threading.Event | None = None,
        until: int | None = None,
        timeout: float | None = None,
        interval: float = 1.0,
        announce: Callable[[str], Any] = lambda message: None,
    ) -> int:
        """Stay caught up until stopped (see Runner.follow)."""
        return self.runner.follow(
            stop or threading.Event(), until, timeout, interval, announce
        )

    def status(self) -> Rows:
        """Per projection: its position, the head of the event store, the lag."""
        head = self.runner.head()
        return [
            {
                "name": g.name,
                "position": g.position,
                "head": head,
                "lag": self.runner.lag(g.position),
            }
            for g in self.store.live()
        ]

    # -- reports -------------------------------------------------------------

    def entitlements(self, partner: str | None, on: date) -> Rows:
        return self._report("entitlements", partner, queries.entitlement_rows, on)

    def expiring(self, partner: str | None, on: date, within: int) -> Rows:
        return self._report("expiry", partner, queries.expiring_rows, on, within)

    def reassignable(self, partner: str | None, on: date) -> Rows:
        return self._report("seats", partner, queries.reassignable_rows, on)

    def conflicts(self, partner: str | None = None) -> Rows:
        return self._report("conflicts", partner, queries.conflict_rows)

    def _report(
        self, name: str, partner: str | None, query: Callable[..., Rows], *args: Any
    ) -> Rows:
        """Catch up, read the rows; no rows may mean an unknown partner."""
        self.catch_up()
        rows = self._read(
            name, lambda conn, tables: query(conn, tables, partner, *args)
        )
        if not rows:
            self.check_partner(partner)
        return rows

    def check_partner(self, partner: str | None) -> None:
        """An unknown partner is bad input (exit 2 at the CLI)."""
        if partner is not None and not self.app.recorder.select_events(
            partner_uuid(partner), limit=1
        ):
            raise NotFound("partner", partner)

    def _read(self, name: str, query: Callable[[sa.Connection, Any], Rows]) -> Rows:
        """Read the live generation (remembered between reports); if a
        rebuild replaced it (its tables are gone), read the new one."""
        while True:
            generation = self._live.get(name) or self.store.live_generation(name)
            self._live[name] = generation
            try:
                with self.store.engine.connect() as conn:
                    return query(conn, tables_of(name, generation))
            except sa.exc.DBAPIError:
                live = self.store.live_generation(name)
                if live == generation:
                    raise
                self._live[name] = live
