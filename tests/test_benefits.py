"""R2, R5, R6: granting and activating benefits."""

from __future__ import annotations

import pytest

from ledger.domain.errors import RuleViolation
from tests.conftest import ACTOR, count_events, d


@pytest.fixture
def enrolled(app):
    app.enroll("P1", d("2020-01-31"), ACTOR)
    return app


def test_a_benefit_expires_on_the_renewal_date_of_its_period(enrolled):
    answer = enrolled.grant_benefit(
        "P1", "AZ", "product-key", "Azure", 20, d("2020-02-01"), ACTOR
    )
    assert answer["benefit_expiry_date"] == "2021-01-31"
    assert answer["activate_by"] == "2021-01-31"


def test_user_assigned_benefits_get_30_days_of_grace(enrolled):
    vs = enrolled.grant_benefit(
        "P1", "VS", "user-subscription", "VS", 5, d("2020-02-01"), ACTOR
    )
    abc = enrolled.grant_benefit(
        "P1", "ABC", "azure-bulk-credit", "ABC", 5, d("2020-02-01"), ACTOR
    )
    assert vs["activate_by"] == abc["activate_by"] == "2021-03-02"


def test_activating_on_the_expiry_date_is_allowed(enrolled):
    enrolled.grant_benefit(
        "P1", "AZ", "product-key", "Azure", 20, d("2020-02-01"), ACTOR
    )
    assert (
        enrolled.activate_benefit("P1", "AZ", d("2021-01-31"), ACTOR)["activated_on"]
        == "2021-01-31"
    )


def test_activating_the_day_after_is_rejected_with_the_advice_to_renew(enrolled):
    enrolled.grant_benefit(
        "P1", "AZ", "product-key", "Azure", 20, d("2020-02-01"), ACTOR
    )
    before = count_events(enrolled.url)
    with pytest.raises(RuleViolation) as error:
        enrolled.activate_benefit("P1", "AZ", d("2021-02-01"), ACTOR)
    assert error.value.rule == "R2"
    assert "2021-01-31" in error.value.message
    assert "renew your membership and repeat" in error.value.message
    assert count_events(enrolled.url) == before


def test_user_assigned_benefits_activate_through_the_grace_period(enrolled):
    enrolled.grant_benefit(
        "P1", "VS", "user-subscription", "VS", 5, d("2020-02-01"), ACTOR
    )
    assert enrolled.activate_benefit("P1", "VS", d("2021-03-02"), ACTOR)["activated_on"]


def test_user_assigned_benefits_are_rejected_after_the_grace_period(enrolled):
    enrolled.grant_benefit(
        "P1", "VS", "user-subscription", "VS", 5, d("2020-02-01"), ACTOR
    )
    with pytest.raises(RuleViolation) as error:
        enrolled.activate_benefit("P1", "VS", d("2021-03-03"), ACTOR)
    assert error.value.rule == "R5"


def test_a_benefit_never_granted_is_not_available(enrolled):
    with pytest.raises(RuleViolation) as error:
        enrolled.activate_benefit("P1", "NOPE", d("2020-03-01"), ACTOR)
    assert error.value.rule == "R6"


def test_a_grant_outside_any_enrollment_period_is_rejected(enrolled):
    with pytest.raises(RuleViolation) as error:
        enrolled.grant_benefit(
            "P1", "AZ", "product-key", "Azure", 1, d("2021-02-01"), ACTOR
        )
    assert error.value.rule == "R1"


def test_a_benefit_granted_after_renewal_belongs_to_the_new_period(enrolled):
    enrolled.renew("P1", d("2020-12-01"), ACTOR)
    answer = enrolled.grant_benefit(
        "P1", "AZ", "product-key", "Azure", 1, d("2021-02-01"), ACTOR
    )
    assert answer["benefit_expiry_date"] == "2022-01-31"


def test_activating_twice_is_rejected(enrolled):
    enrolled.grant_benefit(
        "P1", "AZ", "product-key", "Azure", 20, d("2020-02-01"), ACTOR
    )
    enrolled.activate_benefit("P1", "AZ", d("2020-03-01"), ACTOR)
    with pytest.raises(RuleViolation) as error:
        enrolled.activate_benefit("P1", "AZ", d("2020-04-01"), ACTOR)
    assert error.value.code == "already-activated"


def test_showing_a_benefit_never_granted_says_unknown_benefit(run):
    run.json("partner", "enroll", "P1", "--on", "2020-01-31")
    result = run("benefit", "show", "P1", "UNKNOWN")
    assert result.exit_code == 2
    assert "unknown benefit 'UNKNOWN'" in result.stderr
    assert "renew" not in result.stderr
