"""R11-R17 and the two times, as pure functions (ledger/domain/rules.py), and
how seats are named (ledger/domain/names.py)."""

from __future__ import annotations

from datetime import date

import pytest

from ledger.domain.errors import RuleViolation
from ledger.domain.names import seat_benefit, seat_id, seat_number
from ledger.domain.rules import (
    bulk_credit_conflicts,
    check_bulk_credit_alone,
    check_incidents_left,
    check_not_before,
    check_reassignable,
    is_bulk_credit,
    is_expiring_soon,
    is_reassignable,
    is_user_assigned,
    reassignable_on,
)

d = date.fromisoformat


def test_r14_a_seat_is_reassignable_90_days_after_its_assignment():
    eligible = reassignable_on(d("2021-01-01"), 90)
    assert eligible == d("2021-04-01")
    assert is_reassignable(d("2021-04-01"), eligible)
    assert not is_reassignable(d("2021-03-31"), eligible)


def test_r14_reassigning_before_the_date_is_refused_naming_it():
    check_reassignable("VS#1", d("2021-04-01"), d("2021-01-01"), d("2021-04-01"))
    with pytest.raises(RuleViolation) as error:
        check_reassignable("VS#1", d("2021-03-31"), d("2021-01-01"), d("2021-04-01"))
    assert (error.value.rule, error.value.code) == ("R14", "reassignment-too-early")
    assert error.value.message == (
        "seat VS#1 can be reassigned from 2021-04-01 (90 days after 2021-01-01), "
        "not on 2021-03-31 (rule R14)"
    )


def test_r15_bulk_credit_stands_alone():
    assert bulk_credit_conflicts({"azure-pass": 1, "action-pack": 2}) == [
        "action-pack",
        "azure-pass",
    ]
    check_bulk_credit_alone("a@x.example", [])
    with pytest.raises(RuleViolation) as error:
        check_bulk_credit_alone("a@x.example", ["azure-pass", "enterprise-agreement"])
    assert (error.value.rule, error.value.code) == ("R15", "bulk-credit-combined")
    assert error.value.message == (
        "user a@x.example already uses azure-pass, enterprise-agreement: Azure Bulk "
        "Credit offers can't be combined with other offers (rule R15)"
    )


def test_the_kinds_of_benefit():
    assert [
        is_user_assigned(k) for k in ("user-subscription", "azure-bulk-credit")
    ] == [
        True,
        True,
    ]
    assert not is_user_assigned("product-key") and not is_user_assigned("technical")
    assert is_bulk_credit("azure-bulk-credit") and not is_bulk_credit("technical")


def test_r17_each_ticket_uses_an_incident():
    check_incidents_left("SUP", 2, 1)
    with pytest.raises(RuleViolation) as error:
        check_incidents_left("SUP", 2, 2)
    assert (error.value.rule, error.value.code) == ("R17", "no-incidents-left")
    assert error.value.message == (
        "benefit SUP has used all 2 of its 2 support incidents (rule R17)"
    )


@pytest.mark.parametrize(
    ("ends_on", "expiring"),
    [
        ("2021-01-01", True),  # ends today
        ("2021-01-31", True),  # the 30th day
        ("2021-02-01", False),  # the 31st
        ("2020-12-31", False),  # already ended
    ],
)
def test_r11_expiring_soon_is_within_the_days_asked(ends_on, expiring):
    assert is_expiring_soon(d(ends_on), d("2021-01-01"), 30) is expiring


def test_effective_dates_never_go_backwards():
    check_not_before(d("2021-01-01"), d("2021-01-01"), "seat VS#1")
    with pytest.raises(RuleViolation) as error:
        check_not_before(d("2020-12-31"), d("2021-01-01"), "seat VS#1")
    assert (error.value.rule, error.value.code) == (
        "effective-date",
        "effective-date-backwards",
    )
    assert "seat VS#1 has effective date 2021-01-01" in error.value.message


def test_seats_are_named_benefit_hash_number():
    assert seat_id("VS-2021", 3) == "VS-2021#3"
    assert (seat_benefit("A#B#12"), seat_number("A#B#12")) == ("A#B", 12)
    for not_a_seat in ("VS", "VS#", "VS#0", "VS#01", "VS#x", "VS#-1"):
        assert seat_number(not_a_seat) is None, not_a_seat
