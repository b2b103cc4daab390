"""Tenants, product keys and cloud subscriptions (R2, R7, R8, R9, R10)."""

from __future__ import annotations

from ledger.domain.benefits import check_activated, check_kind, find_benefit
from ledger.domain.errors import InvalidInput, NotFound, RuleViolation
from ledger.domain.partner import KeyIssued, KeyRedeemed, Partner, TenantAdded
from ledger.domain.rules import (
    PRODUCT_KEY,
    added_licenses_end,
    check_demo_tenant,
    check_key_covers,
    check_key_not_redeemed,
    check_key_redeemable,
    check_not_before,
    extended_end,
    key_usable_until,
)
from ledger.domain.state import Key, Subscription
from ledger.domain.write import Write


def add_tenant(partner: Partner, tenant: str, write: Write) -> None:
    if tenant in partner.tenants:
        raise InvalidInput(
            f"tenant {tenant} is already registered to {partner.partner}"
        )
    partner.record(TenantAdded, write, tenant=tenant)


def issue_key(
    partner: Partner, benefit: str, key: str, licenses: int, write: Write
) -> None:
    """A key delivered by an activated product-key benefit; the licenses of a
    benefit's keys never add up to more than its quantity."""
    found = find_benefit(partner, benefit)
    check_kind(found, (PRODUCT_KEY,), "a product key")
    activated = check_activated(found, "R6")
    check_not_before(write.on, activated, f"benefit {benefit} (activated)")
    if key in partner.keys:
        raise InvalidInput(f"key {key} was already issued to {partner.partner}")
    left = found.quantity - found.licenses_issued
    if licenses > left:
        raise RuleViolation(
            "quantity",
            "licenses-exceed-quantity",
            f"benefit {benefit} has {found.quantity} licenses, {found.licenses_issued} "
            f"already issued: a key for {licenses} would exceed it by "
            f"{licenses - left}",
        )
    partner.record(KeyIssued, write, key=key, benefit=benefit, licenses=licenses)


def find_key(partner: Partner, key: str) -> Key:
    try:
        return partner.keys[key]
    except KeyError:
        raise NotFound("key", key) from None


def find_subscription(partner: Partner, subscription: str) -> Subscription:
    try:
        return partner.subscriptions[subscription]
    except KeyError:
        raise NotFound("subscription", subscription) from None


def _subscription_after(
    partner: Partner, key: Key, tenant: str, sub: str, mode: str, write: Write
) -> tuple[int, object]:
    """R10: the subscription's licenses and end once the key is redeemed."""
    existing = partner.subscriptions.get(sub)
    if mode == "new":
        if existing is not None:
            raise RuleViolation(
                "R10",
                "subscription-exists",
                f"subscription {sub} already exists: redeem with --mode add to "
                "add licenses or --mode extend to renew it",
            )
        return key.licenses, key_usable_until(write.on)
    if existing is None:
        raise RuleViolation(
            "R10",
            "unknown-subscription",
            f"subscription {sub} does not exist, so it can't be {mode}ed: "
            "redeem with --mode new to create it",
        )
    if existing.tenant != tenant:
        raise RuleViolation(
            "R10",
            "wrong-tenant",
            f"subscription {sub} is on tenant {existing.tenant}, not {tenant}",
        )
    if mode == "add":
        end = added_licenses_end(
            write.on, existing.licenses, existing.end, key.licenses
        )
        return existing.licenses + key.licenses, end
    check_key_covers(key.key, key.licenses, sub, existing.licenses)
    return existing.licenses, extended_end(write.on, existing.end)


def redeem_key(
    partner: Partner, key: str, tenant: str, sub: str, mode: str, write: Write
) -> Key:
    """R9 once, R2 by the benefit expiry date, R8 own tenants, R10 the mode."""
    found = find_key(partner, key)
    check_key_not_redeemed(key, found.redeemed_on)
    check_not_before(write.on, found.issued_on, f"key {key} (issued)")
    check_key_redeemable(
        key, write.on, partner.benefits[found.benefit].benefit_expiry_date
    )
    check_demo_tenant(tenant, partner.tenants)
    check_not_before(write.on, partner.tenants[tenant], f"tenant {tenant} (added)")
    licenses, end = _subscription_after(partner, found, tenant, sub, mode, write)
    partner.record(
        KeyRedeemed,
        write,
        key=key,
        tenant=tenant,
        subscription=sub,
        mode=mode,
        usable_until=key_usable_until(write.on),
        licenses=licenses,
        subscription_end=end,
    )
    return found
