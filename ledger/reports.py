"""Report rows computed from a partner's state: the reference shapes.

The projections in `projections/` build the same rows from their own tables;
audit replays use these functions on state rebuilt from events, and
`audit check` compares the two. Anything that depends on the date asked
(status, days left, eligibility) is computed here, at query time.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from ledger.dates import days_between
from ledger.partner import Partner
from ledger.rules import bulk_credit_conflicts, is_expiring_soon
from ledger.state import Benefit
from ledger.views import iso, seat_view

REMEDIES = {
    "membership": "renew the membership",
    "benefit": "activate it before it expires, or renew the membership and repeat",
    "key": "add licenses, or extend for the next enrollment year",
    "subscription": "add licenses, or extend for the next enrollment year",
    "seat": "renew the membership",
}


def benefit_used(partner: Partner, benefit: Benefit) -> int:
    """Licenses issued as keys, seats held, or support incidents used."""
    if benefit.kind == "product-key":
        return benefit.licenses_issued
    if benefit.kind == "technical":
        return benefit.incidents_used
    return sum(1 for s in partner.seats.values() if s.benefit == benefit.benefit and s.user)


def entitlement_status(activated_on: str | None, activate_by: str, on: date) -> str:
    if activated_on is not None:
        return "activated"
    return "available" if on.isoformat() <= activate_by else "expired"


def entitlement_rows(partner: Partner, on: date) -> list[dict[str, Any]]:
    """What the partner was granted, what is used and what can still be activated."""
    rows = []
    for benefit in sorted(partner.benefits.values(), key=lambda b: b.benefit):
        used = benefit_used(partner, benefit)
        rows.append({
            "partner": partner.partner,
            "benefit": benefit.benefit,
            "kind": benefit.kind,
            "product": benefit.product,
            "quantity": benefit.quantity,
            "used": used,
            "remaining": benefit.quantity - used,
            "activated_on": iso(benefit.activated_on),
            "activate_by": iso(benefit.activate_by),
            "status": entitlement_status(iso(benefit.activated_on), iso(benefit.activate_by), on),
        })
    return rows


def expiry_dates(partner: Partner) -> list[tuple[str, str, date]]:
    """Every dated end: (what, id, ends_on)."""
    ends = [("membership", partner.partner, partner.current_period.renewal_date)]
    ends += [("benefit", b.benefit, b.benefit_expiry_date) for b in partner.benefits.values()]
    ends += [("key", k.key, k.usable_until) for k in partner.keys.values() if k.usable_until]
    ends += [("subscription", s.subscription, s.end) for s in partner.subscriptions.values()]
    ends += [
        ("seat", s.seat, partner.benefits[s.benefit].activate_by)
        for s in partner.seats.values()
        if s.user
    ]
    return ends


def expiry_row(partner: str, what: str, ident: str, ends_on: str, on: date) -> dict[str, Any]:
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


def reassignable_rows(partner: Partner, on: date) -> list[dict[str, Any]]:
    """R14: every held seat, its dates, and whether it can move on `on`."""
    rows = []
    for seat in sorted(partner.seats.values(), key=lambda s: s.seat):
        if seat.user is None:
            continue
        rows.append({
            "partner": partner.partner,
            **seat_view(seat),
            "eligible": on >= seat.reassignable_on,
        })
    return rows


def conflict_rows(partner: Partner) -> list[dict[str, Any]]:
    """R15: users holding a Bulk Credit seat together with other offers."""
    rows = []
    for email in sorted(partner.users):
        seats = sorted(
            s.seat for s in partner.seats.values()
            if s.user == email and partner.benefits[s.benefit].kind == "azure-bulk-credit"
        )
        offers = bulk_credit_conflicts(partner.users[email].offers)
        if seats and offers:
            rows.append({"partner": partner.partner, "user": email,
                         "seats": seats, "offers": offers})
    return rows
