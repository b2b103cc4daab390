"""Reading an import file into commands: JSON Lines, or CSV of seat assignments.

A JSON line names a CLI write command and its fields, with the CLI's own names
(arguments and options in lower case, dashes as underscores), e.g.

    {"command": "seat assign", "partner": "MPN-1", "benefit": "VS-2021",
     "user": "dev@contoso.com", "on": "2021-02-01", "request_id": "r-17"}

`on` is required (a re-run must be the same request, whatever day it runs);
`actor` and `request_id` are optional. A CSV file has the header
`partner,benefit,email,on` and one seat assignment per row.

The commands and their fields are those of the command registry
(ledger/registry.py), each value checked by its value type: anything
malformed (bad JSON, an unknown command or field, a missing field, a value
of the wrong type or out of its bound) raises ImportFileError naming the line.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Any

import orjson

from ledger.domain.errors import InvalidInput
from ledger.domain.values import DAY, EMAIL, NAME
from ledger.registry import PARTNER_SCOPES, WRITE_COMMANDS, Field, WriteCommand

CSV_HEADER = ["partner", "benefit", "email", "on"]
JSON_SUFFIXES = (".jsonl", ".ndjson", ".json")
FORMATS = ("jsonl", "csv")
DEFAULT_BATCH_SIZE = 5000  # 500 cost 1.3x one transaction; 5,000 cost 1.01x


class ImportFileError(InvalidInput):
    """The file itself can't be read or parsed: nothing is imported."""

    code = "unreadable-file"

    def __init__(self, line: int | None, message: str) -> None:
        super().__init__(f"line {line}: {message}" if line else message)
        self.line = line


@dataclass(frozen=True)
class Line:
    """One command of the file, checked and converted, ready to run."""

    number: int
    command: str
    fields: dict[str, Any]
    on: date
    actor: str | None
    request_id: str | None


# -- the commands: the write commands of the registry that act on a partner ---------


@dataclass(frozen=True)
class Spec:
    """The fields of one import line: its command's fields (required and
    optional) with their value types, and `on`, `actor` and `request_id`."""

    command: WriteCommand

    # computed once, read for every line
    @cached_property
    def required(self) -> dict[str, Field]:
        return {f.name: f for f in self.command.fields if f.required}

    @cached_property
    def optional(self) -> dict[str, Field]:
        return {f.name: f for f in self.command.fields if not f.required}

    @cached_property
    def fields(self) -> dict[str, Field]:
        """Every field a line of this command may have."""
        return {**self.required, **self.optional, **COMMON}

    @cached_property
    def keys(self) -> frozenset[str]:
        """The keys a line of this command may have."""
        return frozenset(self.fields) | {"command"}

    @cached_property
    def must_have(self) -> tuple[str, ...]:
        return (*self.required, "on")


COMMANDS: dict[str, Spec] = {
    name: Spec(command)
    for name, command in WRITE_COMMANDS.items()
    if command.scope in PARTNER_SCOPES  # ledger-wide writes are not imported
}
COMMON: dict[str, Field] = {
    "on": Field("on", DAY),
    "actor": Field("actor", EMAIL, required=False),
    "request_id": Field("request_id", NAME, required=False),
}


def command_line(number: int, record: Any) -> Line:
    """Check one decoded line against its command's fields and convert them."""
    if not isinstance(record, dict):
        raise ImportFileError(number, "a line must be a JSON object")
    name = record.get("command")
    found = COMMANDS.get(name) if isinstance(name, str) else None
    if found is None:
        raise ImportFileError(
            number, f"unknown command {name!r}; one of: {', '.join(COMMANDS)}"
        )
    if "user" in record:
        record = _user_as_email(number, found, dict(record))
    fields = found.fields
    if not record.keys() <= found.keys:
        unknown = record.keys() - found.keys
        raise ImportFileError(
            number, f"{name}: unknown field(s) {', '.join(sorted(unknown))}"
        )
    missing = [f for f in found.must_have if record.get(f) is None]
    if missing:
        raise ImportFileError(number, f"{name}: missing field(s) {', '.join(missing)}")
    given: dict[str, Any] = {}
    common: dict[str, Any] = {}
    try:  # in the line's order: the first bad value is the one named
        for field, value in record.items():
            if value is not None and field != "command":
                into = common if field in COMMON else given
                into[field] = fields[field].parse(value)
    except InvalidInput as error:
        raise ImportFileError(number, error.message) from None
    return Line(
        number,
        found.command.name,
        given,
        common["on"],
        common.get("actor"),
        common.get("request_id"),
    )


def _user_as_email(number: int, found: Spec, record: dict[str, Any]) -> dict[str, Any]:
    """`user` is accepted for `email` where a command names a user."""
    if "user" in record and "email" in found.required:
        if "email" in record:
            raise ImportFileError(number, "give either email or user, not both")
        record["email"] = record.pop("user")
    return record


# -- the two formats ---------------------------------------------------------------


def jsonl_lines(rows: Iterator[str]) -> Iterator[Line]:
    """Blank lines are skipped; line numbers count every line of the file."""
    for number, row in enumerate(rows, start=1):
        if not row.strip():
            continue
        try:
            record = orjson.loads(row)
        except orjson.JSONDecodeError as error:
            raise ImportFileError(number, f"not valid JSON ({error})") from None
        yield command_line(number, record)


def csv_lines(rows: Iterator[str]) -> Iterator[Line]:
    """Seat assignments; the header is line 1."""
    reader = csv.reader(rows)
    header = next(reader, None)
    if header != CSV_HEADER:
        raise ImportFileError(
            1,
            f"the CSV header must be exactly {','.join(CSV_HEADER)}, not "
            f"{','.join(header or [])!r}",
        )
    for row in reader:
        number = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(CSV_HEADER):
            raise ImportFileError(
                number, f"expected {len(CSV_HEADER)} cells, got {len(row)}"
            )
        yield command_line(
            number, {"command": "seat assign", **dict(zip(CSV_HEADER, row))}
        )


def file_format(path: Path, given: str | None) -> str:
    """The format given, or the one the file's extension names."""
    if given:
        return given
    if path.suffix.lower() == ".csv":
        return "csv"
    if path.suffix.lower() in JSON_SUFFIXES:
        return "jsonl"
    raise ImportFileError(
        None,
        f"can't tell the format of {path.name} from its extension: use "
        ".jsonl/.ndjson/.json or .csv, or pass --format",
    )


KEPT_LINES = 50_000  # at most this many parsed lines are kept (~35 MB)


@dataclass(frozen=True)
class ImportFile:
    """A file to import, which can be read more than once (check, then run)."""

    path: Path
    format: str

    def lines(self) -> Iterator[Line]:
        """The file's lines, parsed. A file of at most KEPT_LINES lines is
        parsed once: the first complete reading (the check before the run)
        keeps its lines for the next; a longer one is parsed each time, so
        memory holds one batch of it."""
        kept: list[Line] | None = getattr(self, "_kept", None)
        if kept is not None:
            yield from kept
            return
        parsed: list[Line] | None = []
        for line in self._parse():
            if parsed is not None:
                parsed.append(line)
                if len(parsed) > KEPT_LINES:
                    parsed = None
            yield line
        if parsed is not None:
            object.__setattr__(self, "_kept", parsed)  # frozen: a cache only

    def _parse(self) -> Iterator[Line]:
        parse = csv_lines if self.format == "csv" else jsonl_lines
        try:
            # utf-8-sig: a file may start with the byte order mark Excel writes
            with self.path.open(encoding="utf-8-sig", newline="") as handle:
                yield from parse(handle)
        except (OSError, UnicodeDecodeError) as error:
            raise ImportFileError(None, f"can't read {self.path}: {error}") from None

    def digest(self) -> str:
        """The sha256 of the file's bytes: the base of derived request ids."""
        sha = hashlib.sha256()
        try:
            with self.path.open("rb") as handle:
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    sha.update(chunk)
        except OSError as error:
            raise ImportFileError(None, f"can't read {self.path}: {error}") from None
        return sha.hexdigest()
