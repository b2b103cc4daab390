"""Audit: history rows, as-of replays across each rule's boundary, two times
(--known-at), deterministic output, export, and the projection check."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from ledger import audit
from ledger.audit.replays import NotEnrolledAsOf
from ledger.domain.partner import AdminRevoked
from ledger.domain.write import Write
from tests.conftest import ACTOR, d

P = "MPN-1"
HISTORY_FIELDS = {
    "position",
    "recorded_at",
    "effective_on",
    "actor",
    "event",
    "request_id",
    "data",
}


@pytest.fixture
def faq(app):
    """The FAQ's example: enrolled 2020-01-31 (benefit expiry 2021-01-31), a key
    redeemed on 2020-12-01, renewal on 2020-12-01, a Visual Studio seat."""
    app.enroll(P, d("2020-01-31"), ACTOR, name="Contoso")
    app.grant_benefit(P, "AZ", "product-key", "Azure", 20, d("2020-02-01"), ACTOR)
    app.activate_benefit(P, "AZ", d("2020-02-10"), ACTOR)
    app.add_tenant(P, "demo", d("2020-02-10"), ACTOR)
    app.issue_key(P, "AZ", "KEY-1", 10, d("2020-11-01"), ACTOR, request_id="r-issue")
    app.redeem_key(P, "KEY-1", "demo", "SUB-1", "new", d("2020-12-01"), ACTOR)
    app.renew(P, d("2020-12-01"), ACTOR)
    app.grant_benefit(P, "VS", "user-subscription", "VS", 2, d("2021-02-01"), ACTOR)
    app.activate_benefit(P, "VS", d("2021-02-01"), ACTOR)
    app.add_user(P, "dev@contoso.example", "aad", d("2021-02-01"), ACTOR)
    app.assign_seat(P, "VS", "dev@contoso.example", d("2021-02-01"), ACTOR)
    return app


def replayed(run, as_of, *more):
    return run.json("audit", "replay", P, "--as-of", as_of, *more)


# -- history ---------------------------------------------------------------------


def test_history_lists_every_event_in_order_with_all_fields(faq, run):
    rows = run.json("audit", "history", P)
    assert [r["event"] for r in rows] == [
        "Enrolled",
        "BenefitGranted",
        "BenefitActivated",
        "TenantAdded",
        "KeyIssued",
        "KeyRedeemed",
        "Renewed",
        "BenefitGranted",
        "BenefitActivated",
        "UserAdded",
        "SeatAssigned",
    ]
    assert all(HISTORY_FIELDS <= set(r) for r in rows)
    positions = [r["position"] for r in rows]
    assert positions == sorted(positions) and len(set(positions)) == len(rows)
    issued = rows[4]
    assert issued["effective_on"] == "2020-11-01"
    assert issued["actor"] == ACTOR
    assert issued["request_id"] == "r-issue"
    assert issued["data"] == {"key": "KEY-1", "benefit": "AZ", "licenses": 10}
    assert issued["recorded_at"].startswith("2020-01-01T00:00:")


def test_history_of_a_seat_keeps_its_events_and_the_grant_that_created_it(faq, run):
    rows = run.json("audit", "history", P, "--entity", "VS#1")
    assert [r["event"] for r in rows] == ["BenefitGranted", "SeatAssigned"]


def test_history_of_a_key_keeps_its_issue_and_redemption(faq, run):
    rows = run.json("audit", "history", P, "--entity", "KEY-1")
    assert [r["event"] for r in rows] == ["KeyIssued", "KeyRedeemed"]


def test_history_of_an_unknown_partner_is_a_usage_error(app, run):
    assert run("audit", "history", "NOPE").exit_code == 2


# -- replays across each rule's boundary ---------------------------------------------


def test_the_faqs_key_is_not_redeemed_the_day_before(faq, run):
    (key,) = replayed(run, "2020-11-30")["keys"]
    assert key["redeemed_on"] is None and key["usable_until"] is None
    assert replayed(run, "2020-11-30")["subscriptions"] == []


def test_the_faqs_key_redeemed_2020_12_01_is_usable_until_2021_12_01(faq, run):
    state = replayed(run, "2020-12-01")
    (key,) = state["keys"]
    assert key["redeemed_on"] == "2020-12-01"
    assert key["usable_until"] == "2021-12-01"
    assert state["subscriptions"] == [
        {
            "tenant": "demo",
            "subscription": "SUB-1",
            "licenses": 10,
            "subscription_end": "2021-12-01",
            "status": "active",
        }
    ]


def test_a_key_before_its_issue_date_does_not_exist_yet(faq, run):
    assert replayed(run, "2020-10-31")["keys"] == []
    assert replayed(run, "2020-11-01")["keys"][0]["issued_on"] == "2020-11-01"


def test_membership_before_and_after_the_renewal(faq, run):
    before = replayed(run, "2021-01-30")["partner"]
    assert (before["period_start"], before["renewal_date"]) == (
        "2020-01-31",
        "2021-01-31",
    )
    after = replayed(run, "2021-01-31")["partner"]
    assert (after["period_start"], after["renewal_date"]) == (
        "2021-01-31",
        "2022-01-31",
    )
    assert after["status"] == "active"


def test_a_membership_that_was_not_renewed_lapses_after_its_renewal_date(app, run):
    app.enroll(P, d("2020-01-31"), ACTOR)
    assert replayed(run, "2021-01-31")["partner"]["status"] == "active"
    assert replayed(run, "2021-02-01")["partner"]["status"] == "lapsed"


def test_a_benefit_is_activated_from_its_activation_date(faq, run):
    (before,) = replayed(run, "2020-02-09")["entitlements"]
    assert (before["status"], before["activated_on"]) == ("available", None)
    (on,) = replayed(run, "2020-02-10")["entitlements"]
    assert (on["status"], on["activated_on"]) == ("activated", "2020-02-10")


def test_an_unactivated_benefit_expires_the_day_after_its_expiry_date(app, run):
    app.enroll(P, d("2020-01-31"), ACTOR)
    app.grant_benefit(P, "AZ", "product-key", "Azure", 20, d("2020-02-01"), ACTOR)
    assert replayed(run, "2021-01-31")["entitlements"][0]["status"] == "available"
    assert replayed(run, "2021-02-01")["entitlements"][0]["status"] == "expired"


def test_a_seat_becomes_reassignable_90_days_after_its_assignment(faq, run):
    (day_before,) = replayed(run, "2021-05-01")["reassignable"]
    assert day_before["reassignable_on"] == "2021-05-02"
    assert day_before["eligible"] is False
    (on,) = replayed(run, "2021-05-02")["reassignable"]
    assert on["eligible"] is True
    assert replayed(run, "2021-01-31")["reassignable"] == []


def test_the_key_shows_as_expiring_from_30_days_before_its_end(faq, run):
    def keys_expiring(as_of):
        return [r for r in replayed(run, as_of)["expiring"] if r["what"] == "key"]

    assert keys_expiring("2021-10-31") == []
    (row,) = keys_expiring("2021-11-01")
    assert (row["id"], row["ends_on"], row["days_left"]) == ("KEY-1", "2021-12-01", 30)


def test_report_rows_equal_the_reports_on_the_full_state(faq):
    from ledger.domain import reports

    state = faq.load(P)
    on = d("2021-06-01")
    answer = audit.replay(faq, P, on)
    assert answer["entitlements"] == reports.entitlement_rows(state, on)
    assert answer["expiring"] == reports.expiring_rows(state, on, 30)
    assert answer["reassignable"] == faq.reveal(reports.reassignable_rows(state, on))
    assert answer["conflicts"] == reports.conflict_rows(state)


def test_a_replay_after_the_last_event_equals_the_partner_the_ledger_loads(faq):
    from ledger.audit.replays import state_view

    on = d("2030-01-01")
    answer = audit.replay(faq, P, on)
    expected = faq.reveal(state_view(faq.load(P), on, 30))
    assert {k: answer[k] for k in expected} == expected
    assert answer["skipped"] == []


def test_a_partner_enrolled_after_the_date_held_nothing_yet(faq, run):
    result = run("audit", "replay", P, "--as-of", "2020-01-30")
    assert result.exit_code == 1
    assert "2020-01-31" in result.stderr


def test_an_event_whose_prerequisite_is_later_is_listed_as_skipped(app, clock, run):
    app.enroll(P, d("2020-01-31"), ACTOR)
    app.grant_admin(P, "second@contoso.example", ACTOR, d("2020-06-01"))
    # Written as a ledger did before revocations were checked against grants.
    partner = app.load(P)
    write = Write(ACTOR, d("2020-03-01"), clock())
    partner.trigger_event(
        AdminRevoked, **write.event_fields(), email="second@contoso.example"
    )
    app.save(partner)
    state = replayed(run, "2020-04-01")
    assert [s["event"] for s in state["skipped"]] == ["AdminRevoked"]
    assert state["partner"]["admins"] == [ACTOR]
    assert replayed(run, "2020-06-01")["partner"]["admins"] == [ACTOR]


# -- two times ---------------------------------------------------------------------


def test_known_at_leaves_out_an_event_recorded_later_with_an_earlier_date(
    app, clock, run
):
    app.enroll(P, d("2020-01-31"), ACTOR)
    app.add_user(P, "early@contoso.example", "aad", d("2020-06-01"), ACTOR)
    before_late_write = clock.now  # the user below is recorded one second later
    app.add_user(P, "late@contoso.example", "aad", d("2020-03-01"), ACTOR)
    as_of = "2020-12-31"
    known = replayed(run, as_of, "--known-at", before_late_write.isoformat())
    assert [u["email"] for u in known["users"]] == ["early@contoso.example"]
    now = replayed(run, as_of)
    assert [u["email"] for u in now["users"]] == [
        "early@contoso.example",
        "late@contoso.example",
    ]


def test_a_naive_known_at_is_utc(app, clock, run):
    app.enroll(P, d("2020-01-31"), ACTOR)
    first = clock.now
    app.add_user(P, "u@contoso.example", "aad", d("2020-02-01"), ACTOR)
    naive = first.replace(tzinfo=None).isoformat()
    state = replayed(run, "2020-12-31", "--known-at", naive)
    assert state["users"] == []
    assert state["known_at"] == first.isoformat()


def test_known_at_before_the_enrollment_was_recorded_is_refused(app, clock):
    app.enroll(P, d("2020-01-31"), ACTOR)
    with pytest.raises(NotEnrolledAsOf):
        audit.replay(app, P, d("2020-12-31"), clock.now.replace(year=2019))


# -- determinism and reading only one partner ------------------------------------------


def test_replaying_twice_gives_byte_identical_json(faq, run):
    first = run("audit", "replay", P, "--as-of", "2021-06-01")
    second = run("audit", "replay", P, "--as-of", "2021-06-01")
    assert first.exit_code == 0
    assert first.stdout_bytes == second.stdout_bytes


def test_a_replay_reads_only_its_partners_events_in_one_query(faq):
    faq.enroll("OTHER", d("2020-01-31"), ACTOR)
    statements = []
    engine = faq.event_rows.engine

    def seen(conn, cursor, statement, *args):
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", seen)
    try:
        # an explicit --within: without one the replay also reads the policy
        audit.replay(faq, P, d("2021-06-01"), within=30)
    finally:
        sa.event.remove(engine, "before_cursor_execute", seen)
    reads = [s for s in statements if "ledger_events" in s]
    assert len(reads) == 1
    assert "originator_id" in reads[0].split("WHERE", 1)[1]


# -- export ----------------------------------------------------------------------------


def test_export_ends_with_a_digest_that_verify_accepts(faq, run):
    faq.enroll("OTHER", d("2020-03-01"), ACTOR)
    result = run("audit", "export")
    assert result.exit_code == 0
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    *rows, last = lines
    assert [r["position"] for r in rows] == sorted(r["position"] for r in rows)
    assert {r["partner"] for r in rows} == {P, "OTHER"}
    assert all(HISTORY_FIELDS <= set(r) for r in rows)
    digest = last["digest"]
    assert digest["position"] == run.events()  # every stored event, request records too
    verified = run.json(
        "audit",
        "verify",
        "--position",
        str(digest["position"]),
        "--sha256",
        digest["sha256"],
    )
    assert verified["ok"] is True


def test_export_of_one_partner_has_its_history_and_the_whole_logs_digest(faq, run):
    faq.enroll("OTHER", d("2020-03-01"), ACTOR)
    lines = [
        json.loads(x)
        for x in run("audit", "export", "--partner", P).stdout.splitlines()
    ]
    *rows, last = lines
    assert rows == run.json("audit", "history", P)
    assert last["digest"] == run.json("audit", "digest")


# -- check -----------------------------------------------------------------------------


def _projections_available() -> bool:
    try:
        from projections import Reports  # noqa: F401
    except ImportError:
        return False
    return True


needs_projections = pytest.mark.skipif(
    not _projections_available(), reason="the projections package is not built yet"
)


def corrupt(url: str, sql: str) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(sql))
    finally:
        engine.dispose()


@needs_projections
def test_check_agrees_with_untouched_projections(faq, run):
    answer = run.json("audit", "check", "--on", "2021-06-01")
    assert answer["ok"] is True
    assert answer["differences"] == []
    assert answer["rows"]["entitlements"] == 2
    assert answer["rows"]["reassignable"] == 1


@needs_projections
def test_check_finds_a_corrupted_projection_row(faq, run, db_url):
    assert run.json("audit", "check", "--on", "2021-06-01")["ok"] is True
    corrupt(db_url, "UPDATE proj_entitlements_g1 SET used = 7 WHERE benefit = 'AZ'")
    result = run("audit", "check", "--on", "2021-06-01")
    assert result.exit_code == 1
    differences = json.loads(result.stdout)["differences"]
    assert {
        (x["view"], x["partner"], x["in"], x["row"]["used"]) for x in differences
    } == {
        ("entitlements", P, "log only", 10),
        ("entitlements", P, "projection only", 7),
    }


@needs_projections
def test_check_finds_a_row_missing_from_a_projection(faq, run, db_url):
    run.json("audit", "check", "--on", "2021-06-01")
    corrupt(db_url, "DELETE FROM proj_seats_g1")
    result = run("audit", "check", "--on", "2021-06-01")
    assert result.exit_code == 1
    (missing,) = json.loads(result.stdout)["differences"]
    assert (missing["view"], missing["in"], missing["row"]["seat"]) == (
        "reassignable",
        "log only",
        "VS#1",
    )


def test_a_defect_in_an_event_handler_surfaces_instead_of_being_skipped(
    faq, monkeypatch
):
    from ledger.domain.partner import BenefitActivated

    def broken(self, partner):
        raise KeyError("a bug, not a fact of the log")

    monkeypatch.setattr(BenefitActivated, "change", broken)
    with pytest.raises(KeyError, match="a bug"):
        audit.replay(faq, P, d("2021-06-01"))
