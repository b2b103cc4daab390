"""Answers: the JSON-ready shape of a partner's state, as the CLI prints it.

Dates are ISO strings here; the same shapes serve the CLI and audit replays.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from ledger.domain.names import seat_number
from ledger.domain.rules import bulk_credit_conflicts, is_bulk_credit

if TYPE_CHECKING:  # annotations only: a report's row shapes need no events
    from ledger.domain.partner import Partner
    from ledger.domain.state import Benefit, Key, Period, Seat, Subscription, Ticket


def iso(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None


def membership_view(partner: Partner, period: Period) -> dict[str, Any]:
    return {
        "partner": partner.partner,
        "name": partner.name,
        "period_start": iso(period.start),
        "renewal_date": iso(period.renewal_date),
        "renewal_start_date": iso(period.renewal_start_date),
        "benefit_expiry_date": iso(period.renewal_date),
    }


NOT_ENROLLED = "not enrolled yet"


def partner_view(partner: Partner, on: date) -> dict[str, Any]:
    """The period that contains `on` (else the last one before it: lapsed),
    its status on that date, and the admins. Before the enrollment no period
    is shown: the status says the partner was not enrolled yet."""
    period = partner.period_on(on)
    status = "active" if period is not None else "lapsed"
    if period is None:
        period = next((p for p in reversed(partner.periods) if p.start <= on), None)
    if period is None:
        answer: dict[str, Any] = dict.fromkeys(
            membership_view(partner, partner.periods[0])
        )
        answer.update(partner=partner.partner, name=partner.name)
        status = NOT_ENROLLED
    else:
        answer = membership_view(partner, period)
    answer.update(status=status, admins=list(partner.admins))
    return answer


def benefit_view(benefit: Benefit) -> dict[str, Any]:
    answer = {
        "benefit": benefit.benefit,
        "kind": benefit.kind,
        "product": benefit.product,
        "quantity": benefit.quantity,
        "granted_on": iso(benefit.granted_on),
        "benefit_expiry_date": iso(benefit.benefit_expiry_date),
        "activate_by": iso(benefit.activate_by),
    }
    if benefit.activated_on is not None:
        answer["activated_on"] = iso(benefit.activated_on)
    if benefit.access_id is not None:
        answer["access_id"] = benefit.access_id
    return answer


def subscription_view(sub: Subscription, on: date | None = None) -> dict[str, Any]:
    answer = {
        "tenant": sub.tenant,
        "subscription": sub.subscription,
        "licenses": sub.licenses,
        "subscription_end": iso(sub.end),
    }
    if on is not None:
        answer["status"] = "active" if on <= sub.end else "expired"
    return answer


def redemption_view(key: Key, sub: Subscription) -> dict[str, Any]:
    return {
        "key": key.key,
        **subscription_view(sub),
        "mode": key.mode,
        "key_usable_until": iso(key.usable_until),
    }


def seat_view(seat: Seat) -> dict[str, Any]:
    return {
        "seat": seat.seat,
        "benefit": seat.benefit,
        "user": seat.user,
        "state": seat.state,
        "assigned_on": iso(seat.assigned_on),
        "reassignable_on": iso(seat.reassignable_on),
    }


def user_view(partner: Partner, email: str, on: date | None = None) -> dict[str, Any]:
    """The user's source, offers held on `on` (all if None), seats, and the
    offers that conflict with a Bulk Credit seat (R15)."""
    user = partner.users[email]
    offers = [o for o, since in user.offers.items() if on is None or since <= on]
    order = {name: n for n, name in enumerate(partner.benefits)}
    seats = sorted(
        (s for s in partner.seats.values() if s.user == email),
        key=lambda s: (order[s.benefit], seat_number(s.seat) or 0),
    )
    holds_bulk = any(is_bulk_credit(partner.benefits[s.benefit].kind) for s in seats)
    return {
        "partner": partner.partner,
        "email": email,
        "source": user.source,
        "offers": sorted(offers),
        "seats": [seat_view(s) for s in seats],
        "conflicts": bulk_credit_conflicts(offers) if holds_bulk else [],
    }


def ticket_view(ticket: Ticket, benefit: Benefit) -> dict[str, Any]:
    return {
        "ticket": ticket.ticket,
        "benefit": ticket.benefit,
        "access_id": ticket.access_id,
        "product": ticket.product,
        "opened_on": iso(ticket.opened_on),
        "incidents_left": benefit.quantity - benefit.incidents_used,
    }
