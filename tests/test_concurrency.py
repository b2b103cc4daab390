"""Concurrent writers to one partner, as real processes: exactly one wins,
the other gets a clear error, and nothing is half-written."""

from __future__ import annotations

import json
import multiprocessing
import subprocess
import sys

import pytest

from ledger.application import Ledger
from tests.conftest import ACTOR, count_events, d

WRITES = {
    "renew": lambda app: app.renew("P1", d("2020-12-01"), ACTOR),
    "redeem": lambda app: app.redeem_key(
        "P1", "K1", "demo", "S1", "new", d("2020-12-01"), ACTOR
    ),
    "last seat": lambda app: app.assign_seat(
        "P1", "VS", app.who, d("2020-12-01"), ACTOR
    ),
}


def prepare(url: str) -> None:
    app = Ledger(url)
    app.enroll("P1", d("2020-01-31"), ACTOR)
    app.grant_benefit("P1", "AZ", "product-key", "Azure", 10, d("2020-02-01"), ACTOR)
    app.activate_benefit("P1", "AZ", d("2020-02-01"), ACTOR)
    app.add_tenant("P1", "demo", d("2020-02-01"), ACTOR)
    app.issue_key("P1", "AZ", "K1", 10, d("2020-02-01"), ACTOR)
    app.grant_benefit("P1", "VS", "user-subscription", "VS", 1, d("2020-02-01"), ACTOR)
    app.activate_benefit("P1", "VS", d("2020-02-01"), ACTOR)
    for n in (0, 1):
        app.add_user("P1", f"u{n}@contoso.example", "aad", d("2020-02-01"), ACTOR)
    app.close()


def _contend(url: str, write: str, n: int, barrier, results) -> None:
    """Load the partner, wait until the other process has loaded it too, then
    decide and save: both decide on the same version."""
    app = Ledger(url)
    app.who = f"u{n}@contoso.example"
    load = app.load

    def load_then_wait(partner: str):
        loaded = load(partner)
        barrier.wait(timeout=30)
        return loaded

    app.load = load_then_wait
    try:
        WRITES[write](app)
        results.put(("ok", None))
    except Exception as error:  # reported to the parent, which asserts on it
        results.put((type(error).__name__, str(error)))
    finally:
        app.close()


@pytest.mark.parametrize("write", list(WRITES))
def test_two_processes_deciding_on_the_same_version_exactly_one_wins(db_url, write):
    prepare(db_url)
    before = count_events(db_url)
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    procs = [
        ctx.Process(target=_contend, args=(db_url, write, n, barrier, results))
        for n in (0, 1)
    ]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=60)
    outcomes = sorted(results.get(timeout=5)[0] for _ in procs)
    assert outcomes == ["Conflict", "ok"]
    assert count_events(db_url) == before + 1


def test_two_cli_processes_renewing_at_once_one_succeeds_one_fails_cleanly(db_url):
    prepare(db_url)
    before = count_events(db_url)
    cmd = [
        sys.executable,
        "-m",
        "ledger",
        "--db",
        db_url,
        "--actor",
        ACTOR,
        "-o",
        "json",
        "partner",
        "renew",
        "P1",
        "--on",
        "2020-12-01",
    ]
    procs = [
        subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    finished = [(p.wait(timeout=60), p.stderr.read()) for p in procs]
    codes = sorted(code for code, _ in finished)
    assert codes == [0, 1]
    error = json.loads(next(err for code, err in finished if code == 1))["error"]
    assert error["rule"] in ("R3", "concurrency")
    assert "Traceback" not in "".join(err for _, err in finished)
    assert count_events(db_url) == before + 1
