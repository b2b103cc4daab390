"""Report rows computed from a partner's state: the reference shapes.

The projections in `projections/` build the same rows from their own tables;
audit replays use these functions on state rebuilt from events, and
`audit check` compares the two. Anything that depends on the date asked
(status, days left, eligibility) is computed here, at query time.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

from ledger.domain.dates import days_between
from ledger.domain.rules import (
    PRODUCT_KEY,
    TECHNICAL,
    bulk_credit_conflicts,
    is_bulk_credit,
    is_expiring_soon,
    is_reassignable,
    usable_on,
)
from ledger.domain.views import iso

if TYPE_CHECKING:  # the projections' reports use the row shapes without them
    from ledger.domain.partner import Partner
    from ledger.domain.state import Benefit

REMEDIES = {
    "membership": "renew the membership",
    "benefit": "activate it before it expires, or renew the membership and repeat",
    "key": "add licenses, or extend for the next enrollment year",
    "subscription": "add licenses, or extend for the next enrollment year",
    "seat": "renew the membership",
}


def benefit_used(partner: Partner, benefit: Benefit) -> int:
    """Licenses issued as keys, seats held, or support incidents used."""
    if benefit.kind == PRODUCT_KEY:
        return benefit.licenses_issued
    if benefit.kind == TECHNICAL:
        return benefit.incidents_used
    return sum(
        1 for s in partner.seats.values() if s.benefit == benefit.benefit and s.user
    )


def entitlement_status(activated_on: date | None, activate_by: date, on: date) -> str:
    """R2/R5/R6: activated, still available on the date, or expired."""
    if activated_on is not None:
        return "activated"
    return "available" if usable_on(on, activate_by) else "expired"


def entitlement_row(stored: Mapping[str, Any], on: date) -> dict[str, Any]:
    """One entitlements row from the stored facts of a benefit (the columns of
    the entitlements read model; dates as dates)."""
    activated_on, activate_by = iso(stored["activated_on"]), iso(stored["activate_by"])
    return {
        "partner": stored["partner"],
        "benefit": stored["benefit"],
        "kind": stored["kind"],
        "product": stored["product"],
        "quantity": stored["quantity"],
        "used": stored["used"],
        "remaining": stored["quantity"] - stored["used"],
        "activated": activated_on is not None,
        "activated_on": activated_on,
        "activate_by": activate_by,
        "status": entitlement_status(stored["activated_on"], stored["activate_by"], on),
    }


def entitlement_rows(partner: Partner, on: date) -> list[dict[str, Any]]:
    """What the partner was granted, what is used and what can still be activated."""
    return [
        entitlement_row(
            {
                "partner": partner.partner,
                **vars(benefit),
                "used": benefit_used(partner, benefit),
            },
            on,
        )
        for benefit in sorted(partner.benefits.values(), key=lambda b: b.benefit)
    ]


def expiry_dates(partner: Partner) -> list[tuple[str, str, date]]:
    """Every dated end: (what, id, ends_on)."""
    ends = [("membership", partner.partner, partner.current_period.renewal_date)]
    ends += [
        ("benefit", b.benefit, b.benefit_expiry_date) for b in partner.benefits.values()
    ]
    ends += [
        ("key", k.key, k.usable_until) for k in partner.keys.values() if k.usable_until
    ]
    ends += [
        ("subscription", s.subscription, s.end) for s in partner.subscriptions.values()
    ]
    ends += [
        ("seat", s.seat, partner.benefits[s.benefit].activate_by)
        for s in partner.seats.values()
        if s.user
    ]
    return ends


def expiry_row(
    partner: str, what: str, ident: str, ends_on: str, on: date
) -> dict[str, Any]:
    return {
        "partner": partner,
        "what": what,
        "id": ident,
        "ends_on": ends_on,
        "days_left": days_between(on, date.fromisoformat(ends_on)),
        "remedy": REMEDIES[what],
    }


def sort_expiry(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda r: (r["ends_on"], r["partner"], r["what"], r["id"]))


def expiring_rows(partner: Partner, on: date, within: int) -> list[dict[str, Any]]:
    """R11: what ends within `within` days of `on`, with the FAQ's remedy."""
    rows = [
        expiry_row(partner.partner, what, ident, ends_on.isoformat(), on)
        for what, ident, ends_on in expiry_dates(partner)
        if is_expiring_soon(ends_on, on, within)
    ]
    return sort_expiry(rows)


def reassignable_row(stored: Mapping[str, Any], on: date) -> dict[str, Any]:
    """One reassignment row from the stored facts of a held seat (dates as
    dates): the seat's view and whether it can move on `on` (R14)."""
    return {
        "partner": stored["partner"],
        "seat": stored["seat"],
        "benefit": stored["benefit"],
        "user": stored["user"],
        "state": stored["state"],
        "assigned_on": iso(stored["assigned_on"]),
        "reassignable_on": iso(stored["reassignable_on"]),
        "eligible": is_reassignable(on, stored["reassignable_on"]),
    }


def reassignable_rows(partner: Partner, on: date) -> list[dict[str, Any]]:
    """R14: every held seat, its dates, and whether it can move on `on`."""
    return [
        reassignable_row({"partner": partner.partner, **vars(seat)}, on)
        for seat in sorted(partner.seats.values(), key=lambda s: s.seat)
        if seat.user is not None
    ]


def conflict_rows(partner: Partner) -> list[dict[str, Any]]:
    """R15: users holding a Bulk Credit seat together with other offers."""
    rows = []
    for email in sorted(partner.users):
        seats = sorted(
            s.seat
            for s in partner.seats.values()
            if s.user == email and is_bulk_credit(partner.benefits[s.benefit].kind)
        )
        offers = bulk_credit_conflicts(partner.users[email].offers)
        if seats and offers:
            rows.append(
                {
                    "partner": partner.partner,
                    "user": email,
                    "seats": seats,
                    "offers": offers,
                }
            )
    return rows
