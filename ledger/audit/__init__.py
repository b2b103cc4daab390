"""Audit for compliance, read from the event log itself: history, as-of
replays, the hash chain (digest, verify) and export."""

from __future__ import annotations

from ledger.audit.trail import (
    NotEnrolledAsOf,
    check,
    digest,
    export,
    history,
    history_row,
    partners,
    replay,
    verify,
)

__all__ = [
    "NotEnrolledAsOf",
    "check",
    "digest",
    "export",
    "history",
    "history_row",
    "partners",
    "replay",
    "verify",
]
