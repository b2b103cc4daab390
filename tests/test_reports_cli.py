"""`ledger report ...` and `ledger projections ...` as a user runs them:
JSON lists of objects, CSV with a header row, exit codes."""

from __future__ import annotations

import csv
import io

import pytest

from tests.test_projections import P, faq_history

REPORTS = {
    "entitlements": [
        "partner",
        "benefit",
        "kind",
        "product",
        "quantity",
        "used",
        "remaining",
        "activated",
        "activated_on",
        "activate_by",
        "status",
    ],
    "expiring": ["partner", "what", "id", "ends_on", "days_left", "remedy"],
    "reassignable": [
        "partner",
        "seat",
        "benefit",
        "user",
        "state",
        "assigned_on",
        "reassignable_on",
        "eligible",
    ],
}


@pytest.fixture
def history(app, run):
    faq_history(app)
    return run


@pytest.mark.parametrize("name", sorted(REPORTS))
def test_a_report_in_json_is_a_list_of_objects_with_its_fields(history, name):
    rows = history.json("report", name, "--partner", P, "--on", "2021-01-15")
    assert rows and all(list(row) == REPORTS[name] for row in rows)


@pytest.mark.parametrize("name", sorted(REPORTS))
def test_a_report_in_csv_has_a_header_row_and_one_line_per_row(history, name):
    result = history("report", name, "--partner", P, "--on", "2021-01-15", output="csv")
    assert result.exit_code == 0, result.output
    lines = list(csv.reader(io.StringIO(result.stdout)))
    assert lines[0] == REPORTS[name]
    assert len(lines) - 1 == len(history.json("report", name, "--on", "2021-01-15"))


def test_expiring_defaults_to_30_days(history):
    rows = history.json("report", "expiring", "--partner", P, "--on", "2021-01-01")
    assert {row["days_left"] for row in rows} == {30}
    wider = history.json("report", "expiring", "--on", "2021-01-01", "--within", "60")
    assert ("seat", "VS#1", 60) in {(r["what"], r["id"], r["days_left"]) for r in wider}


def test_reassignable_says_when_a_seat_becomes_eligible(history):
    (seat,) = history.json("report", "reassignable", "--on", "2021-04-01")
    assert (seat["seat"], seat["reassignable_on"], seat["eligible"]) == (
        "VS#1",
        "2021-04-01",
        True,
    )


def test_conflicts_is_an_empty_list_when_there_are_none(history):
    assert history.json("report", "conflicts") == []
    result = history("report", "conflicts", output="csv")
    assert result.exit_code == 0
    assert result.stdout.splitlines() == ["partner,user,seats,offers"]


@pytest.mark.parametrize(
    "args",
    [
        ["report", "entitlements", "--partner", "NOPE"],
        ["report", "expiring", "--partner", "NOPE"],
        ["report", "reassignable", "--partner", "NOPE"],
        ["report", "conflicts", "--partner", "NOPE"],
        ["report", "expiring", "--within", "-1"],
        ["report", "entitlements", "--on", "2021-13-01"],
        ["projections", "rebuild", "nothing"],
    ],
)
def test_bad_input_exits_2(history, args):
    result = history(*args)
    assert result.exit_code == 2
    assert result.stdout == ""


def test_status_rebuild_and_follow_print_every_projection(history):
    names = ["entitlements", "expiry", "seats", "conflicts", "deadlines", "voided"]
    status = history.json("projections", "status")
    assert [list(row) for row in status] == [
        ["name", "position", "head", "lag", "stuck"]
    ] * len(names)
    assert [row["name"] for row in status] == names
    head = status[0]["head"]
    assert all(row["lag"] == head for row in status)
    rebuilt = history.json("projections", "rebuild", "seats")
    assert [(r["name"], r["position"], r["lag"], r["events"]) for r in rebuilt] == [
        ("seats", head, 0, head)
    ]
    followed = history.json("projections", "follow", "--until-position", str(head))
    assert [(r["name"], r["lag"]) for r in followed] == [(n, 0) for n in names]


def test_reports_on_an_empty_ledger_are_empty(run):
    assert run.json("report", "entitlements", "--on", "2021-01-01") == []
    result = run("report", "reassignable", "--on", "2021-01-01", output="table")
    assert result.exit_code == 0 and "(no rows)" in result.stdout
