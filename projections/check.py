"""`audit check`: every projection's report rows against the rows a fresh
replay of the log gives (ledger.domain.reports over each partner's events,
never a snapshot). Differences are listed per view and partner.

Partners are compared CHECK_PARTNERS at a time (their replays, and their rows
read from the projections with one query per view): memory holds one chunk's
rows and the differences found, however long the log is. Rows are compared
as multisets per partner (a row names its partner), so chunk by chunk gives
the differences a comparison of everything at once gives. Partners the
projections hold but the log never enrolled are compared last, with no rows
expected of them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date
from typing import Any

import orjson

from ledger.audit.replays import Stored, kept_events, partner_events, rebuild
from ledger.audit.trail import jsonable, partners
from ledger.domain.corrections import fold
from ledger.domain.deadlines import deadline_row, deadlines, partner_dates
from ledger.domain.reports import (
    conflict_rows,
    entitlement_rows,
    expiring_rows,
    reassignable_rows,
)
from projections.reports import Reports
from projections.storage import calendar, queries

CHECK_PARTNERS = 200
VIEWS = ("entitlements", "expiring", "reassignable", "conflicts", "deadlines")
# The projections the views are read from.
PROJECTIONS = ("entitlements", "expiry", "seats", "conflicts", "deadlines")


def reference_rows(
    app: Any, names: Iterable[str], on: date, within: int
) -> dict[str, list[dict[str, Any]]]:
    """The report rows computed by ledger.domain.reports from these partners'
    events (replayed from the log, not loaded from a snapshot), each
    partner's events read once."""
    views: dict[str, list[dict[str, Any]]] = {view: [] for view in VIEWS}
    for name in names:
        events = partner_events(app, name)
        state = fold(s.event for s in events)
        views["entitlements"] += entitlement_rows(state, on)
        views["expiring"] += expiring_rows(state, on, within)
        views["reassignable"] += reassignable_rows(state, on)
        views["conflicts"] += conflict_rows(state)
        views["deadlines"] += deadline_rows_of(events, on)
    return app.reveal(views)  # users as the projections show them


def deadline_rows_of(events: list[Stored], on: date) -> list[dict[str, Any]]:
    """The calendar's deadlines of a partner as of `on`, from a replay of
    its events effective by then (none if it enrolled later)."""
    if events[0].event.on > on:
        return []
    state, _ = rebuild(kept_events(events, on))
    return [deadline_row(d) for d in deadlines(partner_dates(state, on))]


def projection_rows(
    reports: Reports, names: list[str], on: date, within: int
) -> dict[str, list[dict[str, Any]]]:
    """The same report rows as the projections hold them for these partners."""

    def read(name: str, query: Any, *args: Any) -> list[Any]:
        return reports.read_rows(name, lambda fetch: query(fetch, names, *args))

    def read_sql(name: str, query: Any, *args: Any) -> list[Any]:
        return reports.read(name, lambda conn, t: query(conn, t, names, *args))

    reveal = reports.app.reveal  # users as the reports show them
    return {
        "entitlements": reveal(read("entitlements", queries.entitlement_rows, on)),
        "expiring": reveal(read("expiry", queries.expiring_rows, on, within)),
        "reassignable": reveal(read("seats", queries.reassignable_rows, on)),
        "conflicts": reveal(read("conflicts", queries.conflict_rows)),
        "deadlines": [
            deadline_row(d)
            for dates in read_sql("deadlines", calendar.partner_dates, on)
            for d in deadlines(dates)
        ],
    }


def _key(row: dict[str, Any]) -> str:
    return orjson.dumps(jsonable(row), option=orjson.OPT_SORT_KEYS).decode()


def differences(
    view: str, expected: list[dict[str, Any]], found: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Rows the log gives and the projection lacks ("log only"), and the
    reverse ("projection only"), compared as multisets of rows."""
    comparison = Comparison()
    comparison.add({view: expected}, {view: found})
    return comparison.differences()


class Comparison:
    """Rows compared chunk by chunk, as multisets: what each chunk's log
    side has more of (positive) or less of (negative), summed over chunks,
    is what the whole comparison would find."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.delta: dict[str, Counter[str]] = {}

    def add(
        self, expected: dict[str, list[dict[str, Any]]], found: dict[str, list[Any]]
    ) -> None:
        for view, rows in expected.items():
            self.counts[view] = self.counts.get(view, 0) + len(rows)
            delta = Counter(_key(r) for r in rows)
            delta.subtract(_key(r) for r in found[view])
            total = self.delta.setdefault(view, Counter())
            for key, n in delta.items():
                if n:
                    total[key] += n

    def differences(self) -> list[dict[str, Any]]:
        out = []
        for view, delta in self.delta.items():
            for side, keys in (
                ("log only", [k for k, n in delta.items() if n > 0]),
                ("projection only", [k for k, n in delta.items() if n < 0]),
            ):
                for key in sorted(keys):
                    row = orjson.loads(key)
                    out.append(
                        {
                            "view": view,
                            "partner": row.get("partner"),
                            "in": side,
                            "row": row,
                        }
                    )
        return out


def chunks(names: list[str], size: int) -> list[list[str]]:
    return [names[start : start + size] for start in range(0, len(names), size)]


def opened(app: Any, rest: Iterable[Any]) -> Reports:
    """The read models, caught up. The check used to replay every partner
    before opening them: if that fails, the replays left run first, so a
    replay's own error is still the one raised."""
    try:
        reports = Reports(app)
        reports.catch_up()
    except Exception:
        for _ in rest:
            pass
        raise
    return reports


def check(app: Any, on: date, within: int | None = None) -> dict[str, Any]:
    """Every projection's rows against the rows a fresh replay of the log
    gives; `within` as `report expiring` takes it (default: the policy's)."""
    within = app.within_days(on, within)
    names = partners(app)
    enrolled = Counter(names.values())  # a name held twice is replayed twice

    def replay(group: list[str]) -> dict[str, list[dict[str, Any]]]:
        named = [name for name in group for _ in range(enrolled[name])]
        return reference_rows(app, named, on, within)

    groups = chunks(sorted(enrolled), CHECK_PARTNERS) or [[]]
    expected = replay(groups[0])
    reports = opened(app, (replay(group) for group in groups[1:]))
    comparison = Comparison()
    for index, group in enumerate(groups):
        if index:
            expected = replay(group)
        comparison.add(expected, projection_rows(reports, group, on, within))
    held = {p for name in PROJECTIONS for p in reports.read(name, queries.partners_in)}
    for group in chunks(sorted(set(held) - set(enrolled)), CHECK_PARTNERS):
        nothing: dict[str, list[dict[str, Any]]] = {view: [] for view in VIEWS}
        comparison.add(nothing, projection_rows(reports, group, on, within))
    diffs = comparison.differences()
    return {
        "ok": not diffs,
        "on": on.isoformat(),
        "within": within,
        "partners": len(names),
        "rows": comparison.counts,
        "differences": diffs,
    }
