"""R1-R6 as pure functions of dates (ledger/domain/rules.py): no database."""

from __future__ import annotations

from datetime import date

import pytest

from ledger.domain.errors import RuleViolation
from ledger.domain.rules import (
    activate_by,
    activation_rule,
    check_benefit_available,
    check_can_renew,
    next_period_start,
    renewal_date,
    renewal_start_date,
    usable_on,
)

d = date.fromisoformat


@pytest.mark.parametrize(
    ("start", "renewal"),
    [
        ("2020-01-31", "2021-01-31"),  # the FAQ's enrollment: expiry 2021-01-31
        ("2020-12-01", "2021-12-01"),
        ("2020-02-29", "2021-02-28"),  # 29 February becomes 28 February
        ("2019-03-01", "2020-03-01"),
    ],
)
def test_r1_the_renewal_date_is_one_year_after_the_start(start, renewal):
    assert renewal_date(d(start)) == d(renewal)


def test_r3_renewal_opens_the_window_before_the_renewal_date():
    assert renewal_start_date(d("2021-01-31"), 90) == d("2020-11-02")
    assert renewal_start_date(d("2021-01-31"), 0) == d("2021-01-31")


def test_r3_a_renewal_on_the_start_date_is_allowed_the_day_before_is_not():
    check_can_renew(d("2020-11-02"), d("2021-01-31"), d("2020-11-02"))
    with pytest.raises(RuleViolation) as error:
        check_can_renew(d("2020-11-01"), d("2021-01-31"), d("2020-11-02"))
    assert (error.value.rule, error.value.code) == ("R3", "before-renewal-start")
    assert error.value.message == (
        "renewal on 2020-11-01 is too early: renewal opens on 2020-11-02 "
        "(90 days before the renewal date 2021-01-31) (rule R3)"
    )


@pytest.mark.parametrize(
    ("on", "start"),
    [
        ("2020-12-01", "2021-01-31"),  # in time: no gap, no overlap
        ("2021-01-31", "2021-01-31"),  # on the renewal date itself
        ("2021-03-15", "2021-03-15"),  # lapsed: starts that day
    ],
)
def test_r4_the_next_period_starts_on_the_old_renewal_date_or_on_a_late_renewal(
    on, start
):
    assert next_period_start(d(on), d("2021-01-31")) == d(start)


def test_r2_r5_user_assigned_benefits_get_the_grace_others_do_not():
    expiry = d("2021-01-31")
    assert activate_by(expiry, "user-subscription", 30) == d("2021-03-02")
    assert activate_by(expiry, "azure-bulk-credit", 30) == d("2021-03-02")
    assert activate_by(expiry, "product-key", 30) == expiry
    assert activate_by(expiry, "technical", 30) == expiry
    assert [activation_rule(k) for k in ("user-subscription", "product-key")] == [
        "R5",
        "R2",
    ]


def test_r2_the_expiry_date_is_the_last_day_it_is_accepted():
    """The FAQ: benefit expiry 2021-01-31, usable on 2021-01-31, not 2021-02-01."""
    assert usable_on(d("2021-01-31"), d("2021-01-31"))
    assert not usable_on(d("2021-02-01"), d("2021-01-31"))
    check_benefit_available("AZ", d("2021-01-31"), d("2021-01-31"), "R2")
    with pytest.raises(RuleViolation) as error:
        check_benefit_available("AZ", d("2021-02-01"), d("2021-01-31"), "R2")
    assert (error.value.rule, error.value.code) == ("R2", "benefit-expired")
    assert error.value.message == (
        "benefit AZ could be used until 2021-01-31, not on 2021-02-01: "
        "renew your membership and repeat (rule R2)"
    )
