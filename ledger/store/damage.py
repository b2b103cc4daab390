"""Stored rows that are not what the ledger wrote.

The ledger writes an event's (and a snapshot's) state as bytes. A row whose
state comes back as anything else (e.g. after `UPDATE ... SET state =
CAST(state AS TEXT)` on SQLite) was edited behind the ledger's back: readers
say so by position instead of failing on the value.
"""

from __future__ import annotations

from typing import Any

from ledger.domain.errors import LedgerError


class DamagedEvent(LedgerError):
    """A stored event is not as the ledger wrote it (exit 1, names the position)."""

    rule = "audit"
    code = "changed"

    def __init__(self, position: int, why: str) -> None:
        super().__init__(
            f"position {position}: the stored event was changed ({why}); "
            "`ledger audit verify` with a saved digest tells what else changed"
        )
        self.position = position


def as_bytes(value: Any) -> bytes | None:
    """The stored state as bytes, or None when it is not stored as bytes."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, (memoryview, bytearray)):
        return bytes(value)
    return None


def state_bytes(position: int, value: Any) -> bytes:
    """The stored state as bytes; DamagedEvent naming the position otherwise."""
    found = as_bytes(value)
    if found is None:
        raise DamagedEvent(position, f"its state is stored as {kind(value)}, not bytes")
    return found


def kind(value: Any) -> str:
    return "text" if isinstance(value, str) else type(value).__name__
