"""Users, their outside offers, and seats of user-assigned benefits
(R5, R12, R13, R14, R15)."""

from __future__ import annotations

from datetime import date

from ledger.domain.benefits import check_activated, check_kind, find_benefit
from ledger.domain.errors import InvalidInput, NotFound, RuleViolation
from ledger.domain.names import seat_benefit, seat_id, seat_number
from ledger.domain.partner import (
    OfferRecorded,
    Partner,
    SeatAssigned,
    SeatReassigned,
    SeatReleased,
    SeatSignedIn,
    UserAdded,
)
from ledger.domain.policy import Policy
from ledger.domain.rules import (
    USER_ASSIGNED_KINDS,
    activation_rule,
    check_benefit_available,
    check_bulk_credit_alone,
    check_not_before,
    check_reassignable,
    is_bulk_credit,
    is_reassignable,
    is_user_assigned,
    reassignable_on,
    reassignment_too_early,
)
from ledger.domain.state import Benefit, Seat
from ledger.domain.write import Write


def add_user(
    partner: Partner, user: str, email: str, source: str, write: Write
) -> None:
    """USER is the new user's reference, EMAIL the address as the log keeps it
    (encrypted: ledger/domain/erasure.py)."""
    if user in partner.users:
        raise InvalidInput(f"user {user} is already a user of {partner.partner}")
    partner.record(UserAdded, write, user=user, email=email, source=source)


def record_offer(partner: Partner, user: str, offer: str, write: Write) -> None:
    """R15: offers held outside the ledger are facts, never rejected."""
    find_user(partner, user)
    partner.record(OfferRecorded, write, user=user, offer=offer)


def find_user(partner: Partner, email: str):
    try:
        return partner.users[email]
    except KeyError:
        raise NotFound("user", email) from None


def check_can_hold_seat(partner: Partner, benefit: Benefit, email: str, on) -> None:
    """R12: only the partner's users can get a seat; R15: Bulk Credit alone."""
    user = partner.users.get(email)
    if user is None:
        raise RuleViolation(
            "R12",
            "not-a-user",
            f"{email} is not in partner {partner.partner}'s User Management list "
            "or AAD tenant: add the user first",
        )
    check_not_before(on, user.added_on, f"user {email} (added)")
    if is_bulk_credit(benefit.kind):
        check_bulk_credit_alone(email, user.offers)
    held = [s.seat for s in seats_of(partner, benefit.benefit) if s.user == email]
    if held:
        raise RuleViolation(
            "R12", "already-has-seat", f"{email} already holds seat {held[0]}"
        )


def check_seat_usable(benefit: Benefit, on) -> None:
    """R5: seats are assigned and used through the activate-by date."""
    activated = check_activated(benefit, "R6")
    check_not_before(on, activated, f"benefit {benefit.benefit} (activated)")
    rule = activation_rule(benefit.kind)
    check_benefit_available(benefit.benefit, on, benefit.activate_by, rule)


def seats_of(partner: Partner, benefit: str) -> list[Seat]:
    """The seats of a benefit that exist (assigned at least once), by number."""
    found = [s for s in partner.seats.values() if s.benefit == benefit]
    return sorted(found, key=lambda s: seat_number(s.seat) or 0)


def _unused_seat(partner: Partner, benefit: Benefit, existing: int) -> Seat | None:
    """A seat never assigned yet, or None when every seat exists. A seat
    exists once it is assigned, so a grant of a million seats costs nothing
    until they are used; seats are taken in order, so the next unused number
    follows the existing ones."""
    if existing >= benefit.quantity:
        return None
    number = existing + 1
    while seat_id(benefit.benefit, number) in partner.seats:
        number += 1
    return Seat(seat_id(benefit.benefit, number), benefit.benefit)


def _window(seat: Seat) -> tuple[date, date]:
    """R14: when a seat that was assigned (at least once) got its current or
    last user, and the date it can move to another from."""
    if seat.assigned_on is None or seat.reassignable_on is None:
        raise LookupError(f"seat {seat.seat} was never assigned")
    return seat.assigned_on, seat.reassignable_on


def _free_seat(partner: Partner, benefit: Benefit, email: str, on: date) -> Seat:
    """The lowest-numbered free seat the user may take: never held, last held
    by this user, or out of its R14 window. Freeing a seat and giving it to
    someone else within the window is a reassignment, refused the same way."""
    existing = seats_of(partner, benefit.benefit)
    free = [s for s in existing if s.user is None]
    for seat in free:
        if seat.last_user in (None, email) or is_reassignable(on, _window(seat)[1]):
            return seat
    unused = _unused_seat(partner, benefit, len(existing))
    if unused is not None:
        return unused
    if not free:
        raise RuleViolation(
            "quantity",
            "no-free-seat",
            f"benefit {benefit.benefit} has {benefit.quantity} seats and all "
            f"{benefit.quantity} are assigned",
        )
    first = min(free, key=lambda s: _window(s)[1])
    raise reassignment_too_early(first.seat, on, *_window(first))


def assign_seat(
    partner: Partner, benefit: str, email: str, write: Write, policy: Policy
) -> Seat:
    found = find_benefit(partner, benefit)
    check_kind(found, USER_ASSIGNED_KINDS, "a seat")
    check_seat_usable(found, write.on)
    check_can_hold_seat(partner, found, email, write.on)
    seat = _free_seat(partner, found, email, write.on)
    partner.record(
        SeatAssigned,
        write,
        seat=seat.seat,
        user=email,
        reassignable_on=reassignable_on(write.on, policy.reassignment_days),
    )
    return partner.seats[seat.seat]


def find_seat(partner: Partner, seat: str) -> Seat:
    """A seat that exists, or a free seat of a user-assigned benefit that was
    never assigned yet (BENEFIT#N with N within the benefit's quantity)."""
    found = partner.seats.get(seat)
    if found is not None:
        return found
    benefit = partner.benefits.get(seat_benefit(seat))
    number = seat_number(seat)
    if (
        benefit is not None
        and is_user_assigned(benefit.kind)
        and number is not None
        and number <= benefit.quantity
    ):
        return Seat(seat, benefit.benefit)
    raise NotFound("seat", seat)


def _held_seat(partner: Partner, seat: str, write: Write) -> Seat:
    found = find_seat(partner, seat)
    if found.user is None:
        raise RuleViolation("R13", "seat-free", f"seat {seat} has no user")
    check_seat_usable(partner.benefits[found.benefit], write.on)
    return found


def sign_in(partner: Partner, seat: str, write: Write) -> Seat:
    """R13: a seat is assigned until its user signs in, then active."""
    found = _held_seat(partner, seat, write)
    if found.state == "active":
        raise InvalidInput(f"seat {seat} is already active since {found.signed_in_on}")
    partner.record(SeatSignedIn, write, seat=seat)
    return found


def reassign_seat(
    partner: Partner, seat: str, email: str, write: Write, policy: Policy
) -> Seat:
    """R14: a held seat moves to another user once its window has passed."""
    found = _held_seat(partner, seat, write)
    if found.user == email:
        raise InvalidInput(f"seat {seat} is already assigned to {email}")
    benefit = partner.benefits[found.benefit]
    check_can_hold_seat(partner, benefit, email, write.on)
    check_reassignable(seat, write.on, *_window(found))
    partner.record(
        SeatReassigned,
        write,
        seat=seat,
        user=email,
        from_user=found.user,
        reassignable_on=reassignable_on(write.on, policy.reassignment_days),
    )
    return found


def release_seat(partner: Partner, seat: str, write: Write) -> Seat:
    found = find_seat(partner, seat)
    if found.user is None:
        raise InvalidInput(f"seat {seat} is already free")
    partner.record(SeatReleased, write, seat=seat)
    return found
