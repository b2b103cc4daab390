"""Under faults nothing is lost and nothing is forged (issue 13).

Each test reproduces one fault found by trying the ledger as the most trusted
stores are tried: hands on the database (SQL edits behind the ledger's back),
real processes racing, database errors in the middle of a write. On SQLite the
edits go straight to the file; on PostgreSQL through a plain connection.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from ledger.application import Ledger
from tests.conftest import ACTOR, Cli, count_events, d, recorded_writes
from tests.test_tamper import database

ROOT = Path(__file__).resolve().parents[1]

P = "MPN-1"


def small_ledger(app: Ledger) -> None:
    """One partner, 8 events (positions 1-8), no request ids."""
    app.enroll(P, d("2020-01-31"), ACTOR)
    app.grant_benefit(P, "AZ", "product-key", "Azure", 20, d("2020-02-01"), ACTOR)
    app.activate_benefit(P, "AZ", d("2020-02-01"), ACTOR)
    app.add_tenant(P, "demo", d("2020-02-01"), ACTOR)
    app.issue_key(P, "AZ", "KEY-1", 10, d("2020-11-01"), ACTOR)
    app.redeem_key(P, "KEY-1", "demo", "SUB-1", "new", d("2020-12-01"), ACTOR)
    app.add_user(P, "dev@contoso.example", "aad", d("2021-01-01"), ACTOR)
    app.add_user(P, "qa@contoso.example", "aad", d("2021-01-01"), ACTOR)


def answer(result: Any) -> dict[str, Any]:
    return json.loads(result.stdout or result.stderr)


def sqlite_only(url: str) -> None:
    if not url.startswith("sqlite"):
        pytest.skip("PostgreSQL's bytea column can't hold text: the edit is SQLite's")


# -- 5. an event stored as TEXT -----------------------------------------------------


def test_an_event_stored_as_text_is_named_as_changed_by_verify_digest_and_check(
    app: Ledger, db_url: str, run: Cli
) -> None:
    sqlite_only(db_url)
    small_ledger(app)
    saved = run.json("audit", "digest")
    with database(db_url) as execute:
        execute("UPDATE ledger_events SET state = CAST(state AS TEXT) WHERE id = 6")
    verified = run("audit", "verify", "--position", "8", "--sha256", saved["sha256"])
    assert verified.exit_code == 1
    found = answer(verified)
    assert (found["broken_at"], found["problem"]) == (6, "changed")
    assert found["digest_matches"] is False
    assert "stored as text" in found["message"]
    digest = run("audit", "digest")
    assert digest.exit_code == 1
    assert (answer(digest)["broken_at"], answer(digest)["problem"]) == (6, "changed")
    check = run("audit", "check", "--on", "2021-06-01")
    assert check.exit_code == 1
    error = answer(check)["error"]
    assert error["code"] == "changed"
    assert error["message"].startswith("position 6: the stored event was changed")


# -- 6. a damaged chain table with the kept digest matching ------------------------


def zero_chain_hash(url: str, position: int) -> None:
    zeros = (
        "zeroblob(32)"
        if url.startswith("sqlite")
        else "decode(repeat('00', 32), 'hex')"
    )
    with database(url) as execute:
        execute(
            f"UPDATE ledger_audit_chain SET sha256 = {zeros} WHERE position = :p",
            {"p": position},
        )


def test_a_damaged_chain_table_with_a_matching_digest_is_repaired_not_blamed_on_the_log(
    app: Ledger, db_url: str, run: Cli
) -> None:
    small_ledger(app)
    saved = run.json("audit", "digest")
    zero_chain_hash(db_url, 5)
    refused = run("audit", "digest")
    assert refused.exit_code == 1
    assert "audit verify --position N --sha256 H" in answer(refused)["message"]

    verified = run("audit", "verify", "--position", "8", "--sha256", saved["sha256"])
    assert verified.exit_code == 0, verified.stdout
    found = answer(verified)
    assert found["ok"] is True and found["digest_matches"] is True
    assert found["chain_table"]["damaged_at"] == 5
    assert found["chain_table"]["repaired_through"] == 8
    assert "so it is intact" in found["chain_table"]["message"]

    assert run.json("audit", "digest") == saved
    again = run("audit", "verify", "--position", "8", "--sha256", saved["sha256"])
    assert again.exit_code == 0 and "chain_table" not in answer(again)


def test_a_changed_event_is_still_blamed_on_the_log_when_the_digest_does_not_match(
    app: Ledger, db_url: str, run: Cli
) -> None:
    small_ledger(app)
    saved = run.json("audit", "digest")
    with database(db_url) as execute:
        (state,) = execute("SELECT state FROM ledger_events WHERE id = 5")[0]
        changed = bytes(state).replace(b'"2020-11-01"', b'"2020-11-02"')
        execute("UPDATE ledger_events SET state = :s WHERE id = 5", {"s": changed})
    verified = run("audit", "verify", "--position", "8", "--sha256", saved["sha256"])
    assert verified.exit_code == 1
    found = answer(verified)
    assert (found["broken_at"], found["problem"]) == (5, "changed")
    assert "chain_table" not in found


# -- 3. a --keep-going import run again judges nothing twice ------------------------


def line(command: str, **fields: Any) -> dict[str, Any]:
    return {"command": command, "partner": P, **fields}


# line 5 is rejected (R8: the tenant is only added by line 6)
REDEEM_BEFORE_TENANT = [
    line("partner enroll", on="2020-01-31"),
    line(
        "benefit grant",
        benefit="AZ",
        kind="product-key",
        product="Azure",
        quantity=20,
        on="2020-02-01",
    ),
    line("benefit activate", benefit="AZ", on="2020-02-01"),
    line("key issue", benefit="AZ", key="KEY-1", licenses=10, on="2020-02-01"),
    line(
        "key redeem",
        key="KEY-1",
        tenant="demo",
        subscription="SUB-1",
        mode="new",
        on="2020-02-02",
        request_id="redeem-1",
    ),
    line("tenant add", tenant="demo", on="2020-02-02"),
]


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_a_line_rejected_by_a_keep_going_import_is_rejected_again_on_a_rerun(
    run: Cli, tmp_path: Path
) -> None:
    path = write_jsonl(tmp_path / "a.jsonl", REDEEM_BEFORE_TENANT)
    first = run("import", str(path), "--keep-going")
    assert first.exit_code == 1
    report = answer(first)
    assert (report["written"], report["rejected"]) == (5, 1)
    assert report["errors"][0]["line"] == 5 and report["errors"][0]["rule"] == "R8"
    events = run.events()

    for batch_size in ("500", "1"):
        again = run("import", str(path), "--keep-going", "--batch-size", batch_size)
        assert again.exit_code == 1
        rerun = answer(again)
        assert (rerun["written"], rerun["rejected"]) == (0, 1)
        assert rerun["errors"] == report["errors"]
    assert run.events() == events
    assert run.json("partner", "show", P)["partner"] == P
    key = [k for k in run.json("audit", "replay", P, "--as-of", "2021-01-01")["keys"]]
    assert key[0]["redeemed_on"] is None

    # its request id answers with the same refusal, on the CLI too
    same = run(
        "key",
        "redeem",
        P,
        "KEY-1",
        "--tenant",
        "demo",
        "--subscription",
        "SUB-1",
        "--mode",
        "new",
        "--on",
        "2020-02-02",
        "--request-id",
        "redeem-1",
    )
    assert same.exit_code == 1
    assert answer(same)["error"]["rule"] == "R8"
    assert run.events() == events


def test_a_killed_keep_going_import_run_again_ends_as_one_clean_run(
    db_url: str, tmp_path: Path
) -> None:
    # enough lines that a fast import is still running when the poll sees
    # its first rows, even on a loaded machine
    filler = [
        line("user add", email=f"u{n}@contoso.example", source="aad", on="2020-03-01")
        for n in range(2000)
    ]
    path = write_jsonl(tmp_path / "a.jsonl", [*REDEEM_BEFORE_TENANT, *filler])
    clean_url = f"sqlite:///{tmp_path / 'clean.db'}"
    assert Cli(clean_url)("import", str(path), "--keep-going").exit_code == 1
    total = count_events(clean_url)

    process = start_import(db_url, path, "--keep-going", "--batch-size", "3")
    at_kill = kill_when_written(process, db_url, 60)
    assert 0 < at_kill < total, "the import was not killed partway"
    rerun = Cli(db_url)("import", str(path), "--keep-going")
    assert rerun.exit_code == 1
    assert [e["line"] for e in answer(rerun)["errors"]] == [5]
    assert recorded_writes(db_url) == recorded_writes(clean_url)
    replayed = Cli(db_url).json("audit", "replay", P, "--as-of", "2021-01-01")
    assert replayed["keys"][0]["redeemed_on"] is None


# -- real processes -------------------------------------------------------------------


def ledger_command(url: str, *args: str) -> list[str]:
    base = [sys.executable, "-m", "ledger", "--db", url, "--actor", ACTOR, "-o", "json"]
    return [*base, *args]


def start(url: str, *args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        ledger_command(url, *args),
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def start_import(url: str, path: Path, *options: str) -> subprocess.Popen:
    return start(url, "import", str(path), *options)


def events_or_zero(url: str) -> int:
    try:
        return count_events(url)
    except Exception:  # the ledger's tables are not created yet
        return 0


def kill_when_written(process: subprocess.Popen, url: str, rows: int) -> int:
    """SIGKILL a process once the events table has `rows` rows."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        if events_or_zero(url) >= rows:
            break
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    return count_events(url)


# -- 4. a repeated request id racing its first copy gets the first answer -----------


def prepared(url: str) -> None:
    app = Ledger(url)
    small_ledger(app)
    app.issue_key(P, "AZ", "KEY-2", 5, d("2020-11-01"), ACTOR)
    app.close()


RACES = {
    "user add": lambda app: app.add_user(
        P, "new@contoso.example", "aad", d("2021-02-01"), ACTOR, request_id="r-1"
    ),
    "key redeem": lambda app: app.redeem_key(
        P, "KEY-2", "demo", "SUB-2", "new", d("2020-12-15"), ACTOR, request_id="r-1"
    ),
}


def _race(url: str, write: str, first: bool, checked, saved, results) -> None:
    """The first copy saves only once the second has checked the request id;
    the second loads the partner (and decides) only once the first saved."""
    app = Ledger(url)
    load = app.load

    def load_in_order(partner: str) -> Any:
        if first:
            checked.wait(timeout=30)
        else:
            checked.set()
            saved.wait(timeout=30)
        return load(partner)

    app.load = load_in_order  # type: ignore[method-assign]
    try:
        results.put((first, "ok", RACES[write](app)))
    except Exception as error:  # reported to the parent, which asserts on it
        results.put((first, type(error).__name__, str(error)))
    finally:
        if first:
            saved.set()
        app.close()


@pytest.mark.parametrize("write", list(RACES))
def test_a_request_id_racing_its_first_copy_gets_the_first_answer(
    db_url: str, write: str
) -> None:
    prepared(db_url)
    before = count_events(db_url)
    ctx = multiprocessing.get_context("spawn")
    checked, saved, results = ctx.Event(), ctx.Event(), ctx.Queue()
    procs = [
        ctx.Process(target=_race, args=(db_url, write, first, checked, saved, results))
        for first in (True, False)
    ]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=60)
    outcomes = dict(
        (first, rest) for first, *rest in (results.get(timeout=5) for _ in procs)
    )
    assert outcomes[True][0] == "ok", outcomes
    assert outcomes[False] == outcomes[True]
    assert count_events(db_url) == before + 2  # the event and its request record


def test_two_overlapping_imports_of_one_file_both_end_as_one_clean_run(
    db_url: str, tmp_path: Path
) -> None:
    records = [
        line("partner enroll", on="2020-01-31"),
        *(
            line(
                "user add", email=f"u{n}@contoso.example", source="aad", on="2020-03-01"
            )
            for n in range(300)
        ),
    ]
    path = write_jsonl(tmp_path / "a.jsonl", records)
    clean_url = f"sqlite:///{tmp_path / 'clean.db'}"
    assert Cli(clean_url)("import", str(path)).exit_code == 0
    Ledger(db_url).close()  # the tables exist before both start
    procs = [start_import(db_url, path, "--batch-size", "7") for _ in range(2)]
    finished = [(p.wait(timeout=120), p.stdout.read(), p.stderr.read()) for p in procs]
    for code, out, err in finished:
        assert code == 0, (out, err)
        assert json.loads(out)["errors"] == []
    written = sorted(json.loads(out)["written"] for _, out, _ in finished)
    assert sum(written) == len(records)
    assert count_events(db_url) == count_events(clean_url)


# -- a write waits a bounded time behind a lock: "the ledger is busy" ---------------


@contextmanager
def write_lock_held(url: str) -> Iterator[None]:
    """Another connection holds the ledger's write lock until the block ends:
    SQLite's (BEGIN IMMEDIATE), or PostgreSQL's lock on the event table (the
    one every write takes)."""
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            conn.execute("ROLLBACK")
            conn.close()
        return
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("LOCK TABLE ledger_events IN EXCLUSIVE MODE"))
            yield
    finally:
        engine.dispose()


def test_a_write_behind_a_held_lock_gives_up_after_the_lock_timeout(
    app: Ledger, db_url: str
) -> None:
    small_ledger(app)
    before = count_events(db_url)
    add = ("user add", P, "late@contoso.example", "--source", "aad")
    with write_lock_held(db_url):
        by_option = start(db_url, *add[0].split(), *add[1:], "--lock-timeout", "0.5")
        code, out, err = by_option.wait(timeout=60), by_option.stdout, by_option.stderr
        errors = [err.read()]
        env = {**os.environ, "PYTHONPATH": str(ROOT), "LEDGER_LOCK_TIMEOUT": "0.5"}
        by_env = subprocess.run(
            ledger_command(db_url, *add[0].split(), *add[1:]),
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        errors.append(by_env.stderr)
        assert (code, by_env.returncode) == (1, 1)
    for stderr in errors:
        assert "Traceback" not in stderr
        error = json.loads(stderr)["error"]
        assert error["code"] == "busy"
        assert error["message"].startswith("the ledger is busy")
        assert "try again" in error["message"]
    assert count_events(db_url) == before
    assert out.read() == ""


# -- 8. a database error mid-import still reports what was written ------------------


def users_file(path: Path, users: int) -> Path:
    return write_jsonl(
        path,
        [
            line("partner enroll", on="2020-01-31"),
            *(
                line(
                    "user add",
                    email=f"u{n}@contoso.example",
                    source="aad",
                    on="2020-03-01",
                )
                for n in range(users)
            ),
        ],
    )


def test_a_lock_held_mid_import_stops_it_with_the_lines_written_and_where_to_resume(
    db_url: str, tmp_path: Path
) -> None:
    path = users_file(tmp_path / "users.jsonl", 6000)
    Ledger(db_url).close()  # the tables exist before the import starts
    process = start_import(db_url, path, "--batch-size", "5", "--lock-timeout", "0.5")
    deadline = time.monotonic() + 60
    while events_or_zero(db_url) < 100 and time.monotonic() < deadline:
        time.sleep(0.01)
    with write_lock_held(db_url):
        written_events = count_events(db_url)
        code = process.wait(timeout=60)
    out, err = process.stdout.read(), process.stderr.read()
    assert code == 1, err
    assert "Traceback" not in err
    report = json.loads(out)
    assert 0 < written_events < 2 * 6001, "the lock was not taken mid-import"
    # a line and its request record (the event log also holds snapshot seals)
    assert report["events_written"] == 2 * report["written"] <= written_events
    assert report["resume_at_line"] == report["written"] + 1
    (error,) = report["errors"]
    assert error["line"] == report["resume_at_line"]
    assert error["code"] == "busy" and "try again" in error["message"]

    rerun = Cli(db_url)("import", str(path))
    assert rerun.exit_code == 0, rerun.output
    assert answer(rerun)["already_applied"] == report["written"]
    clean_url = f"sqlite:///{tmp_path / 'clean.db'}"
    assert Cli(clean_url)("import", str(path)).exit_code == 0
    assert recorded_writes(db_url) == recorded_writes(clean_url)


# -- 7. a full disk is a clear exit-1 error, never a traceback ----------------------


def disk_full(url: str) -> Exception:
    """What the driver raises when the database can't grow."""
    if url.startswith("sqlite"):
        return sqlite3.OperationalError("database or disk is full")
    import psycopg

    return psycopg.errors.DiskFull(
        'could not extend file "base/16384/16385": No space left on device'
    )


def fail_after(calls: int, error: Exception, real: Any) -> Any:
    """A stand-in for `real` that fails with `error` from call number `calls`+1."""
    seen = {"calls": 0}

    def stand_in(*args: Any, **kwargs: Any) -> Any:
        seen["calls"] += 1
        if seen["calls"] > calls:
            raise error
        return real(*args, **kwargs)

    return stand_in


def fill_the_disk_after(url: str, writes: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """From write transaction number `writes`+1 on, the database is full where
    it would say so: inside the write transaction of the embedded SQLite
    store, inside the native PostgreSQL store's write transaction of events
    (an import's batch or a single write)."""
    error = disk_full(url)
    if url.startswith("sqlite"):
        from ledger.store.sqlite import Database

        real = Database.transaction
        seen = {"writes": 0}

        @contextmanager
        def transaction(self: Any, write: bool) -> Iterator[Any]:
            with real(self, write) as cursor:
                seen["writes"] += write
                if write and seen["writes"] > writes:
                    raise error
                yield cursor

        monkeypatch.setattr(Database, "transaction", transaction)
        return
    from ledger.store.postgres import EventRecorder

    # Every write of events takes the table lock first; snapshots don't.
    failing = fail_after(writes, error, EventRecorder._lock_table)
    monkeypatch.setattr(EventRecorder, "_lock_table", failing)


def test_a_full_disk_on_a_write_is_a_clear_error(
    app: Ledger, db_url: str, run: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    small_ledger(app)
    before = count_events(db_url)
    fill_the_disk_after(db_url, 0, monkeypatch)
    result = run("user", "add", P, "late@contoso.example", "--source", "aad")
    assert result.exit_code == 1
    error = answer(result)["error"]
    assert (error["rule"], error["code"]) == ("database", "disk-full")
    assert error["message"].startswith("the ledger database is full")
    monkeypatch.undo()
    assert count_events(db_url) == before


def test_a_full_disk_mid_import_reports_the_lines_written_and_where_to_resume(
    db_url: str, run: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = users_file(tmp_path / "users.jsonl", 99)
    Ledger(db_url).close()  # the tables exist before the disk fills
    fill_the_disk_after(db_url, 3, monkeypatch)
    result = run("import", str(path), "--batch-size", "20")
    assert result.exit_code == 1
    report = answer(result)
    assert (report["written"], report["resume_at_line"]) == (60, 61)
    assert report["events_written"] == count_events(db_url) == 120
    (error,) = report["errors"]
    assert (error["line"], error["code"]) == (61, "disk-full")
    assert error["message"].startswith("lines 61-80 were not written: the ledger")

    monkeypatch.undo()
    rerun = run("import", str(path), "--batch-size", "20")
    assert rerun.exit_code == 0
    assert (answer(rerun)["already_applied"], answer(rerun)["written"]) == (60, 40)


# -- 2. rebuilds and first-time creation serialise ----------------------------------


def test_reports_started_together_on_a_fresh_ledger_all_answer(
    app: Ledger, db_url: str
) -> None:
    small_ledger(app)
    procs = [
        start(db_url, "report", "entitlements", "--on", "2020-12-15") for _ in range(6)
    ]
    finished = [(p.wait(timeout=120), p.stdout.read(), p.stderr.read()) for p in procs]
    for code, out, err in finished:
        assert code == 0, err
        assert [row["benefit"] for row in json.loads(out)] == ["AZ"]


def test_two_rebuilds_at_once_leave_every_report_working(
    app: Ledger, db_url: str
) -> None:
    small_ledger(app)
    assert start(db_url, "projections", "status").wait(timeout=60) == 0
    procs = [
        start(db_url, "projections", "rebuild"),
        start(db_url, "projections", "rebuild", "entitlements"),
    ]
    for proc in procs:
        code, err = proc.wait(timeout=120), proc.stderr.read()
        assert "Traceback" not in err
        if code != 0:  # the one that found the other running
            assert code == 1
            assert json.loads(err)["error"]["code"] == "rebuild-running"
    for command in (
        ("report", "entitlements", "--on", "2020-12-15"),
        ("projections", "status"),
        ("audit", "check", "--on", "2020-12-15"),
    ):
        done = start(db_url, *command)
        assert done.wait(timeout=120) == 0, done.stderr.read()


def test_a_rebuild_while_another_runs_exits_1_saying_so(
    app: Ledger, db_url: str
) -> None:
    from projections import Reports
    from projections.storage.control import Store

    small_ledger(app)
    store = Reports(app).store
    assert isinstance(store, Store)
    with store.exclusive() as taken:
        assert taken
        second = start(db_url, "projections", "rebuild")
        code, err = second.wait(timeout=120), second.stderr.read()
    assert code == 1
    error = json.loads(err)["error"]
    assert error["code"] == "rebuild-running"
    assert "another `ledger projections rebuild` is running" in error["message"]
    again = start(db_url, "projections", "rebuild")
    assert again.wait(timeout=120) == 0, again.stderr.read()


def test_a_killed_rebuilds_orphan_tables_are_dropped_by_the_next_rebuild(
    app: Ledger, db_url: str
) -> None:
    from projections import Reports

    small_ledger(app)
    store = Reports(app).store
    orphan = store.next_generation("entitlements")  # as a killed rebuild leaves it
    engine = sa.create_engine(db_url)
    try:
        names = set(sa.inspect(engine).get_table_names())
        orphan_tables = {n for n in names if n.endswith(f"_g{orphan.generation}")}
        assert orphan_tables, names
        rebuilt = start(db_url, "projections", "rebuild", "conflicts")
        assert rebuilt.wait(timeout=120) == 0, rebuilt.stderr.read()
        left = set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert not orphan_tables & left


# -- 1. a snapshot can't change a decision ------------------------------------------


def snapshotted_ledger(app: Ledger) -> None:
    """KEY-1 redeemed, then enough events for a snapshot at version 200."""
    small_ledger(app)
    app.issue_key(P, "AZ", "KEY-2", 5, d("2020-11-01"), ACTOR)
    for n in range(191):
        app.add_user(P, f"u{n}@contoso.example", "aad", d("2021-01-02"), ACTOR)


def forge_snapshot(url: str, old: bytes, new: bytes) -> None:
    with database(url) as execute:
        (state,) = execute("SELECT state FROM ledger_snapshots")[0]
        state = bytes(state)
        assert old in state
        execute(
            "UPDATE ledger_snapshots SET state = :s", {"s": state.replace(old, new)}
        )


INTRUDER = "intruder@contoso.example"
ADMIN_TERMS = b'"admin_terms":['
INTRUDER_TERM = (
    b'{"_type_":"record","_data_":{"class":"AdminTerm","email":"'
    + INTRUDER.encode()
    + b'","granted_on":{"_type_":"date","_data_":"2020-01-31"},"revoked_on":null}},'
)
REDEEMED = (
    b'"redeemed_on":{"_type_":"date","_data_":"2020-12-01"},"tenant":"demo",'
    b'"subscription":"SUB-1","mode":"new"'
)
NOT_REDEEMED = b'"redeemed_on":null,"tenant":null,"subscription":null,"mode":null'


def test_an_admin_added_in_a_snapshot_still_cant_write_and_verify_names_it(
    app: Ledger, db_url: str, run: Cli
) -> None:
    snapshotted_ledger(app)
    saved = run.json("audit", "digest")
    forge_snapshot(db_url, ADMIN_TERMS, ADMIN_TERMS + INTRUDER_TERM)
    before = count_events(db_url)
    write = start(
        db_url,
        "--actor",
        INTRUDER,
        "user",
        "add",
        P,
        "x@contoso.example",
        "--source",
        "aad",
    )
    code, err = write.wait(timeout=60), write.stderr.read()
    assert code == 1, err
    assert json.loads(err)["error"]["rule"] == "admin"
    assert count_events(db_url) == before

    verified = run(
        "audit",
        "verify",
        "--position",
        str(saved["position"]),
        "--sha256",
        saved["sha256"],
    )
    assert verified.exit_code == 1
    found = answer(verified)
    assert found["problem"] == "forged-snapshot"
    assert found["forged_snapshots"][0]["partner"] == P
    assert found["forged_snapshots"][0]["version"] == 200
    assert found["digest_matches"] is True


def test_a_redemption_cleared_in_a_snapshot_still_refuses_a_second_redemption(
    app: Ledger, db_url: str, run: Cli
) -> None:
    snapshotted_ledger(app)
    forge_snapshot(db_url, REDEEMED, NOT_REDEEMED)
    before = count_events(db_url)
    redeem = start(
        db_url,
        "key",
        "redeem",
        P,
        "KEY-1",
        "--tenant",
        "demo",
        "--subscription",
        "SUB-9",
        "--mode",
        "new",
        "--on",
        "2020-12-05",
    )
    code, err = redeem.wait(timeout=60), redeem.stderr.read()
    assert code == 1, err
    assert json.loads(err)["error"]["rule"] == "R9"
    assert count_events(db_url) == before
    verified = run("audit", "verify")
    assert verified.exit_code == 1
    assert answer(verified)["forged_snapshots"][0]["version"] == 200
