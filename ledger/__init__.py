"""An event-sourced ledger of partner-program benefits."""

from __future__ import annotations

__version__ = "0.1.0"
