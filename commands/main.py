"""The root `ledger` group, and the one boundary where every error becomes
an exit code and a message in the format asked for:

    exit 1   a rule refused (LedgerError), or the database failed
    exit 2   bad input: a usage error or InvalidInput
    exit 70  anything else, an internal error: one line, never a traceback

With `-o json` every error is `{"error": {"rule", "code", "message"}}` on
stderr; otherwise `Error: message` (after the usage banner of the command
that was misused, for a usage error)."""

from __future__ import annotations

import atexit
import gc
import importlib
import os
import sys
import threading
from collections.abc import Iterator, MutableMapping, Sequence
from typing import Any, NoReturn

import click
import orjson

from commands.context import (
    OUTPUT_FORMATS,
    Context,
    add_global_options,
    root_global_options,
)
from ledger import __version__
from ledger.domain.errors import InvalidInput, LedgerError

EXIT_RULE, EXIT_INPUT, EXIT_INTERNAL, EXIT_INTERRUPTED = 1, 2, 70, 130
USAGE_CODES = (
    (click.NoSuchOption, "no-such-option"),
    (click.BadOptionUsage, "bad-option"),
    (click.MissingParameter, "missing-parameter"),
    (click.BadParameter, "bad-parameter"),
    (click.BadArgumentUsage, "bad-argument"),
    (click.UsageError, "usage"),
)


# Every top-level command and the module under commands/ that defines it (in
# its COMMANDS), in the order `--help` used to list them. A module is imported
# when one of its commands is first looked up, so a command loads only what it
# uses (tests/test_cli_usage.py checks this table against the modules).
COMMAND_MODULES = {
    "partner": "partner",
    "init": "admin",
    "admin": "admin",
    "benefit": "benefit",
    "tenant": "tenant",
    "key": "key",
    "subscription": "key",
    "user": "user",
    "seat": "seat",
    "ticket": "ticket",
    "void": "void",
    "policy": "policy",
    "demo": "demo",
    "import": "importer",
    "audit": "audit",
    "report": "report",
    "projections": "projections",
    "completion": "completion",
    "db": "db",
}


class LazyCommands(MutableMapping[str, click.Command]):
    """A group's commands by name, each module imported on first access."""

    def __init__(self, modules: dict[str, str]) -> None:
        self._modules = dict(modules)  # name -> module, until imported
        self._commands: dict[str, click.Command | None] = dict.fromkeys(modules)

    def __getitem__(self, name: str) -> click.Command:
        command = self._commands[name]
        if command is None:
            module = importlib.import_module(f"commands.{self._modules[name]}")
            for found in module.COMMANDS:
                self._modules.pop(found.name, None)
                self._commands[found.name] = found
            command = self._commands[name]
            if command is None:
                raise KeyError(name)
        return command

    def __setitem__(self, name: str, command: click.Command) -> None:
        self._modules.pop(name, None)
        self._commands[name] = command

    def __delitem__(self, name: str) -> None:
        self._modules.pop(name, None)
        del self._commands[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._commands)

    def __len__(self) -> int:
        return len(self._commands)


class LedgerGroup(click.Group):
    """The root group: every command it holds, now or added later, takes the
    global options too, and `main` is the error boundary."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        return add_global_options(command) if command is not None else None

    def invoke(self, ctx: click.Context) -> None:
        """Run the command; only an exit code, never a result, comes back."""
        super().invoke(ctx)

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        if not isinstance(extra.get("obj"), Context):
            extra["obj"] = Context()
        return super().make_context(info_name, args, parent, **extra)

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        argv = list(sys.argv[1:] if args is None else args)
        obj = extra.pop("obj", None)
        obj = obj if isinstance(obj, Context) else Context(output=_env_output())
        try:
            code = super().main(argv, prog_name, complete_var, False, obj=obj, **extra)
        except Exception as error:  # the boundary: nothing passes it unreported
            _fail(_error_format(argv, obj), error)
        sys.exit(code if isinstance(code, int) else 0)


def _fail(fmt: str, error: Exception) -> NoReturn:
    """Print ERROR as the format asks and exit with its code."""
    code, detail = _classify(error)
    detail["message"] = _printable(detail["message"])
    if fmt == "json":
        click.echo(orjson.dumps({"error": detail}).decode(), err=True)
    elif isinstance(error, click.UsageError) and error.ctx is not None:
        click.echo(f"{error.ctx.get_usage()}\n{_hint(error.ctx)}\n", err=True)
        click.echo(f"Error: {detail['message']}", err=True)
    else:
        click.echo(f"Error: {detail['message']}", err=True)
    sys.exit(code)


def _hint(ctx: click.Context) -> str:
    return f"Try '{ctx.command_path} --help' for help."


def _printable(text: str) -> str:
    """TEXT with any byte of the command line that was not UTF-8 shown as an
    escape, so that the error itself can always be printed."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _classify(error: Exception) -> tuple[int, dict[str, Any]]:
    """(exit code, {rule, code, message}) for any error."""
    if isinstance(error, InvalidInput):
        return EXIT_INPUT, error.as_dict()
    if isinstance(error, LedgerError):
        return EXIT_RULE, error.as_dict()
    if isinstance(error, click.UsageError):
        code = next(c for cls, c in USAGE_CODES if isinstance(error, cls))
        return error.exit_code, _detail("usage", code, error.format_message())
    if isinstance(error, click.Abort):
        return EXIT_INTERRUPTED, _detail(None, "aborted", "aborted")
    if isinstance(error, click.ClickException):
        return error.exit_code, _detail(None, "error", error.format_message())
    if _is_undecodable_input(error):
        return EXIT_INPUT, _detail(
            "usage",
            "not-utf8",
            f"the input holds bytes that are not UTF-8 text: {_first_line(error)}",
        )
    if _is_database_error(error):
        return EXIT_RULE, _translated(error).as_dict()
    return EXIT_INTERNAL, _detail(
        "internal",
        "internal-error",
        f"internal error ({type(error).__name__}: {_first_line(error)})",
    )


def _detail(rule: str | None, code: str, message: str) -> dict[str, Any]:
    return {"rule": rule, "code": code, "message": message}


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0][:300] if text else type(error).__name__


def _translated(error: Exception) -> LedgerError:
    """A database error that no store boundary translated, translated here."""
    from ledger.store.errors import translated

    return translated(error)


def _is_undecodable_input(error: Exception) -> bool:
    """Text carrying bytes that were not UTF-8 (Python keeps them as lone
    surrogates from the command line or a file): bad input, whatever command
    met it first."""
    return isinstance(error, UnicodeEncodeError) and any(
        "\udc80" <= ch <= "\udcff" for ch in str(error.object)
    )


def _is_database_error(error: Exception) -> bool:
    """Storage failures, told apart without importing the storage stack up front."""
    from ledger.store.errors import is_database_error

    return is_database_error(error)


def _error_format(argv: list[str], obj: Context) -> str:
    """The format for an error: the last -o/--output on the command line
    (found even when parsing stopped before reaching it), else the one the
    options or LEDGER_OUTPUT chose."""
    found = None
    for i, arg in enumerate(argv):
        if arg == "--":
            break
        value = None
        if arg in ("-o", "--output"):
            value = argv[i + 1] if i + 1 < len(argv) else None
        elif arg.startswith("--output="):
            value = arg.partition("=")[2]
        elif arg.startswith("-o"):
            value = arg[2:]
        if value in OUTPUT_FORMATS:
            found = value
    return found or obj.output


def _env_output() -> str:
    env = os.environ.get("LEDGER_OUTPUT", "")
    return env if env in OUTPUT_FORMATS else "table"


@click.group(
    "ledger", cls=LedgerGroup, context_settings={"help_option_names": ["-h", "--help"]}
)
@root_global_options
@click.version_option(__version__, prog_name="ledger")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """An event-sourced ledger of partner-program benefits.

    Every write is an immutable event; reports and audits are rebuilt from them.
    The global options (--db, --actor, -o) go before or after the subcommand.

    \b
    Example:
      ledger --actor ops@contoso.com partner enroll MPN-1 --on 2020-01-31
      ledger partner show MPN-1 --on 2020-12-01 -o json
    """
    ctx.call_on_close(ctx.find_object(Context).close)  # type: ignore[union-attr]


cli.commands = LazyCommands(COMMAND_MODULES)


def main() -> None:
    try:
        cli(prog_name="ledger")
    except SystemExit as done:
        _exit(done)
    finally:
        # The application is closed (call_on_close); what is left is freed by
        # the process ending. Freezing the heap skips a last full garbage
        # collection of objects that would be dropped anyway.
        gc.freeze()


def _exit(done: SystemExit) -> NoReturn:
    """End the process with DONE's exit code, skipping the interpreter's
    teardown (freeing every module and object one by one, a large part of a
    short command's time): the application is closed by now, so what is left
    is the exit handlers and the output, run and flushed here as the
    interpreter would. Anything unusual (another thread still running, an
    exit that is not a code, output that can't be flushed, a profiler or a
    tracer that writes its report at exit) takes the usual way out."""
    code = 0 if done.code is None else done.code
    watched = sys.getprofile() is not None or sys.gettrace() is not None
    if not isinstance(code, int) or threading.active_count() > 1 or watched:
        raise done
    gc.freeze()
    atexit._run_exitfuncs()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:
        raise done from None
    os._exit(code)
