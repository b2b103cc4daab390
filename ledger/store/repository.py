"""Loading aggregates with corrections applied.

The library's Repository folds a snapshot (if any) and the events after it.
`VoidingRepository` folds them with `ledger.domain.corrections.fold`, which
skips voided events, and falls back to every event of the aggregate when a
void names an event older than the snapshot. Snapshots are taken through the
same `get` (Application.take_snapshot), so a snapshot taken after a void holds
the corrected state.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from eventsourcing.application import Repository

from ledger.domain.corrections import NeedsFullHistory, fold


def project(aggregate: Any, events: Iterable[Any]) -> Any:
    """A projector function (the library's signature) that skips voided events."""
    return fold(events, aggregate)


class VoidingRepository(Repository):
    def get(
        self, aggregate_id: Any, *, version: int | None = None, **kwargs: Any
    ) -> Any:
        # Whatever projector a caller names (the library's snapshotting passes
        # its plain one), voided events must be skipped.
        kwargs["projector_func"] = project
        try:
            return super().get(aggregate_id, version=version, **kwargs)
        except NeedsFullHistory:
            return fold(self.event_store.get(originator_id=aggregate_id, lte=version))
