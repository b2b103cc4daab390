"""A ledger written by version 0.1 (before the domain moved to ledger/domain)
opens unchanged: its events, snapshot and policy resolve, its digest still
verifies, it answers as it did, and it takes new writes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import Cli

DATA = Path(__file__).parent / "data"


@pytest.fixture
def old(tmp_path: Path) -> Cli:
    copy = tmp_path / "old.db"
    shutil.copy(DATA / "ledger-0.1.db", copy)
    return Cli(f"sqlite:///{copy}")


@pytest.fixture
def expected() -> dict:
    return json.loads((DATA / "ledger-0.1.expected.json").read_text())


def test_an_old_ledger_answers_as_it_did(old: Cli, expected: dict) -> None:
    assert (
        old.json("partner", "show", "MPN-OLD", "--on", "2020-03-01")
        == expected["partner_show"]
    )
    assert old.json("policy", "show", "--on", "2020-03-01") == expected["policy"]
    replay = old.json("audit", "replay", "MPN-OLD", "--as-of", "2020-03-01")
    assert replay == expected["replay"]


def test_an_old_ledgers_digest_still_verifies(old: Cli, expected: dict) -> None:
    digest = expected["digest"]
    answer = old.json(
        "audit",
        "verify",
        "--position",
        str(digest["position"]),
        "--sha256",
        digest["sha256"],
    )
    assert answer["ok"] is True


def test_an_old_ledger_takes_new_writes_and_reports_them(old: Cli) -> None:
    before = old.events()
    seat = old.json(
        "seat",
        "assign",
        "MPN-OLD",
        "VS",
        "u2@contoso.example",
        "--on",
        "2020-03-02",
        actor="ops@contoso.example",
    )
    assert seat["reassignable_on"] == "2020-05-01"  # the old policy: 60 days
    assert seat["seat"] == "VS#2"  # the snapshot's never-assigned seats dropped
    assert old.events() == before + 1
    rows = old.json(
        "report", "reassignable", "--partner", "MPN-OLD", "--on", "2020-03-02"
    )
    assert {r["user"] for r in rows} == {"u1@contoso.example", "u2@contoso.example"}
    assert old.json("audit", "check", "--on", "2020-03-02")["ok"] is True
