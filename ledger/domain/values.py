"""The values a write is made of, and their bounds (RULES.md, "Bounds").

Each kind of value is checked in ONE place, here, and that check is used by
the command line (Click parameter types built on these), the import line
schema and the application alike, so the Python API refuses what the CLI
refuses. A value outside its bound raises OutOfBounds (bad input, exit 2)
naming the field, the value and the bound.

    quantities and licenses   1 .. 1,000,000
    policy days               0 .. 3650 (renewal_window_days below 365)
    dates                     1900-01-01 .. 2199-12-31, strictly YYYY-MM-DD
    instants (--known-at)     an ISO 8601 date-time within the same dates
    ids and names             1 .. 200 printable characters, not blank
    a void's reason           1 .. 500 printable characters, not blank
    positions in the log      0 .. 2**63 - 1
    e-mails                   valid, at most 254 characters, lower-cased
    offers                    a known offer, or other:NAME
    --batch-size              1 .. 100,000
    --within                  0 .. 3650
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any, Generic, TypeVar

from ledger.domain.errors import InvalidInput
from ledger.domain.rules import BENEFIT_KINDS, OFFERS, REDEEM_MODES, USER_SOURCES

T = TypeVar("T")

FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2199, 12, 31)
MAX_TEXT = 200
MAX_EMAIL = 254  # RFC 5321: the longest path a mail server accepts
OTHER_OFFER = "other:"


class OutOfBounds(InvalidInput):
    """A value outside its bound: names the field, the value and the bound."""

    code = "out-of-bounds"

    def __init__(self, field: str, value: Any, bound: str) -> None:
        super().__init__(f"{field}: {shown(value)} is not {bound}")
        self.field = field
        self.value = value
        self.bound = bound


def shown(value: Any) -> str:
    """A value as an error shows it: repr (so control characters and
    undecodable bytes are visible), cut at 80 characters."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


class Value(ABC, Generic[T]):
    """A kind of value: `parse` returns it checked (and normalised) or raises
    OutOfBounds; `bound` says what is accepted; `metavar` names it in help."""

    metavar: str

    @property
    @abstractmethod
    def bound(self) -> str:
        """What is accepted, as an error message says it."""

    @abstractmethod
    def parse(self, raw: Any, field: str) -> T:
        """The value checked and normalised; OutOfBounds otherwise."""

    def refuse(self, raw: Any, field: str) -> OutOfBounds:
        return OutOfBounds(field, raw, self.bound)


@dataclass(frozen=True)
class Text(Value[str]):
    """An id or a name: 1..`longest` printable characters (no control
    characters, no undecodable bytes), not only spaces."""

    longest: int = MAX_TEXT
    metavar: str = "TEXT"

    @property
    def bound(self) -> str:
        return f"a text of 1 to {self.longest} printable characters"

    def parse(self, raw: Any, field: str) -> str:
        if not is_text(raw, self.longest):
            raise self.refuse(raw, field)
        return raw


def is_text(raw: Any, longest: int = MAX_TEXT) -> bool:
    """Printable text of 1..`longest` characters that is not all spaces. A
    byte that is not valid UTF-8 reaches Python as a lone surrogate, which is
    not printable, so it is refused here too."""
    return (
        isinstance(raw, str)
        and 0 < len(raw) <= longest
        and raw.isprintable()
        and not raw.isspace()
    )


_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")


@dataclass(frozen=True)
class Email(Value[str]):
    """An e-mail address, lower-cased: `Dev@X.example` and `dev@x.example`
    are one person."""

    metavar: str = "EMAIL"

    @property
    def bound(self) -> str:
        return f"an e-mail address (name@domain.tld, at most {MAX_EMAIL} characters)"

    def parse(self, raw: Any, field: str) -> str:
        if not is_text(raw, MAX_EMAIL) or not _EMAIL.fullmatch(raw):
            raise self.refuse(raw, field)
        return raw.lower()


@dataclass(frozen=True)
class Choice(Value[str]):
    """One of a fixed list of words."""

    choices: tuple[str, ...]
    metavar: str = "CHOICE"

    @property
    def bound(self) -> str:
        return f"one of {', '.join(self.choices)}"

    def parse(self, raw: Any, field: str) -> str:
        if not isinstance(raw, str) or raw not in self.choices:
            raise self.refuse(raw, field)
        return raw


@dataclass(frozen=True)
class Offer(Value[str]):
    """An offer a user holds outside the ledger (R15): a known one, or
    other:NAME for any other."""

    known: tuple[str, ...] = OFFERS
    metavar: str = "OFFER"

    @property
    def bound(self) -> str:
        return f"one of {', '.join(self.known)} or {OTHER_OFFER}NAME"

    def parse(self, raw: Any, field: str) -> str:
        if isinstance(raw, str) and raw in self.known:
            return raw
        if (
            isinstance(raw, str)
            and raw.startswith(OTHER_OFFER)
            and is_text(raw[len(OTHER_OFFER) :], MAX_TEXT - len(OTHER_OFFER))
        ):
            return raw
        raise self.refuse(raw, field)


@dataclass(frozen=True)
class Whole(Value[int]):
    """A whole number from `least` to `most` (a number, never a string or a
    boolean: the command line converts its digits before)."""

    least: int
    most: int
    metavar: str = "INTEGER"

    @property
    def bound(self) -> str:
        return f"a whole number from {self.least:,} to {self.most:,}"

    def parse(self, raw: Any, field: str) -> int:
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise self.refuse(raw, field)
        if not self.least <= raw <= self.most:
            raise self.refuse(raw, field)
        return raw

    def parse_digits(self, raw: Any, field: str) -> int:
        """The same bound for a number typed as text (the command line)."""
        if isinstance(raw, str) and re.fullmatch(r"[+-]?[0-9]{1,30}", raw.strip()):
            return self.parse(int(raw), field)
        return self.parse(raw, field)


_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


@dataclass(frozen=True)
class Day(Value[date]):
    """A calendar date from 1900-01-01 to 2199-12-31, written strictly
    YYYY-MM-DD (no week dates, no spaces)."""

    metavar: str = "DATE"

    @property
    def bound(self) -> str:
        return f"a date of the form YYYY-MM-DD from {FIRST_DAY} to {LAST_DAY}"

    def parse(self, raw: Any, field: str) -> date:
        day = raw
        if isinstance(raw, str) and _DAY.fullmatch(raw):
            try:
                day = date.fromisoformat(raw)
            except ValueError:
                raise self.refuse(raw, field) from None
        if (
            not isinstance(day, date)
            or isinstance(day, datetime)
            or not FIRST_DAY <= day <= LAST_DAY
        ):
            raise self.refuse(raw, field)
        return day


_INSTANT = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"([T ][0-9]{2}(:[0-9]{2}(:[0-9]{2}([.,][0-9]{1,6})?)?)?"
    r"(Z|[+-][0-9]{2}(:?[0-9]{2})?)?)?"
)


@dataclass(frozen=True)
class Instant(Value[datetime]):
    """An ISO 8601 date-time (e.g. 2021-02-01T09:30:00Z) whose date is within
    the bounds of Day; without an offset it is UTC. Answers in UTC."""

    metavar: str = "TIMESTAMP"

    @property
    def bound(self) -> str:
        return (
            "an ISO 8601 date-time such as 2021-02-01T09:30:00Z, "
            f"from {FIRST_DAY} to {LAST_DAY}"
        )

    def parse(self, raw: Any, field: str) -> datetime:
        instant = raw
        if isinstance(raw, str) and _INSTANT.fullmatch(raw):
            try:
                instant = datetime.fromisoformat(raw.replace("Z", "+00:00"))
            except ValueError:
                raise self.refuse(raw, field) from None
        if not isinstance(instant, datetime):
            raise self.refuse(raw, field)
        # the date as written is checked before any shift to UTC, which
        # would overflow at the ends of the calendar
        if not FIRST_DAY <= instant.date() <= LAST_DAY:
            raise self.refuse(raw, field)
        if instant.tzinfo is None:
            return instant.replace(tzinfo=timezone.utc)
        return instant.astimezone(timezone.utc)


# -- the bounds, each once ---------------------------------------------------------

NAME = Text()
EMAIL = Email()
DAY = Day()
INSTANT = Instant()
QUANTITY = Whole(1, 1_000_000)
POLICY_DAYS = Whole(0, 3650, metavar="DAYS")
RENEWAL_WINDOW_DAYS = Whole(0, 364, metavar="DAYS")  # below one year (R3)
BATCH_SIZE = Whole(1, 100_000)
POSITION = Whole(0, 2**63 - 1, metavar="POSITION")  # an event's place in the log
REASON = Text(longest=500)  # why an event is void
WITHIN_DAYS = Whole(0, 3650, metavar="DAYS")
KIND = Choice(BENEFIT_KINDS)
MODE = Choice(REDEEM_MODES)
SOURCE = Choice(USER_SOURCES)
OFFER = Offer()
