"""A stuck projection is a clear error, never a dead end: a report whose
projection can't apply an event exits 1 with rule `projection`, naming the
projection, the event's position, its partner and its type, and `ledger
projections status` shows where it is stuck."""

from __future__ import annotations

import json

import pytest

from ledger.domain.partner import BenefitGranted
from ledger.domain.write import Write
from projections import handlers
from tests.conftest import ACTOR, d

P = "MPN-1"


def poison_grant(app, clock, quantity: int) -> int:
    """A grant the bounds refuse today, written as a ledger without bounds did:
    straight onto the aggregate. Returns its position."""
    partner = app.load(P)
    write = Write(ACTOR, d("2020-02-01"), clock())
    partner.trigger_event(
        BenefitGranted,
        **write.event_fields(),
        benefit="BIG",
        kind="product-key",
        product="X",
        quantity=quantity,
        period_start=d("2020-01-31"),
        benefit_expiry_date=d("2021-01-31"),
        activate_by=d("2021-01-31"),
    )
    (recording,) = app.save(partner)
    return recording.notification.id


@pytest.fixture
def enrolled(app, run):
    app.enroll(P, d("2020-01-31"), ACTOR)
    app.add_tenant(P, "T1", d("2020-02-01"), ACTOR)
    return run


def test_a_value_no_column_holds_stops_the_report_with_rule_projection(
    app, clock, enrolled
):
    position = poison_grant(app, clock, 2**64 - 1)
    result = enrolled("report", "entitlements", "--on", "2020-06-01")
    assert result.exit_code == 1
    error = json.loads(result.stderr)["error"]
    assert (error["rule"], error["code"]) == ("projection", "projection-failed")
    assert (error["projection"], error["position"]) == ("entitlements", position)
    assert (error["partner"], error["event"]) == (P, "BenefitGranted")
    assert (
        f"projection entitlements is stuck on the event at position {position} "
        f"(BenefitGranted of partner {P})"
    ) in error["message"]
    status = {row["name"]: row for row in enrolled.json("projections", "status")}
    stuck = status["entitlements"]["stuck"]
    assert (stuck["position"], stuck["partner"], stuck["event"]) == (
        position,
        P,
        "BenefitGranted",
    )
    assert status["entitlements"]["position"] == position - 1
    table = enrolled("projections", "status", output="table")
    assert "BenefitGranted" in table.stdout


def test_a_failing_handler_names_its_event_and_status_clears_once_past_it(
    app, enrolled, monkeypatch
):
    armed = {"on": True}

    class Failing(handlers.Seats):
        def process_event(self, event, tracking):
            if armed["on"] and type(event).__name__ == "TenantAdded":
                raise RuntimeError("disk on fire")
            super().process_event(event, tracking)

    monkeypatch.setitem(handlers.PROJECTIONS, "seats", Failing)
    monkeypatch.setattr(handlers, "handles", lambda cls, event_class: True)
    result = enrolled("report", "reassignable", "--on", "2020-06-01")
    assert result.exit_code == 1
    error = json.loads(result.stderr)["error"]
    assert (error["rule"], error["projection"], error["event"], error["partner"]) == (
        "projection",
        "seats",
        "TenantAdded",
        P,
    )
    assert "RuntimeError: disk on fire" in error["message"]
    armed["on"] = False
    assert enrolled.json("report", "reassignable", "--on", "2020-06-01") == []
    status = enrolled.json("projections", "status")
    assert all(row["stuck"] is None and row["lag"] == 0 for row in status)


def test_a_rebuild_over_a_value_no_column_holds_names_the_event(app, clock, enrolled):
    position = poison_grant(app, clock, 2**64 - 1)
    result = enrolled("projections", "rebuild", "entitlements")
    assert result.exit_code == 1
    error = json.loads(result.stderr)["error"]
    assert (error["rule"], error["projection"], error["position"]) == (
        "projection",
        "entitlements",
        position,
    )
    assert (error["partner"], error["event"]) == (P, "BenefitGranted")
