"""Read models rebuilt from the ledger's events, and the reports over them."""

from __future__ import annotations

from projections.reports import Reports
from projections.runner import ProjectionFailed
from projections.tables import NAMES

__all__ = ["NAMES", "ProjectionFailed", "Reports"]
