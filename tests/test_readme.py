"""The README walk-through: every command the README shows is run, in order,
in-process, on a fresh SQLite file, and must exit as the README says and
print the output lines the README shows. The README can't drift from the
program.

What is taken from README.md (the comment at its top says the same):
- A command is a line of a code block (indented or fenced) that starts with
  `ledger ` (a trailing `\\` continues it on the next line). `export NAME=VALUE`
  and `unset NAME` lines in a block change the environment of later commands;
  other lines (`python3`, `psql`, `eval`...) are not run. `> FILE` writes the
  command's output to FILE; `# ...` after a command is a note.
- Lines starting with `# ` right after a command show its output: each must
  appear in what it printed (stdout or stderr, or its JSON on one line),
  `...` standing for anything and any run of spaces for any whitespace. A
  shown line starting with `Error:` means the command fails with exit 1;
  `# exit N` says the exit code outright. Otherwise a command exits 0.
- `<!-- walkthrough: skip (REASON) -->` before a block: its commands are not
  run (e.g. they need PostgreSQL), only checked to name existing commands.
- `<!-- walkthrough: file NAME -->` before a block: the block is the content
  of the file NAME, written where the commands run at that point.

It starts where the set-up line leaves a new machine: `ledger demo` recorded
into ./ledger.db.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from commands.main import cli

README = Path(__file__).resolve().parent.parent / "README.md"
MARKER = re.compile(r"<!--\s*walkthrough:\s*(skip|file)\b\s*(.*?)\s*-->")
SET_UP = ("python3 -m venv .venv && .venv/bin/pip install . && .venv/bin/ledger demo",)
GLOBAL_WITH_VALUE = ("-o", "--output", "--db", "--actor")
ENV_NAMES = ("LEDGER_DB", "LEDGER_ACTOR", "LEDGER_OUTPUT", "COLUMNS")


@dataclass
class Block:
    line: int  # 1-based line of the README where the block starts
    lines: list[str]
    marker: tuple[str, str] | None = None


@dataclass
class Step:
    line: int
    kind: str  # "run", "skip", "env", "file"
    text: str
    shown: list[str] = field(default_factory=list)
    content: str = ""


def blocks(text: str) -> list[Block]:
    """The code blocks of a Markdown text, indented or fenced, each with the
    walk-through marker written just before it (if any)."""
    found: list[Block] = []
    lines = text.splitlines()
    marker: tuple[str, str] | None = None
    i = 0
    while i < len(lines):
        line = lines[i]
        match = MARKER.search(line)
        if match:
            marker = (match.group(1), match.group(2).strip("() "))
        elif line.startswith("```"):
            end = next(
                j for j in range(i + 1, len(lines)) if lines[j].startswith("```")
            )
            found.append(Block(i + 2, lines[i + 1 : end], marker))
            marker, i = None, end
        elif line.startswith("    ") and (i == 0 or not lines[i - 1].strip()):
            end = i
            while end < len(lines) and (
                lines[end].startswith("    ") or not lines[end].strip()
            ):
                end += 1
            body = [raw[4:] for raw in lines[i:end]]
            while body and not body[-1].strip():
                body.pop()
            found.append(Block(i + 1, body, marker))
            marker, i = None, end - 1
        elif line.strip():
            marker = None  # a marker applies to the block right after it
        i += 1
    return found


def steps(text: str) -> list[Step]:
    """What the walk-through does, in README order."""
    result: list[Step] = []
    for block in blocks(text):
        kind, arg = block.marker or ("", "")
        if kind == "file":
            result.append(
                Step(block.line, "file", arg, content="\n".join(block.lines) + "\n")
            )
            continue
        last: Step | None = None
        pending = ""
        for offset, raw in enumerate(block.lines):
            line = pending + raw.strip()
            if line.endswith("\\"):
                pending = line[:-1].rstrip() + " "
                continue
            pending = ""
            number = block.line + offset
            if line.startswith("ledger "):
                last = Step(number, "skip" if kind == "skip" else "run", line)
                result.append(last)
            elif line.startswith("# ") and last is not None:
                last.shown.append(line[2:].strip())
            elif line.startswith(("export ", "unset ")) and kind != "skip":
                last = None
                result.append(Step(number, "env", line))
            else:
                last = None
    return result


def argv(step: Step) -> tuple[list[str], str | None]:
    """The arguments after `ledger`, and the file `> FILE` names (if any)."""
    words = shlex.split(step.text, comments=True)[1:]
    out = None
    if ">" in words:
        at = words.index(">")
        words, out = words[:at], words[at + 1]
    bad = [w for w in words if w in ("|", "&&", ";", ">>", "<") or "$" in w]
    assert not bad, (
        f"README line {step.line}: shell syntax {bad} can't be walked through"
    )
    return words, out


def expected_exit(step: Step) -> int:
    for shown in step.shown:
        if re.fullmatch(r"exit \d+", shown):
            return int(shown.split()[1])
    return 1 if any(s.startswith("Error:") for s in step.shown) else 0


def pattern(shown: str) -> re.Pattern[str]:
    parts = [re.escape(p) for p in shown.split("...")]
    text = ".*?".join(parts)
    return re.compile(re.sub(r"(\\ )+|\s+", r"\\s+", text), re.S)


def printed(stdout: str, stderr: str) -> list[str]:
    """What a command printed, as the README may show it: as printed, and
    the JSON of stdout, stderr or any of their lines on one line."""
    texts = [stdout, stderr]
    for text in (stdout, stderr, *stdout.splitlines(), *stderr.splitlines()):
        try:
            texts.append(json.dumps(json.loads(text), ensure_ascii=False))
        except ValueError:
            continue
    return texts


def resolves(words: list[str]) -> bool:
    """Whether WORDS name an existing command (after any global option)."""
    command: click.Command = cli
    i = 0
    while isinstance(command, click.Group) and i < len(words):
        word = words[i]
        if word in GLOBAL_WITH_VALUE:
            i += 2
            continue
        if word.startswith("-"):
            i += 1
            continue
        sub = command.commands.get(word)
        if sub is None:
            return False
        command, i = sub, i + 1
    return not isinstance(command, click.Group)


def test_the_set_up_lines_open_the_readme():
    text = README.read_text()
    first = [b for b in blocks(text) if b.lines][:2]
    assert first[0].lines[0] == SET_UP[0]
    assert (
        first[1]
        .lines[0]
        .startswith("python3 -m venv .venv && .venv/bin/pip install -e")
    )


def test_every_command_of_the_readme_runs_as_shown(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    env: dict[str, str | None] = {}
    runner = CliRunner()
    ran = 0
    first = runner.invoke(cli, ["demo"], catch_exceptions=False)  # the set-up line's
    assert first.exit_code == 0, first.stderr
    for step in steps(README.read_text()):
        where = f"README line {step.line}: {step.text}"
        if step.kind == "file":
            (tmp_path / step.text).write_text(step.content)
        elif step.kind == "env":
            verb, _, rest = step.text.partition(" ")
            name, _, value = rest.partition("=")
            env[name] = value if verb == "export" else None
        elif step.kind == "skip":
            assert resolves(argv(step)[0]), f"{where}: no such command"
        else:
            words, out = argv(step)
            result = runner.invoke(cli, words, env=env, catch_exceptions=False)
            if out is not None:
                (tmp_path / out).write_text(result.stdout)
            assert result.exit_code == expected_exit(step), (
                f"{where}\nexit {result.exit_code}\n{result.stdout}{result.stderr}"
            )
            texts = printed(result.stdout, result.stderr)
            for shown in step.shown:
                if re.fullmatch(r"exit \d+", shown):
                    continue
                assert any(pattern(shown).search(t) for t in texts), (
                    f"{where}\nshows: {shown}\nprinted:\n{result.stdout}{result.stderr}"
                )
            ran += 1
    assert ran >= 40


def test_the_walk_through_reads_markers_outputs_and_continuations():
    text = """
<!-- walkthrough: skip (needs PostgreSQL) -->

    ledger --db postgresql+psycopg://x/y demo

Some text.

    export LEDGER_ACTOR=a@b.example
    ledger partner show P \\
      --on 2020-01-01   # a note
    # Error: unknown ...
    # exit 2
    ledger -o json report conflicts > conflicts.json

<!-- walkthrough: file seats.csv -->
```
partner,benefit,email,on
```
"""
    found = steps(text)
    assert [(s.kind, s.text) for s in found] == [
        ("skip", "ledger --db postgresql+psycopg://x/y demo"),
        ("env", "export LEDGER_ACTOR=a@b.example"),
        ("run", "ledger partner show P --on 2020-01-01   # a note"),
        ("run", "ledger -o json report conflicts > conflicts.json"),
        ("file", "seats.csv"),
    ]
    assert found[2].shown == ["Error: unknown ...", "exit 2"]
    assert expected_exit(found[2]) == 2
    assert argv(found[3]) == (["-o", "json", "report", "conflicts"], "conflicts.json")
    assert found[4].content == "partner,benefit,email,on\n"
    assert pattern("status: ... expired").search("status:  it is\n expired")


@pytest.mark.parametrize(
    "words", [["partner", "show", "P"], ["-o", "json", "audit", "verify"]]
)
def test_a_skipped_command_must_still_name_a_command(words):
    assert resolves(words)
    assert not resolves(["partner"]) and not resolves(["nonsense", "x"])


def test_no_file_name_stands_for_two_things():
    written = [
        step.text if step.kind == "file" else argv(step)[1]
        for step in steps(README.read_text())
        if step.kind == "file" or (step.kind == "run" and argv(step)[1])
    ]
    assert written and len(written) == len(set(written)), written
