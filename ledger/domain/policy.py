"""Policy parameters: the decisions RULES.md makes where the FAQ is silent.

An operator changes a parameter from an effective date on (`PolicyChanged`);
each write uses the policy in force on its own effective date. The values that
shape a decision are copied into the event that records it (renewal start,
activate-by, reassignable-on), so a replay always uses the policy that was in
force when the event happened.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from datetime import date
from typing import Any
from uuid import NAMESPACE_URL, uuid5

from eventsourcing.domain import Aggregate

from ledger.domain.errors import InvalidInput
from ledger.domain.rules import check_not_before
from ledger.domain.values import POLICY_DAYS, RENEWAL_WINDOW_DAYS, Whole

POLICY_ID = uuid5(NAMESPACE_URL, "https://benefits-ledger/policy")


@dataclass(frozen=True)
class Policy:
    renewal_window_days: int = 90  # R3
    user_assignment_grace_days: int = 30  # R5
    reassignment_days: int = 90  # R14
    expiring_soon_days: int = 30  # R11

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


DEFAULT_POLICY = Policy()


def days_bound(name: str) -> Whole:
    """The days a parameter may take: 0..3650, and the renewal window less
    than a year (R3: renewal opens within the enrollment year)."""
    return RENEWAL_WINDOW_DAYS if name == "renewal_window_days" else POLICY_DAYS


class PolicyLog(Aggregate):
    """Every change of a policy parameter, with the date it takes effect."""

    def __init__(self) -> None:
        self.changes: list[tuple[date, str, int]] = []


class PolicyLogStarted(Aggregate.Created):
    pass


class PolicyChanged(Aggregate.Event):
    on: date
    actor: str
    request_id: str | None
    name: str
    days: int
    # As PartnerEvent.login_role: None for changes recorded before it existed.
    login_role: str | None = field(default=None, kw_only=True)

    def apply(self, aggregate: Any) -> None:
        aggregate.changes.append((self.on, self.name, self.days))


def policy_on(
    log: PolicyLog | None, day: date, base: Policy = DEFAULT_POLICY
) -> Policy:
    """The policy in force on `day`: the base values with every change that took
    effect on or before it, in the order they were made."""
    changes = [c for c in log.changes if c[0] <= day] if log is not None else []
    if not changes:
        return base  # a frozen value: the common case costs no copy
    values = base.as_dict()
    for _, name, days in changes:
        values[name] = days
    return Policy(**values)


def change_policy(log: PolicyLog | None, name: str, days: int, write: Any) -> PolicyLog:
    """Record a change of one parameter from `write.on`; changes never go back
    in effective time."""
    if name not in Policy.names():
        raise InvalidInput(
            f"unknown policy parameter {name!r}: one of {', '.join(Policy.names())}"
        )
    days_bound(name).parse(days, name)
    if log is None:
        log = PolicyLog._create(
            PolicyLogStarted, id=POLICY_ID, timestamp=write.recorded_at
        )
    if log.changes:
        check_not_before(write.on, log.changes[-1][0], "the policy")
    log.trigger_event(PolicyChanged, **write.event_fields(), name=name, days=days)
    return log
