"""Corrections: `ledger void` mends a mistake with a later event that says so.

The partner is then as if the voided event had never happened, at every
effective date, while the log still proves what the ledger said before."""

from __future__ import annotations

import json

import pytest

from ledger.application import Ledger
from ledger.audit.replays import full_state
from ledger.domain.partner import Partner
from tests.conftest import ACTOR, count_events, d

P = "MPN-1"
DEV, QA = "dev@contoso.example", "qa@contoso.example"


@pytest.fixture
def seats(app):
    """VS (2 seats) granted and activated on 2021-02-01, users DEV and QA;
    seat VS#1 given to DEV by mistake on 2021-02-05 (position 7)."""
    app.enroll(P, d("2021-01-01"), ACTOR)
    app.grant_benefit(P, "VS", "user-subscription", "VS", 2, d("2021-02-01"), ACTOR)
    app.activate_benefit(P, "VS", d("2021-02-01"), ACTOR)
    app.add_user(P, DEV, "aad", d("2021-02-01"), ACTOR)
    app.add_user(P, QA, "aad", d("2021-02-01"), ACTOR)
    app.add_user(P, "ops@contoso.example", "aad", d("2021-02-01"), ACTOR)
    app.assign_seat(P, "VS", DEV, d("2021-02-05"), ACTOR)
    return app


def position_of(run, event: str, nth: int = -1) -> int:
    rows = [r for r in run.json("audit", "history", P) if r["event"] == event]
    return rows[nth]["position"]


def void(run, position: int, *more: str, reason: str = "a mistake"):
    return run(
        "void", P, str(position), "--reason", reason, "--on", "2021-03-01", *more
    )


def refused(result, rule: str = "correction") -> dict:
    assert result.exit_code == 1, result.output
    error = json.loads(result.stderr)["error"]
    assert error["rule"] == rule
    return error


# -- the stories -------------------------------------------------------------------


def test_a_seat_given_to_the_wrong_user_is_voided_and_given_to_the_right_one(
    seats, run
):
    assigned = position_of(run, "SeatAssigned")
    answer = json.loads(void(run, assigned, reason="wrong user").stdout)
    assert answer == {
        "partner": P,
        "voided": assigned,
        "event": "SeatAssigned",
        "reason": "wrong user",
        "position": assigned + 1,
    }
    free = run.json("seat", "show", P, "VS#1")
    assert (free["user"], free["state"], free["reassignable_on"]) == (
        None,
        "free",
        None,
    )
    (row,) = run.json("report", "entitlements", "--partner", P, "--on", "2021-03-01")
    assert (row["used"], row["remaining"]) == (0, 2)
    assert (
        run.json("report", "reassignable", "--partner", P, "--on", "2021-03-01") == []
    )
    # The right user gets the seat with its own date, earlier than the void's --on
    # and than the voided assignment: the seat never went to DEV.
    seat = run.json("seat", "assign", P, "VS", QA, "--on", "2021-02-03")
    assert (seat["seat"], seat["user"], seat["reassignable_on"]) == (
        "VS#1",
        QA,
        "2021-05-04",
    )
    (row,) = run.json("report", "entitlements", "--partner", P, "--on", "2021-03-01")
    assert (row["used"], row["remaining"]) == (1, 1)
    (held,) = run.json("report", "reassignable", "--partner", P, "--on", "2021-03-01")
    assert (held["user"], held["reassignable_on"]) == (QA, "2021-05-04")
    # DEV holds nothing, so DEV can take the other seat: no R12 "already has a seat".
    assert run.json("seat", "assign", P, "VS", DEV, "--on", "2021-02-06")["seat"] == (
        "VS#2"
    )
    assert run.json("audit", "check", "--on", "2021-03-01")["ok"] is True


def test_a_sign_in_blocks_voiding_its_assignment_until_it_is_voided(seats, run):
    assigned = position_of(run, "SeatAssigned")
    run.json("seat", "sign-in", P, "VS#1", "--on", "2021-02-10")
    signed_in = position_of(run, "SeatSignedIn")
    before = run.events()
    error = refused(void(run, assigned))
    assert error["code"] == "later-event-depends"
    assert f"position {signed_in} (SeatSignedIn" in error["message"]
    assert "void the later ones first, latest first" in error["message"]
    assert run.events() == before
    assert void(run, signed_in).exit_code == 0
    assert run.json("seat", "show", P, "VS#1")["state"] == "assigned"
    assert void(run, assigned).exit_code == 0
    assert run.json("seat", "show", P, "VS#1")["state"] == "free"


def test_a_grant_with_the_wrong_quantity_is_voided_and_granted_again(app, run):
    app.enroll(P, d("2021-01-01"), ACTOR)
    app.grant_benefit(P, "AZ", "product-key", "Azure", 200, d("2021-02-01"), ACTOR)
    granted = position_of(run, "BenefitGranted")
    assert json.loads(void(run, granted).stdout)["event"] == "BenefitGranted"
    shown = run("benefit", "show", P, "AZ")
    assert shown.exit_code == 2 and "unknown benefit 'AZ'" in shown.stderr
    again = run.json(
        "benefit", "grant", P, "AZ", "--kind", "product-key", "--product", "Azure",
        "--quantity", "20", "--on", "2021-02-01",
    )  # fmt: skip
    assert again["quantity"] == 20
    (row,) = run.json("report", "entitlements", "--partner", P, "--on", "2021-03-01")
    assert (row["benefit"], row["quantity"]) == ("AZ", 20)


def test_a_redemption_in_mode_add_is_voided_and_the_subscription_returns_exactly(
    app, run
):
    app.enroll(P, d("2020-01-31"), ACTOR)
    app.grant_benefit(P, "AZ", "product-key", "Azure", 40, d("2020-02-01"), ACTOR)
    app.activate_benefit(P, "AZ", d("2020-02-01"), ACTOR)
    app.add_tenant(P, "demo", d("2020-02-01"), ACTOR)
    app.issue_key(P, "AZ", "KEY-1", 10, d("2020-02-01"), ACTOR)
    app.issue_key(P, "AZ", "KEY-2", 10, d("2020-02-01"), ACTOR)
    app.redeem_key(P, "KEY-1", "demo", "SUB-1", "new", d("2020-03-01"), ACTOR)
    before = run.json("subscription", "show", P, "SUB-1", "--on", "2020-12-01")
    app.redeem_key(P, "KEY-2", "demo", "SUB-1", "add", d("2020-11-21"), ACTOR)
    added = run.json("subscription", "show", P, "SUB-1", "--on", "2020-12-01")
    assert (
        added["licenses"] == 20
        and added["subscription_end"] != before["subscription_end"]
    )
    assert void(run, position_of(run, "KeyRedeemed")).exit_code == 0
    after = run.json("subscription", "show", P, "SUB-1", "--on", "2020-12-01")
    assert after == before
    again = run.json(
        "key", "redeem", P, "KEY-2", "--tenant", "demo", "--subscription", "SUB-1",
        "--mode", "extend", "--on", "2020-11-21",
    )  # fmt: skip
    assert again["key"] == "KEY-2" and again["mode"] == "extend"
    assert run.json("audit", "check", "--on", "2020-12-01")["ok"] is True


def test_a_new_redemption_waits_for_later_ones_then_frees_key_and_subscription(
    app, run
):
    app.enroll(P, d("2020-01-31"), ACTOR)
    app.grant_benefit(P, "AZ", "product-key", "Azure", 40, d("2020-02-01"), ACTOR)
    app.activate_benefit(P, "AZ", d("2020-02-01"), ACTOR)
    app.add_tenant(P, "demo", d("2020-02-01"), ACTOR)
    app.issue_key(P, "AZ", "KEY-1", 10, d("2020-02-01"), ACTOR)
    app.issue_key(P, "AZ", "KEY-2", 10, d("2020-02-01"), ACTOR)
    app.redeem_key(P, "KEY-1", "demo", "SUB-1", "new", d("2020-03-01"), ACTOR)
    app.redeem_key(P, "KEY-2", "demo", "SUB-1", "extend", d("2020-04-01"), ACTOR)
    new, extend = (
        position_of(run, "KeyRedeemed", 0),
        position_of(run, "KeyRedeemed", 1),
    )
    error = refused(void(run, new))
    assert f"position {extend} (KeyRedeemed" in error["message"]
    issued = position_of(run, "KeyIssued", 0)
    assert f"position {new} (KeyRedeemed" in refused(void(run, issued))["message"]
    assert void(run, extend).exit_code == 0
    assert void(run, new).exit_code == 0
    unknown = run("subscription", "show", P, "SUB-1", "--on", "2020-05-01")
    assert unknown.exit_code == 2
    again = run.json(
        "key", "redeem", P, "KEY-1", "--tenant", "demo", "--subscription", "SUB-9",
        "--mode", "new", "--on", "2020-03-01",
    )  # fmt: skip
    assert (again["subscription"], again["key_usable_until"]) == ("SUB-9", "2021-03-01")


def test_a_renewal_is_voided_once_no_later_grant_follows_it(app, run):
    app.enroll(P, d("2020-01-31"), ACTOR)
    app.renew(P, d("2020-12-01"), ACTOR)
    app.grant_benefit(P, "AZ", "product-key", "Azure", 5, d("2021-02-01"), ACTOR)
    renewed, granted = position_of(run, "Renewed"), position_of(run, "BenefitGranted")
    error = refused(void(run, renewed))
    assert f"position {granted} (BenefitGranted" in error["message"]
    void(run, granted)
    assert void(run, renewed).exit_code == 0
    shown = run.json("partner", "show", P, "--on", "2021-02-01")
    assert shown["renewal_date"] == "2021-01-31"


def test_a_voided_ticket_gives_its_incident_back(app, run):
    app.enroll(P, d("2021-01-01"), ACTOR)
    app.grant_benefit(P, "SUP", "technical", "Support", 2, d("2021-01-02"), ACTOR)
    app.activate_benefit(P, "SUP", d("2021-01-02"), ACTOR)
    first = app.open_ticket(P, "SUP", "SQL Server", d("2021-01-03"), ACTOR)
    assert (first["ticket"], first["incidents_left"]) == ("SUP/T1", 1)
    assert void(run, position_of(run, "TicketOpened")).exit_code == 0
    again = run.json(
        "ticket", "open", P, "SUP", "--product", "SQL", "--on", "2021-01-04"
    )
    assert (again["ticket"], again["incidents_left"]) == ("SUP/T1", 1)


def test_known_at_before_the_void_shows_the_mistake_and_after_the_correction(
    seats, clock, run
):
    assigned = position_of(run, "SeatAssigned")
    mistake_known = clock.now.isoformat()
    seats.void(P, assigned, "wrong user", d("2021-03-01"), ACTOR)
    seats.assign_seat(P, "VS", QA, d("2021-02-05"), ACTOR)
    corrected_known = clock.now.isoformat()

    def seat_user(*known_at: str) -> str | None:
        replay = run.json("audit", "replay", P, "--as-of", "2021-02-10", *known_at)
        return next(s["user"] for s in replay["seats"] if s["seat"] == "VS#1")

    assert seat_user("--known-at", mistake_known) == DEV
    assert seat_user("--known-at", corrected_known) == QA
    assert seat_user() == QA
    # The void counts at every effective date, even before its own --on.
    replay = run.json("audit", "replay", P, "--as-of", "2021-02-05")
    assert [s["user"] for s in replay["seats"] if s["seat"] == "VS#1"] == [QA]


def test_history_marks_the_voided_event_and_export_carries_both(seats, run):
    assigned = position_of(run, "SeatAssigned")
    void(run, assigned, reason="wrong user")
    rows = {r["position"]: r for r in run.json("audit", "history", P)}
    assert rows[assigned]["voided_by"] == assigned + 1
    assert rows[assigned + 1]["event"] == "Voided"
    assert (rows[assigned + 1]["voids"], rows[assigned + 1]["reason"]) == (
        assigned,
        "wrong user",
    )
    assert "voided_by" not in rows[assigned - 1]
    seat_rows = run.json("audit", "history", P, "--entity", "VS#1")
    assert [r["event"] for r in seat_rows] == [
        "BenefitGranted",
        "SeatAssigned",
        "Voided",
    ]
    for args in (("audit", "export"), ("audit", "export", "--partner", P)):
        lines = [json.loads(x) for x in run(*args).stdout.splitlines()[:-1]]
        exported = {r["position"]: r for r in lines}
        assert exported[assigned]["voided_by"] == assigned + 1
        assert exported[assigned + 1]["voids"] == assigned


def test_a_digest_taken_before_the_void_still_verifies(seats, run):
    digest = run.json("audit", "digest")
    void(run, position_of(run, "SeatAssigned"))
    verified = run.json(
        "audit", "verify", "--position", str(digest["position"]),
        "--sha256", digest["sha256"],
    )  # fmt: skip
    assert verified["ok"] is True
    assert run.json("audit", "check", "--on", "2021-03-01")["ok"] is True


# -- refusals ------------------------------------------------------------------------


def test_what_cannot_be_voided_is_refused_and_nothing_is_recorded(seats, run):
    seats.enroll("OTHER", d("2021-01-01"), ACTOR)
    other = run.json("audit", "history", "OTHER")[0]["position"]
    assigned = position_of(run, "SeatAssigned")
    voided_by = json.loads(void(run, assigned).stdout)["position"]
    before = run.events()
    cases = [
        (other, "not-an-event-of-partner", f"position {other} is not an event of"),
        (0, "not-an-event-of-partner", "position 0 is not an event of"),
        (10_000, "not-an-event-of-partner", "position 10000 is not an event of"),
        (assigned, "already-voided", f"already voided by position {voided_by}"),
        (voided_by, "is-a-void", f"itself a void (of position {assigned})"),
        (1, "enrollment", "enrollment"),
    ]
    for position, code, text in cases:
        error = refused(void(run, position))
        assert (error["code"], text in error["message"]) == (code, True), error
    assert run.events() == before


def test_a_request_record_is_not_an_event_of_the_partner(seats, run):
    seats.add_tenant(P, "demo", d("2021-02-01"), ACTOR, request_id="t-1")
    record = run.events()  # the request record is the last stored event
    error = refused(void(run, record))
    assert error["code"] == "not-an-event-of-partner"


def test_a_reason_is_required_and_bounded(seats, run):
    assigned = str(position_of(run, "SeatAssigned"))
    before = run.events()
    missing = run("void", P, assigned, "--on", "2021-03-01")
    assert missing.exit_code == 2 and "--reason" in missing.stderr
    for reason in ("", "   ", "x" * 501):
        result = run("void", P, assigned, "--reason", reason, "--on", "2021-03-01")
        assert result.exit_code == 2, reason
    assert run("void", P, "seven", "--reason", "x").exit_code == 2
    assert run.events() == before
    assert void(run, int(assigned), reason="x" * 500).exit_code == 0


def test_only_an_admin_may_void(seats, run):
    before = run.events()
    result = run(
        "void", P, str(position_of(run, "SeatAssigned")), "--reason", "x",
        "--on", "2021-03-01", actor="stranger@example.com",
    )  # fmt: skip
    refused(result, rule="admin")
    assert run.events() == before


# -- idempotency and dates -------------------------------------------------------------


def test_a_repeated_void_answers_as_the_first_time(seats, run):
    assigned = position_of(run, "SeatAssigned")
    first = void(run, assigned, "--request-id", "v-1")
    after = run.events()
    again = void(run, assigned, "--request-id", "v-1")
    assert again.exit_code == 0 and again.stdout == first.stdout
    assert run.events() == after
    other = void(run, assigned, "--request-id", "v-1", reason="another reason")
    assert refused(other, rule="idempotency")["code"] == "request-id-reused"


def test_a_voided_writes_request_id_stays_used(seats, run):
    first = run("seat", "sign-in", P, "VS#1", "--on", "2021-02-10", "--request-id", "s")
    void(run, position_of(run, "SeatSignedIn"))
    before = run.events()
    again = run("seat", "sign-in", P, "VS#1", "--on", "2021-02-10", "--request-id", "s")
    assert again.exit_code == 0 and again.stdout == first.stdout
    assert run.events() == before
    assert run.json("seat", "show", P, "VS#1")["state"] == "assigned"
    fresh = run(
        "seat", "sign-in", P, "VS#1", "--on", "2021-02-08", "--request-id", "s2"
    )
    assert json.loads(fresh.stdout)["state"] == "active"


def test_after_a_void_the_remaining_events_dates_count(seats, run):
    run.json("seat", "sign-in", P, "VS#1", "--on", "2021-02-20")
    early = run("seat", "release", P, "VS#1", "--on", "2021-02-10")
    assert refused(early, rule="effective-date")
    void(run, position_of(run, "SeatSignedIn"))
    # The seat's last date is now the assignment's (2021-02-05), not 2021-02-20.
    assert run.json("seat", "release", P, "VS#1", "--on", "2021-02-10")["state"] == (
        "free"
    )


# -- import, projections, snapshots ---------------------------------------------------


def test_import_accepts_void_lines(seats, run, tmp_path):
    assigned = position_of(run, "SeatAssigned")
    line = {
        "command": "void",
        "partner": P,
        "position": assigned,
        "reason": "wrong user",
        "on": "2021-03-01",
        "request_id": "imp-v",
    }
    path = tmp_path / "voids.jsonl"
    path.write_text(json.dumps(line) + "\n")
    result = run("import", str(path))
    assert result.exit_code == 0, result.output + result.stderr
    rows = {r["position"]: r for r in run.json("audit", "history", P)}
    assert rows[assigned]["voided_by"] == assigned + 1
    assert run.json("seat", "show", P, "VS#1")["user"] is None
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({**line, "position": str(assigned)}) + "\n")
    assert run("import", str(bad)).exit_code == 2


def test_projections_apply_a_void_incrementally_and_a_rebuild_agrees(seats, run):
    def rows() -> dict:
        dated = ("entitlements", "reassignable", "expiring")
        found = {name: run.json("report", name, "--on", "2021-03-01") for name in dated}
        return {**found, "conflicts": run.json("report", "conflicts")}

    run.json("seat", "sign-in", P, "VS#1", "--on", "2021-02-10")
    rows()  # caught up before the voids
    void(run, position_of(run, "SeatSignedIn"))
    void(run, position_of(run, "SeatAssigned"))
    run.json("seat", "assign", P, "VS", QA, "--on", "2021-02-03")
    incremental = rows()
    assert incremental["reassignable"][0]["user"] == QA
    run.json("projections", "rebuild")
    assert rows() == incremental
    assert run.json("audit", "check", "--on", "2021-03-01")["ok"] is True


class SmallSnapshots(Ledger):
    snapshotting_intervals = {Partner: 5}  # noqa: RUF012 - as the library declares it


def test_a_void_of_an_event_before_a_snapshot_is_applied_on_load(db_url, clock):
    app = SmallSnapshots(db_url, clock=clock)
    try:
        app.enroll(P, d("2021-01-01"), ACTOR)
        app.grant_benefit(P, "SUP", "technical", "S", 5, d("2021-01-02"), ACTOR)
        app.activate_benefit(P, "SUP", d("2021-01-02"), ACTOR)
        app.add_user(P, DEV, "aad", d("2021-01-02"), ACTOR)
        app.add_user(P, QA, "aad", d("2021-01-02"), ACTOR)  # version 5: a snapshot
        app.add_tenant(P, "demo", d("2021-01-03"), ACTOR)
        qa_added = 5
        position = next(
            s.position for s in _events(app) if s.event.originator_version == qa_added
        )
        app.void(P, position, "not a user", d("2021-03-01"), ACTOR)
        assert QA not in app.load(P).users
        for _ in range(4):  # a snapshot after the void holds the corrected state
            app.open_ticket(P, "SUP", "SQL", d("2021-01-04"), ACTOR)
        assert QA not in app.load(P).users
        assert app.load(P).benefits["SUP"].incidents_used == 4
        assert vars(app.load(P)).keys() == vars(full_state(app, P)).keys()
        assert app.load(P).users == full_state(app, P).users
        assert app.add_user(P, QA, "aad", d("2021-01-02"), ACTOR)["email"] == QA
    finally:
        app.close()


def _events(app):
    from ledger.audit.replays import partner_events

    return partner_events(app, P)


def test_voids_in_one_import_batch_see_each_other(seats, run, tmp_path):
    signed = run.json("seat", "sign-in", P, "VS#1", "--on", "2021-02-10")
    assert signed["state"] == "active"
    signed_in = position_of(run, "SeatSignedIn")
    assigned = position_of(run, "SeatAssigned")
    fix = {"command": "void", "partner": P, "reason": "x", "on": "2021-03-01"}
    lines = [{**fix, "position": p} for p in (signed_in, assigned)]
    lines.append(
        {"command": "seat assign", "partner": P, "benefit": "VS", "user": QA}
        | {"on": "2021-02-03"}
    )
    path = tmp_path / "fix.jsonl"
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    result = run("import", str(path))
    assert result.exit_code == 0, result.output + result.stderr
    seat = run.json("seat", "show", P, "VS#1")
    assert (seat["user"], seat["state"], seat["assigned_on"]) == (
        QA,
        "assigned",
        "2021-02-03",
    )
    assert count_events(run.url) == run.events()
