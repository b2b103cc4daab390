"""Audit for compliance: who did what and when, what a partner held on a date,
whether the read models agree with the log, and whether the log was altered.

Everything here reads the event store itself, never a projection (except
`check`, which compares the projections with the log):

- `history`: a partner's events in order, each with its global position,
  recorded time, effective date, actor, request id and data;
- `replay` (ledger/replay.py): a partner's state as of a date;
- `check`: the projections' report rows against rows computed from the log;
- `digest` / `verify` (ledger/chain.py): the tamper-evident hash chain;
- `export`: the trail as JSON-ready rows, for JSON Lines.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any
from uuid import UUID

import orjson
import sqlalchemy as sa

from ledger.audit.chain import digest, rows, verify
from ledger.audit.replays import (
    NotEnrolledAsOf,
    Stored,
    full_state,
    partner_events,
    replay,
    stored_event,
)
from ledger.domain.errors import LedgerError
from ledger.domain.partner import BenefitGranted, Enrolled, PartnerEvent
from ledger.domain.reports import (
    conflict_rows,
    entitlement_rows,
    expiring_rows,
    reassignable_rows,
)
from ledger.store.topics import topics_of

__all__ = [
    "NotEnrolledAsOf",
    "check",
    "digest",
    "export",
    "history",
    "history_row",
    "partners",
    "replay",
    "verify",
]

ENVELOPE = (
    "originator_id",
    "originator_version",
    "originator_topic",
    "timestamp",
    "on",
    "actor",
    "request_id",
)


class ProjectionsUnavailable(LedgerError):
    code = "projections-unavailable"


def jsonable(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def event_data(event: Any) -> dict[str, Any]:
    """The event's own fields: everything but the envelope every event has."""
    return {k: jsonable(v) for k, v in vars(event).items() if k not in ENVELOPE}


def history_row(partner: str, stored: Stored) -> dict[str, Any]:
    event = stored.event
    return {
        "position": stored.position,
        "partner": partner,
        "version": event.originator_version,
        "recorded_at": event.timestamp.isoformat(),
        "effective_on": event.on.isoformat(),
        "actor": event.actor,
        "event": type(event).__name__,
        "request_id": event.request_id,
        "data": event_data(event),
    }


def mentions(event: Any, entity: str) -> bool:
    """An event concerns ENTITY when one of its fields names it (a benefit,
    key, subscription, seat, user e-mail, tenant, ticket, offer, access id),
    and a seat BENEFIT#N is also concerned by the grant of BENEFIT that
    created it."""
    if entity in event_data(event).values():
        return True
    benefit, _, number = entity.rpartition("#")
    return (
        isinstance(event, BenefitGranted)
        and event.benefit == benefit
        and number.isdigit()
        and 1 <= int(number) <= event.quantity
    )


def history(app: Any, partner: str, entity: str | None = None) -> list[dict[str, Any]]:
    """Every event of PARTNER in recorded order (one indexed query), or only
    those that concern `entity`."""
    return [
        history_row(partner, s)
        for s in partner_events(app, partner)
        if isinstance(s.event, PartnerEvent)
        and (entity is None or mentions(s.event, entity))
    ]


def partners(app: Any) -> dict[UUID, str]:
    """Every enrolled partner: aggregate id -> partner id, from the
    enrollment events stored in the log."""
    table = app.recorder.events_record_cls.__table__
    query = (
        sa.select(
            table.c.id,
            table.c.originator_id,
            table.c.originator_version,
            table.c.topic,
            table.c.state,
        )
        .where(table.c.topic.in_(topics_of(Enrolled)))
        .order_by(table.c.id)
    )
    with app.recorder.transaction(commit=False) as session:
        found = session.execute(query).all()
    return {
        r.originator_id: app.mapper.to_domain_event(stored_event(r)).partner
        for r in found
    }


def export(app: Any, partner: str | None = None) -> Iterator[dict[str, Any]]:
    """The trail, one history row per event in order of position (all
    partners, or one), then `{"digest": ...}` of the whole log at the end.
    Request records (the idempotency answers) are covered by the digest but
    are not trail rows."""
    if partner is not None:
        yield from history(app, partner)
    else:
        names = partners(app)
        for row in rows(app):
            if row.originator_id in names:
                event = app.mapper.to_domain_event(stored_event(row))
                yield history_row(names[row.originator_id], Stored(row.position, event))
    ok, answer = digest(app)
    yield {"digest": answer} if ok else {"digest": None, "verify": answer}


# -- check: projections against the log -----------------------------------------


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
    }
    for name in sorted(names.values()):
        state = full_state(app, name)
        views["entitlements"] += entitlement_rows(state, on)
        views["expiring"] += expiring_rows(state, on, within)
        views["reassignable"] += reassignable_rows(state, on)
        views["conflicts"] += conflict_rows(state)
    return views


def projection_rows(app: Any, on: date, within: int) -> dict[str, list[dict[str, Any]]]:
    """The same report rows as the projections answer them, caught up first."""
    try:
        from projections import Reports
    except ImportError as error:
        raise ProjectionsUnavailable(
            f"the projections package can't be loaded ({error}): there are no "
            "read models to check against the log"
        ) from None
    reports = Reports(app)
    reports.catch_up()
    return {
        "entitlements": list(reports.entitlements(None, on)),
        "expiring": list(reports.expiring(None, on, within)),
        "reassignable": list(reports.reassignable(None, on)),
        "conflicts": list(reports.conflicts(None)),
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


def check(app: Any, on: date, within: int) -> dict[str, Any]:
    """Every projection's rows against the rows a fresh replay of the log gives."""
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
