"""The domain rules of RULES.md as pure functions of dates and counts.

Each function decides one thing and cites its rule. Functions named check_*
raise RuleViolation with the rule, the dates and the counts involved; the
others compute a date or a number.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from ledger.domain.dates import days_after, days_between, one_year_after
from ledger.domain.errors import RuleViolation

RENEW_ADVICE = "renew your membership and repeat"
PRODUCT_KEY = "product-key"
USER_SUBSCRIPTION = "user-subscription"
BULK_CREDIT = "azure-bulk-credit"
TECHNICAL = "technical"
BENEFIT_KINDS = (PRODUCT_KEY, USER_SUBSCRIPTION, BULK_CREDIT, TECHNICAL)
USER_ASSIGNED_KINDS = (USER_SUBSCRIPTION, BULK_CREDIT)
OFFERS = (
    "enterprise-agreement",
    "cloud-solution-partner",
    "azure-in-open",
    "azure-pass",
    "action-pack",
)
REDEEM_MODES = ("new", "add", "extend")
USER_SOURCES = ("user-management", "aad")


def renewal_date(period_start: date) -> date:
    """R1: the renewal date is one year after the start of the period."""
    return one_year_after(period_start)


def renewal_start_date(renewal: date, renewal_window_days: int) -> date:
    """R3: renewal opens `renewal_window_days` before the renewal date."""
    return days_after(renewal, -renewal_window_days)


def check_can_renew(on: date, renewal: date, opens: date) -> None:
    """R3: a renewal before the renewal start date is rejected."""
    if on < opens:
        raise RuleViolation(
            "R3",
            "before-renewal-start",
            f"renewal on {on} is too early: renewal opens on {opens} "
            f"({days_between(opens, renewal)} days before the renewal date {renewal})",
        )


def next_period_start(on: date, renewal: date) -> date:
    """R4: renewed on or before the renewal date, the next period starts on the
    old renewal date; renewed after the membership lapsed, it starts that day."""
    return renewal if on <= renewal else on


def is_user_assigned(kind: str) -> bool:
    """R5/R12: benefits of these kinds are used through seats assigned to users
    (Visual Studio subscriptions, Azure Bulk Credit)."""
    return kind in USER_ASSIGNED_KINDS


def is_bulk_credit(kind: str) -> bool:
    """R15: Azure Bulk Credit, the offer that can't be combined with others."""
    return kind == BULK_CREDIT


def activate_by(expiry: date, kind: str, grace_days: int) -> date:
    """R2 + R5: the last day a benefit can be activated or used. Benefits that
    are assigned to users get `grace_days` after the benefit expiry date."""
    if is_user_assigned(kind):
        return days_after(expiry, grace_days)
    return expiry


def activation_rule(kind: str) -> str:
    """The rule that sets a benefit's last day: R5 (the grace after the
    renewal date) for benefits assigned to users, R2 for the others."""
    return "R5" if is_user_assigned(kind) else "R2"


def usable_on(on: date, last_day: date) -> bool:
    """R2/R5: a benefit (or key) can be used on its last day, not after it."""
    return on <= last_day


def check_benefit_available(benefit: str, on: date, last_day: date, rule: str) -> None:
    """R2/R5/R6: using a benefit after its last day is rejected, with the FAQ's
    advice to renew the membership."""
    if not usable_on(on, last_day):
        raise RuleViolation(
            rule,
            "benefit-expired",
            f"benefit {benefit} could be used until {last_day}, not on {on}: "
            f"{RENEW_ADVICE}",
        )


def key_usable_until(redeemed_on: date) -> date:
    """R7: a product key is usable for one year from the day it is redeemed."""
    return one_year_after(redeemed_on)


def check_key_redeemable(key: str, on: date, benefit_expiry: date) -> None:
    """R2: keys must be redeemed by the benefit expiry date (inclusive)."""
    if not usable_on(on, benefit_expiry):
        raise RuleViolation(
            "R2",
            "benefit-expired",
            f"key {key} had to be redeemed by {benefit_expiry} (the benefit "
            f"expiry date), not on {on}: {RENEW_ADVICE}",
        )


def check_key_not_redeemed(key: str, redeemed_on: date | None) -> None:
    """R9: once a key has been redeemed it can't be redeemed again."""
    if redeemed_on is not None:
        raise RuleViolation(
            "R9",
            "key-already-redeemed",
            f"key {key} was already redeemed on {redeemed_on}; "
            "a key can be redeemed only once",
        )


def check_demo_tenant(tenant: str, own_tenants: Iterable[str]) -> None:
    """R8: product licenses are for demonstration only, on the partner's own
    tenants; any other tenant is a customer's."""
    if tenant not in own_tenants:
        raise RuleViolation(
            "R8",
            "customer-tenant",
            f"tenant {tenant} is not registered to the partner, so it is a "
            "customer's: product licenses are issued for demonstration "
            "purposes only and can't be used on customer infrastructure",
        )


def added_licenses_end(on: date, existing: int, end: date, added: int) -> date:
    """R10 add: license-days are conserved. With E licenses and R days left,
    adding A licenses worth 365 days each on day D ends on
    D + floor((E*R + A*365) / (E + A))."""
    days_left = max(0, days_between(on, end))
    return days_after(on, (existing * days_left + added * 365) // (existing + added))


def extended_end(on: date, end: date) -> date:
    """R10 extend: the end moves one year later than the current end, or than
    the day of the extension if the subscription has already ended."""
    return one_year_after(end if end >= on else on)


def check_key_covers(key: str, key_licenses: int, sub: str, licenses: int) -> None:
    """R10 extend: the key must cover at least the subscription's licenses."""
    if key_licenses < licenses:
        raise RuleViolation(
            "R10",
            "key-too-small-to-extend",
            f"key {key} has {key_licenses} licenses but subscription {sub} has "
            f"{licenses}: extending needs a key for at least {licenses}",
        )


def reassignable_on(assigned_on: date, reassignment_days: int) -> date:
    """R14: a seat may be reassigned `reassignment_days` after the start of its
    current assignment."""
    return days_after(assigned_on, reassignment_days)


def is_reassignable(on: date, eligible: date) -> bool:
    """R14: a seat can move to another user from its eligibility date on."""
    return on >= eligible


def check_reassignable(seat: str, on: date, assigned_on: date, eligible: date) -> None:
    """R14: reassigning before the eligibility date is rejected."""
    if not is_reassignable(on, eligible):
        raise reassignment_too_early(seat, on, assigned_on, eligible)


def reassignment_too_early(
    seat: str, on: date, assigned_on: date, eligible: date
) -> RuleViolation:
    """R14: the error that names the date a seat can be reassigned from."""
    return RuleViolation(
        "R14",
        "reassignment-too-early",
        f"seat {seat} can be reassigned from {eligible} "
        f"({days_between(assigned_on, eligible)} days after {assigned_on}), "
        f"not on {on}",
    )


def bulk_credit_conflicts(offers: Iterable[str]) -> list[str]:
    """R15: Azure Bulk Credit can't be combined with any other offer; every
    offer the user holds conflicts with it."""
    return sorted(set(offers))


def check_bulk_credit_alone(user: str, offers: Iterable[str]) -> None:
    """R15: assigning Bulk Credit to a user who holds other offers is rejected."""
    conflicts = bulk_credit_conflicts(offers)
    if conflicts:
        raise RuleViolation(
            "R15",
            "bulk-credit-combined",
            f"user {user} already uses {', '.join(conflicts)}: Azure Bulk Credit "
            "offers can't be combined with other offers",
        )


def check_incidents_left(benefit: str, quantity: int, used: int) -> None:
    """R17: each support ticket uses one incident; none left is rejected."""
    if used >= quantity:
        raise RuleViolation(
            "R17",
            "no-incidents-left",
            f"benefit {benefit} has used all {quantity} of its {quantity} "
            "support incidents",
        )


def is_expiring_soon(ends_on: date, on: date, within_days: int) -> bool:
    """R11: something ends within `within_days` of a date (and hasn't ended)."""
    return 0 <= days_between(on, ends_on) <= within_days


def check_not_before(on: date, earlier: date, what: str) -> None:
    """Two times: within one entity effective dates never go backwards, and a
    write can't take effect before what it depends on."""
    if on < earlier:
        raise RuleViolation(
            "effective-date",
            "effective-date-backwards",
            f"{what} has effective date {earlier}; a write on {on} would go "
            "backwards in time",
        )
