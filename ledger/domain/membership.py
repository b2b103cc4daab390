"""Enrollment, renewal and partner admins (R1, R3, R4)."""

from __future__ import annotations

from ledger.domain.errors import InvalidInput, RuleViolation
from ledger.domain.partner import (
    AdminGranted,
    AdminRevoked,
    Enrolled,
    Partner,
    Renewed,
    partner_uuid,
)
from ledger.domain.policy import Policy
from ledger.domain.rules import (
    check_can_renew,
    next_period_start,
    renewal_date,
    renewal_start_date,
)
from ledger.domain.write import Write


def _period_fields(start, policy: Policy) -> dict:
    renewal = renewal_date(start)
    return {
        "period_start": start,
        "renewal_date": renewal,
        "renewal_start_date": renewal_start_date(renewal, policy.renewal_window_days),
    }


def enroll(partner: str, name: str | None, write: Write, policy: Policy) -> Partner:
    """R1: enrolling on S opens a one-year period; the actor is the first admin."""
    return Partner._create(
        Enrolled,
        id=partner_uuid(partner),
        partner=partner,
        name=name or partner,
        **write.event_fields(),
        **_period_fields(write.on, policy),
    )


def renew(partner: Partner, write: Write, policy: Policy) -> None:
    """R3 + R4: renew from the renewal start date; the next period follows on."""
    current = partner.current_period
    check_can_renew(write.on, current.renewal_date, current.renewal_start_date)
    start = next_period_start(write.on, current.renewal_date)
    partner.record(Renewed, write, **_period_fields(start, policy))


def check_admin(partner: Partner, actor: str) -> None:
    """Every write for a partner is made by one of its admins."""
    if actor not in partner.admins:
        raise RuleViolation(
            "admin",
            "not-an-admin",
            f"{actor} is not an admin of partner {partner.partner} "
            f"(admins: {', '.join(partner.admins)})",
        )


def grant_admin(partner: Partner, email: str, write: Write) -> None:
    if email in partner.admins:
        raise InvalidInput(f"{email} is already an admin of partner {partner.partner}")
    partner.record(AdminGranted, write, email=email)


def revoke_admin(partner: Partner, email: str, write: Write) -> None:
    if email not in partner.admins:
        raise InvalidInput(f"{email} is not an admin of partner {partner.partner}")
    if partner.admins == [email]:
        raise RuleViolation(
            "admin",
            "last-admin",
            f"{email} is the last admin of partner {partner.partner} and can't "
            "be revoked; grant another admin first",
        )
    partner.record(AdminRevoked, write, email=email)
