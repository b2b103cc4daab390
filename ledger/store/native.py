"""What the ledger's two native stores share: eventsourcing's factory for
recorders on one driver connection (ledger/store/sqlite.py on sqlite3,
ledger/store/postgres.py on psycopg). Each store gives its own database and
recorder classes; tables are named after the application, as
eventsourcing's own factories name them (`ledger_events`, `ledger_snapshots`)."""

from __future__ import annotations

from typing import Any

from eventsourcing.persistence import (
    AggregateRecorder,
    ApplicationRecorder,
    InfrastructureFactory,
    ProcessRecorder,
    TrackingRecorder,
)


def version_range(
    sql: str,
    mark: str,
    gt: int | None,
    lte: int | None,
    desc: bool,
    limit: int | None,
) -> tuple[str, list[Any]]:
    """An aggregate's events query (`sql` selects them by originator id)
    narrowed as eventsourcing's `select_events` asks: versions after `gt`, up
    to `lte`, in order (or the reverse), at most `limit`; the SQL with
    placeholders `mark` and the parameters after the originator id's."""
    params: list[Any] = []
    if gt is not None:
        sql += f" AND originator_version > {mark}"
        params.append(gt)
    if lte is not None:
        sql += f" AND originator_version <= {mark}"
        params.append(lte)
    sql += " ORDER BY originator_version" + (" DESC" if desc else "")
    if limit is not None:
        sql += f" LIMIT {mark}"
        params.append(limit)
    return sql, params


class NativeFactory(InfrastructureFactory[TrackingRecorder]):
    """A factory whose recorders share `self.database` (set by the store's
    own __init__) and make their tables when first made."""

    snapshot_recorder: type[Any]  # (database, table) -> the store's recorder
    event_recorder: type[Any]
    database: Any

    def _table(self, purpose: str) -> str:
        return f"{self.env.name.lower() or 'stored'}_{purpose}"

    def aggregate_recorder(self, purpose: str = "events") -> AggregateRecorder:
        recorder: Any = self.snapshot_recorder(self.database, self._table(purpose))
        recorder.create_table()
        return recorder

    def application_recorder(self) -> ApplicationRecorder:
        recorder: Any = self.event_recorder(self.database, self._table("events"))
        recorder.create_table()
        return recorder

    def tracking_recorder(
        self, tracking_recorder_class: type[TrackingRecorder] | None = None
    ) -> TrackingRecorder:
        raise NotImplementedError("projections track their positions themselves")

    def process_recorder(self) -> ProcessRecorder:
        raise NotImplementedError("the ledger runs no process applications")

    def close(self) -> None:
        self.database.close()
        super().close()
