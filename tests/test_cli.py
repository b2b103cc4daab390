"""The CLI contract: commands, JSON fields, exit codes, errors, help."""

from __future__ import annotations

import json

import click
import pytest

from commands.main import cli
from tests.conftest import ACTOR


def enroll(run, partner="P1", on="2020-01-31"):
    return run.json("partner", "enroll", partner, "--on", on)


def test_enroll_and_show_print_the_membership_fields(run):
    enrolled = enroll(run)
    assert {
        k: enrolled[k]
        for k in (
            "partner",
            "period_start",
            "renewal_date",
            "renewal_start_date",
            "benefit_expiry_date",
        )
    } == {
        "partner": "P1",
        "period_start": "2020-01-31",
        "renewal_date": "2021-01-31",
        "renewal_start_date": "2020-11-02",
        "benefit_expiry_date": "2021-01-31",
    }
    shown = run.json("partner", "show", "P1", "--on", "2020-06-01")
    assert (shown["status"], shown["admins"]) == ("active", [ACTOR])


def test_a_rule_violation_exits_1_with_a_json_error_and_records_nothing(run):
    enroll(run)
    before = run.events()
    result = run("partner", "renew", "P1", "--on", "2020-10-01")
    assert result.exit_code == 1
    error = json.loads(result.stderr)["error"]
    assert (error["rule"], error["code"]) == ("R3", "before-renewal-start")
    assert "2020-11-02" in error["message"]
    assert run.events() == before


def test_a_rule_violation_in_table_output_names_the_rule(run):
    enroll(run)
    result = run("partner", "renew", "P1", "--on", "2020-10-01", output="table")
    assert result.exit_code == 1
    assert "R3" in result.stderr and "2020-11-02" in result.stderr
    assert "Traceback" not in result.output + result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("partner", "enroll", "P2", "--on", "2020-13-01"),
        (
            "benefit",
            "grant",
            "P1",
            "B",
            "--kind",
            "gold",
            "--product",
            "X",
            "--quantity",
            "1",
            "--on",
            "2020-02-01",
        ),
        (
            "benefit",
            "grant",
            "P1",
            "B",
            "--kind",
            "technical",
            "--product",
            "X",
            "--quantity",
            "0",
            "--on",
            "2020-02-01",
        ),
        ("partner", "renew", "NOPE", "--on", "2020-12-01"),
        (
            "key",
            "redeem",
            "P1",
            "NOPE",
            "--tenant",
            "t",
            "--subscription",
            "s",
            "--mode",
            "new",
            "--on",
            "2020-12-01",
        ),
        (
            "key",
            "redeem",
            "P1",
            "K",
            "--tenant",
            "t",
            "--subscription",
            "s",
            "--mode",
            "swap",
            "--on",
            "2020-12-01",
        ),
        ("key", "issue", "P1", "B", "K", "--licenses", "0"),
        ("user", "add", "P1", "not-an-email", "--source", "aad"),
        ("user", "offer", "P1", "a@b.example", "free-lunch"),
    ],
)
def test_bad_input_exits_2_with_a_usage_message_and_records_nothing(run, args):
    enroll(run)
    before = run.events()
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert json.loads(result.stderr)["error"]["message"]
    result = run(*args, output="table")
    assert result.exit_code == 2, result.output
    assert "Error:" in result.stderr
    assert run.events() == before


def test_a_write_without_an_actor_exits_2(run):
    result = run("partner", "enroll", "P1", "--on", "2020-01-31", actor=None)
    assert result.exit_code == 2
    assert "actor" in result.stderr


def test_a_repeated_request_id_prints_the_first_answer_and_appends_nothing(run):
    args = ("partner", "enroll", "P1", "--on", "2020-01-31", "--request-id", "r1")
    first = run(*args)
    before = run.events()
    again = run(*args)
    assert again.exit_code == 0
    assert again.stdout == first.stdout
    assert run.events() == before
    other = run("partner", "enroll", "P2", "--on", "2020-01-31", "--request-id", "r1")
    assert other.exit_code == 1
    assert json.loads(other.stderr)["error"]["code"] == "request-id-reused"


def test_benefit_grant_and_activate_print_their_fields(run):
    enroll(run)
    granted = run.json(
        "benefit",
        "grant",
        "P1",
        "VS",
        "--kind",
        "user-subscription",
        "--product",
        "Visual Studio",
        "--quantity",
        "3",
        "--on",
        "2020-02-01",
    )
    assert {
        k: granted[k]
        for k in (
            "benefit",
            "kind",
            "product",
            "quantity",
            "benefit_expiry_date",
            "activate_by",
        )
    } == {
        "benefit": "VS",
        "kind": "user-subscription",
        "product": "Visual Studio",
        "quantity": 3,
        "benefit_expiry_date": "2021-01-31",
        "activate_by": "2021-03-02",
    }
    activated = run.json("benefit", "activate", "P1", "VS", "--on", "2020-02-02")
    assert activated["activated_on"] == "2020-02-02"


def test_key_redeem_and_subscription_show(run):
    enroll(run)
    run.json(
        "benefit",
        "grant",
        "P1",
        "AZ",
        "--kind",
        "product-key",
        "--product",
        "Azure",
        "--quantity",
        "10",
        "--on",
        "2020-02-01",
    )
    run.json("benefit", "activate", "P1", "AZ", "--on", "2020-02-01")
    run.json("tenant", "add", "P1", "demo", "--on", "2020-02-01")
    run.json("key", "issue", "P1", "AZ", "K1", "--licenses", "10", "--on", "2020-11-01")
    redeemed = run.json(
        "key",
        "redeem",
        "P1",
        "K1",
        "--tenant",
        "demo",
        "--subscription",
        "S1",
        "--mode",
        "new",
        "--on",
        "2020-12-01",
    )
    assert redeemed == {
        "key": "K1",
        "tenant": "demo",
        "subscription": "S1",
        "licenses": 10,
        "subscription_end": "2021-12-01",
        "mode": "new",
        "key_usable_until": "2021-12-01",
    }
    shown = run.json("subscription", "show", "P1", "S1", "--on", "2021-12-02")
    assert (shown["status"], shown["licenses"]) == ("expired", 10)
    late = run(
        "key",
        "redeem",
        "P1",
        "K1",
        "--tenant",
        "demo",
        "--subscription",
        "S2",
        "--mode",
        "new",
        "--on",
        "2020-12-02",
    )
    assert late.exit_code == 1 and json.loads(late.stderr)["error"]["rule"] == "R9"
    customer = run(
        "key",
        "redeem",
        "P1",
        "K1",
        "--tenant",
        "theirs",
        "--subscription",
        "S2",
        "--mode",
        "new",
        "--on",
        "2020-12-02",
    )
    assert customer.exit_code == 1


def test_seat_commands_print_the_seat_fields(run):
    run.json("partner", "enroll", "P1", "--on", "2020-06-01")
    run.json(
        "benefit",
        "grant",
        "P1",
        "VS",
        "--kind",
        "user-subscription",
        "--product",
        "VS",
        "--quantity",
        "1",
        "--on",
        "2020-06-01",
    )
    run.json("benefit", "activate", "P1", "VS", "--on", "2020-06-01")
    for email in ("a@contoso.example", "b@contoso.example"):
        run.json("user", "add", "P1", email, "--source", "aad", "--on", "2020-06-01")
    seat = run.json(
        "seat", "assign", "P1", "VS", "a@contoso.example", "--on", "2021-01-01"
    )
    assert seat == {
        "seat": "VS#1",
        "benefit": "VS",
        "user": "a@contoso.example",
        "state": "assigned",
        "assigned_on": "2021-01-01",
        "reassignable_on": "2021-04-01",
    }
    assert (
        run.json("seat", "sign-in", "P1", "VS#1", "--on", "2021-01-02")["state"]
        == "active"
    )
    early = run(
        "seat", "reassign", "P1", "VS#1", "b@contoso.example", "--on", "2021-03-31"
    )
    assert early.exit_code == 1
    assert "2021-04-01" in json.loads(early.stderr)["error"]["message"]
    moved = run.json(
        "seat", "reassign", "P1", "VS#1", "b@contoso.example", "--on", "2021-04-01"
    )
    assert (moved["user"], moved["state"]) == ("b@contoso.example", "assigned")
    assert (
        run.json("seat", "release", "P1", "VS#1", "--on", "2021-04-02")["state"]
        == "free"
    )


def test_ticket_open_prints_the_ticket_fields(run):
    enroll(run)
    run.json(
        "benefit",
        "grant",
        "P1",
        "SUP",
        "--kind",
        "technical",
        "--product",
        "Support",
        "--quantity",
        "1",
        "--on",
        "2020-02-01",
    )
    access_id = run.json("benefit", "activate", "P1", "SUP", "--on", "2020-02-01")[
        "access_id"
    ]
    ticket = run.json(
        "ticket", "open", "P1", "SUP", "--product", "SQL Server", "--on", "2020-03-01"
    )
    assert (ticket["access_id"], ticket["product"], ticket["incidents_left"]) == (
        access_id,
        "SQL Server",
        0,
    )
    assert ticket["ticket"]


def test_csv_output_has_a_header_row(run):
    enroll(run)
    result = run("partner", "show", "P1", "--on", "2020-06-01", output="csv")
    header, row = result.stdout.splitlines()[:2]
    assert header.startswith("partner,name,period_start")
    assert row.startswith("P1,P1,2020-01-31")


def _all_commands(group: click.Group, prefix: tuple[str, ...] = ()):
    for name, command in group.commands.items():
        path = (*prefix, name)
        yield path
        if isinstance(command, click.Group):
            yield from _all_commands(command, path)


@pytest.mark.parametrize("path", list(_all_commands(cli)), ids=" ".join)
def test_every_command_has_help_with_an_example(path):
    from click.testing import CliRunner

    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0
    command = cli
    for name in path:
        command = command.commands[name]
    if not isinstance(command, click.Group):
        assert "Example" in result.output, f"{' '.join(path)} --help has no example"


def test_version_and_root_help():
    from click.testing import CliRunner

    assert CliRunner().invoke(cli, ["--version"]).output.startswith("ledger, version")
    assert "--db" in CliRunner().invoke(cli, ["--help"]).output


@pytest.mark.parametrize(
    "url", ["sqlite:////nonexistent/dir/ledger.db", "nonsense://x"]
)
def test_a_database_that_cannot_be_opened_is_a_clean_error(url):
    from click.testing import CliRunner

    result = CliRunner().invoke(cli, ["--db", url, "partner", "show", "P1"])
    assert result.exit_code == 1
    assert "the ledger database failed" in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)
