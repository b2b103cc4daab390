"""Issue 18: `ledger report calendar`, an iCalendar file of every deadline,
parsed here with the `icalendar` package, and its dates checked against the
FAQ's example, against `audit replay` and against a replay of the events."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import icalendar
import pytest
import sqlalchemy as sa

from ledger.audit.replays import kept_events, partner_events, rebuild
from ledger.domain.deadlines import deadlines, partner_dates
from projections import Reports
from tests.conftest import ACTOR, d

P = "DEMO-CONTOSO"

# The FAQ's example as `ledger demo` records it, judged on 2021-06-01:
# (SUMMARY without the partner, DTSTART).
DEMO_ON_2021_06_01 = [
    ("period 2020-01-31: renewal opens (R3) — met", "2020-11-02"),
    ("benefit AZURE-2020: activate by (R2) — met", "2021-01-31"),
    ("period 2020-01-31: renewal date (R1) — met", "2021-01-31"),
    ("seat VS-2021#1: reassignable from (R14) — met", "2021-05-02"),
    ("period 2021-01-31: renewal opens (R3) — open", "2021-11-02"),
    ("key KEY-0001: usable until (R7) — open", "2021-12-01"),
    ("subscription SUB-1: ends (R10) — open", "2021-12-01"),
    ("period 2021-01-31: renewal date (R1) — open", "2022-01-31"),
    ("benefit VS-2021: activate by (R5) — met", "2022-03-02"),
]


@pytest.fixture
def demo(run):
    assert run("demo").exit_code == 0
    return run


def ics(run, *args: str) -> icalendar.Calendar:
    result = run("report", "calendar", *args, output="table")
    assert result.exit_code == 0, result.stderr
    return icalendar.Calendar.from_ical(result.stdout_bytes)


def events(calendar: icalendar.Calendar) -> list[Any]:
    return list(calendar.walk("VEVENT"))


def rows(calendar: icalendar.Calendar) -> list[tuple[str, str]]:
    """(SUMMARY without the partner, DTSTART) of each event, in file order."""
    found = []
    for event in events(calendar):
        partner, rest = str(event["SUMMARY"]).split(" ", 1)
        assert partner == P
        found.append((rest, event.decoded("DTSTART").isoformat()))
    return found


def test_every_deadline_of_the_faq_example_is_an_all_day_event(demo):
    calendar = ics(demo, "--partner", P, "--on", "2021-06-01")
    assert calendar["VERSION"] == "2.0" and calendar["PRODID"]
    assert rows(calendar) == DEMO_ON_2021_06_01
    for event in events(calendar):
        start = event.decoded("DTSTART")
        assert type(start) is date
        assert event.decoded("DTEND") == start + timedelta(days=1)
        assert event["DTSTAMP"] and event["UID"]
        assert "Remedy (Benefits FAQ): " in str(event["DESCRIPTION"])


def test_the_remedy_and_the_dates_are_in_the_description(demo):
    by_summary = {
        str(e["SUMMARY"]): str(e["DESCRIPTION"])
        for e in events(ics(demo, "--partner", P, "--on", "2021-06-01"))
    }
    key = by_summary[f"{P} key KEY-0001: usable until (R7) — open"]
    assert key.startswith(
        "Usable until 2021-12-01 (rule R7): 10 licenses of AZURE-2020 redeemed "
        "on 2020-12-01 into subscription SUB-1 (new)."
    )
    assert "Remedy (Benefits FAQ): add licenses, or extend for the next " in key
    renewal = by_summary[f"{P} period 2021-01-31: renewal date (R1) — open"]
    assert "Remedy (Benefits FAQ): renew the membership." in renewal


def test_each_deadline_is_judged_met_open_or_missed_on_the_date(demo):
    """Before the renewal the first period's dates are open; after the second
    renewal date passed without a renewal, everything left is missed."""
    renewed = dict(rows(ics(demo, "--partner", P, "--on", "2020-12-01")))
    assert renewed == {
        # the renewal and the redemption took effect on 2020-12-01
        "period 2020-01-31: renewal opens (R3) — met": "2020-11-02",
        "benefit AZURE-2020: activate by (R2) — met": "2021-01-31",
        "period 2020-01-31: renewal date (R1) — met": "2021-01-31",
        "period 2021-01-31: renewal opens (R3) — open": "2021-11-02",
        "key KEY-0001: usable until (R7) — open": "2021-12-01",
        "subscription SUB-1: ends (R10) — open": "2021-12-01",
        "period 2021-01-31: renewal date (R1) — open": "2022-01-31",
    }
    on_nov = dict(rows(ics(demo, "--partner", P, "--on", "2020-11-30")))
    assert on_nov == {
        "period 2020-01-31: renewal opens (R3) — open": "2020-11-02",
        "benefit AZURE-2020: activate by (R2) — met": "2021-01-31",
        "period 2020-01-31: renewal date (R1) — open": "2021-01-31",
    }
    later = [s for s, _ in rows(ics(demo, "--partner", P, "--on", "2022-02-01"))]
    assert [s.rsplit(" — ", 1)[1] for s in later] == [
        "met",
        "met",
        "met",
        "met",
        "missed",
        "missed",
        "missed",
        "missed",
        "met",
    ]


def test_unactivated_benefit_is_missed_the_day_after_its_activate_by(run):
    run("partner", "enroll", "MPN-1", "--on", "2020-01-31")
    run("benefit", "grant", "MPN-1", "AZ", "--kind", "product-key", "--product",
        "Azure", "--quantity", "5", "--on", "2020-02-01")  # fmt: skip
    summaries = {
        on: [str(e["SUMMARY"]) for e in events(ics(run, "--on", on))]
        for on in ("2021-01-31", "2021-02-01")
    }
    assert "MPN-1 benefit AZ: activate by (R2) — open" in summaries["2021-01-31"]
    assert "MPN-1 benefit AZ: activate by (R2) — missed" in summaries["2021-02-01"]


def test_uids_are_stable_across_runs_and_dates(demo):
    first = {
        str(e["UID"]): str(e["SUMMARY"])
        for e in events(ics(demo, "--on", "2021-06-01"))
    }
    again = {
        str(e["UID"]): str(e["SUMMARY"])
        for e in events(ics(demo, "--on", "2021-06-01"))
    }
    assert first == again and len(first) == len(DEMO_ON_2021_06_01)
    later = {str(e["UID"]) for e in events(ics(demo, "--on", "2022-02-01"))}
    assert later == set(first)


def test_a_reassigned_seat_keeps_its_uid_and_moves_its_date(demo):
    def seat(on: str) -> Any:
        (found,) = [
            e
            for e in events(ics(demo, "--partner", P, "--on", on))
            if "seat VS-2021#1" in str(e["SUMMARY"])
        ]
        return found

    before = seat("2021-06-01")
    demo(
        "user", "add", P, "qa@contoso.example", "--source", "aad", "--on", "2021-06-01"
    )
    assert demo("seat", "reassign", P, "VS-2021#1", "qa@contoso.example",
                "--on", "2021-06-01").exit_code == 0  # fmt: skip
    after = seat("2021-06-02")
    assert after["UID"] == before["UID"]
    assert before.decoded("DTSTART") == d("2021-05-02")
    assert after.decoded("DTSTART") == d("2021-08-30")
    assert str(after["SUMMARY"]).endswith("reassignable from (R14) — open")


def test_the_alarm_follows_the_policy_in_force_on_the_date(demo):
    assert demo("init", "--admin", ACTOR, actor=None).exit_code == 0
    assert demo("policy", "set", "expiring_soon_days", "14", "--on",
                "2021-03-01").exit_code == 0  # fmt: skip

    def triggers(on: str) -> set[timedelta]:
        return {
            alarm.decoded("TRIGGER") for alarm in ics(demo, "--on", on).walk("VALARM")
        }

    assert triggers("2021-02-28") == {timedelta(days=-30)}
    assert triggers("2021-03-01") == {timedelta(days=-14)}
    (alarm, *_) = ics(demo, "--on", "2021-03-01").walk("VALARM")
    assert alarm["ACTION"] == "DISPLAY" and alarm["DESCRIPTION"]


def test_out_writes_the_file_and_says_so(demo, tmp_path):
    out = tmp_path / "demo.ics"
    answer = demo.json("report", "calendar", "--on", "2021-06-01", "--out", str(out))
    assert answer == {"file": str(out), "on": "2021-06-01", "deadlines": 9}
    calendar = icalendar.Calendar.from_ical(out.read_bytes())
    assert rows(calendar) == DEMO_ON_2021_06_01


def test_a_file_that_cannot_be_written_is_bad_input(demo, tmp_path):
    out = tmp_path / "missing" / "demo.ics"
    result = demo("report", "calendar", "--out", str(out))
    assert result.exit_code == 2
    assert f"can't write {out}: No such file or directory" in result.stderr


def test_an_unknown_partner_is_bad_input(demo):
    result = demo("report", "calendar", "--partner", "NOPE", "--on", "2021-06-01")
    assert result.exit_code == 2
    assert "unknown partner 'NOPE'" in result.stderr


def test_the_calendar_agrees_with_audit_replay(demo):
    """Every date in the calendar is the date `audit replay` shows for the
    same thing on the same day."""
    for on in ("2020-12-01", "2021-02-15", "2021-06-01", "2022-02-01"):
        replay = demo.json("audit", "replay", P, "--as-of", on)
        expected = {
            ("benefit", b["benefit"], "activate by"): b["activate_by"]
            for b in replay["benefits"]
        }
        expected |= {
            ("key", k["key"], "usable until"): k["usable_until"]
            for k in replay["keys"]
            if k["usable_until"]
        }
        expected |= {
            ("subscription", s["subscription"], "ends"): s["subscription_end"]
            for s in replay["subscriptions"]
        }
        expected |= {
            ("seat", s["seat"], "reassignable from"): s["reassignable_on"]
            for s in replay["seats"]
            if s["user"]
        }
        period = replay["partner"]
        expected |= {
            ("period", period["period_start"], "renewal opens"): period[
                "renewal_start_date"
            ],
            ("period", period["period_start"], "renewal date"): period["renewal_date"],
        }
        found = {}
        for summary, start in rows(ics(demo, "--partner", P, "--on", on)):
            thing, rest = summary.split(": ", 1)
            item, ident = thing.split(" ", 1)
            found[(item, ident, rest.split(" (R")[0])] = start
        assert {k: v for k, v in found.items() if k in expected} == expected
        periods = {k for k in found if k[0] == "period"}
        assert set(found) - periods == {k for k in expected if k[0] != "period"}


def replayed(app: Any, partner: str, on: date) -> Any:
    """The partner's state from its events effective on or before `on`, as
    `audit replay` builds it."""
    return rebuild(kept_events(partner_events(app, partner), on))[0]


def test_the_read_model_gives_the_facts_a_replay_gives(app):
    app.enroll("MPN-1", d("2020-01-31"), ACTOR)
    app.grant_benefit("MPN-1", "AZ", "product-key", "Azure", 40, d("2020-02-01"), ACTOR)
    app.grant_benefit(
        "MPN-1", "VS", "user-subscription", "VS", 2, d("2020-02-01"), ACTOR
    )
    app.activate_benefit("MPN-1", "AZ", d("2020-02-01"), ACTOR)
    app.activate_benefit("MPN-1", "VS", d("2020-02-01"), ACTOR)
    app.add_tenant("MPN-1", "demo", d("2020-02-01"), ACTOR)
    for key, licenses, on in (("K1", 10, "2020-03-01"), ("K2", 10, "2020-06-01")):
        app.issue_key("MPN-1", "AZ", key, licenses, d(on), ACTOR)
    app.redeem_key("MPN-1", "K1", "demo", "S1", "new", d("2020-03-01"), ACTOR)
    app.redeem_key("MPN-1", "K2", "demo", "S1", "extend", d("2020-06-01"), ACTOR)
    for user in ("a@x.example", "b@x.example"):
        app.add_user("MPN-1", user, "aad", d("2020-02-01"), ACTOR)
    app.assign_seat("MPN-1", "VS", "a@x.example", d("2020-02-01"), ACTOR)
    app.sign_in("MPN-1", "VS#1", d("2020-02-03"), ACTOR)
    app.reassign_seat("MPN-1", "VS#1", "b@x.example", d("2020-06-01"), ACTOR)
    app.release_seat("MPN-1", "VS#1", d("2020-08-01"), ACTOR)
    app.renew("MPN-1", d("2021-03-01"), ACTOR)
    reports = Reports(app)
    for on in ("2020-01-31", "2020-03-01", "2020-05-31", "2020-06-01", "2020-07-01",
               "2020-08-01", "2021-02-01", "2021-03-01"):  # fmt: skip
        (found,) = reports.dates("MPN-1", d(on))
        assert found == partner_dates(replayed(app, "MPN-1", d(on)), d(on)), on
    (late,) = reports.dates("MPN-1", d("2021-03-01"))
    statuses = {(x.ident, x.name): x.status for x in deadlines(late)}
    assert statuses[("2020-01-31", "renewal-date")] == "missed"  # renewed late
    assert statuses[("2021-03-01", "renewal-date")] == "open"
    assert statuses[("K1", "usable-until")] == "met"  # K2 extended S1 in time
    assert statuses[("K2", "usable-until")] == "open"
    assert "VS#1" not in {x.ident for x in deadlines(late)}  # released


def test_a_calendar_of_every_partner_and_of_none(run):
    result = run("report", "calendar", "--on", "2021-01-01", output="table")
    assert result.exit_code == 0
    calendar = icalendar.Calendar.from_ical(result.stdout_bytes)
    assert events(calendar) == []
    run("partner", "enroll", "A-1", "--on", "2020-01-31")
    run("partner", "enroll", "B-1", "--on", "2020-02-29")
    found = [str(e["SUMMARY"]) for e in events(ics(run, "--on", "2021-01-01"))]
    assert found == [
        "A-1 period 2020-01-31: renewal opens (R3) — open",
        "A-1 period 2020-01-31: renewal date (R1) — open",
        "B-1 period 2020-02-29: renewal opens (R3) — open",
        "B-1 period 2020-02-29: renewal date (R1) — open",
    ]


def test_audit_check_compares_the_deadlines_with_a_replay(demo, db_url):
    """`audit check` also compares the calendar's read model with a replay of
    the log as of the date, and names a corrupted date."""
    answer = demo.json("audit", "check", "--on", "2021-06-01")
    assert answer["ok"] is True and answer["rows"]["deadlines"] == 9
    engine = sa.create_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "UPDATE proj_deadlines_keys_g1 SET usable_until = '2021-11-30' "
                    "WHERE key = 'KEY-0001'"
                )
            )
    finally:
        engine.dispose()
    result = demo("audit", "check", "--on", "2021-06-01")
    assert result.exit_code == 1
    found = json.loads(result.stdout)["differences"]
    assert {(x["view"], x["in"], x["row"]["id"], x["row"]["due"]) for x in found} == {
        ("deadlines", "log only", "KEY-0001", "2021-12-01"),
        ("deadlines", "projection only", "KEY-0001", "2021-11-30"),
    }


def test_activate_by_dates_are_those_report_entitlements_shows(demo):
    """Grace included (R5): VS-2021 is activated by 2022-03-02, 30 days after
    the renewal date, as `report entitlements` says."""
    shown = {
        row["benefit"]: row["activate_by"]
        for row in demo.json(
            "report", "entitlements", "--partner", P, "--on", "2021-06-01"
        )
    }
    assert shown == {"AZURE-2020": "2021-01-31", "VS-2021": "2022-03-02"}
    found = {
        str(e["SUMMARY"]).split()[2].rstrip(":"): e.decoded("DTSTART").isoformat()
        for e in events(ics(demo, "--partner", P, "--on", "2021-06-01"))
        if " benefit " in str(e["SUMMARY"])
    }
    assert found == shown
