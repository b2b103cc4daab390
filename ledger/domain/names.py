"""How the ledger names what it creates: seats are BENEFIT#1 .. BENEFIT#N, the
seats of a user-assigned benefit, numbered within its quantity. Built and
read here only."""

from __future__ import annotations


def seat_id(benefit: str, number: int) -> str:
    """The name of seat NUMBER of BENEFIT."""
    return f"{benefit}#{number}"


def seat_benefit(seat: str) -> str:
    """The benefit a seat belongs to (BENEFIT of BENEFIT#N)."""
    return seat.rpartition("#")[0]


def seat_number(seat: str) -> int | None:
    """N of BENEFIT#N, or None when the name is not a seat's (no #, or N is
    not written as a whole number from 1, as the ledger writes it)."""
    _, mark, number = seat.rpartition("#")
    if not mark or not number.isdecimal() or number != str(int(number)):
        return None
    return int(number) or None
