"""Issue 17: a user's e-mail is stored only encrypted under the user's own key
(outside the log); `ledger user forget` destroys the key. Afterwards every
command shows a stable pseudonym, counts and dates are unchanged, the earlier
digest verifies, and the raw database holds no trace of the e-mail."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.conftest import Cli

P = "P1"
ALICE = "Alice.Smith@Contoso.example"  # stored (and shown) lower-case
BOB = "bob@contoso.example"
PSEUDONYM = re.compile(r"forgotten-[0-9a-f]{12}")
DATA = Path(__file__).parent / "data"


def traces(email: str) -> list[bytes]:
    """Every way the ledger could write EMAIL: as typed, lower-case,
    JSON-escaped (orjson, json with \\u escapes), and the local part."""
    forms = {email, email.lower(), email.upper()}
    forms |= {json.dumps(f)[1:-1] for f in list(forms)}
    forms |= {f.replace("@", "\\u0040") for f in list(forms)}
    forms.add(email.lower().partition("@")[0])
    return sorted(f.encode() for f in forms)


def error(result: Any) -> dict[str, Any]:
    return json.loads(result.stderr)["error"]


def setup(run: Cli) -> None:
    for args in (
        ("partner", "enroll", P, "--on", "2021-01-31"),
        ("benefit", "grant", P, "VS", "--kind", "user-subscription"),
        ("benefit", "grant", P, "ABC", "--kind", "azure-bulk-credit"),
    ):
        if args[0] == "benefit":
            args = (*args, "--product", "x", "--quantity", "3", "--on", "2021-02-01")
        run.json(*args)
    for benefit in ("VS", "ABC"):
        run.json("benefit", "activate", P, benefit, "--on", "2021-02-01")
    for email in (ALICE, BOB):
        run.json("user", "add", P, email, "--source", "aad", "--on", "2021-02-01")
    run.json(
        "seat", "assign", P, "VS", ALICE, "--on", "2021-02-01", "--request-id", "r1"
    )
    run.json("seat", "assign", P, "VS", BOB, "--on", "2021-02-02")
    run.json("seat", "assign", P, "ABC", ALICE, "--on", "2021-02-03")
    run.json("user", "offer", P, ALICE, "azure-pass", "--on", "2021-03-01")


def everything(run: Cli, known_at: str) -> dict[str, Any]:
    """What every reading command prints about P."""
    on = ("--on", "2021-06-01")
    export = run("audit", "export", "--partner", P)
    return {
        "seat": run.json("seat", "show", P, "VS#1"),
        "entitlements": run.json("report", "entitlements", "--partner", P, *on),
        "expiring": run.json(
            "report", "expiring", "--partner", P, "--on", "2022-01-15"
        ),
        "reassignable": run.json("report", "reassignable", "--partner", P, *on),
        "conflicts": run.json("report", "conflicts", "--partner", P),
        "history": run.json("audit", "history", P),
        "replay": run.json("audit", "replay", P, "--as-of", "2021-06-01"),
        "replay_before": run.json(
            "audit", "replay", P, "--as-of", "2021-06-01", "--known-at", known_at
        ),
        "export": [json.loads(line) for line in export.stdout.splitlines()],
    }


def without_users(data: Any, names: set[str]) -> Any:
    """DATA with each of NAMES replaced by one placeholder: what must not
    change when a user is forgotten."""
    text = json.dumps(data)
    for name in names:
        text = text.replace(name, "<user>")
    found = json.loads(text)
    if isinstance(found, dict) and "users" in found:  # listed by name shown
        found["users"].sort(key=json.dumps)
    return found


@pytest.fixture
def forgotten(run: Cli) -> dict[str, Any]:
    setup(run)
    history = run.json("audit", "history", P)
    known_at = history[-1]["recorded_at"]
    before = everything(run, known_at)
    digest = run.json("audit", "digest")
    events = run.events()
    answer = run.json(
        "user",
        "forget",
        P,
        ALICE,
        "--reason",
        "erasure request 42",
        "--on",
        "2021-07-01",
    )
    return {
        "answer": answer,
        "before": before,
        "after": everything(run, known_at),
        "digest": digest,
        "events": events,
    }


def test_forgetting_answers_with_the_pseudonym(run: Cli, forgotten) -> None:
    answer = forgotten["answer"]
    assert list(answer) == ["partner", "user", "forgotten_on", "reason"]
    assert PSEUDONYM.fullmatch(answer["user"])
    assert answer == {
        "partner": P,
        "user": answer["user"],
        "forgotten_on": "2021-07-01",
        "reason": "erasure request 42",
    }
    assert run.events() == forgotten["events"] + 1  # UserForgotten; no request id


def test_every_command_shows_the_pseudonym_and_the_other_user_in_clear(
    run: Cli, forgotten
) -> None:
    name = forgotten["answer"]["user"]
    before, after = forgotten["before"], forgotten["after"]
    text = json.dumps(after)
    assert ALICE.lower() not in text and ALICE not in text
    for view in ("reassignable", "history", "replay", "replay_before", "export"):
        assert BOB in json.dumps(after[view]), view
    for view in ("seat", "reassignable", "conflicts", "history", "replay"):
        assert name in json.dumps(after[view]), view
    # the key is gone for an earlier instant too
    assert name in json.dumps(after["replay_before"])
    assert name in json.dumps(after["export"])
    assert after["seat"]["user"] == name
    assert {r["user"] for r in after["reassignable"]} == {name, BOB}
    assert [r["user"] for r in after["conflicts"]] == [name]
    # nothing else changed: counts, dates, eligibility, states
    assert after["entitlements"] == before["entitlements"]
    assert after["expiring"] == before["expiring"]
    names = {name, ALICE.lower()}
    for view in ("seat", "reassignable", "conflicts", "replay", "replay_before"):
        assert without_users(after[view], names) == without_users(before[view], names)
    shown = run.json("user", "show", P, name, "--on", "2021-06-01")
    assert (shown["email"], len(shown["seats"]), shown["offers"]) == (
        name,
        2,
        ["azure-pass"],
    )
    assert shown["conflicts"] == ["azure-pass"]
    assert run.json("user", "show", P, BOB)["email"] == BOB
    forgets = [r for r in after["history"] if r["event"] == "UserForgotten"]
    assert [r["data"] for r in forgets] == [
        {"user": name, "reason": "erasure request 42"}
    ]
    entity = run.json("audit", "history", P, "--entity", name)
    assert [r["event"] for r in entity] == [
        "UserAdded",
        "SeatAssigned",
        "SeatAssigned",
        "OfferRecorded",
        "UserForgotten",
    ]


def test_the_earlier_digest_verifies_and_the_read_models_agree(
    run: Cli, forgotten
) -> None:
    digest = forgotten["digest"]
    verified = run.json(
        "audit",
        "verify",
        "--position",
        str(digest["position"]),
        "--sha256",
        digest["sha256"],
    )
    assert verified["ok"] is True
    assert run.json("audit", "check", "--on", "2021-06-01")["ok"] is True
    run.json("projections", "rebuild")
    assert run.json("audit", "check", "--on", "2021-08-01")["ok"] is True


def raw_database(url: str) -> bytes:
    """Every byte of the database: the SQLite file (and its journal) after
    VACUUM; on PostgreSQL every row of every table in the schema, as text, and
    a pg_dump of the schema when pg_dump is installed."""
    engine = sa.create_engine(url)
    try:
        if engine.dialect.name == "sqlite":
            with engine.connect() as conn:
                conn.exec_driver_sql("VACUUM")
            path = Path(url.removeprefix("sqlite:///"))
            files = [path, *path.parent.glob(path.name + "-*")]
            return b"".join(f.read_bytes() for f in files)
        chunks = []
        with engine.connect() as conn:
            schema = conn.exec_driver_sql("SELECT current_schema()").scalar_one()
            tables = conn.exec_driver_sql(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
            ).scalars()
            for table in list(tables):
                rows = conn.exec_driver_sql(f'SELECT t::text FROM "{table}" t')
                chunks += [row[0].encode() for row in rows]
        chunks += pg_dump(schema)
        return b"\n".join(chunks)
    finally:
        engine.dispose()


def pg_dump(schema: str) -> list[bytes]:
    if shutil.which("pg_dump") is None:
        return []
    done = subprocess.run(
        ["pg_dump", "-h", "127.0.0.1", "-U", "postgres", "-n", schema, "test"],
        capture_output=True,
        check=False,
    )
    return [done.stdout] if done.returncode == 0 else []


def test_the_raw_database_holds_no_trace_of_the_forgotten_email(
    run: Cli, forgotten
) -> None:
    raw = raw_database(run.url)
    assert b"ledger_subject_keys" in raw or b"user-" in raw  # we read real data
    assert BOB.encode() not in raw  # bob is encrypted too, but still readable
    found = [form for form in traces(ALICE) if form in raw]
    assert found == []
    assert run.json("user", "show", P, BOB)["email"] == BOB


def test_forgetting_twice_is_refused(run: Cli, forgotten) -> None:
    events = run.events()
    result = run("user", "forget", P, ALICE, "--reason", "again")
    assert result.exit_code == 1, result.output
    assert error(result)["rule"] == "forget"
    assert error(result)["message"] == (
        f"user {ALICE.lower()} was already forgotten: there is nothing left to "
        "erase (rule forget)"
    )
    assert run.events() == events


def test_a_non_admin_is_refused(run: Cli) -> None:
    setup(run)
    events = run.events()
    result = run("user", "forget", P, BOB, "--reason", "r", actor="eve@evil.example")
    assert result.exit_code == 1
    assert error(result)["rule"] == "admin"
    assert run.events() == events
    assert run.json("seat", "show", P, "VS#2")["user"] == BOB


def test_the_same_email_added_again_is_a_new_unrelated_person(
    run: Cli, forgotten
) -> None:
    name = forgotten["answer"]["user"]
    run.json("user", "add", P, ALICE, "--source", "aad", "--on", "2021-08-01")
    again = run.json("user", "show", P, ALICE)
    assert (again["email"], again["seats"], again["offers"]) == (ALICE.lower(), [], [])
    old = run.json("user", "show", P, name, "--on", "2021-06-01")
    assert len(old["seats"]) == 2
    later = run.json("user", "forget", P, ALICE, "--reason", "r", "--on", "2021-09-01")
    assert PSEUDONYM.fullmatch(later["user"]) and later["user"] != name


def test_an_unknown_user_is_bad_input(run: Cli) -> None:
    setup(run)
    result = run("user", "forget", P, "nobody@contoso.example", "--reason", "r")
    assert result.exit_code == 2
    assert "unknown user 'nobody@contoso.example'" in result.stderr


def test_a_user_of_an_old_ledger_is_refused_with_what_to_run(tmp_path: Path) -> None:
    """Version 0.1 wrote e-mails in clear into immutable events."""
    copy = tmp_path / "old.db"
    shutil.copy(DATA / "ledger-0.1.db", copy)
    old = Cli(f"sqlite:///{copy}")
    events = old.events()
    result = old(
        "user",
        "forget",
        "MPN-OLD",
        "u1@contoso.example",
        "--reason",
        "r",
        actor="ops@contoso.example",
    )
    assert result.exit_code == 1
    assert error(result)["rule"] == "forget"
    assert error(result)["code"] == "stored-in-clear"
    assert "stored e-mails in clear" in error(result)["message"]
    assert "start a new ledger (--db NEW)" in error(result)["message"]
    assert old.events() == events
