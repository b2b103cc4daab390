"""Click parameter types built on the domain's value types: the command line
refuses what the application refuses, with the same bound (exit 2)."""

from __future__ import annotations

from typing import Any

import click

from ledger.domain.values import OutOfBounds, Value, Whole, shown


class ValueType(click.ParamType):
    """A parameter checked by a domain value type (ledger/domain/values.py)."""

    def __init__(self, value: Value[Any]) -> None:
        self.value = value
        self.name = value.metavar

    def convert(self, raw: Any, param: Any, ctx: Any) -> Any:
        try:
            return self.value.parse(raw, self.name)
        except OutOfBounds:
            self.fail(f"{shown(raw)} is not {self.value.bound}", param, ctx)


class WholeType(click.IntRange):
    """A whole number within a domain bound; the help shows the range."""

    def __init__(self, value: Whole) -> None:
        super().__init__(value.least, value.most)
        self.value = value

    def convert(self, raw: Any, param: Any, ctx: Any) -> Any:
        try:
            return self.value.parse_digits(raw, self.name)
        except OutOfBounds:
            self.fail(f"{shown(raw)} is not {self.value.bound}", param, ctx)


def param_type(value: Value[Any]) -> click.ParamType:
    """The Click type of a value: a choice stays a click.Choice (its help
    lists the words), a number an IntRange (its help shows the range)."""
    from ledger.domain.values import Choice

    if isinstance(value, Choice):
        return click.Choice(value.choices)
    if isinstance(value, Whole):
        return WholeType(value)
    return ValueType(value)
