"""R1-R4 and partner admins, through the application API, on both backends."""

from __future__ import annotations

import pytest

from ledger.domain.errors import NotFound, RuleViolation
from tests.conftest import ACTOR, count_events, d


def test_enrollment_opens_one_year_with_the_faqs_expiry(app):
    answer = app.enroll("P1", d("2020-01-31"), ACTOR)
    assert answer["period_start"] == "2020-01-31"
    assert answer["renewal_date"] == "2021-01-31"
    assert answer["benefit_expiry_date"] == "2021-01-31"
    assert answer["renewal_start_date"] == "2020-11-02"
    assert answer["admins"] == [ACTOR]


def test_enrolling_on_29_february_renews_on_28_february(app):
    assert app.enroll("P1", d("2020-02-29"), ACTOR)["renewal_date"] == "2021-02-28"


def test_enrolling_twice_is_rejected(app):
    app.enroll("P1", d("2020-01-31"), ACTOR)
    with pytest.raises(RuleViolation) as error:
        app.enroll("P1", d("2020-02-01"), ACTOR)
    assert error.value.rule == "R1"


def test_renewal_before_the_renewal_start_date_names_that_date(app):
    app.enroll("P1", d("2020-01-31"), ACTOR)
    before = count_events(app.url)
    with pytest.raises(RuleViolation) as error:
        app.renew("P1", d("2020-11-01"), ACTOR)
    assert error.value.rule == "R3"
    assert "2020-11-02" in error.value.message
    assert count_events(app.url) == before


def test_renewal_on_the_renewal_start_date_continues_without_a_gap(app):
    app.enroll("P1", d("2020-01-31"), ACTOR)
    answer = app.renew("P1", d("2020-11-02"), ACTOR)
    assert answer["period_start"] == "2021-01-31"
    assert answer["renewal_date"] == "2022-01-31"


def test_renewal_after_the_membership_lapsed_starts_that_day(app):
    app.enroll("P1", d("2020-01-31"), ACTOR)
    answer = app.renew("P1", d("2021-03-15"), ACTOR)
    assert answer["period_start"] == "2021-03-15"
    assert answer["renewal_date"] == "2022-03-15"


def test_show_describes_the_period_containing_the_date_and_its_status(app):
    app.enroll("P1", d("2020-01-31"), ACTOR)
    app.renew("P1", d("2020-12-01"), ACTOR)
    assert app.partner_show("P1", d("2020-06-01"))["period_start"] == "2020-01-31"
    assert app.partner_show("P1", d("2021-06-01"))["period_start"] == "2021-01-31"
    lapsed = app.partner_show("P1", d("2022-02-01"))
    assert (lapsed["status"], lapsed["period_start"]) == ("lapsed", "2021-01-31")
    assert app.partner_show("P1", d("2022-01-31"))["status"] == "active"


def test_a_write_by_someone_who_is_not_an_admin_is_rejected(app):
    app.enroll("P1", d("2020-01-31"), ACTOR)
    with pytest.raises(RuleViolation) as error:
        app.renew("P1", d("2020-12-01"), "stranger@example.com")
    assert error.value.rule == "admin"


def test_admins_grant_and_revoke_others_but_never_the_last(app):
    app.enroll("P1", d("2020-01-31"), ACTOR)
    app.grant_admin("P1", "it@contoso.example", ACTOR, d("2020-02-01"))
    app.renew("P1", d("2020-12-01"), "it@contoso.example")
    app.revoke_admin("P1", ACTOR, "it@contoso.example", d("2020-12-02"))
    with pytest.raises(RuleViolation) as error:
        app.revoke_admin(
            "P1", "it@contoso.example", "it@contoso.example", d("2020-12-03")
        )
    assert error.value.code == "last-admin"
    assert app.partner_show("P1", d("2021-01-01"))["admins"] == ["it@contoso.example"]


def test_a_refusal_names_the_actor_and_partner_but_no_other_admin(app):
    app.enroll("P1", d("2020-01-31"), ACTOR)
    with pytest.raises(RuleViolation) as error:
        app.renew("P1", d("2020-12-01"), "stranger@example.com")
    assert error.value.message == (
        "stranger@example.com is not an admin of partner P1 (rule admin)"
    )
    assert ACTOR not in error.value.message


def test_an_admin_granted_on_a_date_writes_nothing_dated_before_it(app):
    app.enroll("P1", d("2020-01-31"), ACTOR)
    before = count_events(app.url)
    app.grant_admin("P1", "future@contoso.example", ACTOR, d("2030-01-01"))
    with pytest.raises(RuleViolation) as error:
        app.add_tenant("P1", "T1", d("2020-06-01"), "future@contoso.example")
    assert error.value.rule == "admin"
    assert error.value.message == (
        "future@contoso.example is not an admin of partner P1 on 2020-06-01 "
        "(admin from 2030-01-01) (rule admin)"
    )
    assert count_events(app.url) == before + 1
    app.add_tenant("P1", "T1", d("2030-01-01"), "future@contoso.example")


def test_a_revoked_admin_writes_nothing_dated_on_or_after_the_revocation(app):
    app.enroll("P1", d("2020-01-31"), ACTOR)
    app.grant_admin("P1", "it@contoso.example", ACTOR, d("2020-02-01"))
    app.revoke_admin("P1", "it@contoso.example", ACTOR, d("2020-06-01"))
    with pytest.raises(RuleViolation) as error:
        app.add_tenant("P1", "T1", d("2020-06-01"), "it@contoso.example")
    assert "on 2020-06-01 (admin from 2020-02-01 until 2020-06-01)" in str(error.value)
    app.add_tenant("P1", "T1", d("2020-05-31"), "it@contoso.example")


def test_grants_and_revocations_of_one_email_never_go_backwards(app):
    app.enroll("P1", d("2020-01-31"), ACTOR)
    app.grant_admin("P1", "future@contoso.example", ACTOR, d("2030-01-01"))
    before = count_events(app.url)
    with pytest.raises(RuleViolation) as error:
        app.revoke_admin("P1", "future@contoso.example", ACTOR, d("2020-01-31"))
    assert error.value.rule == "effective-date"
    assert "effective date 2030-01-01; a write on 2020-01-31" in error.value.message
    app.revoke_admin("P1", "future@contoso.example", ACTOR, d("2030-02-01"))
    with pytest.raises(RuleViolation) as error:
        app.grant_admin("P1", "future@contoso.example", ACTOR, d("2030-01-15"))
    assert "effective date 2030-02-01; a write on 2030-01-15" in error.value.message
    assert count_events(app.url) == before + 1


def test_an_unknown_partner_is_not_found(app):
    with pytest.raises(NotFound):
        app.renew("NOPE", d("2020-12-01"), ACTOR)


def test_a_repeated_request_id_records_nothing_and_answers_the_same(app):
    first = app.enroll("P1", d("2020-01-31"), ACTOR, request_id="r-1")
    before = count_events(app.url)
    assert app.enroll("P1", d("2020-01-31"), ACTOR, request_id="r-1") == first
    assert count_events(app.url) == before


def test_a_request_id_reused_with_other_content_is_rejected(app):
    app.enroll("P1", d("2020-01-31"), ACTOR, request_id="r-1")
    with pytest.raises(RuleViolation) as error:
        app.enroll("P2", d("2020-01-31"), ACTOR, request_id="r-1")
    assert error.value.code == "request-id-reused"


def test_a_request_id_taken_by_another_actor_says_only_that_it_is_taken(app):
    app.enroll("P1", d("2020-01-31"), ACTOR, request_id="r-1")
    app.grant_admin("P1", "it@contoso.example", ACTOR, d("2020-02-01"))
    with pytest.raises(RuleViolation) as error:
        app.add_tenant("P1", "T1", d("2020-03-01"), "it@contoso.example", "r-1")
    assert error.value.message == (
        "request id r-1 is already taken by another request: "
        "use a new request id (rule idempotency)"
    )


def test_effective_dates_never_go_backwards_within_an_entity(app):
    app.enroll("P1", d("2020-01-31"), ACTOR)
    app.renew("P1", d("2020-12-01"), ACTOR)
    app.grant_benefit("P1", "B", "technical", "Support", 2, d("2020-06-01"), ACTOR)
    with pytest.raises(RuleViolation) as error:
        app.activate_benefit("P1", "B", d("2020-05-01"), ACTOR)
    assert error.value.rule == "effective-date"


def test_show_before_the_enrollment_says_not_enrolled_yet(app):
    app.enroll("P1", d("2020-01-31"), ACTOR)
    app.renew("P1", d("2020-12-01"), ACTOR)
    shown = app.partner_show("P1", d("2019-06-01"))
    assert shown["status"] == "not enrolled yet"
    assert (shown["period_start"], shown["renewal_date"]) == (None, None)
    assert shown["partner"] == "P1"


def test_show_between_two_periods_shows_the_lapsed_one_before_the_date(app):
    app.enroll("P1", d("2018-01-31"), ACTOR)
    app.renew("P1", d("2020-06-01"), ACTOR)  # lapsed 2019-01-31 .. 2020-06-01
    shown = app.partner_show("P1", d("2019-06-01"))
    assert (shown["status"], shown["period_start"]) == ("lapsed", "2018-01-31")


@pytest.mark.parametrize("partner", ["", " ", "P\x01", "P" * 201])
def test_enrolling_an_empty_or_unprintable_id_is_bad_input(app, run, partner):
    result = run("partner", "enroll", partner, "--on", "2020-01-31")
    assert result.exit_code == 2
    assert run.events() == 0
