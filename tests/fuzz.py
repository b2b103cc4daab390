"""A seeded fuzzer of the `ledger` command line, run in-process.

Every command path the CLI has (walked from the Click tree, so new commands
are fuzzed without listing them here) is invoked with arguments drawn from
pools of valid and malformed values: empty and over-long ids, control
characters, bytes that are not UTF-8 (as Python receives them from a shell:
lone surrogates), dates out of range or of other shapes, numbers beyond 64
bits, bad e-mails. `ledger import` gets malformed files (BOM, bad bytes, wrong
JSON types, huge numbers, unknown commands) among valid lines.

Each invocation must end with exit 0, 1 or 2, no uncaught exception and no
traceback, and a non-zero exit must leave the event count unchanged (an
import that stops at a rejected line may have written the lines before it:
exactly the events its report says it wrote).

    python -m tests.fuzz --db sqlite:////tmp/fuzz.db --seed 7 -n 20000
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import click
from click.testing import CliRunner

from commands import context
from commands.main import cli

ACTOR = "admin@contoso.example"
PARTNER = "DEMO-CONTOSO"
# Commands left out: `db` manages PostgreSQL roles of the whole cluster, and
# `projections follow` waits for new events until stopped.
SKIPPED = {("db",), ("projections", "follow")}

NUMBERS = [
    "1", "2", "5", "0", "-1", "3650", "3651", "36500", "1000000", "1000001",
    "2147483648", "9223372036854775807", "18446744073709551615",
    "99999999999999999999", "1e3", "1.5", "", "x", " 7", "٣",
]  # fmt: skip
DATES = [
    "2020-01-31", "2020-12-01", "2021-02-01", "2021-06-01", "2022-03-01",
    "1900-01-01", "2199-12-31", "9999-12-31", "0001-01-01", "1899-12-31",
    "2200-01-01", "2021-W01-1", "20210101  ", "2020-02-30", "2020-1-1", "",
    "x", "2021-02-01T00:00:00",
]  # fmt: skip
INSTANTS = [
    "2021-01-01T00:00:00+00:00", "0001-01-01T00:00:00+05:00",
    "9999-12-31T23:59:59-05:00", "2021-01-01", "x", "", "2021-13-01T00:00:00",
]  # fmt: skip
BAD_TEXT = [
    "", " ", "\x00", "\n", "P\udcff", "\udcff", "A" * 201, "-x", "--on", "💥", "a\tb",
]  # fmt: skip
EMAILS = [
    "dev@contoso.example", "DEV@Contoso.Example", ACTOR, "new@contoso.example",
    "not an email", "a@", "@b", "x@y", "\udcff@x.example", "a" * 250 + "@x.example",
    "",
]  # fmt: skip
POOLS: dict[str, list[str]] = {
    "partner": [PARTNER, PARTNER, "P1", "NOPE", "A" * 200, "demo-contoso"],
    "benefit": ["VS-2021", "AZURE-2020", "TECH", "B1", "VS-2021#1"],
    "seat": ["VS-2021#1", "VS-2021#2", "VS-2021#5", "VS-2021#6", "VS-2021#0",
             "VS-2021#01", "VS-2021#99999999999999999999", "#", "AZURE-2020#1"],
    "key": ["KEY-0001", "KEY-0002", "K" * 200],
    "tenant": ["contoso-demo", "t2"],
    "subscription": ["SUB-1", "SUB-2"],
    "sub": ["SUB-1", "SUB-2"],
    "product": ["Azure", "Visual Studio", "X"],
    "offer": ["azure-pass", "enterprise-agreement", "action-pack", "bogus"],
    "reason": ["typo", "wrong quantity"],
    "entity": ["seat:VS-2021#1", "benefit:VS-2021", "x"],
    "name": ["Contoso", "reassignment_days", "renewal_window_days",
             "expiring_soon_days", "user_assignment_grace_days", "coffee_days",
             "entitlements", "seats", "bogus"],
    "shell": ["bash", "zsh", "fish", "cmd"],
    "sha256": ["0" * 64, "zz", "A" * 64],
    "request_id": ["r1", "r2", "demo-1", "demo-2", "x" * 201],
    "role": ["ledger_reader"],
}  # fmt: skip
NUMBER_PARAMS = {
    "quantity", "licenses", "days", "position", "within", "limit", "offset",
    "after", "batch_size", "until_position",
}  # fmt: skip
EMAIL_PARAMS = {"email", "admin", "ledger_admin", "owner_email"}
LINE_FIELDS = (
    "benefit", "kind", "product", "quantity", "licenses", "email", "user",
    "source", "key", "tenant", "actor", "request_id",
)  # fmt: skip


def _pool(param: click.Parameter) -> list[str]:
    name = (param.name or "").removesuffix("_id").removesuffix("_code")
    if isinstance(param.type, click.Choice):
        return [*map(str, param.type.choices), "bogus"]
    if param.name in NUMBER_PARAMS or isinstance(
        param.type, (click.IntRange, click.FloatRange)
    ):
        return NUMBERS
    if param.name in EMAIL_PARAMS:
        return EMAILS
    if param.name in ("on", "as_of"):
        return DATES
    if param.name == "known_at":
        return INSTANTS
    return POOLS.get(name, ["x", "1"])


@dataclass
class Finding:
    args: list[str]
    exit_code: int
    problem: str

    def __str__(self) -> str:
        shown = " ".join(
            a if a and a.isprintable() and " " not in a else ascii(a) for a in self.args
        )
        return f"exit {self.exit_code}: {self.problem}\n    ledger {shown}"


@dataclass
class Fuzzer:
    url: str
    seed: int
    workdir: Path
    rnd: random.Random = field(init=False)
    runner: CliRunner = field(default_factory=CliRunner)
    findings: list[Finding] = field(default_factory=list)
    invocations: int = 0
    exits: dict[int, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.rnd = random.Random(self.seed)
        self.commands = list(_leaves(cli, ()))

    # -- drawing arguments ---------------------------------------------------

    def value(self, param: click.Parameter) -> str:
        """A value for a parameter: one of its pool, or any malformed one.
        Paths always lie in the work directory (a file named "\\n" too)."""
        roll = self.rnd.random()
        if param.name in ("file", "digest_file", "out"):
            if roll < 0.1:
                # no NUL: a command line can't carry one in a path
                return str(self.workdir / self.rnd.choice(BAD_TEXT[3:]))
            if param.name == "out":
                return str(self.workdir / f"out-{self.rnd.randrange(4)}")
            return str(self.a_file())
        if roll < 0.12:
            return self.rnd.choice(BAD_TEXT)
        if roll < 0.2:
            return self.rnd.choice(NUMBERS + DATES + EMAILS)
        return self.rnd.choice(_pool(param))

    def arguments(self, path: tuple[str, ...], command: click.Command) -> list[str]:
        args = list(path)
        options: list[list[str]] = []
        for param in command.params:
            if param.name in ("help", "db", "actor", "output"):
                continue
            required = param.required or isinstance(param, click.Argument)
            if self.rnd.random() < (0.04 if required else 0.6):
                continue  # leave it out (a required one now and then)
            if isinstance(param, click.Argument):
                count = param.nargs if param.nargs > 0 else self.rnd.randint(0, 3)
                args += [self.value(param) for _ in range(count)]
            elif isinstance(param, click.Option):
                flag = (
                    param.opts[-1] if param.opts[-1].startswith("--") else param.opts[0]
                )
                if param.is_flag:
                    options.append([flag])
                else:
                    options.append([flag, self.value(param)])
        self.rnd.shuffle(options)
        for option in options:
            args += option
        if self.rnd.random() < 0.03:
            args.append(self.rnd.choice([*BAD_TEXT, "extra"]))
        return args

    def global_options(self) -> list[str]:
        found = [
            "--db",
            self.url,
            "-o",
            self.rnd.choice(["json", "json", "table", "csv"]),
        ]
        roll = self.rnd.random()
        if roll < 0.75:
            found += ["--actor", ACTOR]
        elif roll < 0.95:
            found += ["--actor", self.rnd.choice(EMAILS + BAD_TEXT)]
        return found

    # -- import files ----------------------------------------------------------

    def a_file(self) -> Path:
        path = (
            self.workdir
            / f"in-{self.invocations}.{self.rnd.choice(['jsonl', 'csv', 'txt'])}"
        )
        lines = [self.a_line() for _ in range(self.rnd.randint(0, 6))]
        data = b"".join(lines)
        if self.rnd.random() < 0.2:
            data = b"\xef\xbb\xbf" + data
        if self.rnd.random() < 0.1:
            data = data[: self.rnd.randint(0, len(data))]
        path.write_bytes(data)
        return path

    def a_line(self) -> bytes:
        roll = self.rnd.random()
        if roll < 0.1:
            return b"partner,benefit,user,on\nP1,VS,a@x.example,2021-01-01\n"
        if roll < 0.15:
            return b'{"command": "partner enroll", "partner": "P\xff", "on": "2021"}\n'
        if roll < 0.2:
            return self.rnd.choice([b"{\n", b"[]\n", b"null\n", b"\n", b"\x00\n"])
        line: dict[str, Any] = {
            "command": self.rnd.choice(
                ["partner enroll", "benefit grant", "seat assign", "tenant add",
                 "key issue", "user add", "partner delete", "policy set", 7]
            ),
            "partner": self.rnd.choice(["IMP-1", PARTNER, "", 5, None, ["x"]]),
            "on": self.rnd.choice([*DATES, 20210101, None]),
        }  # fmt: skip
        for name in LINE_FIELDS:
            if self.rnd.random() < 0.4:
                line[name] = self.rnd.choice(
                    [*POOLS["benefit"], "product-key", "aad", ACTOR, "u@x.example",
                     1, 0, -1, 2**64 - 1, 10**30, "5", "18446744073709551616", 1.5,
                     True, None, {"a": 1}, "\udcff"]
                )  # fmt: skip
        return (
            json.dumps(line, ensure_ascii=self.rnd.random() < 0.5).encode(
                "utf-8", "surrogateescape"
            )
            + b"\n"
        )

    # -- running -----------------------------------------------------------------

    def events(self, app: Any) -> int:
        return int(app.event_rows.count_after(0))

    def invoke(self, app: Any, args: list[str]) -> Any:
        self.invocations += 1
        return self.runner.invoke(cli, args, catch_exceptions=True)

    def check(self, app: Any, args: list[str], before: int, result: Any) -> None:
        code = result.exit_code
        self.exits[code] = self.exits.get(code, 0) + 1
        error = result.exception
        if error is not None and not isinstance(error, SystemExit):
            self.found(args, code, f"uncaught {type(error).__name__}: {error}"[:300])
            return
        if code not in (0, 1, 2):
            self.found(args, code, f"exit code {code}: {result.stderr.strip()[:200]}")
        if "Traceback" in result.output or "Traceback" in result.stderr:
            self.found(args, code, "a traceback was printed")
        if code != 0:
            written = _import_written(args, result)
            after = self.events(app)
            if after != before + written:
                self.found(
                    args, code, f"{after - before} events written by a refused call"
                )

    def found(self, args: list[str], code: int, problem: str) -> None:
        self.findings.append(Finding(args, code, problem))

    def run(self, app: Any, count: int) -> None:
        self.invoke(app, ["--db", self.url, "init", "--admin", ACTOR])
        self.invoke(app, ["--db", self.url, "--actor", ACTOR, "demo"])
        while self.invocations < count:
            path, command = self.rnd.choice(self.commands)
            args = [*self.global_options(), *self.arguments(path, command)]
            before = self.events(app)
            self.check(app, args, before, self.invoke(app, args))


def _leaves(group: click.Command, path: tuple[str, ...]) -> Iterator[tuple]:
    if any(path[: len(s)] == s for s in SKIPPED):
        return
    if isinstance(group, click.Group):
        for name, sub in sorted(group.commands.items()):
            yield from _leaves(sub, (*path, name))
    else:
        yield path, group


def _import_written(args: list[str], result: Any) -> int:
    """The events an import says it wrote before it stopped (0 otherwise)."""
    if "import" not in args:
        return 0
    try:
        return int(json.loads(result.stdout).get("events_written", 0))
    except (ValueError, AttributeError):
        return 0


@contextmanager
def shared_app(url: str) -> Iterator[Any]:
    """One Ledger for every invocation: the CLI's `Context` hands it out
    instead of opening the database again each time (the fuzz is about the
    command line, not about connecting)."""
    from ledger.application import Ledger

    app = Ledger(url)
    with (
        mock.patch.object(context.Context, "app", property(lambda self: app)),
        mock.patch.object(context.Context, "close", lambda self: None),
    ):
        try:
            yield app
        finally:
            app.close()


def fuzz(url: str, seed: int, count: int, workdir: Path) -> Fuzzer:
    fuzzer = Fuzzer(url, seed, workdir)
    with shared_app(url) as app:
        fuzzer.run(app, count)
    return fuzzer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("-n", type=int, default=2000)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        fuzzer = fuzz(options.db, options.seed, options.n, Path(workdir))
    print(
        f"{fuzzer.invocations} invocations, exits {dict(sorted(fuzzer.exits.items()))}"
    )
    print(f"{len(fuzzer.findings)} findings")
    for finding in fuzzer.findings:
        print(f"- {finding}")
    sys.exit(1 if fuzzer.findings else 0)


if __name__ == "__main__":
    main()
