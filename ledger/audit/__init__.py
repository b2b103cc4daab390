"""Audit for compliance, read from the event log itself: history, as-of
replays, the hash chain (digest, verify) and export. (`audit check`, which
compares the read models with the log, lives with the read models:
projections/check.py.)"""

from __future__ import annotations

from ledger.audit.trail import (
    NotEnrolledAsOf,
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
    "digest",
    "export",
    "history",
    "history_row",
    "partners",
    "replay",
    "verify",
]
