"""What every write carries: its actor, effective date, request id, the
time the ledger records it (given by the caller: the domain reads no clock),
and the database login role that made it (None where there is none: SQLite)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any


@dataclass(frozen=True)
class Write:
    actor: str
    on: date
    recorded_at: datetime
    request_id: str | None = None
    login_role: str | None = None

    def event_fields(self) -> dict[str, Any]:
        return {
            "on": self.on,
            "actor": self.actor,
            "request_id": self.request_id,
            "timestamp": self.recorded_at,
            "login_role": self.login_role,
        }
