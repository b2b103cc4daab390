"""R7-R10 as pure functions of dates and counts (ledger/domain/rules.py)."""

from __future__ import annotations

from datetime import date

import pytest

from ledger.domain.errors import RuleViolation
from ledger.domain.rules import (
    added_licenses_end,
    check_demo_tenant,
    check_key_covers,
    check_key_not_redeemed,
    check_key_redeemable,
    extended_end,
    key_usable_until,
)

d = date.fromisoformat


def test_r7_a_key_is_usable_one_year_from_its_redemption():
    """The FAQ: redeemed 2020-12-01 (benefit expiry 2021-01-31) -> 2021-12-01."""
    assert key_usable_until(d("2020-12-01")) == d("2021-12-01")
    assert key_usable_until(d("2020-02-29")) == d("2021-02-28")


def test_r2_keys_are_redeemed_by_the_benefit_expiry_date():
    check_key_redeemable("KEY-1", d("2021-01-31"), d("2021-01-31"))
    with pytest.raises(RuleViolation) as error:
        check_key_redeemable("KEY-1", d("2021-02-01"), d("2021-01-31"))
    assert (error.value.rule, error.value.code) == ("R2", "benefit-expired")
    assert error.value.message == (
        "key KEY-1 had to be redeemed by 2021-01-31 (the benefit expiry date), "
        "not on 2021-02-01: renew your membership and repeat (rule R2)"
    )


def test_r8_only_the_partners_own_tenants():
    check_demo_tenant("demo", ["demo", "lab"])
    with pytest.raises(RuleViolation) as error:
        check_demo_tenant("customer", ["demo"])
    assert (error.value.rule, error.value.code) == ("R8", "customer-tenant")
    assert "tenant customer is not registered to the partner" in error.value.message


def test_r9_a_key_is_redeemed_once():
    check_key_not_redeemed("KEY-1", None)
    with pytest.raises(RuleViolation) as error:
        check_key_not_redeemed("KEY-1", d("2020-12-01"))
    assert (error.value.rule, error.value.code) == ("R9", "key-already-redeemed")
    assert "already redeemed on 2020-12-01" in error.value.message


@pytest.mark.parametrize(
    ("existing", "days_left", "added", "days"),
    [
        (10, 100, 10, 232),  # (10*100 + 10*365) / 20 = 232.5 -> 232
        (10, 365, 10, 365),  # a full year stays a full year
        (10, 0, 10, 182),  # ended: only the added license-days count
        (1, 0, 3, 273),
    ],
)
def test_r10_add_conserves_license_days(existing, days_left, added, days):
    on = d("2021-01-01")
    end = date.fromordinal(on.toordinal() + days_left)
    assert added_licenses_end(on, existing, end, added) == date.fromordinal(
        on.toordinal() + days
    )


def test_r10_add_to_an_ended_subscription_counts_no_days_left():
    ended = d("2020-06-01")
    assert added_licenses_end(d("2021-01-01"), 10, ended, 10) == d("2021-07-02")


def test_r10_extend_moves_the_end_one_year():
    assert extended_end(d("2021-06-01"), d("2021-12-01")) == d("2022-12-01")
    # already ended: one year from the day of the extension
    assert extended_end(d("2022-01-15"), d("2021-12-01")) == d("2023-01-15")


def test_r10_extend_needs_a_key_covering_the_subscription():
    check_key_covers("KEY-2", 10, "SUB-1", 10)
    with pytest.raises(RuleViolation) as error:
        check_key_covers("KEY-2", 5, "SUB-1", 10)
    assert (error.value.rule, error.value.code) == ("R10", "key-too-small-to-extend")
    assert error.value.message == (
        "key KEY-2 has 5 licenses but subscription SUB-1 has 10: extending needs "
        "a key for at least 10 (rule R10)"
    )
