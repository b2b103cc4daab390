"""The dated facts of issue 18 (calendar, timeline), read from the deadlines
projection's tables as of a date.

Every row keeps the effective date of the event that set it, so the facts as
of a date are the rows whose dates are on or before it: the same facts a
replay of the events effective by then builds (ledger.domain.deadlines).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

import sqlalchemy as sa

from ledger.domain.deadlines import (
    BenefitDates,
    KeyDates,
    PartnerDates,
    PeriodDates,
    SeatDates,
    SubscriptionDates,
    VoidedDates,
)
from ledger.domain.names import seat_benefit
from projections.storage.queries import Partners, of_partners

Tables = dict[str, sa.Table]
ByPartner = dict[str, list[Any]]


def _by_partner(conn: sa.Connection, table: sa.Table, partner: Partners) -> ByPartner:
    query = sa.select(table).where(*of_partners(table.c.partner, partner))
    found: ByPartner = defaultdict(list)
    for row in conn.execute(query):
        found[row.partner].append(row)
    return found


def _by_id(rows: list[Any], ident: str) -> list[Any]:
    return sorted(rows, key=lambda row: getattr(row, ident))


def _until(day: date | None, on: date) -> date | None:
    """A date that took effect on or before `on`, else None."""
    return day if day is not None and day <= on else None


def periods(rows: list[Any], on: date) -> list[PeriodDates]:
    """The periods opened by `on`; the next one counts once renewed by `on`."""
    return [
        PeriodDates(
            row.start,
            row.renewal_start_date,
            row.renewal_date,
            row.next_start if _until(row.next_on, on) else None,
        )
        for row in _by_id(rows, "start")
        if row.since <= on
    ]


def benefits(rows: list[Any], on: date) -> list[BenefitDates]:
    return [
        BenefitDates(
            row.benefit,
            row.kind,
            row.product,
            row.quantity,
            row.granted_on,
            row.period_start,
            row.benefit_expiry_date,
            row.activate_by,
            _until(row.activated_on, on),
        )
        for row in _by_id(rows, "benefit")
        if row.granted_on <= on
    ]


def _redeemed(rows: list[Any], on: date) -> list[Any]:
    return [r for r in rows if r.redeemed_on is not None and r.redeemed_on <= on]


def keys(rows: list[Any], on: date) -> list[KeyDates]:
    return [
        KeyDates(
            row.key,
            row.benefit,
            row.licenses,
            row.redeemed_on,
            row.usable_until,
            row.subscription,
            row.mode,
            _until(row.next_redemption_on, on),
        )
        for row in _by_id(_redeemed(rows, on), "key")
    ]


def subscriptions(
    subs: list[Any], key_rows: list[Any], on: date
) -> list[SubscriptionDates]:
    """Each subscription as its latest redemption by `on` left it (R10)."""
    latest: dict[str, Any] = {}
    for row in _redeemed(key_rows, on):
        if (
            row.subscription not in latest
            or row.number > latest[row.subscription].number
        ):
            latest[row.subscription] = row
    return [
        SubscriptionDates(
            row.subscription,
            row.tenant,
            row.created_on,
            latest[row.subscription].sub_licenses,
            latest[row.subscription].sub_end,
        )
        for row in _by_id(subs, "subscription")
        if row.subscription in latest
    ]


def seats(
    assignments: list[Any], benefit_rows: list[BenefitDates], on: date
) -> list[SeatDates]:
    """Seats held on `on`: their latest assignment by then, not yet ended."""
    latest: dict[str, Any] = {}
    for row in assignments:
        if row.assigned_on <= on and (
            row.seat not in latest or row.number > latest[row.seat].number
        ):
            latest[row.seat] = row
    use_until = {b.benefit: b.activate_by for b in benefit_rows}
    held = [r for r in latest.values() if _until(r.ended_on, on) is None]
    return [
        SeatDates(
            row.seat,
            seat_benefit(row.seat),
            "active" if _until(row.signed_in_on, on) else "assigned",
            row.assigned_on,
            row.reassignable_on,
            _until(row.signed_in_on, on),
            use_until[seat_benefit(row.seat)],
        )
        for row in _by_id(held, "seat")
    ]


def partner_dates(
    conn: sa.Connection, tables: Tables, partner: Partners, on: date
) -> list[PartnerDates]:
    """Each partner's dated facts as of `on`, partners enrolled by then only,
    in partner order."""
    rows = {
        name: _by_partner(conn, tables[name], partner)
        for name in ("periods", "benefits", "keys", "subscriptions", "assignments")
    }
    answer = []
    for name in sorted(rows["periods"]):
        found = periods(rows["periods"][name], on)
        if not found:
            continue
        granted = benefits(rows["benefits"][name], on)
        answer.append(
            PartnerDates(
                name,
                on,
                found,
                granted,
                keys(rows["keys"][name], on),
                subscriptions(rows["subscriptions"][name], rows["keys"][name], on),
                seats(rows["assignments"][name], granted, on),
            )
        )
    return answer


def voided(
    conn: sa.Connection, tables: Tables, partner: str, on: date
) -> list[VoidedDates]:
    """The partner's voided events that drew an item which began by `on`,
    in the order they were recorded."""
    rows = _by_partner(conn, tables["voided"], partner)[partner]
    return [
        VoidedDates(
            row.kind,
            row.ident,
            row.event,
            row.start,
            row.end,
            row.reason,
            row.voided_on,
        )
        for row in _by_id(rows, "version")
        if row.start <= on
    ]
