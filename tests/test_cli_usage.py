"""The CLI as people use it: global options anywhere, every error in the
format asked for (exits 1, 2 and 70), never a traceback."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from commands.main import cli
from ledger.application import Ledger
from tests.conftest import ACTOR


def enroll(run, partner="P1", on="2020-01-31"):
    return run.json("partner", "enroll", partner, "--on", on)


def invoke(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def json_error(result) -> dict:
    assert result.stdout == ""
    return json.loads(result.stderr)["error"]


def test_global_options_work_after_the_subcommand(run):
    enroll(run)
    result = invoke(
        "partner", "show", "P1", "--on", "2020-06-01", "-o", "json", "--db", run.url
    )
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["period_start"] == "2020-01-31"


def test_actor_after_the_subcommand_makes_the_write(run):
    result = invoke(
        "--db", run.url, "-o", "json", "partner", "enroll", "P2", "--on",
        "2020-01-31", "--actor", "late@contoso.example",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["admins"] == ["late@contoso.example"]


def test_the_option_after_the_subcommand_wins_over_the_one_before(run):
    enroll(run)
    result = invoke(
        "-o", "csv", "--db", run.url, "partner", "show", "P1", "--on", "2020-06-01",
        "--output=json",
    )  # fmt: skip
    assert json.loads(result.stdout)["partner"] == "P1"


def test_global_options_between_group_and_command(run):
    enroll(run)
    result = invoke("partner", "-o", "json", "--db", run.url, "show", "P1")
    assert json.loads(result.stdout)["partner"] == "P1"


def test_environment_variables_still_set_the_global_options(run):
    enroll(run)
    result = invoke(
        "partner", "show", "P1", env={"LEDGER_DB": run.url, "LEDGER_OUTPUT": "json"}
    )
    assert json.loads(result.stdout)["partner"] == "P1"


def test_every_command_lists_the_global_options_in_its_help():
    result = invoke("report", "conflicts", "--help")
    assert "--db URL" in result.stdout and "-o, --output" in result.stdout
    assert "--actor EMAIL" in result.stdout


def test_a_command_added_later_gets_the_global_options_too(tmp_path):
    import click

    @click.command("probe-later")
    @click.pass_obj
    def probe(obj) -> None:
        """Print the output format (test only)."""
        click.echo(f"{obj.output} {obj.db}")

    cli.add_command(probe)
    try:
        result = invoke("probe-later", "-o", "csv", "--db", "sqlite:///x.db")
    finally:
        del cli.commands["probe-later"]
    assert result.stdout.strip() == "csv sqlite:///x.db"


def test_a_rule_refusal_after_the_subcommand_is_a_json_error_exit_1(run):
    enroll(run)
    result = invoke(
        "--db", run.url, "--actor", ACTOR, "partner", "renew", "P1", "--on",
        "2020-10-01", "-o", "json",
    )  # fmt: skip
    assert result.exit_code == 1
    error = json_error(result)
    assert (error["rule"], error["code"]) == ("R3", "before-renewal-start")
    assert "2020-11-02" in error["message"]


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (("partner", "show", "P1", "--bogus", "-o", "json"), "no-such-option"),
        (("-o", "json", "partner", "show"), "missing-parameter"),
        (("partner", "show", "P1", "--on", "2020-13-01", "-o", "json"),
         "bad-parameter"),
        (("-o", "json", "nonsense"), "usage"),
        (("--output=json", "--bogus", "partner"), "no-such-option"),
        (("report", "expiring", "--within", "-1", "-ojson"), "bad-parameter"),
    ],
)  # fmt: skip
def test_usage_errors_follow_o_json(args, code):
    result = invoke(*args)
    assert result.exit_code == 2
    error = json_error(result)
    assert (error["rule"], error["code"]) == ("usage", code)
    assert "Usage:" not in result.stderr


def test_usage_errors_follow_ledger_output_from_the_environment():
    result = invoke("partner", "show", "P1", "--bogus", env={"LEDGER_OUTPUT": "json"})
    assert json_error(result)["code"] == "no-such-option"


def test_a_usage_error_in_text_shows_the_banner_of_that_subcommand():
    result = invoke("partner", "show", "P1", "--on", "2020-13-01")
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert lines[0] == "Usage: ledger partner show [OPTIONS] PARTNER"
    assert lines[-1] == (
        "Error: Invalid value for '--on': '2020-13-01' is not a date of the form "
        "YYYY-MM-DD from 1900-01-01 to 2199-12-31"
    )
    assert "Commands:" not in result.stderr


def test_bad_input_from_the_ledger_is_exit_2_in_json_and_one_line_in_text(run):
    result = run("partner", "show", "NOPE")
    assert result.exit_code == 2
    assert json_error(result)["code"] == "unknown-partner"
    result = run("partner", "show", "NOPE", output="table")
    assert result.stderr == "Error: unknown partner 'NOPE'\n"


def test_an_internal_error_exits_70_with_one_json_line(run, monkeypatch):
    enroll(run)

    def boom(*args, **kwargs):
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(Ledger, "partner_show", boom)
    result = run("partner", "show", "P1", "--on", "2020-06-01")
    assert result.exit_code == 70
    assert json_error(result) == {
        "rule": "internal",
        "code": "internal-error",
        "message": "internal error (RuntimeError: boom)",
    }
    result = run("partner", "show", "P1", output="table")
    assert result.exit_code == 70
    assert result.stderr == "Error: internal error (RuntimeError: boom)\n"
    assert result.stdout == ""


def test_an_internal_error_in_a_write_exits_70_and_writes_nothing(run, monkeypatch):
    enroll(run)
    before = run.events()
    monkeypatch.setattr(Ledger, "save", lambda *a, **k: 1 / 0)
    result = run("partner", "renew", "P1", "--on", "2020-12-01")
    assert result.exit_code == 70
    assert json_error(result)["message"].startswith("internal error (ZeroDivisionError")
    assert run.events() == before


@pytest.mark.parametrize("output", ["json", "table"])
def test_a_corrupt_database_is_a_clear_exit_1(tmp_path, output):
    path = tmp_path / "corrupt.db"
    path.write_bytes(b"this is not an SQLite database, just some bytes" * 100)
    result = invoke("--db", f"sqlite:///{path}", "-o", output, "partner", "show", "P")
    assert result.exit_code == 1
    message = "the ledger database failed: file is not a database"
    if output == "json":
        assert json_error(result) == {
            "rule": "database",
            "code": "database-error",
            "message": message,
        }
    else:
        assert result.stderr == f"Error: {message}\n"


def test_an_unreachable_postgresql_server_is_a_clear_exit_1():
    url = "postgresql+psycopg://postgres@127.0.0.1:1/nothing?connect_timeout=2"
    result = invoke("--db", url, "-o", "json", "partner", "show", "P")
    assert result.exit_code == 1
    error = json_error(result)
    assert error["rule"] == "database"
    # worded as it was when SQLAlchemy opened every PostgreSQL ledger
    assert error["message"].startswith(
        "the ledger database failed: (psycopg.OperationalError) connection failed"
    )


def test_an_argument_that_is_not_utf8_is_bad_input_in_any_format():
    text = b"P\xff".decode("utf-8", "surrogateescape")  # as Python hands argv over
    result = invoke("-o", "json", "partner", "show", text)
    assert result.exit_code == 2
    assert json_error(result)["message"] == (
        "Invalid value for 'PARTNER': 'P\\udcff' is not a text of 1 to 200 "
        "printable characters"
    )
    result = invoke("audit", "history", text)
    assert result.exit_code == 2
    assert result.stderr.endswith(
        "Error: Invalid value for 'PARTNER': 'P\\udcff' is not a text of 1 to 200 "
        "printable characters\n"
    )


def test_undecodable_bytes_met_anywhere_are_bad_input_not_a_crash(run, monkeypatch):
    enroll(run)
    monkeypatch.setattr(
        Ledger, "partner_show", lambda *a: "P\udcff".encode()
    )  # as a file's undecodable byte would fail
    result = run("partner", "show", "P1")
    assert result.exit_code == 2
    assert json_error(result) == {
        "rule": "usage",
        "code": "not-utf8",
        "message": "the input holds bytes that are not UTF-8 text: 'utf-8' codec "
        "can't encode character '\\udcff' in position 1: surrogates not allowed",
    }
