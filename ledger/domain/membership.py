"""Enrollment, renewal and partner admins (R1, R3, R4)."""

from __future__ import annotations

from datetime import date

from ledger.domain.admins import check_admin_on, check_can_grant, check_can_revoke
from ledger.domain.errors import RuleViolation
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
    RENEW_ADVICE,
    check_can_renew,
    next_period_start,
    renewal_date,
    renewal_start_date,
)
from ledger.domain.state import Period
from ledger.domain.write import Write


def _period_fields(start, policy: Policy) -> dict:
    renewal = renewal_date(start)
    return {
        "period_start": start,
        "renewal_date": renewal,
        "renewal_start_date": renewal_start_date(renewal, policy.renewal_window_days),
    }


def check_not_enrolled(partner: str, enrolled: bool) -> None:
    """R1: a partner is enrolled once; later years are renewals."""
    if enrolled:
        raise RuleViolation(
            "R1",
            "already-enrolled",
            f"partner {partner} is already enrolled: renew its membership instead",
        )


def period_in_force(partner: Partner, on: date) -> Period:
    """R1: the enrollment period that contains a date. A partner with none on
    that date (before it enrolled, or lapsed) gets nothing granted then."""
    period = partner.period_on(on)
    if period is None or not period.contains(on):
        raise RuleViolation(
            "R1",
            "no-enrollment-period",
            f"partner {partner.partner} has no enrollment period on {on}: "
            f"{RENEW_ADVICE}",
        )
    return period


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


def _scope(partner: Partner) -> str:
    return f"partner {partner.partner}"


def check_admin(partner: Partner, actor: str, on: date) -> None:
    """Every write for a partner is made by one of its admins, on a date the
    admin holds the role (RULES.md, "Admins in time")."""
    check_admin_on(partner.admin_terms, actor, on, _scope(partner))


def grant_admin(partner: Partner, email: str, write: Write) -> None:
    check_can_grant(partner.admin_terms, email, write.on, _scope(partner))
    partner.record(AdminGranted, write, email=email)


def revoke_admin(partner: Partner, email: str, write: Write) -> None:
    check_can_revoke(partner.admin_terms, email, write.on, _scope(partner))
    partner.record(AdminRevoked, write, email=email)
