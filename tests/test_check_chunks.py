"""`audit check` compares partners a chunk at a time (memory stays flat);
its answer must be the one comparing everything at once gave. That check is
kept here as the reference, and both run over a sample history whose read
models were edited: rows gone, rows changed, rows of a partner the log never
enrolled, in chunks of every size."""

from __future__ import annotations

import shutil
import sqlite3
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pytest

import projections.check as check
from ledger.application import Ledger
from ledger.audit.replays import full_state, kept_events, partner_events, rebuild
from ledger.audit.trail import jsonable, partners
from ledger.bulk import sample
from ledger.bulk.importer import Options, import_file
from ledger.bulk.lines import ImportFile
from ledger.domain.deadlines import deadline_row, deadlines, partner_dates
from ledger.domain.reports import (
    conflict_rows,
    entitlement_rows,
    expiring_rows,
    reassignable_rows,
)
from projections.reports import Reports

ON = date(2020, 6, 1)


def reference_check(app: Any, on: date, within: int | None = None) -> dict[str, Any]:
    """The check as it was: every partner replayed, every row read, then
    compared as multisets."""
    within = app.within_days(on, within)
    names = partners(app)
    views: dict[str, list[Any]] = {
        v: [] for v in ("entitlements", "expiring", "reassignable", "conflicts")
    }
    views["deadlines"] = []
    for name in sorted(names.values()):
        state = full_state(app, name)
        views["entitlements"] += entitlement_rows(state, on)
        views["expiring"] += expiring_rows(state, on, within)
        views["reassignable"] += reassignable_rows(state, on)
        views["conflicts"] += conflict_rows(state)
        events = partner_events(app, name)
        if events[0].event.on <= on:
            folded, _ = rebuild(kept_events(events, on))
            views["deadlines"] += [
                deadline_row(d) for d in deadlines(partner_dates(folded, on))
            ]
    expected = app.reveal(views)
    reports = Reports(app)
    reports.catch_up()
    found = {
        "entitlements": list(reports.entitlements(None, on)),
        "expiring": list(reports.expiring(None, on, within)),
        "reassignable": list(reports.reassignable(None, on)),
        "conflicts": list(reports.conflicts(None)),
        "deadlines": [deadline_row(d) for d in reports.deadlines(None, on)],
    }

    def key(row: Any) -> str:
        return orjson.dumps(jsonable(row), option=orjson.OPT_SORT_KEYS).decode()

    diffs = []
    for view in expected:
        want = Counter(key(r) for r in expected[view])
        have = Counter(key(r) for r in found[view])
        for side, extra in (
            ("log only", want - have),
            ("projection only", have - want),
        ):
            for k in sorted(extra):
                row = orjson.loads(k)
                diffs.append(
                    {
                        "view": view,
                        "partner": row.get("partner"),
                        "in": side,
                        "row": row,
                    }
                )
    return {
        "ok": not diffs,
        "on": on.isoformat(),
        "within": within,
        "partners": len(names),
        "rows": {view: len(rows) for view, rows in expected.items()},
        "differences": diffs,
    }


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("checked")
    lines = folder / "history.jsonl"
    sample.write_jsonl(lines, 300, seed=3)
    path = folder / "ledger.db"
    app = Ledger(f"sqlite:///{path}")
    import_file(app, ImportFile(lines, "jsonl"), Options(actor=sample.ACTOR))
    Reports(app).rebuild()
    app.close()
    return path


def edit_read_models(path: Path) -> None:
    """Rows gone, rows moved to partners the log never enrolled, and one
    partner's dated facts moved whole to another never enrolled."""
    conn = sqlite3.connect(path)
    tables = [
        name
        for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
        if name.startswith("proj_") and "_partners_" not in name
    ]
    for table in tables:
        if table.startswith("proj_deadlines_"):
            conn.execute(
                f"UPDATE {table} SET partner = 'A-GHOST' WHERE partner = ?",
                ("MPN-000002",),
            )
            continue
        first = f"(SELECT min(rowid) FROM {table})"
        conn.execute(f"DELETE FROM {table} WHERE rowid IN {first}")
        for ghost, row in (
            ("MPN-GHOST", "max(rowid)"),
            ("AAA-GHOST", "min(rowid) + 3"),
        ):
            conn.execute(
                f"UPDATE {table} SET partner = ? WHERE rowid = "
                f"(SELECT {row} FROM {table})",
                (ghost,),
            )
    conn.commit()
    conn.close()


@pytest.mark.parametrize("edited", [False, True])
@pytest.mark.parametrize("size", [1, 2, 7, 10**6])
def test_a_check_by_chunks_answers_as_the_whole_check(
    imported: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    edited: bool,
    size: int,
) -> None:
    copy = tmp_path / "ledger.db"
    shutil.copy(imported, copy)
    if edited:
        edit_read_models(copy)
    app = Ledger(f"sqlite:///{copy}")
    try:
        expected = reference_check(app, ON)
        monkeypatch.setattr(check, "CHECK_PARTNERS", size)
        assert check.check(app, ON) == expected
        assert expected["ok"] is not edited
    finally:
        app.close()
