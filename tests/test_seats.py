"""R5, R12-R15: users, offers and seats."""

from __future__ import annotations

import pytest

from ledger.domain.errors import NotFound, RuleViolation
from tests.conftest import ACTOR, count_events, d

A, B, C = "a@contoso.example", "b@contoso.example", "c@contoso.example"


@pytest.fixture
def seated(app):
    """Enrolled 2020-06-01 (renewal 2021-06-01, seats usable through
    2021-07-01); VS and ABC (2 seats each) granted and activated, users A, B, C."""
    app.enroll("P1", d("2020-06-01"), ACTOR)
    for benefit, kind in (("VS", "user-subscription"), ("ABC", "azure-bulk-credit")):
        app.grant_benefit("P1", benefit, kind, benefit, 2, d("2020-06-01"), ACTOR)
        app.activate_benefit("P1", benefit, d("2020-06-01"), ACTOR)
    for email in (A, B, C):
        app.add_user("P1", email, "aad", d("2020-06-01"), ACTOR)
    return app


def assign(app, email, on, benefit="VS"):
    return app.assign_seat("P1", benefit, email, d(on), ACTOR)


def test_a_seat_is_assigned_then_active_after_sign_in(seated):
    seat = assign(seated, A, "2021-01-01")
    assert (seat["seat"], seat["state"], seat["user"]) == ("VS#1", "assigned", A)
    assert seated.sign_in("P1", "VS#1", d("2021-01-02"), ACTOR)["state"] == "active"


def test_only_the_partners_users_can_get_a_seat(seated):
    before = count_events(seated.url)
    with pytest.raises(RuleViolation) as error:
        assign(seated, "stranger@example.com", "2021-01-01")
    assert error.value.rule == "R12"
    assert count_events(seated.url) == before


def test_seats_can_be_used_through_the_renewal_date_plus_30_days(seated):
    assert assign(seated, A, "2021-07-01")["assigned_on"] == "2021-07-01"
    with pytest.raises(RuleViolation) as error:
        seated.sign_in("P1", "VS#1", d("2021-07-02"), ACTOR)
    assert error.value.rule == "R5"
    assert "renew your membership" in error.value.message


def test_assigning_after_the_grace_period_is_rejected_with_the_advice_to_renew(seated):
    with pytest.raises(RuleViolation) as error:
        assign(seated, A, "2021-07-02")
    assert error.value.rule == "R5"
    assert "2021-07-01" in error.value.message


def test_reassignment_is_allowed_from_90_days_after_assignment(seated):
    assign(seated, A, "2021-01-01")
    seat = seated.reassign_seat("P1", "VS#1", B, d("2021-04-01"), ACTOR)
    assert (seat["user"], seat["assigned_on"], seat["reassignable_on"]) == (
        B,
        "2021-04-01",
        "2021-06-30",
    )


def test_reassignment_on_day_89_is_rejected_and_names_the_date(seated):
    assign(seated, A, "2021-01-01")
    with pytest.raises(RuleViolation) as error:
        seated.reassign_seat("P1", "VS#1", B, d("2021-03-31"), ACTOR)
    assert error.value.rule == "R14"
    assert "2021-04-01" in error.value.message


def test_release_and_assign_to_someone_else_in_the_window_is_a_reassignment(seated):
    assign(seated, A, "2021-01-01")
    assign(seated, C, "2021-01-01")
    seated.release_seat("P1", "VS#1", d("2021-02-01"), ACTOR)
    with pytest.raises(RuleViolation) as error:
        assign(seated, B, "2021-02-02")
    assert error.value.rule == "R14"
    assert "2021-04-01" in error.value.message


def test_the_error_names_the_earliest_date_a_free_seat_frees(seated):
    assign(seated, A, "2021-01-10")
    assign(seated, C, "2021-01-01")
    seated.release_seat("P1", "VS#1", d("2021-02-01"), ACTOR)
    seated.release_seat("P1", "VS#2", d("2021-02-01"), ACTOR)
    with pytest.raises(RuleViolation) as error:
        assign(seated, B, "2021-02-02")
    assert "2021-04-01" in error.value.message  # VS#2, held by C from 2021-01-01


def test_a_released_seat_can_go_back_to_its_last_user(seated):
    assign(seated, A, "2021-01-01")
    seated.release_seat("P1", "VS#1", d("2021-01-05"), ACTOR)
    assert assign(seated, A, "2021-01-06")["seat"] == "VS#1"


def test_a_released_seat_goes_to_someone_else_after_the_window(seated):
    assign(seated, A, "2021-01-01")
    assign(seated, C, "2021-01-01")
    seated.release_seat("P1", "VS#1", d("2021-02-01"), ACTOR)
    assert assign(seated, B, "2021-04-01")["seat"] == "VS#1"


def test_no_free_seat_is_rejected_with_the_count(seated):
    assign(seated, A, "2021-01-01")
    assign(seated, B, "2021-01-01")
    with pytest.raises(RuleViolation) as error:
        assign(seated, C, "2021-01-01")
    assert (error.value.rule, error.value.code) == ("quantity", "no-free-seat")
    assert error.value.message == (
        "benefit VS has 2 seats and all 2 are assigned (rule quantity)"
    )


def test_bulk_credit_is_refused_to_a_user_with_other_offers_naming_them(seated):
    seated.record_offer("P1", A, "azure-pass", d("2020-06-01"), ACTOR)
    seated.record_offer("P1", A, "enterprise-agreement", d("2020-06-01"), ACTOR)
    with pytest.raises(RuleViolation) as error:
        assign(seated, A, "2021-01-01", benefit="ABC")
    assert error.value.rule == "R15"
    assert "azure-pass" in error.value.message
    assert "enterprise-agreement" in error.value.message


def test_an_offer_recorded_later_for_a_bulk_credit_holder_shows_as_a_conflict(seated):
    assign(seated, A, "2021-01-01", benefit="ABC")
    shown = seated.record_offer("P1", A, "action-pack", d("2021-01-05"), ACTOR)
    assert shown["conflicts"] == ["action-pack"]
    assert seated.user_show("P1", A)["conflicts"] == ["action-pack"]
    assert seated.user_show("P1", A, d("2021-01-04"))["conflicts"] == []


def test_other_offers_do_not_block_a_visual_studio_seat(seated):
    seated.record_offer("P1", A, "azure-pass", d("2020-06-01"), ACTOR)
    assert assign(seated, A, "2021-01-01")["user"] == A


def test_a_million_seat_grant_holds_no_seat_until_one_is_assigned(seated):
    seated.grant_benefit(
        "P1", "BIG", "user-subscription", "VS", 1_000_000, d("2020-06-01"), ACTOR
    )
    seated.activate_benefit("P1", "BIG", d("2020-06-01"), ACTOR)
    assert [s for s in seated.load("P1").seats if s.startswith("BIG")] == []
    assert assign(seated, A, "2021-01-01", benefit="BIG")["seat"] == "BIG#1"
    assert assign(seated, B, "2021-01-01", benefit="BIG")["seat"] == "BIG#2"
    assert sorted(s for s in seated.load("P1").seats if s.startswith("BIG")) == [
        "BIG#1",
        "BIG#2",
    ]
    last = seated.seat_show("P1", "BIG#1000000")
    assert (last["state"], last["user"], last["benefit"]) == ("free", None, "BIG")


def test_a_seat_never_assigned_shows_free_and_one_beyond_the_quantity_is_unknown(
    seated,
):
    assert seated.seat_show("P1", "VS#2")["state"] == "free"
    for name in ("VS#3", "VS#0", "VS#02", "VS#x", "NOPE#1"):
        with pytest.raises(NotFound):
            seated.seat_show("P1", name)


def test_a_freed_seat_is_taken_before_a_new_one(seated):
    assign(seated, A, "2020-06-01")
    seated.release_seat("P1", "VS#1", d("2020-09-01"), ACTOR)
    assert assign(seated, B, "2020-09-01")["seat"] == "VS#1"  # 2020-08-30 passed
    assert assign(seated, C, "2020-09-01")["seat"] == "VS#2"


def test_a_freed_seat_in_its_window_is_passed_over_for_a_new_one(seated):
    assign(seated, A, "2021-01-01")
    seated.release_seat("P1", "VS#1", d("2021-01-02"), ACTOR)
    assert assign(seated, B, "2021-01-02")["seat"] == "VS#2"
    with pytest.raises(RuleViolation) as error:
        assign(seated, C, "2021-01-02")
    assert error.value.rule == "R14"
    assert "2021-04-01" in error.value.message
