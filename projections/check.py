"""`audit check`: every projection's report rows against the rows a fresh
replay of the log gives (ledger.domain.reports over each partner's events,
never a snapshot). Differences are listed per view and partner."""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any
from uuid import UUID

import orjson

from ledger.audit.replays import (
    full_state,
    kept_events,
    partner_events,
    rebuild,
)
from ledger.audit.trail import jsonable, partners
from ledger.domain.deadlines import deadline_row, deadlines, partner_dates
from ledger.domain.reports import (
    conflict_rows,
    entitlement_rows,
    expiring_rows,
    reassignable_rows,
)
from projections.reports import Reports


def reference_rows(
    app: Any, names: dict[UUID, str], on: date, within: int
) -> dict[str, list[dict[str, Any]]]:
    """The report rows computed by ledger.domain.reports from every partner's events
    (replayed from the log, not loaded from a snapshot)."""
    views: dict[str, list[dict[str, Any]]] = {
        "entitlements": [],
        "expiring": [],
        "reassignable": [],
        "conflicts": [],
        "deadlines": [],
    }
    for name in sorted(names.values()):
        state = full_state(app, name)
        views["entitlements"] += entitlement_rows(state, on)
        views["expiring"] += expiring_rows(state, on, within)
        views["reassignable"] += reassignable_rows(state, on)
        views["conflicts"] += conflict_rows(state)
        views["deadlines"] += deadline_rows_as_of(app, name, on)
    return app.reveal(views)  # users as the projections show them


def deadline_rows_as_of(app: Any, partner: str, on: date) -> list[dict[str, Any]]:
    """The calendar's deadlines of a partner as of `on`, from a replay of
    its events effective by then (none if it enrolled later)."""
    events = partner_events(app, partner)
    if events[0].event.on > on:
        return []
    state, _ = rebuild(kept_events(events, on))
    return [deadline_row(d) for d in deadlines(partner_dates(state, on))]


def projection_rows(app: Any, on: date, within: int) -> dict[str, list[dict[str, Any]]]:
    """The same report rows as the projections answer them, caught up first."""
    reports = Reports(app)
    reports.catch_up()
    return {
        "entitlements": list(reports.entitlements(None, on)),
        "expiring": list(reports.expiring(None, on, within)),
        "reassignable": list(reports.reassignable(None, on)),
        "conflicts": list(reports.conflicts(None)),
        "deadlines": [deadline_row(d) for d in reports.deadlines(None, on)],
    }


def _key(row: dict[str, Any]) -> str:
    return orjson.dumps(jsonable(row), option=orjson.OPT_SORT_KEYS).decode()


def differences(
    view: str, expected: list[dict[str, Any]], found: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Rows the log gives and the projection lacks ("log only"), and the
    reverse ("projection only"), compared as multisets of rows."""
    want = Counter(_key(r) for r in expected)
    have = Counter(_key(r) for r in found)
    out = []
    for side, extra in (("log only", want - have), ("projection only", have - want)):
        for key in sorted(extra):
            row = orjson.loads(key)
            out.append(
                {"view": view, "partner": row.get("partner"), "in": side, "row": row}
            )
    return out


def check(app: Any, on: date, within: int | None = None) -> dict[str, Any]:
    """Every projection's rows against the rows a fresh replay of the log
    gives; `within` as `report expiring` takes it (default: the policy's)."""
    within = app.within_days(on, within)
    names = partners(app)
    expected = reference_rows(app, names, on, within)
    found = projection_rows(app, on, within)
    diffs = []
    for view in expected:
        diffs += differences(view, expected[view], found[view])
    return {
        "ok": not diffs,
        "on": on.isoformat(),
        "within": within,
        "partners": len(names),
        "rows": {view: len(rows_) for view, rows_ in expected.items()},
        "differences": diffs,
    }
