"""Policy parameters: the decisions RULES.md makes where the FAQ is silent.

Values that shape a decision are copied into the event that records it, so a
replay always uses the policy that was in force when the event happened.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace


@dataclass(frozen=True)
class Policy:
    renewal_window_days: int = 90  # R3
    user_assignment_grace_days: int = 30  # R5
    reassignment_days: int = 90  # R14
    expiring_soon_days: int = 30  # R11

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    def with_value(self, name: str, days: int) -> Policy:
        return replace(self, **{name: days})

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


DEFAULT_POLICY = Policy()
