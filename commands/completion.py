"""ledger completion bash | zsh | fish: the shell completion script."""

from __future__ import annotations

import click
from click.shell_completion import get_completion_class

SHELLS = ("bash", "zsh", "fish")


@click.command()
@click.argument("shell", type=click.Choice(SHELLS))
@click.pass_context
def completion(ctx: click.Context, shell: str) -> None:
    """Print the completion script for SHELL (commands, options, choices).

    Load it in the current shell, or save it where the shell looks for
    completions.

    \b
    Example:
      eval "$(ledger completion bash)"
      ledger completion zsh > ~/.zfunc/_ledger
      ledger completion fish > ~/.config/fish/completions/ledger.fish
    """
    root = ctx.find_root()
    script_class = get_completion_class(shell)
    if script_class is None:  # click knows each of SHELLS; kept for the type checker
        raise click.UsageError(f"no completion for {shell}")
    name = root.info_name or "ledger"
    script = script_class(
        root.command, {}, name, f"_{name.upper().replace('-', '_')}_COMPLETE"
    )
    click.echo(script.source())


COMMANDS = [completion]
