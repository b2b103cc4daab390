"""One list of write commands (ledger/registry.py): the CLI, the import line
schema and the idempotency fingerprint all come from it."""

from __future__ import annotations

import click
import pytest

from commands.main import cli
from ledger.bulk.lines import COMMANDS as IMPORT_COMMANDS
from ledger.bulk.lines import command_line
from ledger.registry import PARTNER_SCOPES, WRITE_COMMANDS

NAMES = sorted(WRITE_COMMANDS)


def cli_command(name: str) -> click.Command:
    """The command a registry entry is typed as: `seat assign`, `void`,
    `ledger init`; `admin grant --ledger` is `admin grant` with an option."""
    command: click.Command = cli
    for word in name.split(" --")[0].removeprefix("ledger ").split(" "):
        assert isinstance(command, click.Group), name
        command = command.commands[word]
    return command


@pytest.mark.parametrize("name", NAMES)
def test_every_write_command_is_on_the_command_line_with_its_fields(name: str) -> None:
    spec = WRITE_COMMANDS[name]
    command = cli_command(name)
    params = {p.name: p for p in command.params}
    assert "Example:" in (command.help or "")
    if not spec.cli:
        return  # written by hand in commands/: its own tests cover it
    for field in spec.fields:
        param = params[field.name]
        assert isinstance(param, click.Option) == field.option
        assert param.required == field.required
    assert {"on", "request_id"} <= set(params)


@pytest.mark.parametrize("name", NAMES)
def test_every_partner_write_is_an_import_line_with_the_same_fields(name: str) -> None:
    spec = WRITE_COMMANDS[name]
    if spec.scope not in PARTNER_SCOPES:
        assert name not in IMPORT_COMMANDS  # ledger-wide writes are not imported
        return
    schema = IMPORT_COMMANDS[name]
    assert [*schema.required, *schema.optional] == [f.name for f in spec.fields]


def test_an_import_line_is_checked_by_the_registry_value_types() -> None:
    parsed = command_line(
        3,
        {
            "command": "seat assign",
            "partner": "P1",
            "benefit": "VS",
            "user": "Dev@Contoso.Example",
            "on": "2021-02-01",
        },
    )
    assert (parsed.command, parsed.fields, parsed.on.isoformat()) == (
        "seat assign",
        {"partner": "P1", "benefit": "VS", "email": "dev@contoso.example"},
        "2021-02-01",
    )


def test_the_fingerprint_is_the_command_its_partner_and_every_field() -> None:
    """The fingerprints stored by earlier versions stay equal: a re-run of an
    old import is still recognised as the same request."""
    enroll = WRITE_COMMANDS["partner enroll"]
    assert enroll.fingerprint_args(enroll.check({"partner": "P1"})) == {
        "command": "partner enroll",
        "partner": "P1",
        "name": None,
    }
    policy = WRITE_COMMANDS["policy set"]
    checked = policy.check({"name": "reassignment_days", "days": 60})
    assert policy.fingerprint_args(checked) == {
        "command": "policy set",
        "partner": "",
        "name": "reassignment_days",
        "days": 60,
    }
