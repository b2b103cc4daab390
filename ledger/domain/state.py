"""The state a partner's events build: plain records, changed only by events."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass
class Period:
    start: date
    renewal_date: date
    renewal_start_date: date

    def contains(self, day: date) -> bool:
        return self.start <= day < self.renewal_date


@dataclass
class Benefit:
    benefit: str
    kind: str
    product: str
    quantity: int
    granted_on: date
    period_start: date
    benefit_expiry_date: date
    activate_by: date
    activated_on: date | None = None
    access_id: str | None = None
    licenses_issued: int = 0
    incidents_used: int = 0


@dataclass
class Key:
    key: str
    benefit: str
    licenses: int
    issued_on: date
    redeemed_on: date | None = None
    tenant: str | None = None
    subscription: str | None = None
    mode: str | None = None
    usable_until: date | None = None


@dataclass
class Subscription:
    subscription: str
    tenant: str
    licenses: int
    end: date
    created_on: date
    keys: list[str] = field(default_factory=list)


@dataclass
class User:
    """`email` is the address encrypted under the user's key (in clear only in
    ledgers written before user references)."""

    email: str
    source: str
    added_on: date
    offers: dict[str, date] = field(default_factory=dict)
    forgotten_on: date | None = None


@dataclass
class Seat:
    seat: str
    benefit: str
    user: str | None = None
    state: str = "free"
    assigned_on: date | None = None
    reassignable_on: date | None = None
    signed_in_on: date | None = None
    last_user: str | None = None


@dataclass
class AdminTerm:
    """One e-mail's admin rights from `granted_on` until `revoked_on`
    (exclusive; None while not revoked)."""

    email: str
    granted_on: date
    revoked_on: date | None = None

    def covers(self, day: date) -> bool:
        return self.granted_on <= day and (
            self.revoked_on is None or day < self.revoked_on
        )

    def describe(self) -> str:
        if self.revoked_on is None:
            return f"from {self.granted_on}"
        return f"from {self.granted_on} until {self.revoked_on}"


@dataclass
class Ticket:
    ticket: str
    benefit: str
    access_id: str
    product: str
    opened_on: date
