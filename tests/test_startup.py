"""What a command loads and how it ends: the CLI imports a command's module
only when the command is used, a write or a report on an SQLite ledger never
imports SQLAlchemy, and the fast way out (no interpreter teardown) keeps
every output and exit code."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from commands.main import COMMAND_MODULES, cli

ROOT = Path(__file__).resolve().parents[1]
ACTOR = "admin@contoso.example"

# Runs one command line in a fresh interpreter (as `ledger` does, minus the
# exit) and prints the modules it imported.
PROBE = """
import json, sys
from commands.main import cli
try:
    cli.main(sys.argv[1:], prog_name="ledger")
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


def test_each_command_is_loaded_from_the_module_the_table_names():
    expected = {}
    for module in dict.fromkeys(COMMAND_MODULES.values()):
        for command in importlib.import_module(f"commands.{module}").COMMANDS:
            expected[command.name] = module
    assert expected == COMMAND_MODULES
    assert list(cli.commands) == list(COMMAND_MODULES)
    assert all(cli.commands[name].name == name for name in COMMAND_MODULES)


def ledger(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ledger", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )


def imported(*args: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=True,
    )
    return set(json.loads(done.stderr.splitlines()[-1]))


@pytest.fixture
def ledger_file(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    enrolled = ledger(
        "--db", url, "--actor", ACTOR, "partner", "enroll", "P1", "--on", "2020-01-31"
    )
    assert enrolled.returncode == 0, enrolled.stderr
    return url


def test_a_write_on_sqlite_loads_its_command_only_and_no_sqlalchemy(ledger_file):
    modules = imported(
        "--db", ledger_file, "--actor", ACTOR,
        "user", "add", "P1", "u@x.example", "--source", "aad", "--on", "2020-02-01",
    )  # fmt: skip
    assert "commands.user" in modules and "ledger.application" in modules
    assert not {m for m in modules if m.split(".")[0] == "sqlalchemy"}
    others = {f"commands.{m}" for m in COMMAND_MODULES.values()} - {"commands.user"}
    assert not modules & others


def test_the_fast_exit_keeps_output_and_exit_codes(ledger_file):
    added = ledger(
        "--db", ledger_file, "--actor", ACTOR, "-o", "json",
        "user", "add", "P1", "U@X.example", "--source", "aad", "--on", "2020-02-01",
    )  # fmt: skip
    assert (added.returncode, added.stderr) == (0, "")
    assert json.loads(added.stdout)["email"] == "u@x.example"
    refused = ledger(
        "--db", ledger_file, "--actor", "nobody@x.example", "-o", "json",
        "user", "add", "P1", "v@x.example", "--source", "aad", "--on", "2020-02-01",
    )  # fmt: skip
    assert (refused.returncode, refused.stdout) == (1, "")
    assert json.loads(refused.stderr)["error"]["code"] == "not-an-admin"
    bad = ledger("--db", ledger_file, "user", "add", "P1", "not-an-email")
    assert bad.returncode == 2 and "Error: Invalid value for 'EMAIL'" in bad.stderr
    helped = ledger("--help")
    assert helped.returncode == 0
    assert helped.stdout.rstrip().splitlines()[-1].split()[0] == "void"


def test_a_caught_up_report_on_sqlite_loads_no_sqlalchemy_nor_the_events(
    ledger_file,
):
    args = ("--db", ledger_file, "-o", "json", "report", "entitlements")
    first = ledger(*args, "--partner", "P1", "--on", "2020-06-01")
    assert first.returncode == 0, first.stderr  # the read models made, caught up
    modules = imported(*args, "--partner", "P1", "--on", "2020-06-01")
    assert "projections.storage.lite" in modules
    assert not {
        m for m in modules if m.split(".")[0] in ("sqlalchemy", "eventsourcing")
    }
    assert not {"ledger.application", "ledger.domain.partner"} & modules
    unknown = ledger(*args, "--partner", "P404", "--on", "2020-06-01")
    assert unknown.returncode == 2 and "P404" in unknown.stderr
