"""ledger import FILE: the same rules as the CLI, a dry run that writes
nothing, stop-at-first or --keep-going, exit codes 0/1/2, CSV seat lists, and
re-runs (even after a killed import) that end in the state of one clean run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from ledger.application import Ledger
from ledger.bulk import sample
from ledger.domain import reports, views
from ledger.store.transcoder import OrjsonTranscoder
from tests.conftest import ACTOR, Cli, count_events, d, recorded_writes

ROOT = Path(__file__).resolve().parents[1]


def line(command: str, **fields: Any) -> dict[str, Any]:
    return {"command": command, "partner": "P1", **fields}


SETUP = [
    line("partner enroll", on="2020-01-31", name="Contoso"),
    line(
        "benefit grant",
        benefit="VS",
        kind="user-subscription",
        product="VS",
        quantity=2,
        on="2020-02-01",
    ),
    line("benefit activate", benefit="VS", on="2020-02-01"),
    line("user add", email="a@contoso.example", source="aad", on="2020-02-01"),
    line("user add", email="b@contoso.example", source="aad", on="2020-02-01"),
]
# line 6 is rejected: c@ is not a user (R12); line 7 is fine.
WITH_ONE_REJECTED = [
    *SETUP,
    line("seat assign", benefit="VS", user="c@contoso.example", on="2020-02-02"),
    line("seat assign", benefit="VS", user="a@contoso.example", on="2020-02-02"),
]


def events_or_none(url: str) -> int | None:
    """The number of stored events, or None if the ledger was never created."""
    try:
        return count_events(url)
    except Exception:
        return None


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def imported(run: Cli, path: Path, *options: str) -> tuple[int, dict[str, Any]]:
    result = run("import", str(path), *options)
    return result.exit_code, json.loads(result.stdout) if result.stdout else {}


def test_a_clean_file_imports_every_line_and_exits_0(run: Cli, tmp_path: Path) -> None:
    code, report = imported(run, write_jsonl(tmp_path / "a.jsonl", SETUP))
    assert code == 0
    assert report["errors"] == []
    assert (report["lines_read"], report["accepted"], report["written"]) == (5, 5, 5)
    assert run.json("benefit", "show", "P1", "VS")["activated_on"] == "2020-02-01"


def test_by_default_the_import_stops_at_the_first_rejected_line(
    run: Cli, tmp_path: Path
) -> None:
    code, report = imported(run, write_jsonl(tmp_path / "a.jsonl", WITH_ONE_REJECTED))
    assert code == 1
    assert report["errors"] == [
        {
            "line": 6,
            "command": "seat assign",
            "rule": "R12",
            "code": "not-a-user",
            "message": report["errors"][0]["message"],
        }
    ]
    assert "c@contoso.example" in report["errors"][0]["message"]
    assert (report["lines_read"], report["accepted"], report["written"]) == (6, 5, 5)
    assert run("seat", "show", "P1", "VS#1").exit_code == 0
    assert run.json("seat", "show", "P1", "VS#1")["user"] is None


def test_keep_going_skips_rejected_lines(run: Cli, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "a.jsonl", WITH_ONE_REJECTED)
    code, report = imported(run, path, "--keep-going")
    assert code == 1
    assert (report["lines_read"], report["accepted"], report["rejected"]) == (7, 6, 1)
    assert report["written"] == 6
    assert run.json("seat", "show", "P1", "VS#1")["user"] == "a@contoso.example"


def test_a_dry_run_writes_nothing_and_reports_the_errors_of_a_real_run(
    run: Cli, tmp_path: Path
) -> None:
    path = write_jsonl(
        tmp_path / "a.jsonl",
        [
            *WITH_ONE_REJECTED,
            # depends on line 7 having assigned a seat: the dry run sees earlier lines
            line("seat sign-in", seat="VS#1", on="2020-02-03"),
            line("seat sign-in", seat="VS#2", on="2020-02-03"),
        ],
    )
    dry_code, dry = imported(run, path, "--dry-run", "--keep-going")
    assert run.events() == 0
    real_code, real = imported(run, path, "--keep-going")
    assert (dry_code, real_code) == (1, 1)
    assert dry["errors"] == real["errors"]
    assert [e["line"] for e in real["errors"]] == [6, 9]
    assert dry["written"] == 0 and real["written"] == 7


def test_running_the_same_file_again_appends_nothing(run: Cli, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "a.jsonl", WITH_ONE_REJECTED)
    imported(run, path, "--keep-going")
    events = run.events()
    code, report = imported(run, path, "--keep-going", "--batch-size", "2")
    assert run.events() == events
    assert code == 1
    assert (report["already_applied"], report["written"], report["rejected"]) == (
        6,
        0,
        1,
    )


def test_a_request_id_on_a_line_is_the_clis_request_id(
    run: Cli, tmp_path: Path
) -> None:
    run("partner", "enroll", "P1", "--on", "2020-01-31", "--request-id", "r-1")
    path = write_jsonl(
        tmp_path / "a.jsonl",
        [
            line("partner enroll", on="2020-01-31", request_id="r-1"),
            line("partner renew", on="2020-01-31", request_id="r-1"),
        ],
    )
    code, report = imported(run, path, "--keep-going")
    assert code == 1
    assert report["already_applied"] == 1
    assert report["errors"][0]["code"] == "request-id-reused"


def test_a_csv_seat_list_assigns_seats(run: Cli, app: Ledger, tmp_path: Path) -> None:
    write_jsonl(tmp_path / "setup.jsonl", SETUP)
    imported(run, tmp_path / "setup.jsonl")
    path = tmp_path / "seats.csv"
    path.write_text(
        "partner,benefit,email,on\n"
        "P1,VS,A@contoso.example,2020-02-02\n"
        "P1,VS,b@contoso.example,2020-02-03\n"
    )
    code, report = imported(run, path)
    assert (code, report["written"]) == (0, 2)
    partner = app.load("P1")
    assert [(app.reveal(s.user), s.assigned_on) for s in partner.seats.values()] == [
        ("a@contoso.example", d("2020-02-02")),
        ("b@contoso.example", d("2020-02-03")),
    ]


def test_a_lines_actor_never_overrides_the_importing_actor(
    run: Cli, tmp_path: Path
) -> None:
    path = write_jsonl(
        tmp_path / "a.jsonl",
        [
            line("partner enroll", on="2020-01-31", actor="boss@contoso.example"),
            line("partner renew", on="2020-12-01"),
        ],
    )
    code, report = imported(run, path)
    assert code == 1
    assert (report["errors"][0]["rule"], report["errors"][0]["code"]) == (
        "admin",
        "actor-not-importer",
    )
    assert events_or_none(run.url) in (None, 0)


BAD_FILES = {
    "bad JSON": ("a.jsonl", '{"command": "partner enroll", "partner": \n'),
    "unknown command": (
        "a.jsonl",
        ('{"command": "partner delete", "partner": "P2", "on": "2020-01-01"}\n'),
    ),
    "missing field": (
        "a.jsonl",
        (
            '{"command": "user add", "partner": "P1", '
            '"email": "x@contoso.example", "on": "2020-03-01"}\n'
        ),
    ),
    "unknown field": (
        "a.jsonl",
        (
            '{"command": "partner renew", "partner": "P1", '
            '"on": "2020-12-01", "when": "now"}\n'
        ),
    ),
    "bad date": (
        "a.jsonl",
        ('{"command": "partner renew", "partner": "P1", "on": "2020-13-01"}\n'),
    ),
    "no date": ("a.jsonl", '{"command": "partner renew", "partner": "P1"}\n'),
    "bad number": (
        "a.jsonl",
        (
            '{"command": "benefit grant", "partner": "P1", '
            '"benefit": "B", "kind": "technical", "product": "S", '
            '"quantity": 0, "on": "2020-03-01"}\n'
        ),
    ),
    "bad CSV header": (
        "a.csv",
        "partner,benefit,user,on\nP1,VS,a@contoso.example,2020-02-02\n",
    ),
    "unknown extension": ("a.txt", ""),
}


@pytest.mark.parametrize("case", BAD_FILES)
def test_a_malformed_file_imports_nothing_and_exits_2(
    run: Cli, tmp_path: Path, case: str
) -> None:
    name, bad_line = BAD_FILES[case]
    path = tmp_path / name
    if name.endswith(".jsonl"):
        write_jsonl(path, SETUP)
        path.write_text(path.read_text() + bad_line)
    else:
        path.write_text(bad_line)
    result = run("import", str(path))
    assert result.exit_code == 2, result.output
    assert events_or_none(run.url) in (0, None)
    if name.endswith(".jsonl"):
        assert "line 6" in result.stderr


def test_an_unreadable_file_exits_2(run: Cli, tmp_path: Path) -> None:
    assert run("import", str(tmp_path / "missing.jsonl")).exit_code == 2


# -- a killed import, run again, ends in the state of one clean import --------------


def partner_state(app: Ledger, partner: str) -> dict[str, Any]:
    """What users see of a partner (report rows and views on a few dates) and
    its whole state, except the times it was recorded."""
    loaded = app.load(partner)
    state = {
        k: v
        for k, v in vars(loaded).items()
        if k not in ("_created_on", "_modified_on", "_pending_events")
    }
    # users by e-mail: each ledger made its own keys and references
    seen: dict[str, Any] = {"state": json.loads(OrjsonTranscoder().encode(state))}
    for on in (d("2019-06-01"), d("2020-06-01"), d("2021-06-01")):
        seen[f"entitlements {on}"] = reports.entitlement_rows(loaded, on)
        seen[f"expiring {on}"] = reports.expiring_rows(loaded, on, 30)
        seen[f"reassignable {on}"] = reports.reassignable_rows(loaded, on)
        seen[f"partner {on}"] = views.partner_view(loaded, on)
    seen["conflicts"] = reports.conflict_rows(loaded)
    return app.reveal(seen)


def start_import(url: str, path: Path) -> subprocess.Popen:
    command = [
        sys.executable,
        "-m",
        "ledger",
        "--db",
        url,
        "--actor",
        ACTOR_GEN,
        "import",
        str(path),
        "--batch-size",
        "5",
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


def kill_when_written(process: subprocess.Popen, url: str, rows: int) -> int:
    """SIGKILL the import once the events table has `rows` rows."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        if (events_or_none(url) or 0) >= rows:
            break
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    return count_events(url)


ACTOR_GEN = sample.ACTOR


def test_an_import_killed_halfway_and_run_again_ends_as_one_clean_import(
    db_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "history.jsonl"
    sample.write_jsonl(path, 2500)
    clean_url = f"sqlite:///{tmp_path / 'clean.db'}"
    assert Cli(clean_url)("import", str(path), actor=ACTOR_GEN).exit_code == 0
    total = count_events(clean_url)

    process = start_import(db_url, path)
    # killed early (a twentieth written): the import, fast now, must not
    # finish between two looks of a poller slowed by a loaded machine
    at_kill = kill_when_written(process, db_url, total // 20)
    assert process.returncode == -signal.SIGKILL
    assert 0 < at_kill < total, "the import was not killed partway"

    result = Cli(db_url)("import", str(path), actor=ACTOR_GEN)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["already_applied"] == at_kill // 2
    assert recorded_writes(db_url) == recorded_writes(clean_url)

    resumed, clean = Ledger(db_url), Ledger(clean_url)
    partners = sorted(
        {json.loads(row)["partner"] for row in path.read_text().splitlines()}
    )
    try:
        for partner in partners:
            assert partner_state(resumed, partner) == partner_state(clean, partner)
    finally:
        resumed.close()
        clean.close()


def test_a_batch_that_clashes_with_another_writer_saves_nothing(
    db_url: str, clock
) -> None:
    from ledger.domain.errors import Conflict

    app, other = Ledger(db_url, clock=clock), Ledger(db_url, clock=clock)
    try:
        app.enroll("P1", d("2020-01-31"), ACTOR)
        with pytest.raises(Conflict), app.batch():
            app.add_tenant("P1", "mine", d("2020-02-01"), ACTOR, request_id="r-1")
            other.add_tenant("P1", "theirs", d("2020-02-01"), ACTOR)
        assert list(app.load("P1").tenants) == ["theirs"]
        assert app.add_tenant("P1", "mine", d("2020-02-01"), ACTOR, request_id="r-1")
    finally:
        app.close()
        other.close()


def test_a_line_naming_another_actor_is_rejected_and_one_naming_the_importer_runs(
    run: Cli, tmp_path: Path
) -> None:
    records = [
        *SETUP,
        line("tenant add", tenant="T1", on="2020-02-02", actor=ACTOR),
        line("tenant add", tenant="T2", on="2020-02-02", actor="boss@contoso.example"),
    ]
    code, report = imported(run, write_jsonl(tmp_path / "a.jsonl", records))
    assert code == 1
    assert report["errors"] == [
        {
            "line": 7,
            "command": "tenant add",
            "rule": "admin",
            "code": "actor-not-importer",
            "message": f"line 7 names actor boss@contoso.example, but the import "
            f"runs as {ACTOR}: a line may only name the importing actor (rule admin)",
        }
    ]
    assert report["written"] == 6


def test_demo_records_as_the_actor_given(run: Cli) -> None:
    run.json("demo", actor="me@contoso.example")
    shown = run.json("partner", "show", "DEMO-CONTOSO", "--on", "2021-06-01")
    assert shown["admins"] == ["me@contoso.example"]
    history = run.json("audit", "history", "DEMO-CONTOSO")
    assert {row["actor"] for row in history} == {"me@contoso.example"}


def test_a_line_naming_the_importer_in_another_case_runs_as_the_importer(
    run: Cli, tmp_path: Path
) -> None:
    records = [line("partner enroll", on="2020-01-31", actor=ACTOR.upper())]
    result = run("import", str(write_jsonl(tmp_path / "a.jsonl", records)))
    assert result.exit_code == 0, result.stdout
    assert run.json("partner", "show", "P1", "--on", "2020-02-01")["admins"] == [ACTOR]
