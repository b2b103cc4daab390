"""The dates a partner admin must act on, and whether each was met on a date.

`PartnerDates` holds a partner's dated facts as of a date (what the events
effective on or before it built): its periods, benefits, redeemed keys,
subscriptions and held seats. The projections (projections/calendar.py) and a
replayed state (`partner_dates`) build the same facts; `deadlines` turns them
into one `Deadline` per date to act on, judged met, open or missed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from uuid import uuid5

from ledger.domain.partner import (
    NAMESPACE,
    BenefitActivated,
    BenefitGranted,
    Enrolled,
    KeyRedeemed,
    Partner,
    Renewed,
    SeatAssigned,
    SeatReleased,
    SeatSignedIn,
    Voided,
)
from ledger.domain.reports import REMEDIES
from ledger.domain.rules import activation_rule, is_user_assigned

MET, OPEN, MISSED = "met", "open", "missed"


@dataclass(frozen=True)
class PeriodDates:
    """An enrollment period (R1, R3); `next_start` is the start of the period
    that followed it, if it was renewed (R4)."""

    start: date
    renewal_start_date: date
    renewal_date: date
    next_start: date | None = None


@dataclass(frozen=True)
class BenefitDates:
    benefit: str
    kind: str
    product: str
    quantity: int
    granted_on: date
    period_start: date
    benefit_expiry_date: date
    activate_by: date
    activated_on: date | None = None


@dataclass(frozen=True)
class KeyDates:
    """A redeemed key (R7); `next_redemption_on` is when the next key was
    redeemed into the same subscription (add or extend, R10), if one was."""

    key: str
    benefit: str
    licenses: int
    redeemed_on: date
    usable_until: date
    subscription: str
    mode: str
    next_redemption_on: date | None = None


@dataclass(frozen=True)
class SubscriptionDates:
    subscription: str
    tenant: str
    created_on: date
    licenses: int
    end: date


@dataclass(frozen=True)
class SeatDates:
    """A held seat's current assignment (R13, R14) and its last day of use
    (its benefit's activate-by date, R5)."""

    seat: str
    benefit: str
    state: str
    assigned_on: date
    reassignable_on: date
    signed_in_on: date | None
    use_until: date


@dataclass(frozen=True)
class PartnerDates:
    """A partner's dated facts as of `on`, each list in id order."""

    partner: str
    on: date
    periods: list[PeriodDates] = field(default_factory=list)
    benefits: list[BenefitDates] = field(default_factory=list)
    keys: list[KeyDates] = field(default_factory=list)
    subscriptions: list[SubscriptionDates] = field(default_factory=list)
    seats: list[SeatDates] = field(default_factory=list)


@dataclass(frozen=True)
class Deadline:
    """One date to act on. `item` is the thing (period, benefit, key,
    subscription, seat) and `ident` its id; `name` tells which of its dates."""

    partner: str
    item: str
    ident: str
    name: str
    rule: str
    due: date
    status: str
    what: str
    detail: str
    remedy: str

    @property
    def uid(self) -> str:
        """Stable across runs and dates: the same deadline keeps its UID."""
        key = f"deadline:{self.partner}:{self.item}:{self.ident}:{self.name}"
        return f"{uuid5(NAMESPACE, key)}@benefits-ledger"


def deadline_row(deadline: Deadline) -> dict[str, str]:
    """A deadline as a report row (what `audit check` compares)."""
    d = deadline
    return {
        "partner": d.partner,
        "item": d.item,
        "id": d.ident,
        "deadline": d.name,
        "rule": d.rule,
        "due": d.due.isoformat(),
        "status": d.status,
        "uid": d.uid,
    }


REMEDY_RENEWAL_START = (
    "renew the membership: existing membership can be renewed any day after "
    "the beginning of the renewal start date"
)
REMEDY_REASSIGN = (
    "the seat may be reassigned from one subscriber to another now that 90 "
    "days have passed since its assignment"
)


def last_date_status(due: date, done: bool, on: date) -> str:
    """A last date (R1, R2/R5, R7, R10): met when what answers it was done in
    time, missed once `on` is past it without that, open until then."""
    if done:
        return MET
    return MISSED if on > due else OPEN


def first_date_status(due: date, on: date) -> str:
    """A first date (R14 reassignable-on): open until it comes, met from then
    on; it can't be missed."""
    return MET if on >= due else OPEN


def renewed_in_time(period: PeriodDates) -> bool:
    """R4: renewed on or before the renewal date, the next period starts on
    the old renewal date (renewed later, it starts on the day of renewal)."""
    return period.next_start == period.renewal_date


def key_followed_in_time(key: KeyDates) -> bool:
    """R7/R10: a key's licenses carried on when another key was added to or
    extended its subscription by the key's usable-until date."""
    nxt = key.next_redemption_on
    return nxt is not None and nxt <= key.usable_until


def period_deadlines(partner: str, period: PeriodDates, on: date) -> list[Deadline]:
    """R3 renewal start and R1 renewal date: both met when the period was
    renewed in time, missed once the renewal date passed without it."""
    status = last_date_status(period.renewal_date, renewed_in_time(period), on)
    ident = period.start.isoformat()
    return [
        Deadline(
            partner,
            "period",
            ident,
            "renewal-start",
            "R3",
            period.renewal_start_date,
            status,
            "renewal opens",
            f"the enrollment period {ident} to {period.renewal_date} can be "
            f"renewed from {period.renewal_start_date}",
            REMEDY_RENEWAL_START,
        ),
        Deadline(
            partner,
            "period",
            ident,
            "renewal-date",
            "R1",
            period.renewal_date,
            status,
            "renewal date",
            f"the enrollment period {ident} ends on {period.renewal_date}; its "
            "benefits must be redeemed by then",
            REMEDIES["membership"],
        ),
    ]


def benefit_deadline(partner: str, benefit: BenefitDates, on: date) -> Deadline:
    """R2/R5: activate by the activate-by date (grace included)."""
    return Deadline(
        partner,
        "benefit",
        benefit.benefit,
        "activate-by",
        activation_rule(benefit.kind),
        benefit.activate_by,
        last_date_status(benefit.activate_by, benefit.activated_on is not None, on),
        "activate by",
        f"{benefit.product} ({benefit.kind}, {benefit.quantity}) granted on "
        f"{benefit.granted_on}, benefit expiry date {benefit.benefit_expiry_date}"
        + (f", activated on {benefit.activated_on}" if benefit.activated_on else ""),
        REMEDIES["benefit"],
    )


def key_deadline(partner: str, key: KeyDates, on: date) -> Deadline:
    """R7: a key is usable until a year after its redemption."""
    return Deadline(
        partner,
        "key",
        key.key,
        "usable-until",
        "R7",
        key.usable_until,
        last_date_status(key.usable_until, key_followed_in_time(key), on),
        "usable until",
        f"{key.licenses} licenses of {key.benefit} redeemed on {key.redeemed_on} "
        f"into subscription {key.subscription} ({key.mode})",
        REMEDIES["key"],
    )


def subscription_deadline(partner: str, sub: SubscriptionDates, on: date) -> Deadline:
    """R10: the subscription's end; adding or extending moves it."""
    return Deadline(
        partner,
        "subscription",
        sub.subscription,
        "end",
        "R10",
        sub.end,
        last_date_status(sub.end, False, on),
        "ends",
        f"{sub.licenses} licenses on tenant {sub.tenant}, since {sub.created_on}",
        REMEDIES["subscription"],
    )


def seat_deadline(partner: str, seat: SeatDates, on: date) -> Deadline:
    """R14: a held seat can be reassigned from its reassignable-on date."""
    return Deadline(
        partner,
        "seat",
        seat.seat,
        "reassignable-on",
        "R14",
        seat.reassignable_on,
        first_date_status(seat.reassignable_on, on),
        "reassignable from",
        f"assigned on {seat.assigned_on} ({seat.state}"
        + (f", signed in on {seat.signed_in_on}" if seat.signed_in_on else "")
        + f"), usable until {seat.use_until}",
        REMEDY_REASSIGN,
    )


def deadlines(dates: PartnerDates) -> list[Deadline]:
    """Every date the partner must act on, judged on `dates.on`, by date."""
    p, on = dates.partner, dates.on
    found = [d for period in dates.periods for d in period_deadlines(p, period, on)]
    found += [benefit_deadline(p, b, on) for b in dates.benefits]
    found += [key_deadline(p, k, on) for k in dates.keys]
    found += [subscription_deadline(p, s, on) for s in dates.subscriptions]
    found += [seat_deadline(p, s, on) for s in dates.seats]
    return sorted(found, key=lambda d: (d.due, d.item, d.ident, d.name))


def grace_until(dates: PartnerDates, period: PeriodDates) -> date | None:
    """R5: the last activate-by date of the period's user-assigned benefits
    (their grace after the renewal date), if it has any."""
    ends = [
        b.activate_by
        for b in dates.benefits
        if b.period_start == period.start and is_user_assigned(b.kind)
    ]
    return max(ends, default=None)


# -- the same facts from a partner's state (a replay as of a date) ------------------


def partner_dates(partner: Partner, on: date) -> PartnerDates:
    """The dated facts of a partner state built from the events effective on
    or before `on` (see ledger.audit.replays)."""
    periods = [
        PeriodDates(
            p.start,
            p.renewal_start_date,
            p.renewal_date,
            nxt.start if nxt is not None else None,
        )
        for p, nxt in zip(partner.periods, [*partner.periods[1:], None])
    ]
    return PartnerDates(
        partner.partner,
        on,
        periods,
        [_benefit(b) for _, b in sorted(partner.benefits.items())],
        _keys(partner),
        [
            SubscriptionDates(s.subscription, s.tenant, s.created_on, s.licenses, s.end)
            for _, s in sorted(partner.subscriptions.items())
        ],
        [
            SeatDates(
                s.seat,
                s.benefit,
                s.state,
                s.assigned_on,
                s.reassignable_on,
                s.signed_in_on,
                partner.benefits[s.benefit].activate_by,
            )
            for _, s in sorted(partner.seats.items())
            if s.user is not None
            and s.assigned_on is not None
            and s.reassignable_on is not None
        ],
    )


def _benefit(b: object) -> BenefitDates:
    names = BenefitDates.__dataclass_fields__
    return BenefitDates(**{name: getattr(b, name) for name in names})


def _keys(partner: Partner) -> list[KeyDates]:
    following: dict[str, date] = {}
    for sub in partner.subscriptions.values():
        for key, nxt in zip(sub.keys, sub.keys[1:]):
            redeemed = partner.keys[nxt].redeemed_on
            if redeemed is not None:
                following[key] = redeemed
    return [
        KeyDates(
            k.key,
            k.benefit,
            k.licenses,
            k.redeemed_on,
            k.usable_until,
            k.subscription,
            k.mode or "",
            following.get(k.key),
        )
        for _, k in sorted(partner.keys.items())
        if k.redeemed_on is not None
        and k.usable_until is not None
        and k.subscription is not None
    ]


# -- voided events (corrections): drawn struck through on the timeline -------------


@dataclass(frozen=True)
class VoidedDates:
    """What a voided event had drawn: an item (`kind`, `ident`) from `start`
    to `end`, with the event's name, the void's reason and effective date."""

    kind: str
    ident: str
    event: str
    start: date
    end: date
    reason: str
    voided_on: date


def drawn_span(event: object) -> tuple[str, str, date, date] | None:
    """The timeline item an event draws or marks (kind, id, start, end), or
    None for events the timeline does not show (tenants, users, tickets...)."""
    if isinstance(event, (Enrolled, Renewed)):
        start = event.period_start
        return "period", start.isoformat(), start, event.renewal_date
    if isinstance(event, BenefitGranted):
        return "benefit", event.benefit, event.on, event.activate_by
    if isinstance(event, BenefitActivated):
        return "benefit", event.benefit, event.on, event.on
    if isinstance(event, KeyRedeemed):
        return "key", event.key, event.on, event.usable_until
    if isinstance(event, SeatAssigned):
        return "seat", event.seat, event.on, event.reassignable_on
    if isinstance(event, (SeatSignedIn, SeatReleased)):
        return "seat", event.seat, event.on, event.on
    return None


def voided_dates(event: object, void: Voided) -> VoidedDates | None:
    """The struck-through item of an event that `void` voided, if it drew one."""
    span = drawn_span(event)
    if span is None:
        return None
    kind, ident, start, end = span
    return VoidedDates(
        kind, ident, type(event).__name__, start, end, void.reason, void.on
    )
