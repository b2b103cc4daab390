"""Granting and activating benefits (R2, R5, R6, R16)."""

from __future__ import annotations

from datetime import date
from uuid import uuid5

from ledger.domain.errors import InvalidInput, NotFound, RuleViolation
from ledger.domain.membership import period_in_force
from ledger.domain.partner import NAMESPACE, BenefitActivated, BenefitGranted, Partner
from ledger.domain.policy import Policy
from ledger.domain.rules import (
    RENEW_ADVICE,
    TECHNICAL,
    activate_by,
    activation_rule,
    check_benefit_available,
    check_not_before,
)
from ledger.domain.state import Benefit
from ledger.domain.write import Write


def access_id_for(partner: str, benefit: str) -> str:
    """R16: an Access ID unique in the ledger, derived from the (unique)
    partner and benefit names."""
    return "AID-" + uuid5(NAMESPACE, f"access:{partner}:{benefit}").hex.upper()


def find_benefit(partner: Partner, benefit: str) -> Benefit:
    """R6: a benefit that was never granted is not available."""
    try:
        return partner.benefits[benefit]
    except KeyError:
        raise RuleViolation(
            "R6",
            "benefit-not-granted",
            f"benefit {benefit} was never granted to partner {partner.partner}: "
            f"{RENEW_ADVICE}",
        ) from None


def granted_benefit(partner: Partner, benefit: str) -> Benefit:
    """A benefit to show: one that was never granted is unknown (bad input),
    not a rule broken."""
    try:
        return partner.benefits[benefit]
    except KeyError:
        raise NotFound("benefit", benefit) from None


def grant_benefit(
    partner: Partner,
    benefit: str,
    kind: str,
    product: str,
    quantity: int,
    write: Write,
    policy: Policy,
) -> None:
    """R2: a benefit expires on the renewal date of the period it is granted in."""
    if benefit in partner.benefits:
        raise InvalidInput(f"benefit {benefit} already exists for {partner.partner}")
    period = period_in_force(partner, write.on)
    partner.record(
        BenefitGranted,
        write,
        benefit=benefit,
        kind=kind,
        product=product,
        quantity=quantity,
        period_start=period.start,
        benefit_expiry_date=period.renewal_date,
        activate_by=activate_by(
            period.renewal_date, kind, policy.user_assignment_grace_days
        ),
    )


def activate_benefit(partner: Partner, benefit: str, write: Write) -> Benefit:
    """R2/R5/R6: activation is allowed until the benefit's activate-by date."""
    found = find_benefit(partner, benefit)
    if found.activated_on is not None:
        raise RuleViolation(
            "R6",
            "already-activated",
            f"benefit {benefit} was already activated on {found.activated_on}",
        )
    check_not_before(write.on, found.granted_on, f"benefit {benefit} (granted)")
    rule = activation_rule(found.kind)
    check_benefit_available(benefit, write.on, found.activate_by, rule)
    access_id = None
    if found.kind == TECHNICAL:
        access_id = access_id_for(partner.partner, benefit)
    partner.record(BenefitActivated, write, benefit=benefit, access_id=access_id)
    return found


def check_activated(benefit: Benefit, rule: str) -> date:
    """A benefit is used once activated; the date it was."""
    if benefit.activated_on is None:
        raise RuleViolation(
            rule,
            "benefit-not-activated",
            f"benefit {benefit.benefit} has not been activated; activate it first",
        )
    return benefit.activated_on


def check_kind(benefit: Benefit, kinds: tuple[str, ...], use: str) -> None:
    if benefit.kind not in kinds:
        raise InvalidInput(
            f"benefit {benefit.benefit} is a {benefit.kind} benefit; {use} needs "
            f"a {' or '.join(kinds)} benefit"
        )
