"""The write commands of the CLI, built from the command registry
(ledger/registry.py): one Click command per entry, in its group, with its
arguments, options, help text and example. Each parses its input, calls
`Ledger.run` and prints the answer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from commands.context import pass_context, write_options
from commands.output import emit
from commands.params import param_type
from ledger.registry import Field, WriteCommand, write_commands_of


def _param(field: Field) -> Callable[[Any], Any]:
    kind = param_type(field.value)
    if field.option:
        return click.option(
            f"--{field.name.replace('_', '-')}",
            field.name,
            required=field.required,
            type=kind,
            help=field.help,
        )
    return click.argument(field.name, metavar=field.metavar, type=kind)


def cli_command(spec: WriteCommand) -> click.Command:
    """The Click command of one registry entry."""

    def run(obj: Any, write: dict[str, Any], **fields: Any) -> None:
        emit(obj.output, obj.app.run(spec.name, **write, **fields))

    callback: Callable[..., Any] = write_options(pass_context(run))
    for field in reversed(spec.fields):
        callback = _param(field)(callback)
    return click.command(spec.verb, help=spec.help)(callback)


def add_write_commands(group: click.Group) -> None:
    """Add to `group` the write commands the registry lists for it."""
    for spec in write_commands_of(group.name):
        group.add_command(cli_command(spec))


def top_level_write_commands() -> list[click.Command]:
    """The write commands outside any group (`ledger void`)."""
    return [cli_command(spec) for spec in write_commands_of(None)]
