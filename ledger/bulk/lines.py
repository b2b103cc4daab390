"""Reading an import file into commands: JSON Lines, or CSV of seat assignments.

A JSON line names a CLI write command and its fields, with the CLI's own names
(arguments and options in lower case, dashes as underscores), e.g.

    {"command": "seat assign", "partner": "MPN-1", "benefit": "VS-2021",
     "user": "dev@contoso.com", "on": "2021-02-01", "request_id": "r-17"}

`on` is required (a re-run must be the same request, whatever day it runs);
`actor` and `request_id` are optional. A CSV file has the header
`partner,benefit,email,on` and one seat assignment per row.

Anything malformed (bad JSON, an unknown command or field, a missing field,
a bad date, number, e-mail or choice) raises ImportFileError naming the line.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import orjson

from ledger.domain.corrections import check_reason
from ledger.domain.dates import parse_date
from ledger.domain.errors import InvalidInput
from ledger.domain.rules import BENEFIT_KINDS, OFFERS, REDEEM_MODES

CSV_HEADER = ["partner", "benefit", "email", "on"]
JSON_SUFFIXES = (".jsonl", ".ndjson", ".json")
FORMATS = ("jsonl", "csv")
DEFAULT_BATCH_SIZE = 500


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


# -- field values ----------------------------------------------------------------


def text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{value!r} is not a non-empty text")
    return value


def count(value: Any) -> int:
    """A whole number >= 1, given as a number or as digits (as on the CLI)."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{value!r} is not a whole number >= 1")
    return value


def email(value: Any) -> str:
    """An e-mail address, lower-cased, checked as the CLI checks it."""
    local, _, domain = text(value).partition("@")
    if not local or "." not in domain or " " in value:
        raise ValueError(f"{value!r} is not an e-mail address")
    return value.lower()


def offer(value: Any) -> str:
    if value in OFFERS or (
        isinstance(value, str) and value.startswith("other:") and len(value) > 6
    ):
        return value
    raise ValueError(f"{value!r} is not one of {', '.join(OFFERS)} or other:NAME")


def position(value: Any) -> int:
    """An event's position in the log: a JSON integer, as `audit history`
    prints it."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{value!r} is not an integer position")
    return value


def reason(value: Any) -> str:
    """A void's reason, bounded as on the CLI."""
    try:
        return check_reason(value)
    except InvalidInput as error:
        raise ValueError(error.message) from None


def choice(*allowed: str) -> Callable[[Any], str]:
    def convert(value: Any) -> str:
        if value not in allowed:
            raise ValueError(f"{value!r} is not one of {', '.join(allowed)}")
        return value

    return convert


def a_date(value: Any) -> date:
    try:
        return parse_date(text(value))
    except ValueError:
        raise ValueError(f"{value!r} is not a date of the form YYYY-MM-DD") from None


# -- the commands ------------------------------------------------------------------


@dataclass(frozen=True)
class Spec:
    """A write command: the Ledger method it calls, its required and optional
    fields with their converters."""

    method: str
    required: dict[str, Callable[[Any], Any]]
    optional: dict[str, Callable[[Any], Any]]


def spec(method: str, optional: dict | None = None, **required: Callable) -> Spec:
    return Spec(method, {"partner": text, **required}, optional or {})


COMMANDS: dict[str, Spec] = {
    "partner enroll": spec("enroll", {"name": text}),
    "partner renew": spec("renew"),
    "admin grant": spec("grant_admin", email=text),
    "admin revoke": spec("revoke_admin", email=text),
    "benefit grant": spec(
        "grant_benefit",
        benefit=text,
        kind=choice(*BENEFIT_KINDS),
        product=text,
        quantity=count,
    ),
    "benefit activate": spec("activate_benefit", benefit=text),
    "tenant add": spec("add_tenant", tenant=text),
    "key issue": spec("issue_key", benefit=text, key=text, licenses=count),
    "key redeem": spec(
        "redeem_key",
        key=text,
        tenant=text,
        subscription=text,
        mode=choice(*REDEEM_MODES),
    ),
    "user add": spec("add_user", email=email, source=choice("user-management", "aad")),
    "user offer": spec("record_offer", email=email, offer=offer),
    "seat assign": spec("assign_seat", benefit=text, email=email),
    "seat sign-in": spec("sign_in", seat=text),
    "seat reassign": spec("reassign_seat", seat=text, email=email),
    "seat release": spec("release_seat", seat=text),
    "ticket open": spec("open_ticket", benefit=text, product=text),
    "void": spec("void", position=position, reason=reason),
}
COMMON = ("command", "on", "actor", "request_id")


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
    record = _user_as_email(number, found, dict(record))
    unknown = set(record) - set(COMMON) - set(found.required) - set(found.optional)
    if unknown:
        raise ImportFileError(
            number, f"{name}: unknown field(s) {', '.join(sorted(unknown))}"
        )
    missing = [f for f in (*found.required, "on") if record.get(f) is None]
    if missing:
        raise ImportFileError(number, f"{name}: missing field(s) {', '.join(missing)}")
    converters = {
        **found.required,
        **found.optional,
        "on": a_date,
        "actor": text,
        "request_id": text,
    }
    values = {}
    for field, value in record.items():
        if field != "command" and value is not None:
            values[field] = _convert(number, field, converters[field], value)
    return Line(
        number,
        name,
        {f: values[f] for f in values if f not in COMMON},
        values["on"],
        values.get("actor"),
        values.get("request_id"),
    )


def _user_as_email(number: int, found: Spec, record: dict[str, Any]) -> dict[str, Any]:
    """`user` is accepted for `email` where a command names a user."""
    if "user" in record and "email" in found.required:
        if "email" in record:
            raise ImportFileError(number, "give either email or user, not both")
        record["email"] = record.pop("user")
    return record


def _convert(number: int, field: str, convert: Callable[[Any], Any], value: Any) -> Any:
    try:
        return convert(value)
    except ValueError as error:
        raise ImportFileError(number, f"{field}: {error}") from None


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


@dataclass(frozen=True)
class ImportFile:
    """A file to import, which can be read more than once (check, then run)."""

    path: Path
    format: str

    def lines(self) -> Iterator[Line]:
        parse = csv_lines if self.format == "csv" else jsonl_lines
        try:
            with self.path.open(encoding="utf-8", newline="") as handle:
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
