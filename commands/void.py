"""ledger void: mend a mistake with a later event that says so (built from
ledger/registry.py)."""

from __future__ import annotations

from commands.writes import top_level_write_commands

COMMANDS = top_level_write_commands()
