"""The audit walk reads raw rows, decodes without building events and
follows only the aggregates whose versions are out of order (memory stays
flat); it must find exactly what the walk it replaced found. That walk is
kept here as the reference (Row by Row through EventRows, every event through
eventsourcing's mapper, every aggregate's last version in a dict), and both
run over sample histories, an old ledger, and logs edited behind the
ledger's back: same head, same chain at the digest's position, same
problems in the same order, same chain hashes recorded."""

from __future__ import annotations

import hashlib
import shutil
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson
import pytest
from eventsourcing.persistence import Mapper, StoredEvent
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.application import Ledger
from ledger.audit import ahead, chain
from ledger.audit.walk import GENESIS, Linker, Problem, Walk, canonical, link
from ledger.bulk import sample
from ledger.bulk.importer import Options, import_file
from ledger.bulk.lines import ImportFile
from ledger.store.decoding import EventStates
from ledger.store.events import Row
from ledger.store.scan import originator_text
from ledger.store.transcoder import OrjsonTranscoder, _decode, decode_state
from tests.conftest import ACTOR, d
from tests.test_tamper import database

DATA = Path(__file__).parent / "data"
LINES = 600  # each stores its event and its request record


# -- the walk this one replaced (the reference) ---------------------------------------


class ReferenceWalk:
    def __init__(self, app: Any, upto: int | None, page: int) -> None:
        self.app, self.upto, self.page = app, upto, page
        self.walk = Walk()
        self.versions: dict[bytes, int] = {}
        self.recorded = chain.chain_table(app).recorded()
        self.pending = next(self.recorded, None)
        self.chain_broken = False
        self.new: list[tuple[int, bytes]] = []

    def check(self, row: Row) -> Problem | None:
        if not isinstance(row.state, (bytes, memoryview, bytearray)):
            self.version(row)
            kind = "text" if isinstance(row.state, str) else type(row.state).__name__
            return Problem(
                row.position,
                "changed",
                f"position {row.position}: the stored event was changed (its "
                f"state is stored as {kind}, not bytes)",
            )
        try:
            self.app.mapper.to_domain_event(row.stored())
        except Exception as error:
            return Problem(
                row.position,
                "undecodable",
                f"position {row.position}: the stored event does not "
                f"decode ({type(error).__name__})",
            )
        return self.version(row)

    def version(self, row: Row) -> Problem | None:
        key = row.originator_id.bytes
        last = self.versions.get(key, 0)
        self.versions[key] = max(last, row.originator_version)
        if row.originator_version == last + 1:
            return None
        return Problem(
            row.position,
            "version-sequence",
            f"position {row.position}: aggregate {row.originator_id} has version "
            f"{row.originator_version} after version {last} (expected {last + 1}): "
            "an event of this aggregate is missing, added or moved",
        )

    def missing_before(self, position: int | None) -> None:
        while self.pending is not None and (
            position is None or self.pending[0] < position
        ):
            gone = self.pending[0]
            self.note(gone, self.pending[1])
            self.broken(
                Problem(
                    gone,
                    "missing",
                    f"position {gone} was digested but is no longer in the log",
                )
            )
            self.pending = next(self.recorded, None)

    def broken(self, problem: Problem) -> None:
        if not self.chain_broken:
            self.chain_broken = True
            self.walk.add(replace(problem, against_table=True))

    def note(self, position: int, digest: bytes) -> None:
        self.walk.recorded_through = position
        if position == self.upto:
            self.walk.recorded_at = digest

    def step(self, row: Row) -> None:
        self.missing_before(row.position)
        problem = self.check(row)
        if problem is not None:
            self.walk.add(problem)
        walk = self.walk
        walk.head = link(walk.head, row)
        walk.head_position = row.position
        walk.events += 1
        if self.upto is not None and row.position <= self.upto:
            walk.at_position, walk.at_hash = row.position, walk.head
        position, head = row.position, walk.head
        if self.pending is not None and self.pending[0] == position:
            self.note(position, self.pending[1])
            if self.pending[1] != head:
                self.broken(
                    Problem(
                        position,
                        "changed",
                        f"position {position} differs from the event digested "
                        "there (changed, replaced or moved)",
                    )
                )
            self.pending = next(self.recorded, None)
        elif self.pending is not None:
            self.broken(
                Problem(
                    position,
                    "inserted",
                    f"position {position} was not in the log when it was "
                    "digested (inserted)",
                )
            )
        elif position > walk.recorded_through:
            self.new.append((position, head))

    def run(self, record: bool) -> tuple[Walk, list[list[tuple[int, bytes]]]]:
        """The walk, and the batches of hashes it would have recorded."""
        kept: list[list[tuple[int, bytes]]] = []
        for row in self.app.event_rows.all(None, self.page):
            self.step(row)
            if record and len(self.new) >= self.page and not self.walk.problems:
                kept.append(self.new)
                self.new = []
        self.missing_before(None)
        if record and not self.walk.problems and self.new:
            kept.append(self.new)
        return self.walk, kept


def same_walks(
    app: Any, monkeypatch: pytest.MonkeyPatch, upto: int | None = None, page: int = 1000
) -> None:
    """The walk finds what the reference finds and, recording, records the
    same chain hashes in the same batches."""
    from ledger.store.chain_table import ChainTable

    batches: list[list[tuple[int, bytes]]] = []
    record = ChainTable.record

    def kept(table: ChainTable, hashes: list[tuple[int, bytes]]) -> None:
        if hashes:
            batches.append(list(hashes))
        record(table, hashes)

    with monkeypatch.context() as patch:
        patch.setattr(chain, "PAGE", page)
        patch.setattr(ChainTable, "record", kept)
        expected, _ = ReferenceWalk(app, upto, page).run(record=False)
        assert chain.walk_log(app, upto) == expected
        expected, expected_batches = ReferenceWalk(app, upto, page).run(record=True)
        assert chain.walk_log(app, upto, record=True) == expected
        assert batches == expected_batches


# -- histories -----------------------------------------------------------------------


def small_history(app: Ledger) -> None:
    for partner in ("MPN-1", "MPN-2", "MPN-3"):
        app.enroll(partner, d("2020-01-31"), ACTOR)
        app.grant_benefit(
            partner, "AZ", "product-key", "Azure", 20, d("2020-02-01"), ACTOR
        )
        app.activate_benefit(partner, "AZ", d("2020-02-01"), ACTOR)
        app.add_tenant(partner, "demo", d("2020-02-01"), ACTOR)
        app.issue_key(partner, "AZ", "KEY-1", 10, d("2020-11-01"), ACTOR)
        app.redeem_key(partner, "KEY-1", "demo", "SUB-1", "new", d("2020-12-01"), ACTOR)
        app.add_user(partner, "dev@contoso.example", "aad", d("2021-01-01"), ACTOR)


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A sample history imported as `ledger import` does (request records,
    snapshots and their seals included): a SQLite file to copy."""
    folder = tmp_path_factory.mktemp("imported")
    lines = folder / "history.jsonl"
    sample.write_jsonl(lines, LINES, seed=7)
    path = folder / "ledger.db"
    app = Ledger(f"sqlite:///{path}")
    import_file(app, ImportFile(lines, "jsonl"), Options(actor=sample.ACTOR))
    app.close()
    return path


def opened(source: Path, tmp_path: Path) -> Ledger:
    copy = tmp_path / "ledger.db"
    shutil.copy(source, copy)
    return Ledger(f"sqlite:///{copy}")


# -- untouched logs ------------------------------------------------------------------


@pytest.mark.parametrize("parallel", [False, True])
def test_a_sample_history_walks_as_before(
    imported: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parallel: bool
) -> None:
    """On one core, or with the decode checks on a second (ledger/audit/ahead.py)."""
    monkeypatch.setattr(ahead, "PARALLEL_FROM", 0 if parallel else 10**12)
    app = opened(imported, tmp_path)
    try:
        head = app.event_rows.head()
        same_walks(app, monkeypatch)
        same_walks(app, monkeypatch, upto=head // 2, page=37)
        assert chain.digest(app)[0] is True
        same_walks(app, monkeypatch, upto=head)
    finally:
        app.close()


def test_an_old_ledger_walks_as_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = opened(DATA / "ledger-0.1.db", tmp_path)
    try:
        same_walks(app, monkeypatch, page=3)
    finally:
        app.close()


def test_each_rows_chain_bytes_are_the_rows_canonical_bytes(
    imported: Path, tmp_path: Path
) -> None:
    app = opened(imported, tmp_path)
    try:
        linker, head, rows = Linker(), GENESIS, 0
        for row in app.event_rows.all():
            text = str(row.originator_id)
            after = linker(
                head, row.position, text, row.originator_version, row.topic, row.state
            )
            expected = hashlib.sha256(head + canonical(row)).digest()
            assert after == expected
            head, rows = after, rows + 1
        assert rows == 2 * LINES
    finally:
        app.close()


def test_every_sample_event_decodes_without_the_mapper(
    imported: Path, tmp_path: Path
) -> None:
    app = opened(imported, tmp_path)
    try:
        states = EventStates(app.mapper)
        for row in app.event_rows.all():
            assert states.decodes(row.topic, row.originator_version, row.state)
            event = app.decode(row)
            state = states.state(row.topic, row.originator_version, row.state)
            assert state == {**vars(event), "originator_id": None}
    finally:
        app.close()


def test_an_aggregate_id_reads_as_its_uuid_text() -> None:
    for _ in range(200):
        value = uuid.uuid4()
        assert originator_text(value.bytes) == str(value)
    with pytest.raises(ValueError):
        originator_text(b"short")


# -- edited logs ---------------------------------------------------------------------


def new_position(execute: Any) -> int:
    return execute("SELECT max(id) FROM ledger_events")[0][0] + 1


EDITS = {
    "delete": lambda x, p: x("DELETE FROM ledger_events WHERE id = :p", {"p": p}),
    "break-bytes": lambda x, p: x(
        "UPDATE ledger_events SET state = :s WHERE id = :p",
        {
            "s": b"#"
            + bytes(x("SELECT state FROM ledger_events WHERE id = :p", {"p": p})[0][0])[
                1:
            ],
            "p": p,
        },
    ),
    "bad-date": lambda x, p: x(
        "UPDATE ledger_events SET state = :s WHERE id = :p",
        {
            "s": bytes(
                x("SELECT state FROM ledger_events WHERE id = :p", {"p": p})[0][0]
            ).replace(b'"_data_":"20', b'"_data_":"x0', 1),
            "p": p,
        },
    ),
    "unknown-topic": lambda x, p: x(
        "UPDATE ledger_events SET topic = 'nowhere.module:Thing' WHERE id = :p",
        {"p": p},
    ),
    "older-class-version": lambda x, p: x(
        "UPDATE ledger_events SET state = :s WHERE id = :p",
        {
            "s": bytes(
                x("SELECT state FROM ledger_events WHERE id = :p", {"p": p})[0][0]
            ).replace(b',"class_version":2}', b',"class_version":1}'),
            "p": p,
        },
    ),
    "version-up": lambda x, p: x(
        "UPDATE ledger_events SET originator_version = originator_version + 1000 "
        "WHERE id = :p",
        {"p": p},
    ),
    "swap-with-next": lambda x, p: (
        x("UPDATE ledger_events SET id = -1 WHERE id = :p", {"p": p}),
        x("UPDATE ledger_events SET id = :p WHERE id = :q", {"p": p, "q": p + 1}),
        x("UPDATE ledger_events SET id = :q WHERE id = -1", {"q": p + 1}),
    ),
    "copy-to-end-next-version": lambda x, p: x(
        "INSERT INTO ledger_events (id, originator_id, originator_version, topic, "
        "state) SELECT :n, originator_id, originator_version + 5000, topic, state "
        "FROM ledger_events WHERE id = :p",
        {"n": new_position(x), "p": p},
    ),
    "move-to-another-aggregate": lambda x, p: x(
        "UPDATE ledger_events SET originator_id = (SELECT originator_id FROM "
        "ledger_events WHERE id = 1), originator_version = 7000 + :p WHERE id = :p",
        {"p": p},
    ),
}
SQLITE_EDITS = {
    "as-text": lambda x, p: x(
        "UPDATE ledger_events SET state = CAST(state AS TEXT) WHERE id = :p", {"p": p}
    ),
}


def edit(url: str, edits: list[tuple[str, int]]) -> None:
    """Each edit in its own transaction: one the database refuses (a clash
    on the unique index) or of a row no longer there is skipped."""
    every = {**EDITS, **SQLITE_EDITS}
    for name, position in edits:
        try:
            with database(url) as execute:
                every[name](execute, position)
        except IndexError:
            pass  # the row was deleted by an earlier edit
        except Exception as error:
            if "unique" not in str(error).lower():
                raise


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    edits=st.lists(
        st.tuples(
            st.sampled_from(sorted(EDITS | SQLITE_EDITS)), st.integers(2, 2 * LINES)
        ),
        min_size=1,
        max_size=6,
    ),
    digested=st.booleans(),
    page=st.sampled_from([1, 7, 1000]),
    head_back=st.integers(0, 50),
    parallel=st.booleans(),
)
def test_an_edited_log_walks_as_before(
    imported: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    edits: list[tuple[str, int]],
    digested: bool,
    page: int,
    head_back: int,
    parallel: bool,
) -> None:
    """Edits of every kind (with the chain recorded before, or not), pages
    of every size, and rows past the head the version check saw first (as
    rows written while the walk runs)."""
    monkeypatch.setattr(ahead, "PARALLEL_FROM", 0 if parallel else 10**12)
    folder = tmp_path / uuid.uuid4().hex
    folder.mkdir()
    app = opened(imported, folder)
    try:
        if digested:
            chain.digest(app)
        app.close()
        edit(app.url, edits)
        app = Ledger(app.url)
        head = app.event_rows.head()
        real_head = app.event_rows.head
        app.event_rows.head = lambda: max(0, real_head() - head_back)  # type: ignore[method-assign]
        same_walks(app, monkeypatch, upto=head // 3, page=page)
    finally:
        app.close()


@pytest.mark.parametrize(
    "edits",
    [
        [("delete", 5)],
        [("break-bytes", 4), ("version-up", 9)],
        [("bad-date", 3), ("unknown-topic", 11)],
        [("swap-with-next", 6)],
        [("copy-to-end-next-version", 2), ("move-to-another-aggregate", 8)],
    ],
)
def test_an_edited_log_walks_as_before_on_each_database(
    app: Ledger, monkeypatch: pytest.MonkeyPatch, edits: list[tuple[str, int]]
) -> None:
    monkeypatch.setattr(ahead, "PARALLEL_FROM", 0)
    small_history(app)
    chain.digest(app)
    edit(app.url, edits)
    again = Ledger(app.url)
    try:
        same_walks(again, monkeypatch, upto=10, page=4)
    finally:
        again.close()


# -- decoding ------------------------------------------------------------------------

DATES = st.one_of(
    st.dates().map(lambda day: day.isoformat()),
    st.datetimes().map(lambda moment: moment.isoformat()),
    st.sampled_from(["2020-13-01", "", "x", "2020-02-30", "2020-01-01T25:00:00"]),
)
SPECIAL = st.fixed_dictionaries(
    {
        "_type_": st.sampled_from(["date", "datetime", "record", "other"]),
        "_data_": st.one_of(DATES, st.integers(0, 9), st.none()),
    }
)
TEXT = st.one_of(
    st.text(max_size=8),
    st.sampled_from(['"_type_"', "_type_", "\\", '\\"_type_\\"', "a\\u005f"]),
)
SCALAR = st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**64 - 1), TEXT)
KEYS = st.one_of(TEXT, st.sampled_from(["_type_", "_data_", "timestamp"]))
VALUE = st.recursive(
    st.one_of(SCALAR, SPECIAL),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(KEYS, inner, max_size=4)
    ),
    max_leaves=12,
)


def outcome(call: Any, data: bytes) -> Any:
    try:
        return ("ok", call(data))
    except Exception as error:
        return ("raised", type(error), str(error))


@settings(max_examples=600, deadline=None)
@given(value=st.one_of(VALUE, st.dictionaries(KEYS, VALUE, max_size=8)))
def test_decode_state_gives_what_decode_gives(value: Any) -> None:
    data = orjson.dumps(value)
    expected = outcome(lambda b: _decode(orjson.loads(b)), data)
    assert outcome(decode_state, data) == expected


@pytest.mark.parametrize(
    "data",
    [
        # a request record: its date first, then an answer with none
        b'{"timestamp":{"_type_":"datetime","_data_":"2020-01-01T00:00:00+00:00"},'
        b'"answer":{"seats":[{"seat":"VS#1"}],"offers":[]}}',
        # a date inside the answer: decoded there too
        b'{"t":{"_type_":"date","_data_":"2020-01-01"},'
        b'"answer":{"on":{"_type_":"date","_data_":"2020-01-02"}}}',
        # a bad one inside the answer: raises as before
        b'{"t":{"_type_":"date","_data_":"2020-01-01"},'
        b'"answer":[{"_type_":"date","_data_":"2020-13-01"}]}',
        # a key spelled with an escape hides from a count of the bytes
        b'{"t":{"_type_":"date","_data_":"2020-01-01"},'
        b'"answer":{"x":{"\\u005ftype_":"date","_data_":"2020-13-01"}}}',
        b'{"t":{"_type_":"date","_data_":"2020-01-01"},'
        b'"answer":{"x":{"\\u005ftype_":"date","_data_":"2020-01-03"}}}',
        # "_type_" as a value, not a key
        b'{"t":{"_type_":"date","_data_":"2020-01-01"},"a":["_type_"],'
        b'"b":{"c":{"_type_":"date","_data_":"2020-01-04"}}}',
        b'{"_type_":"date","_data_":"2020-01-01"}',
        b'[{"_type_":"date","_data_":"2020-01-01"}]',
        b'{"t":{"_type_":"nothing","_data_":"2020-01-01"},"a":[]}',
        b'{"a":[],"t":{"_type_":"date","_data_":"2020-01-01"}}',
    ],
)
def test_decode_state_gives_what_decode_gives_for_written_bytes(data: bytes) -> None:
    expected = outcome(lambda b: _decode(orjson.loads(b)), data)
    assert outcome(decode_state, data) == expected


@settings(max_examples=300, deadline=None)
@given(
    value=st.dictionaries(KEYS, VALUE, max_size=8),
    topic=st.sampled_from(
        [
            "ledger.domain.partner:UserAdded",
            "ledger.domain.partner:Enrolled",
            "ledger.partner:OfferRecorded",
            "ledger.domain.partner:partner_uuid",
            "nowhere:Thing",
            "builtins:int",
        ]
    ),
    class_version=st.one_of(st.none(), st.integers(0, 3), st.text(max_size=2)),
)
def test_a_state_said_to_decode_is_one_the_mapper_decodes(
    value: dict[str, Any], topic: str, class_version: Any
) -> None:
    if class_version is not None:
        value["class_version"] = class_version
    data = orjson.dumps(value)
    if EventStates(MAPPER).decodes(topic, 3, data):
        MAPPER.to_domain_event(StoredEvent(uuid.uuid4(), 3, topic, data))


MAPPER = Mapper(transcoder=OrjsonTranscoder())
