"""The errors the ledger raises, one class per way a request can fail.

RuleViolation: a write breaks a rule of RULES.md (exit 1 at the CLI).
Conflict: another write changed the same partner at the same moment (exit 1).
InvalidInput / NotFound: the request itself is malformed or names nothing (exit 2).
"""

from __future__ import annotations


class LedgerError(Exception):
    rule: str | None = None
    code: str = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def as_dict(self) -> dict[str, str | None]:
        return {"rule": self.rule, "code": self.code, "message": self.message}


class RuleViolation(LedgerError):
    """A write that breaks a rule; names the rule and the dates or counts."""

    def __init__(self, rule: str, code: str, message: str) -> None:
        super().__init__(f"{message} (rule {rule})")
        self.rule = rule
        self.code = code


class Conflict(LedgerError):
    code = "conflict"
    rule = "concurrency"


class InvalidInput(LedgerError):
    code = "invalid-input"


class NotFound(InvalidInput):
    def __init__(self, what: str, name: str) -> None:
        super().__init__(f"unknown {what} {name!r}")
        self.code = f"unknown-{what.replace(' ', '-')}"


class RefusedBefore(LedgerError):
    """A request id whose first copy was refused: the same refusal again."""

    def __init__(self, rule: str | None, code: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule
        self.code = code
