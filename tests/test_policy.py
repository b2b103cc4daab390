"""Policy parameters change from an effective date; earlier decisions keep the
dates they were made with."""

from __future__ import annotations

import pytest

from ledger.application import Ledger
from tests.conftest import ACTOR, d


@pytest.fixture(autouse=True)
def ledger_admin(db_url):
    """Policy changes need a ledger admin: ACTOR, named by `ledger init`."""
    ledger = Ledger(db_url)
    ledger.init_ledger(ACTOR, d("1900-01-01"))
    ledger.close()


@pytest.fixture
def seated(app):
    app.enroll("P1", d("2020-06-01"), ACTOR)
    app.grant_benefit("P1", "VS", "user-subscription", "VS", 2, d("2020-06-01"), ACTOR)
    app.activate_benefit("P1", "VS", d("2020-06-01"), ACTOR)
    for email in ("a@contoso.example", "b@contoso.example"):
        app.add_user("P1", email, "aad", d("2020-06-01"), ACTOR)
    return app


def test_a_change_applies_to_writes_from_its_date_only(seated):
    before = seated.assign_seat("P1", "VS", "a@contoso.example", d("2020-12-15"), ACTOR)
    seated.set_policy("reassignment_days", 60, d("2021-01-01"), ACTOR)
    after = seated.assign_seat("P1", "VS", "b@contoso.example", d("2021-01-02"), ACTOR)
    assert before["reassignable_on"] == "2021-03-15"  # 90 days: the policy then
    assert after["reassignable_on"] == "2021-03-03"  # 60 days
    assert seated.seat_show("P1", before["seat"])["reassignable_on"] == "2021-03-15"


def test_policy_show_gives_the_values_in_force_on_a_date(app):
    app.set_policy("renewal_window_days", 60, d("2021-01-01"), ACTOR)
    assert app.policy_show(d("2020-12-31"))["renewal_window_days"] == 90
    shown = app.policy_show(d("2021-01-01"))
    assert shown["renewal_window_days"] == 60
    assert shown["changes"] == [
        {"on": "2021-01-01", "name": "renewal_window_days", "days": 60}
    ]


def test_a_renewal_window_change_shapes_periods_opened_after_it(app):
    app.enroll("P1", d("2020-01-31"), ACTOR)
    app.set_policy("renewal_window_days", 30, d("2020-06-01"), ACTOR)
    renewed = app.renew("P1", d("2020-11-02"), ACTOR)  # the window stored at enrollment
    assert renewed["renewal_start_date"] == "2022-01-01"


def test_policy_cli_rejects_unknown_names_and_negative_days(run):
    assert run("policy", "set", "coffee_days", "3").exit_code == 2
    assert run("policy", "set", "reassignment_days", "-1").exit_code == 2
    shown = run.json("policy", "set", "reassignment_days", "60", "--on", "2021-01-01")
    assert shown["reassignment_days"] == 60


def test_expiring_soon_follows_the_policy_in_force_unless_within_is_given(run):
    run.json("partner", "enroll", "P1", "--on", "2020-01-31")
    on = ("--partner", "P1", "--on", "2020-12-01")  # the renewal date is 61 days away
    assert run.json("report", "expiring", *on) == []
    run.json("policy", "set", "expiring_soon_days", "90", "--on", "2020-11-01")
    assert [r["what"] for r in run.json("report", "expiring", *on)] == ["membership"]
    assert run.json("report", "expiring", *on, "--within", "30") == []
    replayed = run.json("audit", "replay", "P1", "--as-of", "2020-12-01")
    assert [r["what"] for r in replayed["expiring"]] == ["membership"]
