"""The projections: one handler per event type, the `eventsourcing` way.

Each projection's `process_event(event, tracking)` dispatches on the event's
class; a handler writes rows through the projection's `view` (one open
transaction that also moves the tracking position, see runner.py). Events a
projection does not need fall through to the default, which changes nothing.
A handler that finds the view inconsistent raises: the run stops there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from datetime import date
from functools import lru_cache
from typing import Any

from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.persistence import Tracking
from eventsourcing.projection import Projection

from ledger.domain.corrections import voided_versions
from ledger.domain.deadlines import voided_dates
from ledger.domain.names import seat_benefit
from ledger.domain.partner import (
    BenefitActivated,
    BenefitGranted,
    Enrolled,
    KeyIssued,
    KeyRedeemed,
    OfferRecorded,
    Renewed,
    SeatAssigned,
    SeatReassigned,
    SeatReleased,
    SeatSignedIn,
    TicketOpened,
    Voided,
)
from ledger.domain.rules import is_bulk_credit
from projections.storage.rows import Rows, ViewError

# The events of one aggregate up to a version (the runner reads them from the
# store): what a void's recomputation folds again.
History = Callable[[Any, int], list[Any]]


class View:
    """The rows of one projection generation, as the transaction the runner
    opened sees them: handlers read and change rows by primary key; the
    runner writes the changes back before it commits (see rows.py)."""

    def __init__(self, conn: Any, rows: Rows, history: History | None = None) -> None:
        self.conn = conn
        self.rows = rows
        self.history = history

    def drop_partner(self, partner: str) -> None:
        """Delete every row of a partner, in every table of the view."""
        for table in self.rows.tables:
            for key in self.rows.keys_where(self.conn, table, "partner", partner):
                self.rows.put(table, key, None)

    def add_partner(self, event: Enrolled) -> None:
        self.insert(
            "partners", originator_id=str(event.originator_id), partner=event.partner
        )

    def partner(self, event: Any) -> str:
        """The partner id of the aggregate that recorded `event`."""
        return self.value("partners", "partner", originator_id=str(event.originator_id))

    def get(self, table: str, **key: Any) -> dict[str, Any] | None:
        return self.rows.get(self.conn, table, self.rows.key(table, key))

    def insert(self, table: str, **values: Any) -> None:
        key = self.rows.key(table, values)
        if self.rows.get(self.conn, table, key) is not None:
            raise ViewError(f"{table} already has a row {key}")
        self.rows.put(table, key, values)

    def insert_new(self, table: str, **values: Any) -> None:
        """Insert a row unless one with the same key is there already."""
        if self.get(table, **values) is None:
            self.insert(table, **values)

    def update(self, table: str, where: dict[str, Any], **values: Any) -> bool:
        """Change the row with this key; False if there is none."""
        key = self.rows.key(table, where)
        row = self.rows.get(self.conn, table, key)
        if row is None:
            return False
        self.rows.put(table, key, {**row, **values})
        return True

    def update_one(self, table: str, where: dict[str, Any], **values: Any) -> None:
        if not self.update(table, where, **values):
            raise ViewError(f"{table} has no row {where}")

    def delete(self, table: str, **where: Any) -> None:
        if self.get(table, **where) is not None:
            self.rows.put(table, self.rows.key(table, where), None)

    def value(self, table: str, column: str, **where: Any) -> Any:
        """One column of the row with this key (None if there is none)."""
        row = self.get(table, **where)
        return None if row is None else row[column]


class LedgerProjection(Projection[Any]):
    """A projection of the Ledger application's events into a View (the
    library types a projection's view as its tracking recorder; ours is the
    View above, which the runner pairs with the tracking position).

    Every view learns which partner each aggregate is from its enrollment:
    each subclass's own dispatcher gets that handler, unless the subclass
    registers one of its own for `Enrolled` (which then calls add_partner).
    Likewise every view recomputes a partner's rows on a void (`recompute`).
    """

    # A plain attribute, not the library's read-only property: handlers
    # reach the view several times per event.
    view: View = None  # type: ignore[assignment]

    def __init__(self, view: View) -> None:
        super().__init__(view)
        self.view = view

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        method = cls.__dict__.get("process_event")
        dispatcher = getattr(method, "dispatcher", None)
        if method is None or dispatcher is None:
            return
        shared = {
            Enrolled: LedgerProjection._enrolled,
            Voided: LedgerProjection.recompute,
        }
        for event_class, handler in shared.items():
            if event_class not in dispatcher.registry:
                method.register(event_class, handler)

    def _enrolled(self, event: Enrolled, tracking: Tracking) -> None:
        self.view.add_partner(event)

    def of(self, event: Any, **where: Any) -> dict[str, Any]:
        """Row key of something in the event's partner."""
        return {"partner": self.view.partner(event), **where}

    def recompute(self, event: Voided, tracking: Tracking) -> None:
        """A void: the partner's rows become what its events up to this one,
        without the voided ones, give. Only this partner's rows change."""
        if self.view.history is None:
            raise ViewError("a void needs the partner's events, and none were given")
        events = self.view.history(event.originator_id, event.originator_version)
        voided = voided_versions(events)
        self.view.drop_partner(self.view.partner(event))
        for earlier in events:
            if earlier.originator_version not in voided and not isinstance(
                earlier, Voided
            ):
                self.process_event(earlier, tracking)


class Entitlements(LedgerProjection):
    """Per partner and benefit: kind, product, quantity, used, dates."""

    name = "entitlements"

    @singledispatchmethod
    def process_event(self, event: Any, tracking: Tracking) -> None:
        """Not needed by this view: only its position moves."""

    @process_event.register(BenefitGranted)
    def _granted(self, event: BenefitGranted, tracking: Tracking) -> None:
        self.view.insert(
            "entitlements",
            **self.of(event, benefit=event.benefit),
            kind=event.kind,
            product=event.product,
            quantity=event.quantity,
            used=0,
            activated_on=None,
            activate_by=event.activate_by,
        )

    @process_event.register(BenefitActivated)
    def _activated(self, event: BenefitActivated, tracking: Tracking) -> None:
        self.view.update_one(
            "entitlements", self.of(event, benefit=event.benefit), activated_on=event.on
        )

    @process_event.register(KeyIssued)
    def _key_issued(self, event: KeyIssued, tracking: Tracking) -> None:
        """Product keys use the benefit's licenses."""
        self._use(event, event.benefit, event.licenses)

    @process_event.register(TicketOpened)
    def _ticket(self, event: TicketOpened, tracking: Tracking) -> None:
        """R17: each ticket uses one incident."""
        self._use(event, event.benefit, 1)

    @process_event.register(SeatAssigned)
    def _seat_taken(self, event: SeatAssigned, tracking: Tracking) -> None:
        """A free seat got a user: one more seat used."""
        self._use(event, seat_benefit(event.seat), 1)

    @process_event.register(SeatReassigned)
    def _seat_moved(self, event: SeatReassigned, tracking: Tracking) -> None:
        """A held seat changed hands: as many seats used as before."""

    @process_event.register(SeatReleased)
    def _seat_freed(self, event: SeatReleased, tracking: Tracking) -> None:
        self._use(event, seat_benefit(event.seat), -1)

    def _use(self, event: Any, benefit: str, count: int) -> None:
        key = self.of(event, benefit=benefit)
        used = self.view.value("entitlements", "used", **key)
        if used is None:
            raise ViewError(f"entitlements has no row {key}")
        self.view.update_one("entitlements", key, used=used + count)


class Expiry(LedgerProjection):
    """Every dated end: membership renewal date, benefit expiry dates, keys'
    usable-until, subscriptions' ends, and held seats' last day of use."""

    name = "expiry"

    @singledispatchmethod
    def process_event(self, event: Any, tracking: Tracking) -> None:
        """Not needed by this view: only its position moves."""

    @process_event.register(Enrolled)
    def _enrolled(self, event: Enrolled, tracking: Tracking) -> None:
        """R1: the membership ends on the renewal date."""
        self.view.add_partner(event)
        self._end(event, "membership", event.partner, event.renewal_date)

    @process_event.register(Renewed)
    def _renewed(self, event: Renewed, tracking: Tracking) -> None:
        """R4: the latest period's renewal date is the membership's end."""
        self._end(event, "membership", self.view.partner(event), event.renewal_date)

    @process_event.register(BenefitGranted)
    def _granted(self, event: BenefitGranted, tracking: Tracking) -> None:
        """R2: a benefit expires on its period's renewal date; R5: its seats
        are used until its activate-by date."""
        self._end(event, "benefit", event.benefit, event.benefit_expiry_date)
        self.view.insert(
            "benefits",
            **self.of(event, benefit=event.benefit),
            activate_by=event.activate_by,
        )

    @process_event.register(KeyRedeemed)
    def _redeemed(self, event: KeyRedeemed, tracking: Tracking) -> None:
        """R7: a key is usable for a year; R10: the subscription's end."""
        self._end(event, "key", event.key, event.usable_until)
        self._end(event, "subscription", event.subscription, event.subscription_end)

    @process_event.register(SeatAssigned)
    def _seat_taken(self, event: SeatAssigned, tracking: Tracking) -> None:
        activate_by = self.view.value(
            "benefits",
            "activate_by",
            **self.of(event, benefit=seat_benefit(event.seat)),
        )
        self._end(event, "seat", event.seat, activate_by)

    @process_event.register(SeatReassigned)
    def _seat_moved(self, event: SeatReassigned, tracking: Tracking) -> None:
        """The seat stays held: its end does not change."""

    @process_event.register(SeatReleased)
    def _seat_freed(self, event: SeatReleased, tracking: Tracking) -> None:
        self.view.delete("expiry", **self.of(event, what="seat", id=event.seat))

    def _end(self, event: Any, what: str, ident: str, ends_on: date) -> None:
        key = self.of(event, what=what, id=ident)
        if not self.view.update("expiry", key, ends_on=ends_on):
            self.view.insert("expiry", **key, ends_on=ends_on)


class Seats(LedgerProjection):
    """Per held seat: user, state, assigned_on, reassignable_on (R13, R14)."""

    name = "seats"

    @singledispatchmethod
    def process_event(self, event: Any, tracking: Tracking) -> None:
        """Not needed by this view: only its position moves."""

    @process_event.register(SeatAssigned)
    def _seat_taken(self, event: SeatAssigned, tracking: Tracking) -> None:
        self.view.insert(
            "seats",
            **self.of(event, seat=event.seat),
            benefit=seat_benefit(event.seat),
            user=event.user,
            state="assigned",
            assigned_on=event.on,
            reassignable_on=event.reassignable_on,
        )

    @process_event.register(SeatReassigned)
    def _seat_moved(self, event: SeatReassigned, tracking: Tracking) -> None:
        """R14: a reassignment starts a new window for the new user."""
        self.view.update_one(
            "seats",
            self.of(event, seat=event.seat),
            user=event.user,
            state="assigned",
            assigned_on=event.on,
            reassignable_on=event.reassignable_on,
        )

    @process_event.register(SeatSignedIn)
    def _signed_in(self, event: SeatSignedIn, tracking: Tracking) -> None:
        """R13: the seat is active once its user signed in."""
        self.view.update_one("seats", self.of(event, seat=event.seat), state="active")

    @process_event.register(SeatReleased)
    def _seat_freed(self, event: SeatReleased, tracking: Tracking) -> None:
        self.view.delete("seats", **self.of(event, seat=event.seat))


class Conflicts(LedgerProjection):
    """R15: users' offers, and who holds which Bulk Credit seat."""

    name = "conflicts"

    @singledispatchmethod
    def process_event(self, event: Any, tracking: Tracking) -> None:
        """Not needed by this view: only its position moves."""

    @process_event.register(BenefitGranted)
    def _granted(self, event: BenefitGranted, tracking: Tracking) -> None:
        if is_bulk_credit(event.kind):
            self.view.insert("bulk_benefits", **self.of(event, benefit=event.benefit))

    @process_event.register(OfferRecorded)
    def _offer(self, event: OfferRecorded, tracking: Tracking) -> None:
        """Offers held outside the ledger are facts; recording one twice is one."""
        self.view.insert_new(
            "offers", **self.of(event, user=event.user, offer=event.offer)
        )

    @process_event.register(SeatAssigned)
    def _seat_taken(self, event: SeatAssigned, tracking: Tracking) -> None:
        if self._is_bulk_credit(event, event.seat):
            self.view.insert(
                "seats", **self.of(event, seat=event.seat), user=event.user
            )

    @process_event.register(SeatReassigned)
    def _seat_moved(self, event: SeatReassigned, tracking: Tracking) -> None:
        if self._is_bulk_credit(event, event.seat):
            self.view.update_one(
                "seats", self.of(event, seat=event.seat), user=event.user
            )

    @process_event.register(SeatReleased)
    def _seat_freed(self, event: SeatReleased, tracking: Tracking) -> None:
        self.view.delete("seats", **self.of(event, seat=event.seat))

    def _is_bulk_credit(self, event: Any, seat: str) -> bool:
        key = self.of(event, benefit=seat_benefit(seat))
        return self.view.get("bulk_benefits", **key) is not None


class Deadlines(LedgerProjection):
    """Issue 18's dates (calendar, timeline), each with the effective date of
    the event that set it, so that a report can answer as of any date:
    periods (R1, R3, R4), benefits (R2, R5), keys and the subscription they
    went into (R7, R10), and each seat's assignments (R13, R14)."""

    name = "deadlines"

    @singledispatchmethod
    def process_event(self, event: Any, tracking: Tracking) -> None:
        """Not needed by this view: only its position moves."""

    @process_event.register(Enrolled)
    def _enrolled(self, event: Enrolled, tracking: Tracking) -> None:
        self.view.add_partner(event)
        self._period(event)

    @process_event.register(Renewed)
    def _renewed(self, event: Renewed, tracking: Tracking) -> None:
        """R4: the period before learns which period followed it, and when."""
        latest = self.view.value("memberships", "latest", **self.of(event))
        self.view.update_one(
            "periods",
            self.of(event, start=latest),
            next_start=event.period_start,
            next_on=event.on,
        )
        self._period(event)

    def _period(self, event: Enrolled | Renewed) -> None:
        self.view.insert(
            "periods",
            **self.of(event, start=event.period_start),
            renewal_start_date=event.renewal_start_date,
            renewal_date=event.renewal_date,
            since=event.on,
            next_start=None,
            next_on=None,
        )
        where, latest = self.of(event), event.period_start
        if not self.view.update("memberships", where, latest=latest):
            self.view.insert("memberships", **where, latest=latest)

    @process_event.register(BenefitGranted)
    def _granted(self, event: BenefitGranted, tracking: Tracking) -> None:
        self.view.insert(
            "benefits",
            **self.of(event, benefit=event.benefit),
            kind=event.kind,
            product=event.product,
            quantity=event.quantity,
            granted_on=event.on,
            period_start=event.period_start,
            benefit_expiry_date=event.benefit_expiry_date,
            activate_by=event.activate_by,
            activated_on=None,
        )

    @process_event.register(BenefitActivated)
    def _activated(self, event: BenefitActivated, tracking: Tracking) -> None:
        self.view.update_one(
            "benefits", self.of(event, benefit=event.benefit), activated_on=event.on
        )

    @process_event.register(KeyIssued)
    def _key_issued(self, event: KeyIssued, tracking: Tracking) -> None:
        self.view.insert(
            "keys",
            **self.of(event, key=event.key),
            benefit=event.benefit,
            licenses=event.licenses,
            redeemed_on=None,
            usable_until=None,
            subscription=None,
            mode=None,
            number=None,
            sub_licenses=None,
            sub_end=None,
            next_redemption_on=None,
        )

    @process_event.register(KeyRedeemed)
    def _redeemed(self, event: KeyRedeemed, tracking: Tracking) -> None:
        """R7, R10: the key's usable-until, and the subscription as this
        redemption left it (its n-th change); the key redeemed into it
        before learns when it was followed."""
        where = self.of(event, subscription=event.subscription)
        sub = self.view.get("subscriptions", **where)
        if sub is None:
            number = 1
            self.view.insert(
                "subscriptions",
                **where,
                tenant=event.tenant,
                created_on=event.on,
                redemptions=1,
                last_key=event.key,
            )
        else:
            number = sub["redemptions"] + 1
            self.view.update_one(
                "keys",
                self.of(event, key=sub["last_key"]),
                next_redemption_on=event.on,
            )
            self.view.update_one(
                "subscriptions", where, redemptions=number, last_key=event.key
            )
        self.view.update_one(
            "keys",
            self.of(event, key=event.key),
            redeemed_on=event.on,
            usable_until=event.usable_until,
            subscription=event.subscription,
            mode=event.mode,
            number=number,
            sub_licenses=event.licenses,
            sub_end=event.subscription_end,
        )

    @process_event.register(SeatAssigned)
    def _seat_taken(self, event: SeatAssigned, tracking: Tracking) -> None:
        """R14: every assignment (a reassignment too, SeatReassigned being a
        SeatAssigned) starts a new one; the one before ends that day."""
        where = self.of(event, seat=event.seat)
        seat = self.view.get("seats", **where)
        number = 1 if seat is None else seat["assignments"] + 1
        if seat is None:
            self.view.insert(
                "seats", **where, benefit=seat_benefit(event.seat), assignments=1
            )
        else:
            self._end_assignment(event, seat["assignments"])
            self.view.update_one("seats", where, assignments=number)
        self.view.insert(
            "assignments",
            **where,
            number=number,
            assigned_on=event.on,
            reassignable_on=event.reassignable_on,
            signed_in_on=None,
            ended_on=None,
        )

    @process_event.register(SeatSignedIn)
    def _signed_in(self, event: SeatSignedIn, tracking: Tracking) -> None:
        """R13: the seat's user signed in."""
        number = self._assignments(event)
        where = self.of(event, seat=event.seat, number=number)
        self.view.update_one("assignments", where, signed_in_on=event.on)

    @process_event.register(SeatReleased)
    def _seat_freed(self, event: SeatReleased, tracking: Tracking) -> None:
        self._end_assignment(event, self._assignments(event))

    def _assignments(self, event: Any) -> int:
        count = self.view.value(
            "seats", "assignments", **self.of(event, seat=event.seat)
        )
        if count is None:
            raise ViewError(f"seat {event.seat} was never assigned")
        return count

    def _end_assignment(self, event: Any, number: int) -> None:
        where = self.of(event, seat=event.seat, number=number)
        if self.view.value("assignments", "ended_on", **where) is None:
            self.view.update_one("assignments", where, ended_on=event.on)


class VoidedItems(LedgerProjection):
    """What each voided event (a correction) had drawn on the timeline, to be
    struck through there; the other views forget voided events altogether."""

    name = "voided"

    @singledispatchmethod
    def process_event(self, event: Any, tracking: Tracking) -> None:
        """Not needed by this view: only its position moves."""

    @process_event.register(Voided)
    def _voided(self, event: Voided, tracking: Tracking) -> None:
        if self.view.history is None:
            raise ViewError("a void needs the partner's events, and none were given")
        events = self.view.history(event.originator_id, event.voided_version)
        found = voided_dates(events[-1], event)
        if found is not None:
            self.view.insert(
                "voided",
                **self.of(event, version=event.voided_version),
                **asdict(found),
            )


PROJECTIONS: dict[str, type[LedgerProjection]] = {
    cls.name: cls
    for cls in (Entitlements, Expiry, Seats, Conflicts, Deadlines, VoidedItems)
}


@lru_cache(maxsize=256)
def handler(projection: type[LedgerProjection], event_class: type) -> Any:
    """The function a projection runs for this class of event, None if it has
    none: what `process_event` dispatches to, looked up once per class (a
    rebuild's fold calls it directly, event after event)."""
    if not handles(projection, event_class):
        return None
    for klass in projection.__mro__:
        method = klass.__dict__.get("process_event")
        if method is not None and hasattr(method, "dispatcher"):
            return method.dispatcher.dispatch(event_class)
    return None


@lru_cache(maxsize=256)
def handles(projection: type[LedgerProjection], event_class: type) -> bool:
    """Whether a projection registered a handler for this class of event
    (events it has no handler for need not even be decoded)."""
    for klass in projection.__mro__:
        method = klass.__dict__.get("process_event")
        if method is not None and hasattr(method, "dispatcher"):
            return method.dispatcher.dispatch(event_class) is not method.func
    return True
