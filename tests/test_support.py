"""R16, R17: Access IDs and support tickets."""

from __future__ import annotations

import pytest

from ledger.domain.errors import InvalidInput, RuleViolation
from tests.conftest import ACTOR, d


@pytest.fixture
def supported(app):
    app.enroll("P1", d("2020-01-31"), ACTOR)
    app.grant_benefit("P1", "SUP", "technical", "Support", 2, d("2020-02-01"), ACTOR)
    return app


def test_activating_a_technical_benefit_yields_an_access_id_unique_in_the_ledger(
    supported,
):
    supported.enroll("P2", d("2020-01-31"), ACTOR)
    supported.grant_benefit(
        "P2", "SUP", "technical", "Support", 2, d("2020-02-01"), ACTOR
    )
    first = supported.activate_benefit("P1", "SUP", d("2020-02-02"), ACTOR)["access_id"]
    second = supported.activate_benefit("P2", "SUP", d("2020-02-02"), ACTOR)[
        "access_id"
    ]
    assert first and second and first != second


def test_each_ticket_uses_one_incident_until_none_is_left(supported):
    access_id = supported.activate_benefit("P1", "SUP", d("2020-02-02"), ACTOR)[
        "access_id"
    ]
    first = supported.open_ticket("P1", "SUP", "SQL Server", d("2020-03-01"), ACTOR)
    assert (first["access_id"], first["product"], first["incidents_left"]) == (
        access_id,
        "SQL Server",
        1,
    )
    assert (
        supported.open_ticket("P1", "SUP", "Windows", d("2020-03-02"), ACTOR)[
            "incidents_left"
        ]
        == 0
    )
    with pytest.raises(RuleViolation) as error:
        supported.open_ticket("P1", "SUP", "Windows", d("2020-03-03"), ACTOR)
    assert (error.value.rule, error.value.code) == ("R17", "no-incidents-left")
    assert error.value.message == (
        "benefit SUP has used all 2 of its 2 support incidents (rule R17)"
    )


def test_a_ticket_needs_the_benefit_activated(supported):
    with pytest.raises(RuleViolation) as error:
        supported.open_ticket("P1", "SUP", "Windows", d("2020-03-01"), ACTOR)
    assert error.value.rule == "R17"


def test_a_ticket_after_the_benefit_expiry_is_rejected(supported):
    supported.activate_benefit("P1", "SUP", d("2020-02-02"), ACTOR)
    with pytest.raises(RuleViolation) as error:
        supported.open_ticket("P1", "SUP", "Windows", d("2021-02-01"), ACTOR)
    assert error.value.rule == "R17"
    assert "2021-01-31" in error.value.message


def test_a_ticket_on_a_benefit_that_is_not_technical_is_bad_input(supported):
    supported.grant_benefit(
        "P1", "VS", "user-subscription", "VS", 1, d("2020-02-01"), ACTOR
    )
    supported.activate_benefit("P1", "VS", d("2020-02-01"), ACTOR)
    with pytest.raises(InvalidInput):
        supported.open_ticket("P1", "VS", "Windows", d("2020-03-01"), ACTOR)
