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
from typing import Any, TypeVar

from ledger.domain.deadlines import Deadline, PartnerDates, VoidedDates, deadlines
from ledger.domain.errors import NotFound
from ledger.domain.partner import partner_uuid
from projections import NAMES
from projections.runner import Progress, Runner
from projections.storage import calendar, queries
from projections.storage.control import Store

Rows = list[dict[str, Any]]
T = TypeVar("T")


class Reports:
    def __init__(self, app: Any, page_size: int = 1000) -> None:
        self.app = app
        # Read models are maintained through the team's engine: on a ledger
        # set up for a team it acts as the reader group, which owns them.
        self.store = Store(app.team.read_model_engine())
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

    def events_after(self, position: int) -> int:
        """How many events the log holds after a position."""
        return self.runner.lag(position)

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
        """Per projection: its position, the head of the event store, the lag,
        and `stuck`: the event it failed on (position, partner, event type and
        message) while its position is still before that event, else None."""
        head = self.runner.head()
        failures = self.store.failures()
        return [
            {
                "name": g.name,
                "position": g.position,
                "head": head,
                "lag": self.runner.lag(g.position),
                "stuck": _stuck(failures.get(g.name), g),
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

    def dates(self, partner: str | None, on: date) -> list[PartnerDates]:
        """Each partner's dated facts as of `on` (calendar and timeline)."""
        self.catch_up()
        found = self._read(
            "deadlines",
            lambda conn, tables: calendar.partner_dates(conn, tables, partner, on),
        )
        if not found:
            self.check_partner(partner)
        return found

    def voided(self, partner: str, on: date) -> list[VoidedDates]:
        """What the partner's voided events had drawn, for those that began
        by `on` (the timeline strikes them through)."""
        self.catch_up()
        return self._read(
            "voided", lambda conn, tables: calendar.voided(conn, tables, partner, on)
        )

    def deadlines(self, partner: str | None, on: date) -> list[Deadline]:
        """Every deadline of the partner (all if None) judged on `on`."""
        return [d for found in self.dates(partner, on) for d in deadlines(found)]

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
        # rows name users by reference: shown by e-mail, or pseudonym once
        # forgotten (ledger/store/subjects.py)
        return self.app.reveal(rows)

    def check_partner(self, partner: str | None) -> None:
        """An unknown partner is bad input (exit 2 at the CLI)."""
        if partner is not None and not self.app.event_rows.exists(
            partner_uuid(partner)
        ):
            raise NotFound("partner", partner)

    def read(self, name: str, query: Callable[[Any, Any], list[T]]) -> list[T]:
        """`query(conn, tables)` on the live generation of a projection, as
        it is (no catch-up, no check of the partner): `audit check` reads
        its chunks of partners so."""
        return self._read(name, query)

    def _read(self, name: str, query: Callable[[Any, Any], list[T]]) -> list[T]:
        """Read the live generation (remembered between reports); if a
        rebuild replaced it (its tables are gone), read the new one."""
        while True:
            generation = self._live.get(name) or self.store.live_generation(name)
            found = self.store.read_live(name, generation, query)
            if found is not None:
                self._live[name] = generation
                return found
            self._live[name] = self.store.live_generation(name)


def _stuck(failure: dict[str, Any] | None, generation: Any) -> dict[str, Any] | None:
    """A recorded failure, if it still holds this live generation back."""
    if failure is None or failure["generation"] != generation.generation:
        return None
    if failure["event_position"] <= generation.position:
        return None
    return {
        "position": failure["event_position"],
        "partner": failure["partner"],
        "event": failure["event"],
        "message": failure["message"],
    }
