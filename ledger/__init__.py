"""An event-sourced ledger of partner-program benefits."""

from __future__ import annotations

from ledger import quick_dataclasses  # noqa: F401 - before any dataclass of ours

__version__ = "0.1.0"
