"""Read models rebuilt from the ledger's events, and the reports over them.

`from projections import Reports` loads the storage stack on first use only,
so the CLI's help and its other commands stay quick to start.
"""

from __future__ import annotations

from typing import Any

NAMES = ("entitlements", "expiry", "seats", "conflicts", "deadlines", "voided")

__all__ = ["NAMES", "ProjectionFailed", "Reports"]


def __getattr__(name: str) -> Any:
    if name == "Reports":
        from projections.reports import Reports

        return Reports
    if name == "ProjectionFailed":
        from projections.runner import ProjectionFailed

        return ProjectionFailed
    raise AttributeError(f"module 'projections' has no attribute {name!r}")
