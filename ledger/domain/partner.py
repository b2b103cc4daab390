"""The Partner aggregate and its events.

One aggregate holds everything a partner has (periods, admins, benefits, keys,
subscriptions, users, seats, tickets), so every rule is checked against one
consistent state and the event store's optimistic concurrency on the
partner's version makes concurrent writers to one partner safe.

Events are past-tense dataclasses. `change` only changes state: it runs again
at every replay, so it never checks, reads the clock or does I/O.
"""

from __future__ import annotations

from dataclasses import field
from datetime import date
from typing import Any, ClassVar

from eventsourcing.domain import Aggregate

from ledger.domain.admins import current_admins, granted, revoked
from ledger.domain.ids import (  # noqa: F401 - imported from here by their users
    NAMESPACE,
    partner_uuid,
    request_uuid,
)
from ledger.domain.names import seat_benefit
from ledger.domain.rules import check_not_before
from ledger.domain.state import (
    AdminTerm,
    Benefit,
    Key,
    Period,
    Seat,
    Subscription,
    Ticket,
    User,
)


class Partner(Aggregate):
    # Version 2: admins are terms with effective dates (`admin_terms`), and a
    # seat exists once it is assigned (version 1 held one per unit granted).
    class_version = 2

    def __init__(self) -> None:
        self.partner = ""
        self.name = ""
        self.periods: list[Period] = []
        self.admin_terms: list[AdminTerm] = []
        self.tenants: dict[str, date] = {}
        self.benefits: dict[str, Benefit] = {}
        self.keys: dict[str, Key] = {}
        self.subscriptions: dict[str, Subscription] = {}
        self.users: dict[str, User] = {}
        self.seats: dict[str, Seat] = {}
        self.tickets: list[Ticket] = []
        self.last_on: dict[str, date] = {}

    def record(
        self, event_class: type[PartnerEvent], write: Any, **fields: Any
    ) -> None:
        """Trigger an event for a write, after checking that no entity it
        touches goes backwards in effective time."""
        for entity in event_class.entities(fields):
            if entity in self.last_on:
                check_not_before(write.on, self.last_on[entity], entity)
        self.trigger_event(event_class, **write.event_fields(), **fields)

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        """A version-1 snapshot: its admins become terms from the first
        period's start (version 1 kept no admin dates), and its seats that were
        never assigned are dropped (they exist again once assigned)."""
        periods = state["periods"]
        since = periods[0].start if periods else date.min
        state["admin_terms"] = [
            AdminTerm(email, since) for email in state.pop("admins")
        ]
        state["seats"] = {
            name: seat
            for name, seat in state["seats"].items()
            if seat.last_user is not None
        }

    @property
    def admins(self) -> list[str]:
        """The current admins, in the order granted."""
        return current_admins(self.admin_terms)

    def adopt(self, folded: Partner) -> None:
        """Take the domain state of `folded` (this partner folded again, e.g.
        without a voided event), keeping this object's version and pending
        events. The domain state is what `__init__` sets."""
        blank = object.__new__(Partner)
        Partner.__init__(blank)
        for name in vars(blank):
            setattr(self, name, getattr(folded, name))

    @property
    def current_period(self) -> Period:
        return self.periods[-1]

    def period_on(self, day: date) -> Period | None:
        """The period that contains `day`, or whose renewal date it is."""
        for period in reversed(self.periods):
            if period.contains(day):
                return period
        for period in reversed(self.periods):
            if period.renewal_date == day:
                return period
        return None


class PartnerEvent(Aggregate.Event):
    on: date
    actor: str
    request_id: str | None
    # The PostgreSQL login role that recorded the event. Keyword-only with a
    # default, so events recorded before it existed still load (as None).
    login_role: str | None = field(default=None, kw_only=True)

    entity_fields: ClassVar[tuple[str, ...]] = ()
    scope: ClassVar[str] = ""
    # What the event acts on that an earlier event must have brought into the
    # state: (the partner's collection, the event's field naming the entity).
    requires: ClassVar[tuple[tuple[str, str], ...]] = ()

    def missing_in(self, partner: Partner) -> str | None:
        """What this event acts on that the partner's state lacks, or None.
        An as-of replay keeps only events effective by a date; one whose
        prerequisite took effect later (say, the revocation of an admin whose
        grant is dated after it) is skipped, not applied."""
        for collection, name in self.requires:
            value = getattr(self, name)
            if value not in getattr(partner, collection):
                return f"{name} {value} is not in {collection} on that date"
        return None

    @classmethod
    def entities(cls, fields: dict[str, Any]) -> list[str]:
        keys = [f"{name}:{fields[name]}" for name in cls.entity_fields]
        return keys + ([cls.scope] if cls.scope else [])

    def changes(self) -> set[str]:
        """The entities this event created or changed (for corrections)."""
        return set(self.entities(vars(self)))

    def uses(self) -> set[str]:
        """The entities this event relies on without changing them."""
        return set()

    def acts_on(self) -> set[str]:
        """What the event changed or used, and its actor's admin grant: a
        later event depends on an earlier one when it acts on an entity the
        earlier one created or changed."""
        return {*self.changes(), *self.uses(), f"admin:{self.actor}"}

    def apply(self, aggregate: Any) -> None:
        self.change(aggregate)
        for entity in self.entities(vars(self)):
            aggregate.last_on[entity] = self.on

    def change(self, partner: Partner) -> None:
        """Change the partner's state; overridden by each event."""


class Enrolled(Aggregate.Created, PartnerEvent):
    partner: str
    name: str
    period_start: date
    renewal_date: date
    renewal_start_date: date

    scope = "membership"

    def change(self, partner: Partner) -> None:
        partner.partner = self.partner
        partner.name = self.name
        granted(partner.admin_terms, self.actor, self.on)
        partner.periods.append(
            Period(self.period_start, self.renewal_date, self.renewal_start_date)
        )


class Renewed(PartnerEvent):
    period_start: date
    renewal_date: date
    renewal_start_date: date

    scope = "membership"

    def change(self, partner: Partner) -> None:
        partner.periods.append(
            Period(self.period_start, self.renewal_date, self.renewal_start_date)
        )


class AdminGranted(PartnerEvent):
    email: str

    def changes(self) -> set[str]:
        return {f"admin:{self.email}"}

    def change(self, partner: Partner) -> None:
        granted(partner.admin_terms, self.email, self.on)


class AdminRevoked(PartnerEvent):
    email: str

    requires = (("admins", "email"),)

    def changes(self) -> set[str]:
        return {f"admin:{self.email}"}

    def change(self, partner: Partner) -> None:
        revoked(partner.admin_terms, self.email, self.on)


class BenefitGranted(PartnerEvent):
    benefit: str
    kind: str
    product: str
    quantity: int
    period_start: date
    benefit_expiry_date: date
    activate_by: date

    entity_fields = ("benefit",)

    def uses(self) -> set[str]:
        """The enrollment period the benefit was granted in."""
        return {"membership"}

    def change(self, partner: Partner) -> None:
        partner.benefits[self.benefit] = Benefit(
            self.benefit,
            self.kind,
            self.product,
            self.quantity,
            self.on,
            self.period_start,
            self.benefit_expiry_date,
            self.activate_by,
        )


class BenefitActivated(PartnerEvent):
    benefit: str
    access_id: str | None

    entity_fields = ("benefit",)

    requires = (("benefits", "benefit"),)

    def change(self, partner: Partner) -> None:
        benefit = partner.benefits[self.benefit]
        benefit.activated_on = self.on
        benefit.access_id = self.access_id


class TenantAdded(PartnerEvent):
    tenant: str

    entity_fields = ("tenant",)

    def change(self, partner: Partner) -> None:
        partner.tenants[self.tenant] = self.on


class KeyIssued(PartnerEvent):
    key: str
    benefit: str
    licenses: int

    entity_fields = ("key",)

    requires = (("benefits", "benefit"),)

    def changes(self) -> set[str]:
        """The key, and the benefit whose licenses it uses."""
        return {*super().changes(), f"benefit:{self.benefit}"}

    def change(self, partner: Partner) -> None:
        partner.keys[self.key] = Key(self.key, self.benefit, self.licenses, self.on)
        partner.benefits[self.benefit].licenses_issued += self.licenses


class KeyRedeemed(PartnerEvent):
    key: str
    tenant: str
    subscription: str
    mode: str
    usable_until: date
    licenses: int
    subscription_end: date

    entity_fields = ("key", "subscription")

    requires = (("keys", "key"), ("tenants", "tenant"))

    def uses(self) -> set[str]:
        return {f"tenant:{self.tenant}"}

    def change(self, partner: Partner) -> None:
        key = partner.keys[self.key]
        key.redeemed_on = self.on
        key.tenant = self.tenant
        key.subscription = self.subscription
        key.mode = self.mode
        key.usable_until = self.usable_until
        sub = partner.subscriptions.get(self.subscription)
        if sub is None:
            sub = Subscription(
                self.subscription,
                self.tenant,
                self.licenses,
                self.subscription_end,
                self.on,
            )
            partner.subscriptions[self.subscription] = sub
        sub.licenses = self.licenses
        sub.end = self.subscription_end
        sub.keys.append(self.key)


class UserAdded(PartnerEvent):
    """A user joined: `user` is the reference every later event names, `email`
    the address encrypted under the user's own key (ledger/domain/erasure.py).
    Version 1 (before references) held the e-mail in clear and no `user`: the
    e-mail is then the reference."""

    user: str
    email: str
    source: str

    entity_fields = ("user",)
    class_version = 2

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        state["user"] = state["email"]

    def change(self, partner: Partner) -> None:
        partner.users[self.user] = User(self.email, self.source, self.on)


class OfferRecorded(PartnerEvent):
    user: str
    offer: str

    entity_fields = ("user",)
    class_version = 2

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        state["user"] = state.pop("email")

    requires = (("users", "user"),)

    def change(self, partner: Partner) -> None:
        partner.users[self.user].offers.setdefault(self.offer, self.on)


class UserForgotten(PartnerEvent):
    """The user's key was destroyed: the user reads as a pseudonym from now
    on. Names the reference, never the e-mail."""

    user: str
    reason: str

    entity_fields = ("user",)
    requires = (("users", "user"),)

    def change(self, partner: Partner) -> None:
        partner.users[self.user].forgotten_on = self.on


class SeatAssigned(PartnerEvent):
    """A user got a seat: by assignment to a free seat or by reassignment."""

    seat: str
    user: str
    reassignable_on: date

    entity_fields = ("seat",)

    requires: ClassVar[tuple[tuple[str, str], ...]] = (("users", "user"),)

    def uses(self) -> set[str]:
        """The user who gets the seat, and the benefit it is a seat of."""
        return {f"email:{self.user}", seat_benefit_entity(self.seat)}

    def change(self, partner: Partner) -> None:
        seat = partner.seats.setdefault(
            self.seat, Seat(self.seat, seat_benefit(self.seat))
        )
        seat.user = self.user
        seat.last_user = self.user
        seat.state = "assigned"
        seat.assigned_on = self.on
        seat.reassignable_on = self.reassignable_on
        seat.signed_in_on = None


class SeatReassigned(SeatAssigned):
    from_user: str

    requires: ClassVar[tuple[tuple[str, str], ...]] = (
        ("seats", "seat"),
        ("users", "user"),
    )


class SeatSignedIn(PartnerEvent):
    seat: str

    entity_fields = ("seat",)

    requires = (("seats", "seat"),)

    def uses(self) -> set[str]:
        return {seat_benefit_entity(self.seat)}

    def change(self, partner: Partner) -> None:
        seat = partner.seats[self.seat]
        seat.state = "active"
        seat.signed_in_on = self.on


class SeatReleased(PartnerEvent):
    seat: str

    entity_fields = ("seat",)

    requires = (("seats", "seat"),)

    def uses(self) -> set[str]:
        return {seat_benefit_entity(self.seat)}

    def change(self, partner: Partner) -> None:
        seat = partner.seats[self.seat]
        seat.user = None
        seat.state = "free"


class TicketOpened(PartnerEvent):
    ticket: str
    benefit: str
    access_id: str
    product: str

    entity_fields = ("benefit",)

    requires = (("benefits", "benefit"),)

    def change(self, partner: Partner) -> None:
        partner.benefits[self.benefit].incidents_used += 1
        partner.tickets.append(
            Ticket(self.ticket, self.benefit, self.access_id, self.product, self.on)
        )


class Voided(PartnerEvent):
    """A correction: the event at `voided_position` (the partner's version
    `voided_version`, of type `voided_event`) is as if it never happened.
    Folding the partner skips voided events (ledger/domain/corrections.py),
    so this event changes nothing itself, counts for no entity's dates and
    acts on nothing: a void is never a later event that depends on another."""

    voided_position: int
    voided_version: int
    voided_event: str
    reason: str

    def acts_on(self) -> set[str]:
        return set()


def seat_benefit_entity(seat: str) -> str:
    """The benefit entity a seat BENEFIT#N belongs to."""
    return f"benefit:{seat_benefit(seat)}"


class RequestRecorded(Aggregate.Created):
    """The first answer to a request id, kept so a repeat can answer the same."""

    request_id: str
    fingerprint: str
    answer: dict[str, Any]

    def apply(self, aggregate: Any) -> None:
        aggregate.request_id = self.request_id
        aggregate.fingerprint = self.fingerprint
        aggregate.answer = self.answer


class RequestRejected(Aggregate.Created):
    """The refusal a request id got, kept (by a --keep-going import) so a
    re-run answers with the same refusal instead of judging the line again."""

    request_id: str
    fingerprint: str
    command: str
    refusal: dict[str, Any]

    def apply(self, aggregate: Any) -> None:
        aggregate.request_id = self.request_id
        aggregate.fingerprint = self.fingerprint
        aggregate.answer = {"command": self.command}
        aggregate.refusal = self.refusal


class Request(Aggregate):
    def __init__(self) -> None:
        self.request_id = ""
        self.fingerprint = ""
        self.answer: dict[str, Any] = {}
        self.refusal: dict[str, Any] | None = None
