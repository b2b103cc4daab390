"""Benchmark: each of issue 16's goals as a ratio against a baseline measured
in the same run.

Usage:
    python scripts/bench.py [--sizes 20000,100000] [--backends sqlite,postgres]
                            [--pg URL] [--pg-10m] [--out bench.json]
                            [--workdir DIR] [--samples 200] [--cli-runs 10]
                            [--markdown]
    python scripts/bench.py --render bench.json [--markdown]

For each backend and size (a size is a number of events in the log; the
generated import file has half as many lines, because every imported line
stores its event and its request-id record), it:

1. generates a realistic history (ledger/bulk/sample.py);
2. imports it into a fresh ledger in a child process (the code behind
   `ledger import`): lines/s and the child's peak RSS;
3. raw baseline: inserts one event-sized row per imported line (the log's
   partner events, read back) into a scratch table of the same shape with the
   driver's own bulk insert (sqlite3 executemany, psycopg COPY); the goal is
   import lines/s / raw rows/s >= 0.10;
4. rebuilds the projections in a child process (`ledger projections
   rebuild`'s code): events/s of the whole log (goal >= 100,000) and peak RSS;
5. runs `ledger audit verify` and `ledger audit check` through the CLI:
   events/s of the whole log (goal >= 100,000 for verify) and peak RSS;
6. times one-partner reports and audit replays in process (p50/p99);
7. times a single CLI write (`user add`) and a one-partner CLI report
   (`report entitlements --partner`) end to end: p50 in ms and as a multiple
   of `python -c pass` measured in the same run (goals: 150 / 300 ms for a
   write on SQLite / PostgreSQL, 200 ms for a report). Our modules' bytecode
   is written first (python -m compileall), as `pip install` does.

Peak RSS is each child's own high-water mark (Linux VmHWM, read by the child
at its end; for CLI runs, the child's ru_maxrss from wait4, the child spawned
by a small probe process: see PROBE).

--pg-10m adds one PostgreSQL run at 10,000,000 events (long: about an hour
on a laptop). PostgreSQL runs use a fresh schema of the server at --pg
(dropped afterwards). It prints a table with the goals next to the figures
and writes every figure as JSON with --out.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

import gen_data  # noqa: E402 - found through the sys.path entry above

PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
TARGETS = {
    "import_ratio": ">= 0.10 of raw",
    "rebuild_events_per_s": ">= 100,000",
    "verify_events_per_s": ">= 100,000",
    "check_events_per_s": "",
    "report_ms": "(in process)",
    "replay_ms": "(in process)",
    "cli_write_ms": "<= 150 SQLite, <= 300 PostgreSQL",
    "cli_report_ms": "<= 200",
    "rss_mb": "flat across sizes",
}
GOALS = {"rebuild": 100_000, "verify": 100_000, "import_ratio": 0.10}
CLI_WRITE_GOAL_MS = {"sqlite": 150, "postgres": 300}
CLI_REPORT_GOAL_MS = 200


# -- child processes: one measured job each, figures as JSON on stdout -------------


def child_import(url: str, path: str) -> dict[str, Any]:
    from ledger.application import Ledger
    from ledger.bulk.importer import Options, import_file
    from ledger.bulk.lines import ImportFile

    app = Ledger(url)
    started = time.perf_counter()
    report = import_file(
        app, ImportFile(Path(path), "jsonl"), Options(actor=gen_data.ACTOR)
    )
    seconds = time.perf_counter() - started
    app.close()
    return {"seconds": seconds, **report.summary(), "errors": report.errors[:3]}


def child_rebuild(url: str) -> dict[str, Any]:
    from ledger.application import Ledger
    from projections import Reports

    app = Ledger(url)
    reports = Reports(app)  # opening the read models is start-up, not rebuild
    started = time.perf_counter()
    reports.rebuild()
    seconds = time.perf_counter() - started
    app.close()
    return {"seconds": seconds}


def peak_rss_mb() -> float | None:
    """This process's peak RSS since its exec (Linux VmHWM). ru_maxrss is not
    used: it keeps the high-water mark of the parent's pages from before the
    exec, so it would show the benchmark's own size, not the child's."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def run_child(*args: str) -> tuple[dict[str, Any], float]:
    """Run this script as a child; its JSON answer and its peak RSS in MB
    (VmHWM where the system has it, else the child's ru_maxrss)."""
    process = subprocess.Popen(
        [sys.executable, __file__, "--child", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"child {args[0]} failed with exit {process.returncode}")
    answer = orjson.loads(output)
    return answer, answer.pop("peak_rss_mb", None) or usage.ru_maxrss / 1024


# -- databases -----------------------------------------------------------------------


class Database:
    """A fresh, empty database for one run: a SQLite file or a PG schema."""

    def __init__(self, backend: str, workdir: Path, pg: str, size: int) -> None:
        import sqlalchemy as sa

        self.backend = backend
        self.schema = f"bench_{uuid.uuid4().hex[:12]}"
        if backend == "sqlite":
            path = workdir / f"ledger-{size}-{self.schema}.db"
            self.url = f"sqlite:///{path}"
            self.path = path
        else:
            self.admin = sa.create_engine(pg, isolation_level="AUTOCOMMIT")
            with self.admin.connect() as conn:
                conn.execute(sa.text(f"CREATE SCHEMA {self.schema}"))
            self.url = f"{pg}?options=-csearch_path%3D{self.schema}"
        self.engine = sa.create_engine(self.url)

    def close(self) -> None:
        import sqlalchemy as sa

        self.engine.dispose()
        if self.backend == "sqlite":
            self.path.unlink(missing_ok=True)
            return
        with self.admin.connect() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {self.schema} CASCADE"))
        self.admin.dispose()

    def events(self) -> int:
        import sqlalchemy as sa

        with self.engine.connect() as conn:
            return conn.execute(
                sa.text("SELECT count(*) FROM ledger_events")
            ).scalar_one()


def raw_baseline(db: Database, lines: int, chunk: int = 20000) -> dict[str, Any]:
    """One event-sized row per imported line (the log's partner events, not
    the request-id records), inserted again with the driver's own bulk
    insert into a scratch table of the same shape (autoincrement id, unique
    index); only the inserts and the commit are timed."""
    raw = db.engine.raw_connection()
    try:
        conn = raw.driver_connection
        insert = _sqlite_insert if db.backend == "sqlite" else _pg_copy
        _scratch_table(conn, db.backend)
        seconds, rows, last = 0.0, 0, 0
        while True:
            cur = conn.cursor()
            cur.execute(
                "SELECT id, originator_id, originator_version, topic, state "
                f"FROM ledger_events WHERE id > {last} "
                "AND topic NOT LIKE '%:Request%' "
                f"ORDER BY id LIMIT {min(chunk, lines - rows)}"
            )
            batch = cur.fetchall() if rows < lines else []
            if not batch:
                break
            last = batch[-1][0]
            started = time.perf_counter()
            insert(conn, [row[1:] for row in batch])
            seconds += time.perf_counter() - started
            rows += len(batch)
        started = time.perf_counter()
        conn.commit()
        seconds += time.perf_counter() - started
        conn.cursor().execute("DROP TABLE bench_raw")
        conn.commit()
    finally:
        raw.close()
    return {
        "rows": rows,
        "seconds": seconds,
        "events_per_s": rows / seconds,
        "method": "sqlite3 executemany" if db.backend == "sqlite" else "psycopg COPY",
    }


def _scratch_table(conn: Any, backend: str) -> None:
    ident, uid, blob = (
        ("INTEGER PRIMARY KEY AUTOINCREMENT", "BLOB", "BLOB")
        if backend == "sqlite"
        else ("BIGSERIAL PRIMARY KEY", "UUID", "BYTEA")
    )
    cur = conn.cursor()
    cur.execute(
        f"CREATE TABLE bench_raw (id {ident}, originator_id {uid} NOT NULL, "
        "originator_version INTEGER NOT NULL, topic TEXT NOT NULL, "
        f"state {blob} NOT NULL)"
    )
    cur.execute(
        "CREATE UNIQUE INDEX bench_raw_index ON bench_raw "
        "(originator_id, originator_version)"
    )
    conn.commit()


def _sqlite_insert(conn: Any, rows: list[tuple]) -> None:
    conn.executemany(
        "INSERT INTO bench_raw (originator_id, originator_version, topic, "
        "state) VALUES (?, ?, ?, ?)",
        rows,
    )


def _pg_copy(conn: Any, rows: list[tuple]) -> None:
    with conn.cursor().copy(
        "COPY bench_raw (originator_id, originator_version, topic, state) FROM STDIN"
    ) as copy:
        for row in rows:
            copy.write_row(row)


# -- latencies -----------------------------------------------------------------------


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return {
        "p50_ms": statistics.median(ordered) * 1000,
        "p99_ms": p99 * 1000,
        "samples": len(ordered),
    }


def timed(call: Any, arguments: list[Any]) -> list[float]:
    times = []
    for args in arguments:
        started = time.perf_counter()
        call(*args)
        times.append(time.perf_counter() - started)
    return times


def report_latency(url: str, partners: list[str], on: date) -> dict[str, Any]:
    from ledger.application import Ledger
    from projections import Reports

    app = Ledger(url)
    try:
        reports = Reports(app)
        reports.catch_up()
        return percentiles(timed(reports.entitlements, [(p, on) for p in partners]))
    finally:
        app.close()


def replay_latency(url: str, partners: list[str], as_of: date) -> dict[str, Any]:
    from ledger.application import Ledger
    from ledger.audit import replay

    app = Ledger(url)
    try:
        return percentiles(
            timed(lambda p: replay(app, p, as_of), [(p,) for p in partners])
        )
    finally:
        app.close()


# Runs one command and prints its wall time and peak RSS. A child spawned by
# this (large) bench process would report at least the bench's own peak RSS
# (Linux keeps the parent's high-water mark in the child's ru_maxrss across
# fork/vfork and exec): spawned from this small process instead, its figure
# is its own.
PROBE = """
import os, subprocess, sys, time
started = time.perf_counter()
child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
_, status, usage = os.wait4(child.pid, 0)
seconds = time.perf_counter() - started
print(seconds, usage.ru_maxrss, os.waitstatus_to_exitcode(status))
"""


def measured(command: list[str]) -> tuple[float, float]:
    """Run a command; its wall time in seconds and its peak RSS in MB."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *command],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=True,
    )
    seconds, max_rss_kb, code = done.stdout.split()
    if int(code) != 0:
        raise RuntimeError(f"{command} failed with exit {code}: {done.stderr[-500:]}")
    return float(seconds), int(max_rss_kb) / 1024


def cli(*args: str) -> float:
    return measured([sys.executable, "-m", "ledger", *args])[0]


def compile_sources() -> None:
    """Write our modules' bytecode first, as `pip install` does for a user.

    With PYTHONDONTWRITEBYTECODE set (or a read-only checkout) every CLI run
    would otherwise compile the modules it imports again, which is a cost a
    user of an installed ledger never pays.
    """
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", "ledger", "commands", "projections"],
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def python_startup(runs: int) -> dict[str, Any]:
    """The baseline of every CLI time: `python -c pass`."""
    return percentiles(
        [measured([sys.executable, "-c", "pass"])[0] for _ in range(runs)]
    )


def cli_report(url: str, partner: str, runs: int) -> dict[str, Any]:
    """A one-partner report through the CLI, the projections caught up."""
    args = ("--db", url, "report", "entitlements", "--partner", partner)
    cli(*args, "--on", "2020-06-01")  # catches the projections up
    return percentiles([cli(*args, "--on", "2020-06-01") for _ in range(runs)])


def audit_throughput(url: str, events: int, command: str) -> dict[str, Any]:
    """`ledger audit verify` / `audit check` of the whole log, end to end."""
    seconds, rss = measured(
        [sys.executable, "-m", "ledger", "--db", url, "audit", command]
    )
    return {"seconds": seconds, "events_per_s": events / seconds, "peak_rss_mb": rss}


def cli_write(url: str, partner: str, runs: int) -> dict[str, Any]:
    """One `user add` per run, each a new user of a partner with years of history."""
    times = [
        cli(
            "--db",
            url,
            "--actor",
            gen_data.ACTOR,
            "user",
            "add",
            partner,
            f"cli-{n}-{uuid.uuid4().hex[:6]}@bench.example",
            "--source",
            "aad",
            "--on",
            "2021-06-01",
        )
        for n in range(runs)
    ]
    return percentiles(times)


def help_startup(runs: int) -> dict[str, Any]:
    return percentiles([cli("--help") for _ in range(runs)])


# -- one run -----------------------------------------------------------------------


def bench_one(
    backend: str, size: int, file: Path, partners: int, args: Any
) -> dict[str, Any]:
    db = Database(backend, args.workdir, args.pg, size)
    try:
        result: dict[str, Any] = {
            "backend": backend,
            "size": size,
            "partners": partners,
        }
        imported, import_rss = run_child("import", db.url, str(file))
        events = db.events()
        result["import"] = {
            **imported,
            "events": events,
            "events_per_s": events / imported["seconds"],
            "peak_rss_mb": import_rss,
        }
        lines = imported["lines"]
        result["import"]["lines_per_s"] = lines / imported["seconds"]
        result["raw"] = raw_baseline(db, lines)
        result["import"]["ratio_to_raw"] = (
            result["import"]["lines_per_s"] / result["raw"]["events_per_s"]
        )
        rebuilt, rebuild_rss = run_child("rebuild", db.url)
        rebuilt["events_per_s"] = events / rebuilt["seconds"]
        result["rebuild"] = {**rebuilt, "peak_rss_mb": rebuild_rss}
        result["verify"] = audit_throughput(db.url, events, "verify")
        result["check"] = audit_throughput(db.url, events, "check")
        sample = [f"MPN-{random.randint(1, partners):06d}" for _ in range(args.samples)]
        result["report"] = report_latency(db.url, sample, date(2020, 6, 1))
        result["replay"] = replay_latency(db.url, sample, date(2020, 6, 1))
        result["cli_write"] = cli_write(db.url, "MPN-000001", args.cli_runs)
        result["cli_report"] = cli_report(db.url, "MPN-000001", args.cli_runs)
        base = args.python_startup["p50_ms"]
        for part in ("cli_write", "cli_report"):
            result[part]["times_python"] = result[part]["p50_ms"] / base
        result["goals"] = goals(result, backend)
        return result
    finally:
        db.close()


def goals(result: dict[str, Any], backend: str) -> dict[str, float]:
    """Each goal as a ratio: the figure over its goal (>= 1.0: met)."""
    return {
        "import": result["import"]["ratio_to_raw"] / GOALS["import_ratio"],
        "rebuild": result["rebuild"]["events_per_s"] / GOALS["rebuild"],
        "verify": result["verify"]["events_per_s"] / GOALS["verify"],
        "cli_write": CLI_WRITE_GOAL_MS[backend] / result["cli_write"]["p50_ms"],
        "cli_report": CLI_REPORT_GOAL_MS / result["cli_report"]["p50_ms"],
    }


# -- output --------------------------------------------------------------------------


def _fmt(value: Any, digits: int = 0) -> str:
    if value is None:
        return "n/a"
    return f"{value:,.{digits}f}"


def _latency(part: dict[str, Any]) -> str:
    return f"{part['p50_ms']:.2f} / {part['p99_ms']:.2f}"


def _cli(part: dict[str, Any]) -> str:
    return f"{part['p50_ms']:.0f} ({part['times_python']:.1f}x python)"


def table(
    runs: list[dict[str, Any]], startup: dict[str, Any], markdown: bool = False
) -> str:
    g = lambda name: lambda r: _fmt(r["goals"][name], 2)  # noqa: E731
    metrics = [
        ("events in log", lambda r: _fmt(r["import"]["events"]), ""),
        ("partners", lambda r: _fmt(r["partners"]), ""),
        ("import lines/s", lambda r: _fmt(r["import"]["lines_per_s"]), ""),
        ("raw rows/s (baseline)", lambda r: _fmt(r["raw"]["events_per_s"]), ""),
        (
            "import / raw",
            lambda r: _fmt(r["import"]["ratio_to_raw"], 3),
            TARGETS["import_ratio"],
        ),
        ("  ratio to goal", g("import"), ">= 1"),
        (
            "rebuild events/s",
            lambda r: _fmt(r["rebuild"]["events_per_s"]),
            TARGETS["rebuild_events_per_s"],
        ),
        ("  ratio to goal", g("rebuild"), ">= 1"),
        (
            "audit verify events/s",
            lambda r: _fmt(r["verify"]["events_per_s"]),
            TARGETS["verify_events_per_s"],
        ),
        ("  ratio to goal", g("verify"), ">= 1"),
        ("audit check events/s", lambda r: _fmt(r["check"]["events_per_s"]), ""),
        (
            "CLI write ms p50",
            lambda r: _cli(r["cli_write"]),
            TARGETS["cli_write_ms"],
        ),
        ("  ratio to goal", g("cli_write"), ">= 1"),
        (
            "CLI one-partner report ms p50",
            lambda r: _cli(r["cli_report"]),
            TARGETS["cli_report_ms"],
        ),
        ("  ratio to goal", g("cli_report"), ">= 1"),
        ("report ms p50 / p99", lambda r: _latency(r["report"]), TARGETS["report_ms"]),
        ("replay ms p50 / p99", lambda r: _latency(r["replay"]), TARGETS["replay_ms"]),
        (
            "import peak RSS MB",
            lambda r: _fmt(r["import"]["peak_rss_mb"]),
            TARGETS["rss_mb"],
        ),
        (
            "rebuild peak RSS MB",
            lambda r: _fmt(r["rebuild"]["peak_rss_mb"]),
            TARGETS["rss_mb"],
        ),
        ("verify peak RSS MB", lambda r: _fmt(r["verify"]["peak_rss_mb"]), ""),
        ("check peak RSS MB", lambda r: _fmt(r["check"]["peak_rss_mb"]), ""),
    ]
    header = ["metric"] + [f"{r['backend']} {r['size']:,}" for r in runs] + ["goal"]
    rows = [
        [name] + [cell(r) for r in runs] + [target] for name, cell, target in metrics
    ]
    rows.append(["python -c pass ms p50", *[_fmt(startup["p50_ms"])] * len(runs), ""])
    if markdown:  # the README's table
        lines = [" | ".join(["", *row, ""]).strip() for row in [header, *rows]]
        lines.insert(1, "|" + " --- |" * len(header))
    else:
        widths = [
            max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))
        ]
        lines = ["  ".join(c.ljust(w) for c, w in zip(header, widths))]
        lines.append("  ".join("-" * w for w in widths))
        lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)) for row in rows]
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "date": time.strftime("%Y-%m-%d"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        default="20000",
        help="events in the log, comma-separated (default 20000)",
    )
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument(
        "--pg", default=PG_SERVER, help="SQLAlchemy URL of a PostgreSQL server"
    )
    parser.add_argument("--out", type=Path, help="write the figures as JSON here")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--samples", type=int, default=200, help="partners per latency")
    parser.add_argument("--cli-runs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--pg-10m", action="store_true", help="add a 10,000,000-event PostgreSQL run"
    )
    parser.add_argument(
        "--markdown", action="store_true", help="print the table as Markdown"
    )
    parser.add_argument(
        "--render",
        type=Path,
        metavar="JSON",
        help="run nothing: print the table of the figures an --out file holds",
    )
    args = parser.parse_args()
    if args.render:
        figures = orjson.loads(args.render.read_bytes())
        print(table(figures["runs"], figures["help_startup"], args.markdown))
        return
    random.seed(args.seed)
    plan = [
        (int(size), backend)
        for size in args.sizes.split(",")
        for backend in args.backends.split(",")
    ]
    if args.pg_10m:
        plan.append((10_000_000, "postgres"))
    with tempfile.TemporaryDirectory(prefix="ledger-bench-") as tmp:
        args.workdir = args.workdir or Path(tmp)
        compile_sources()
        startup = python_startup(args.cli_runs)
        args.python_startup = startup
        runs = []
        files: dict[int, tuple[Path, int]] = {}
        for size, backend in plan:
            if size not in files:
                file = args.workdir / f"history-{size}.jsonl"
                files[size] = (
                    file,
                    gen_data.write_jsonl(file, size // 2, seed=args.seed),
                )
            file, partners = files[size]
            print(f"... {backend}, {size:,} events", file=sys.stderr, flush=True)
            runs.append(bench_one(backend, size, file, partners, args))
        startup["ledger_help"] = help_startup(args.cli_runs)
    print(table(runs, startup, args.markdown))
    figures = {
        "machine": machine(),
        "targets": TARGETS,
        "help_startup": startup,
        "runs": runs,
    }
    if args.out:
        args.out.write_bytes(orjson.dumps(figures, option=orjson.OPT_INDENT_2))


def child_main(argv: list[str]) -> None:
    job, *rest = argv
    answer = child_import(*rest) if job == "import" else child_rebuild(*rest)
    sys.stdout.buffer.write(orjson.dumps({**answer, "peak_rss_mb": peak_rss_mb()}))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child_main(sys.argv[2:])
    else:
        main()
