"""A PostgreSQL ledger shared by a team (`ledger db ...`): the actor of a write
is the e-mail bound to the login role, every event records that role, the
event tables refuse edits, and the read models work for whoever runs next.

Each test module run makes its own database (named with characters that need
quoting) and its own login roles, all named after that database, and drops
them afterwards. Everything runs through the real CLI, connected as each role.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import quote

import pytest
import sqlalchemy as sa

from ledger.application import Ledger
from ledger.domain.partner import Partner
from tests.conftest import _PG_SKIP, PG_SERVER, Cli, count_events

OWNER_EMAIL = "owner@contoso.example"
ALICE = "alice@contoso.example"
BOB = "bob@contoso.example"
P = "MPN-TEAM"
LOGINS = ("owner", "alice", "bob", "carol", "dave")


def server() -> sa.Engine:
    return sa.create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")


def q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass
class TeamDb:
    """One database and its login roles: owner (the database's owner),
    alice and bob (operators), carol (a reader), dave (nothing at all)."""

    name: str

    def role(self, who: str) -> str:
        return f"{self.name}_{who}"

    def url(self, who: str | None = None) -> str:
        user = "postgres" if who is None else self.role(who)
        return (
            f"postgresql+psycopg://{quote(user, safe='')}@127.0.0.1:5432/"
            f"{quote(self.name, safe='')}"
        )

    def cli(self, who: str) -> Cli:
        return Cli(self.url(who))

    def events(self) -> int:
        return count_events(self.url())

    def sql(self, who: str | None, statement: str) -> None:
        """Run one statement as a role, in a transaction of its own."""
        engine = sa.create_engine(self.url(who))
        try:
            with engine.begin() as conn:
                conn.execute(sa.text(statement))
        finally:
            engine.dispose()


def invoke(cli: Cli, *args: str, actor: str | None = None) -> tuple[int, Any, Any]:
    """(exit code, JSON answer or None, JSON error or None)."""
    result = cli(*args, actor=actor)
    answer = json.loads(result.stdout) if result.stdout.strip() else None
    return result.exit_code, answer, error_of(result.stderr)


def error_of(stderr: str) -> Any:
    """The JSON error on stderr; a usage error (exit 2) may be plain text."""
    if not stderr.strip():
        return None
    try:
        return json.loads(stderr)["error"]
    except ValueError:
        return {"message": stderr}


def ok(cli: Cli, *args: str, actor: str | None = None) -> Any:
    code, answer, error = invoke(cli, *args, actor=actor)
    assert code == 0, error
    return answer


@pytest.fixture(scope="module")
def team() -> Iterator[TeamDb]:
    """A database owned by a non-superuser login role with CREATEROLE, whose
    owner wrote, ran a report and a digest (self-declared) before `ledger db
    setup`: the read models and the chain table existed, owned by the owner."""
    if _PG_SKIP:
        pytest.skip(_PG_SKIP)
    db = TeamDb(f"Lg-{uuid.uuid4().hex[:10]}")
    admin = server()
    with admin.connect() as conn:
        for who in LOGINS:
            extra = " CREATEROLE" if who == "owner" else ""
            conn.execute(sa.text(f"CREATE ROLE {q(db.role(who))} LOGIN{extra}"))
        conn.execute(
            sa.text(f"CREATE DATABASE {q(db.name)} OWNER {q(db.role('owner'))}")
        )
    try:
        owner = db.cli("owner")
        ok(owner, "partner", "enroll", P, "--on", "2020-01-31", actor=OWNER_EMAIL)
        ok(owner, "report", "entitlements", "--on", "2020-03-01")
        ok(owner, "audit", "digest")
        ok(owner, "db", "setup", "--owner-email", OWNER_EMAIL)
        ok(owner, "db", "operator", "add", db.role("alice"), ALICE)
        ok(owner, "db", "operator", "add", db.role("bob"), BOB)
        ok(owner, "db", "reader", "add", db.role("carol"))
        for email in (ALICE, BOB):
            ok(owner, "admin", "grant", P, email, "--on", "2020-02-01")
        yield db
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS {q(db.name)} WITH (FORCE)"))
            for role in [db.role(w) for w in LOGINS] + [
                f"{db.name}_ledger_reader",
                f"{db.name}_ledger_operator",
            ]:
                conn.execute(sa.text(f"DROP ROLE IF EXISTS {q(role)}"))
        admin.dispose()


def grant_benefit(cli: Cli, benefit: str, *extra: str) -> Any:
    return ok(
        cli,
        "benefit",
        "grant",
        P,
        benefit,
        "--kind",
        "user-subscription",
        "--product",
        "Visual Studio Enterprise",
        "--quantity",
        "2",
        "--on",
        "2020-02-03",
        *extra,
    )


def benefits_in_report(cli: Cli) -> set[str]:
    rows = ok(cli, "report", "entitlements", "--partner", P, "--on", "2020-03-01")
    return {row["benefit"] for row in rows}


# -- who writes -------------------------------------------------------------------


def test_a_bound_operator_writes_as_its_email_and_history_shows_role_and_actor(team):
    alice = team.cli("alice")
    ok(alice, "tenant", "add", P, "alice-demo.onmicrosoft.com", "--on", "2020-02-02")
    history = ok(alice, "audit", "history", P, "--entity", "alice-demo.onmicrosoft.com")
    assert [(r["event"], r["actor"], r["login_role"]) for r in history] == [
        ("TenantAdded", ALICE, team.role("alice"))
    ]


def test_an_operators_write_asks_who_it_is_without_loading_sqlalchemy(team):
    from tests.test_pg_store import loaded_by_a_write

    email = "native-write@contoso.example"
    add = ("user", "add", P, email, "--source", "aad", "--on", "2020-02-02")
    assert loaded_by_a_write(team.url("alice"), *add) == (0, [])
    (row,) = ok(team.cli("carol"), "audit", "history", P, "--entity", email)
    assert (row["actor"], row["login_role"]) == (ALICE, team.role("alice"))


def test_the_owner_writes_as_the_email_given_to_setup(team):
    owner = team.cli("owner")
    ok(owner, "tenant", "add", P, "owner-demo.onmicrosoft.com", "--on", "2020-02-02")
    (row,) = ok(owner, "audit", "history", P, "--entity", "owner-demo.onmicrosoft.com")
    assert (row["actor"], row["login_role"]) == (OWNER_EMAIL, team.role("owner"))


def test_an_operator_passing_another_admins_actor_is_refused_and_nothing_recorded(
    team,
):
    before = team.events()
    code, _, error = invoke(
        team.cli("alice"),
        "tenant",
        "add",
        P,
        "as-bob.onmicrosoft.com",
        "--on",
        "2020-02-02",
        actor=BOB,
    )
    assert code == 1
    assert error["rule"] == "admin"
    assert team.role("alice") in error["message"] and ALICE in error["message"]
    assert f"--actor {BOB}" in error["message"]
    assert team.events() == before


def test_an_operator_may_repeat_its_own_email_as_actor(team):
    ok(
        team.cli("bob"),
        "tenant",
        "add",
        P,
        "bob-demo.onmicrosoft.com",
        "--on",
        "2020-02-02",
        actor=BOB.upper(),
    )


def test_an_unbound_reader_reads_after_new_events_and_a_rebuild_but_cannot_write(
    team,
):
    carol = team.cli("carol")
    grant_benefit(team.cli("alice"), "VS-READER-1")
    # The first report after new events brings the read models up to date.
    assert "VS-READER-1" in benefits_in_report(carol)
    ok(team.cli("bob"), "projections", "rebuild")
    grant_benefit(team.cli("alice"), "VS-READER-2")
    assert {"VS-READER-1", "VS-READER-2"} <= benefits_in_report(carol)
    ok(carol, "audit", "digest")
    assert ok(carol, "audit", "verify")["ok"] is True
    before = team.events()
    code, _, error = invoke(
        carol, "tenant", "add", P, "carol.onmicrosoft.com", "--on", "2020-02-02"
    )
    assert code == 1
    assert (error["rule"], error["code"]) == ("admin", "not-an-operator")
    assert f"ledger db operator add {team.role('carol')}" in error["message"]
    assert team.events() == before


def test_a_rebuild_by_a_reader_leaves_tables_an_operator_can_rebuild_again(team):
    ok(team.cli("carol"), "projections", "rebuild", "entitlements")
    grant_benefit(team.cli("alice"), "VS-REBUILT")
    ok(team.cli("bob"), "projections", "rebuild")
    assert "VS-REBUILT" in benefits_in_report(team.cli("carol"))


def test_a_role_with_no_group_can_neither_read_nor_write(team):
    dave = team.cli("dave")
    before = team.events()
    code, _, error = invoke(
        dave, "tenant", "add", P, "dave.onmicrosoft.com", "--on", "2020-02-02"
    )
    assert (code, error["code"]) == (1, "not-an-operator")
    code, _, _ = invoke(dave, "report", "entitlements", "--on", "2020-03-01")
    assert code == 1
    assert team.events() == before


# -- what an operator can run ----------------------------------------------------


def test_reports_projections_rebuild_and_audit_work_as_an_operator(team):
    bob = team.cli("bob")
    grant_benefit(team.cli("alice"), "VS-OPERATOR")
    assert "VS-OPERATOR" in benefits_in_report(bob)
    ok(bob, "report", "expiring", "--on", "2020-03-01")
    status = ok(bob, "projections", "status")
    assert {row["lag"] for row in status} == {0}
    rebuilt = ok(bob, "projections", "rebuild")
    assert {row["lag"] for row in rebuilt} == {0}
    assert ok(bob, "audit", "check", "--on", "2020-03-01")["ok"] is True
    digest = ok(bob, "audit", "digest")
    verified = ok(
        bob,
        "audit",
        "verify",
        "--position",
        str(digest["position"]),
        "--sha256",
        digest["sha256"],
    )
    assert verified["ok"] is True and verified["digest_matches"] is True
    assert (verified["identity"], verified["append_only"]) == ("database", True)


# -- the log is append-only ------------------------------------------------------


@pytest.mark.parametrize("who", ["owner", "alice"])
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE ledger_events SET topic = topic",
        "DELETE FROM ledger_events",
        "TRUNCATE ledger_events",
    ],
)
def test_update_delete_and_truncate_fail_while_the_trigger_stands(team, who, statement):
    before = team.events()
    with pytest.raises(sa.exc.DBAPIError) as raised:
        team.sql(who, statement)
    if who == "owner" or statement.startswith("UPDATE"):
        # Privileges allow it: the trigger is what refuses.
        assert "the ledger is append-only" in str(raised.value)
    assert team.events() == before


def test_verify_says_when_the_trigger_is_gone_and_setup_restores_it(team):
    owner = team.cli("owner")
    team.sql("owner", "ALTER TABLE ledger_events DISABLE TRIGGER ledger_append_only")
    try:
        assert ok(owner, "audit", "verify")["append_only"] is False
    finally:
        again = ok(owner, "db", "setup")
    assert again["append_only"] is True
    assert ok(owner, "audit", "verify")["append_only"] is True


# -- managing the team -----------------------------------------------------------


def test_setup_is_idempotent_and_names_the_groups_after_the_database(team):
    answer = ok(team.cli("owner"), "db", "setup")
    assert answer["reader_role"] == f"{team.name}_ledger_reader"
    assert answer["operator_role"] == f"{team.name}_ledger_operator"
    assert answer["owner_email"] == OWNER_EMAIL  # kept from the first setup
    assert (answer["identity"], answer["append_only"]) == ("database", True)
    assert ok(team.cli("owner"), "db", "setup") == answer


@pytest.mark.parametrize(
    "args",
    [
        ("db", "setup"),
        ("db", "reader", "add", "{carol}"),
        ("db", "reader", "remove", "{carol}"),
        ("db", "operator", "add", "{carol}", "carol@contoso.example"),
        ("db", "operator", "remove", "{bob}"),
        ("db", "operator", "list"),
    ],
)
def test_a_non_owner_is_refused_every_db_command(team, args):
    names = {"carol": team.role("carol"), "bob": team.role("bob")}
    args = tuple(a.format(**names) for a in args)
    code, _, error = invoke(team.cli("alice"), *args)
    assert code == 1
    assert (error["rule"], error["code"]) == ("admin", "not-the-owner")
    assert team.role("alice") in error["message"]


def test_operator_list_shows_the_bindings(team):
    rows = ok(team.cli("owner"), "db", "operator", "list")
    found = {row["role"]: (row["email"], row["writes"]) for row in rows}
    assert found[team.role("alice")] == (ALICE, True)
    assert found[team.role("bob")] == (BOB, True)
    assert found[team.role("owner")] == (OWNER_EMAIL, True)
    assert team.role("carol") not in found


def test_a_removed_operator_can_read_but_no_longer_write(team):
    owner = team.cli("owner")
    ok(owner, "db", "operator", "add", team.role("dave"), "dave@contoso.example")
    dave = team.cli("dave")
    ok(dave, "report", "entitlements", "--on", "2020-03-01")
    ok(owner, "db", "operator", "remove", team.role("dave"))
    ok(owner, "db", "reader", "add", team.role("dave"))
    code, _, error = invoke(
        dave, "tenant", "add", P, "dave.onmicrosoft.com", "--on", "2020-02-02"
    )
    assert (code, error["code"]) == (1, "not-an-operator")
    ok(dave, "report", "entitlements", "--on", "2020-03-01")
    ok(owner, "db", "reader", "remove", team.role("dave"))
    code, _, _ = invoke(dave, "report", "entitlements", "--on", "2020-03-01")
    assert code == 1


def test_an_unknown_role_is_bad_input(team):
    code, _, error = invoke(team.cli("owner"), "db", "reader", "add", "no-such-role")
    assert code == 2
    assert "no-such-role" in error["message"]


# -- ledgers that are not set up ---------------------------------------------------


def test_a_ledger_never_set_up_keeps_self_declared_actors(run):
    run.json("partner", "enroll", "MPN-SOLO", "--on", "2020-01-31")
    (row,) = run.json("audit", "history", "MPN-SOLO")
    assert row["actor"] == "admin@contoso.example"
    verified = run.json("audit", "verify")
    assert (verified["identity"], verified["append_only"]) == ("self-declared", False)
    result = run("partner", "renew", "MPN-SOLO", "--on", "2020-12-01", actor=None)
    assert result.exit_code == 2
    assert "--actor" in result.stderr


def test_db_commands_need_postgresql(tmp_path):
    result = Cli(f"sqlite:///{tmp_path / 'ledger.db'}")("db", "setup", actor=None)
    assert result.exit_code == 2
    assert "file permissions" in result.stderr


def test_an_operator_imports_as_its_email_and_a_line_naming_another_is_refused(
    team, tmp_path
):
    alice = team.cli("alice")
    good = tmp_path / "good.jsonl"
    good.write_text(
        json.dumps(
            {
                "command": "tenant add",
                "partner": P,
                "tenant": "imported.onmicrosoft.com",
                "on": "2020-02-02",
            }
        )
        + "\n"
    )
    report = ok(alice, "import", str(good))
    assert report["written"] == 1
    (row,) = ok(alice, "audit", "history", P, "--entity", "imported.onmicrosoft.com")
    assert (row["actor"], row["login_role"]) == (ALICE, team.role("alice"))
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        json.dumps(
            {
                "command": "tenant add",
                "partner": P,
                "tenant": "as-bob-import.onmicrosoft.com",
                "on": "2020-02-02",
                "actor": BOB,
            }
        )
        + "\n"
    )
    before = team.events()
    code, _, _ = invoke(alice, "import", str(bad))
    assert code == 1
    assert team.events() == before


def test_ledger_admin_checks_apply_to_the_login_roles_email(team):
    owner, alice = team.cli("owner"), team.cli("alice")
    ok(owner, "init", "--admin", OWNER_EMAIL)
    before = team.events()
    code, _, error = invoke(
        alice, "policy", "set", "reassignment_days", "60", "--on", "2021-01-01"
    )
    assert (code, error["rule"]) == (1, "admin")
    assert ALICE in error["message"]
    assert team.events() == before
    changed = ok(
        owner, "policy", "set", "reassignment_days", "60", "--on", "2021-01-01"
    )
    assert changed["reassignment_days"] == 60


def test_an_operators_writes_take_snapshots_as_the_store_does(team):
    app = Ledger(team.url("alice"))
    try:
        app.enroll("MPN-SNAP", date(2020, 1, 31), ALICE)
        for n in range(Ledger.snapshotting_intervals[Partner]):
            app.add_tenant("MPN-SNAP", f"t{n}", date(2020, 2, 1), ALICE)
    finally:
        app.close()
    engine = sa.create_engine(team.url())
    try:
        with engine.connect() as conn:
            snapshots = conn.execute(sa.text("SELECT count(*) FROM ledger_snapshots"))
            assert snapshots.scalar_one() >= 1
    finally:
        engine.dispose()


def test_a_malformed_email_is_bad_input_for_a_binding_and_an_actor(team):
    owner = team.cli("owner")
    code, _, error = invoke(owner, "db", "operator", "add", team.role("dave"), "dave")
    assert code == 2 and "'dave'" in error["message"]
    listed = ok(owner, "db", "operator", "list")
    assert team.role("dave") not in {row["role"] for row in listed}
    before = team.events()
    code, _, error = invoke(
        team.cli("alice"),
        "tenant",
        "add",
        P,
        "bad-actor.onmicrosoft.com",
        "--on",
        "2020-02-02",
        actor="not an e-mail",
    )
    assert code == 2 and "actor" in error["message"]
    assert team.events() == before


def test_operators_add_and_forget_users_and_readers_see_them(team):
    """Users' keys (issue 17) live in tables that `db setup` makes and grants:
    one operator adds a user, another forgets one, a reader reads them."""
    alice, bob, carol = team.cli("alice"), team.cli("bob"), team.cli("carol")
    for email in ("dev@contoso.example", "qa@contoso.example"):
        ok(alice, "user", "add", P, email, "--source", "aad", "--on", "2020-02-02")
    shown = ok(carol, "user", "show", P, "dev@contoso.example")
    assert shown["email"] == "dev@contoso.example"
    forgotten = ok(bob, "user", "forget", P, "qa@contoso.example", "--reason", "asked")
    assert forgotten["user"].startswith("forgotten-")
    assert ok(carol, "user", "show", P, forgotten["user"])["email"] == forgotten["user"]


# -- reports through psycopg alone ------------------------------------------------

REPORTS = [
    ("report", "entitlements", "--partner", P, "--on", "2020-03-01"),
    ("report", "reassignable", "--on", "2020-03-01"),
    ("report", "expiring", "--on", "2020-03-01", "--within", "400"),
    ("report", "conflicts", "--partner", P),
    ("report", "entitlements", "--partner", "MPN-404", "--on", "2020-03-01"),
]


def refuse() -> None:
    raise AssertionError("the application was opened")


def test_a_readers_caught_up_report_acts_as_the_reader_group_through_psycopg(
    team, monkeypatch
):
    """A reader's report on caught-up projections reads through psycopg
    alone, as the reader group (`SET LOCAL ROLE`, as SQLAlchemy's read-model
    engine does), and answers what the usual way answers; a role in no
    group is left to the usual way, which refuses it as it always did."""
    import projections.reports
    from projections import Reports
    from projections.storage.pg import PgStore

    carol, dave = team.cli("carol"), team.cli("dave")
    ok(carol, *REPORTS[0])  # caught up
    native = Reports.opening(team.url("carol"), 5.0, refuse)
    assert isinstance(native.driver, PgStore) and native.driver.begin
    with pytest.raises(AssertionError, match="opened"):
        Reports.opening(team.url("dave"), 5.0, refuse)
    fast = [invoke(who, *args) for who in (carol, dave) for args in REPORTS]
    monkeypatch.setattr(projections.reports, "_caught_up_pg", lambda *args: None)
    usual = [invoke(who, *args) for who in (carol, dave) for args in REPORTS]
    assert fast == usual
    assert [code for code, _, _ in fast] == [0, 0, 0, 0, 2] + [1] * len(REPORTS)
