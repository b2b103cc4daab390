"""As-of replays: a partner's state rebuilt from its own stored events.

"What did this partner hold on date D" (effective time), optionally "as the
ledger knew it at instant T" (recorded time). The replay reads only the
partner's events, with one indexed query on the event store's
(originator_id, originator_version) index, and never reads a projection.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any
from uuid import UUID

from ledger.domain import views
from ledger.domain.corrections import fold, voided_versions
from ledger.domain.errors import LedgerError, NotFound
from ledger.domain.partner import Partner, PartnerEvent, partner_uuid
from ledger.domain.reports import (
    conflict_rows,
    entitlement_rows,
    expiring_rows,
    reassignable_rows,
)


class NotEnrolledAsOf(LedgerError):
    """The partner exists, but not as of the date (or instant) asked."""

    code = "not-enrolled-as-of"


@dataclass(frozen=True)
class Stored:
    """One stored event with its global position (the notification id)."""

    position: int
    event: Any


def originator_events(app: Any, originator_id: UUID) -> list[Stored]:
    """Every stored event of one aggregate, in version order (one indexed query)."""
    return [
        Stored(row.position, app.decode(row))
        for row in app.event_rows.of_aggregate(originator_id)
    ]


def partner_events(app: Any, partner: str) -> list[Stored]:
    """The partner's events in recorded order; NotFound if it never enrolled."""
    found = originator_events(app, partner_uuid(partner))
    if not found:
        raise NotFound("partner", partner)
    return found


def full_state(app: Any, partner: str) -> Partner:
    """The partner's current state folded from every one of its events, with
    the version checks of `mutate`, ignoring snapshots: a fresh replay
    (voided events skipped)."""
    return fold(s.event for s in partner_events(app, partner))


def as_utc(moment: datetime) -> datetime:
    """A naive instant means UTC."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def known(event: Any, as_of: date, known_at: datetime | None) -> bool:
    """Effective on or before `as_of` and, with `known_at`, recorded at or
    before that instant ("two times": effective date and recorded time)."""
    if event.on > as_of:
        return False
    return known_at is None or recorded_by(event, known_at)


def recorded_by(event: Any, known_at: datetime) -> bool:
    """Recorded at or before `known_at`. A void counts from the instant it was
    recorded, whatever its effective date: the voided event is then as if it
    had never happened, at every date."""
    return as_utc(event.timestamp) <= known_at


def check_enrolled(partner: str, first: Any, as_of: date, known_at: datetime | None):
    """A replay needs the enrollment itself to be in effect (and known)."""
    if first.on > as_of:
        raise NotEnrolledAsOf(
            f"partner {partner} was enrolled on {first.on}, after {as_of}: "
            "it held nothing as of that date"
        )
    if known_at is not None and as_utc(first.timestamp) > known_at:
        raise NotEnrolledAsOf(
            f"partner {partner}'s enrollment was recorded at "
            f"{as_utc(first.timestamp).isoformat()}, after {known_at.isoformat()}: "
            "the ledger knew nothing of it at that instant"
        )


def rebuild(events: list[Stored]) -> tuple[Partner, list[dict[str, Any]]]:
    """Apply events to a fresh Partner: the enrollment through `mutate`, the
    others through `apply` (a filtered subsequence would fail the version
    check of `mutate`). An event whose prerequisites are not in effect on the
    date asked (e.g. an admin revoked with an effective date before the
    grant was recorded) is listed as skipped rather than applied. Any other
    error surfaces: it would be a defect, not a fact of the log."""
    partner = events[0].event.mutate(None)
    skipped = []
    for stored in events[1:]:
        missing = stored.event.missing_in(partner)
        if missing is None:
            stored.event.apply(partner)
            continue
        skipped.append(
            {
                "position": stored.position,
                "event": type(stored.event).__name__,
                "reason": missing,
            }
        )
    return partner, skipped


def key_view(key: Any) -> dict[str, Any]:
    return {
        "key": key.key,
        "benefit": key.benefit,
        "licenses": key.licenses,
        "issued_on": views.iso(key.issued_on),
        "redeemed_on": views.iso(key.redeemed_on),
        "tenant": key.tenant,
        "subscription": key.subscription,
        "mode": key.mode,
        "usable_until": views.iso(key.usable_until),
    }


def state_view(partner: Partner, as_of: date, within: int) -> dict[str, Any]:
    """The partner's state on `as_of` in the CLI's shapes, and the report rows
    computed by ledger.domain.reports, so an auditor can compare them line by line."""
    return {
        "partner": views.partner_view(partner, as_of),
        "benefits": [
            views.benefit_view(partner.benefits[b]) for b in sorted(partner.benefits)
        ],
        "keys": [key_view(partner.keys[k]) for k in sorted(partner.keys)],
        "subscriptions": [
            views.subscription_view(partner.subscriptions[s], as_of)
            for s in sorted(partner.subscriptions)
        ],
        "seats": [views.seat_view(partner.seats[s]) for s in sorted(partner.seats)],
        "users": [views.user_view(partner, e, as_of) for e in sorted(partner.users)],
        "tickets": [
            views.ticket_view(t, partner.benefits[t.benefit]) for t in partner.tickets
        ],
        "entitlements": entitlement_rows(partner, as_of),
        "expiring": expiring_rows(partner, as_of, within),
        "reassignable": reassignable_rows(partner, as_of),
        "conflicts": conflict_rows(partner),
    }


def kept_events(
    events: list[Stored], as_of: date, known_at: datetime | None = None
) -> list[Stored]:
    """The events a replay as of `as_of` (and as known at `known_at`) folds:
    those known then (`known`), except those voided by a void recorded by
    `known_at` (every void without it), whatever its effective date."""
    voided = voided_versions(
        s.event for s in events if known_at is None or recorded_by(s.event, known_at)
    )
    return [
        s
        for s in events
        if isinstance(s.event, PartnerEvent)
        and s.event.originator_version not in voided
        and known(s.event, as_of, known_at)
    ]


def replay(
    app: Any,
    partner: str,
    as_of: date,
    known_at: datetime | None = None,
    within: int | None = None,
) -> dict[str, Any]:
    """The partner's state as of `as_of` (and as recorded by `known_at`),
    rebuilt from its events alone. Deterministic: the same log gives the same
    dict, key for key and row for row.

    Raises NotFound for a partner that never enrolled, NotEnrolledAsOf when
    its enrollment is after `as_of` (or recorded after `known_at`)."""
    within_days = app.within_days(as_of, within)
    known_at = as_utc(known_at) if known_at is not None else None
    events = partner_events(app, partner)
    check_enrolled(partner, events[0].event, as_of, known_at)
    kept = kept_events(events, as_of, known_at)
    state, skipped = rebuild(kept)
    answer: dict[str, Any] = app.reveal(
        {
            "as_of": as_of.isoformat(),
            "known_at": known_at.isoformat() if known_at is not None else None,
            "events": len(kept) - len(skipped),
            "through_position": max(s.position for s in kept),
            **state_view(state, as_of, within_days),
            "skipped": skipped,
        }
    )
    # users are kept by reference: list them by the name they show
    answer["users"].sort(key=lambda user: user["email"])
    return answer
