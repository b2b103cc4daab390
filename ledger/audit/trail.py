"""Audit for compliance: who did what and when, what a partner held on a date,
whether the read models agree with the log, and whether the log was altered.

Everything here reads the event store itself, never a projection:

- `history`: a partner's events in order, each with its global position,
  recorded time, effective date, actor, login role, request id and data;
- `replay` (ledger/replay.py): a partner's state as of a date;
- `digest` / `verify` (ledger/chain.py): the tamper-evident hash chain;
- `export`: the trail as JSON-ready rows, for JSON Lines.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from typing import Any
from uuid import UUID

from ledger.audit import chain
from ledger.audit.chain import digest
from ledger.audit.replays import (
    NotEnrolledAsOf,
    Stored,
    partner_events,
    replay,
)
from ledger.domain import erasure
from ledger.domain.corrections import voids_by_position
from ledger.domain.names import seat_benefit, seat_number
from ledger.domain.partner import BenefitGranted, Enrolled, PartnerEvent, Voided
from ledger.store.topics import topics_of

__all__ = [
    "NotEnrolledAsOf",
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
    "login_role",
)


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


def history_row(
    partner: str, stored: Stored, voided_by: int | None = None
) -> dict[str, Any]:
    """One event as `audit history` lists it; a voided event carries
    `voided_by` (the void's position), a void `voids` and its `reason`."""
    event = stored.event
    marks: dict[str, Any] = {}
    if voided_by is not None:
        marks["voided_by"] = voided_by
    if isinstance(event, Voided):
        marks = {"voids": event.voided_position, "reason": event.reason}
    return {
        "position": stored.position,
        "partner": partner,
        "version": event.originator_version,
        "recorded_at": event.timestamp.isoformat(),
        "effective_on": event.on.isoformat(),
        "actor": event.actor,
        "login_role": event.login_role,
        "event": type(event).__name__,
        "request_id": event.request_id,
        "data": event_data(event),
        **marks,
    }


def mentions(event: Any, entity: str) -> bool:
    """An event concerns ENTITY when one of its fields names it (a benefit,
    key, subscription, seat, user e-mail, tenant, ticket, offer, access id),
    and a seat BENEFIT#N is also concerned by the grant of BENEFIT that
    created it."""
    if entity in event_data(event).values():
        return True
    number = seat_number(entity)
    return (
        isinstance(event, BenefitGranted)
        and event.benefit == seat_benefit(entity)
        and number is not None
        and number <= event.quantity
    )


def history(app: Any, partner: str, entity: str | None = None) -> list[dict[str, Any]]:
    """Every event of PARTNER in recorded order (one indexed query), or only
    those that concern `entity`."""
    if entity is not None:
        entity = app.user_ref(partner, entity) if "@" in entity else entity
        entity = erasure.ref_of_pseudonym(entity) or entity
    events = partner_events(app, partner)
    voids = voids_by_position(events)
    listed: set[int] = set()
    rows = []
    for s in events:
        if not isinstance(s.event, PartnerEvent):
            continue
        if entity is None or mentions(s.event, entity) or voids_listed(s, listed):
            listed.add(s.position)
            rows.append(history_row(partner, s, voids.get(s.position)))
    return app.reveal(rows)


def voids_listed(stored: Stored, listed: set[int]) -> bool:
    """A void is listed with the event it voids."""
    return isinstance(stored.event, Voided) and stored.event.voided_position in listed


def partners(app: Any) -> dict[UUID, str]:
    """Every enrolled partner: aggregate id -> partner id, from the
    enrollment events stored in the log."""
    topics = topics_of(Enrolled)
    names: dict[UUID, str] = {}
    after = -(2**62)  # before any position, even one edited in by hand
    # page by page: a long log's enrollments are never all held as rows
    while rows := app.event_rows.page(after, topics=topics):
        for row in rows:
            names[row.originator_id] = app.decode(row).partner
        after = rows[-1].position
    return names


def export(app: Any, partner: str | None = None) -> Iterator[dict[str, Any]]:
    """The trail, one history row per event in order of position (all
    partners, or one), then `{"digest": ...}` of the whole log at the end.
    Request records (the idempotency answers) are covered by the digest but
    are not trail rows."""
    if partner is not None:
        yield from history(app, partner)
    else:
        names = partners(app)
        voids = {
            app.decode(row).voided_position: row.position
            for row in app.event_rows.with_topics(topics_of(Voided))
        }
        for row in app.event_rows.all():
            if row.originator_id in names:
                event = app.decode(row)
                row_ = history_row(
                    names[row.originator_id],
                    Stored(row.position, event),
                    voids.get(row.position),
                )
                yield app.reveal(row_)
    ok, answer = digest(app)
    yield {"digest": answer} if ok else {"digest": None, "verify": answer}


def verify(
    app: Any, position: int | None = None, sha256: str | None = None
) -> tuple[bool, dict[str, Any]]:
    """The chain's verdict (ledger/audit/chain.py), with who the ledger
    trusts for actors (`identity`: "database" or "self-declared") and
    whether the database refuses edits of the log (`append_only`)."""
    ok, answer = chain.verify(app, position, sha256)
    return ok, {**answer, **app.team.protection()}
