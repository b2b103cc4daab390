"""Issue 18: `ledger report timeline`, one self-contained HTML page, read
through its data attributes and opened in a real headless Chromium: every
period, benefit, key, subscription and seat of the FAQ's example is drawn at
its dates on the axis, and the page asks for nothing but itself."""

from __future__ import annotations

import re
import struct
import tempfile
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from commands.render_timeline import timeline_html
from ledger.domain.deadlines import PartnerDates, VoidedDates
from tests.browser import Browser, find_chromium
from tests.conftest import d

P = "DEMO-CONTOSO"

# What `ledger demo` records, as of 2021-06-01: (kind, id, start, end).
DEMO_ITEMS = {
    ("period", "2020-01-31", "2020-01-31", "2021-01-31"),
    ("period", "2021-01-31", "2021-01-31", "2022-01-31"),
    ("benefit", "AZURE-2020", "2020-02-01", "2021-01-31"),
    ("benefit", "VS-2021", "2021-02-01", "2022-03-02"),
    ("key", "KEY-0001", "2020-12-01", "2021-12-01"),
    ("subscription", "SUB-1", "2020-12-01", "2021-12-01"),
    ("seat", "VS-2021#1", "2021-02-01", "2021-05-02"),
}


class Items(HTMLParser):
    """The elements that carry data-kind, with their attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if any(name == "data-kind" for name, _ in attrs):
            self.found.append(dict(attrs))


def drawn(html: str) -> set[tuple[Any, ...]]:
    parser = Items()
    parser.feed(html)
    return {
        (a["data-kind"], a["data-id"], a["data-start"], a["data-end"])
        for a in parser.found
    }


@pytest.fixture
def page(run, tmp_path) -> Path:
    """The demo's timeline on 2021-06-01, written with --out."""
    assert run("demo").exit_code == 0
    out = tmp_path / "timeline.html"
    answer = run.json(
        "report", "timeline", "--partner", P, "--on", "2021-06-01", "--out", str(out)
    )
    assert answer == {
        "file": str(out),
        "partner": P,
        "on": "2021-06-01",
        "items": 7,
        "voided": 0,
    }
    return out


def test_every_item_of_the_faq_example_carries_its_dates(page):
    assert drawn(page.read_text()) == DEMO_ITEMS


def test_the_page_is_self_contained(page):
    """No URL at all (so no request can leave), no script, no external
    style or font, and a policy that forbids any request but inline style."""
    html = page.read_text()
    assert not re.search(r"https?:|//[a-z]|<script|<link|@import|url\(", html, re.I)
    assert (
        '<meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; style-src 'unsafe-inline'\">"
    ) in html


def test_hovering_an_item_shows_its_dates(page):
    html = page.read_text()
    for kind, ident, start, end in DEMO_ITEMS:
        group = re.search(
            rf'<g [^>]*data-kind="{kind}" data-id="{re.escape(ident)}"[^>]*>\s*'
            r"<title>([^<]*)</title>",
            html,
        )
        assert group is not None, ident
        assert start in group[1] or kind == "period", group[1]
        assert end in group[1], group[1]


def test_the_timeline_agrees_with_audit_replay(page, run):
    replay = run.json("audit", "replay", P, "--as-of", "2021-06-01")
    expected = {
        ("benefit", b["benefit"], b["granted_on"], b["activate_by"])
        for b in replay["benefits"]
    }
    expected |= {
        ("key", k["key"], k["redeemed_on"], k["usable_until"]) for k in replay["keys"]
    }
    expected |= {
        ("seat", s["seat"], s["assigned_on"], s["reassignable_on"])
        for s in replay["seats"]
        if s["user"]
    }
    expected |= {
        ("subscription", s["subscription"], "2020-12-01", s["subscription_end"])
        for s in replay["subscriptions"]
    }
    period = replay["partner"]
    expected.add(
        (
            "period",
            period["period_start"],
            period["period_start"],
            period["renewal_date"],
        )
    )
    assert expected <= drawn(page.read_text())


def test_the_page_to_standard_output_and_bad_input(run):
    assert run("demo").exit_code == 0
    result = run("report", "timeline", "--partner", P, "--on", "2021-06-01")
    assert result.exit_code == 0
    assert result.stdout.startswith("<!DOCTYPE html>")
    missing = run("report", "timeline", "--on", "2021-06-01")
    assert missing.exit_code == 2 and "--partner" in missing.stderr
    unknown = run("report", "timeline", "--partner", "NOPE")
    assert unknown.exit_code == 2 and "unknown partner 'NOPE'" in unknown.stderr


def test_before_the_enrollment_the_page_says_nothing_was_recorded(run):
    assert run("demo").exit_code == 0
    html = run("report", "timeline", "--partner", P, "--on", "2019-12-31").stdout
    assert "Nothing recorded as of 2019-12-31." in html
    assert drawn(html) == set()


def position_of(run, event: str) -> int:
    history = run.json("audit", "history", P)
    return next(row["position"] for row in history if row["event"] == event)


def test_a_voided_event_is_struck_through(run, tmp_path):
    """Corrections (issue 14): the voided seat assignment leaves the seat
    row and the calendar, and is drawn struck through with its dates."""
    assert run("demo").exit_code == 0
    position = str(position_of(run, "SeatAssigned"))
    assert run("void", P, position, "--reason", "wrong user",
               "--on", "2021-03-01").exit_code == 0  # fmt: skip
    out = tmp_path / "voided.html"
    answer = run.json(
        "report", "timeline", "--partner", P, "--on", "2021-06-01", "--out", str(out)
    )
    assert (answer["items"], answer["voided"]) == (6, 1)
    html = out.read_text()
    seat = ("seat", "VS-2021#1", "2021-02-01", "2021-05-02")
    assert drawn(html) == DEMO_ITEMS  # the live six and the voided seat
    assert re.search(
        r'<g class="item seat voided" data-kind="seat" data-id="VS-2021#1" '
        r'data-start="2021-02-01" data-end="2021-05-02" data-voided="true">\s*'
        r"<title>SeatAssigned of seat VS-2021#1 \(2021-02-01 → 2021-05-02\) "
        r"voided on 2021-03-01: wrong user</title>",
        html,
    )
    assert 'class="strike"' in html
    calendar = run("report", "calendar", "--partner", P, "--on", "2021-06-01")
    assert "VS-2021#1" not in calendar.stdout
    before = run("report", "timeline", "--partner", P, "--on", "2021-01-31").stdout
    assert seat not in drawn(before)  # the voided event began after that date


def test_a_voided_day_mark_gets_a_crossed_mark():
    dates = PartnerDates("P", d("2021-06-01"))
    html = timeline_html(
        dates,
        [VoidedDates("benefit", "VS", "BenefitActivated", d("2021-02-01"),
                     d("2021-02-01"), "too early", d("2021-02-02"))],
    )  # fmt: skip
    assert ("benefit", "VS", "2021-02-01", "2021-02-01") in drawn(html)
    assert '<circle class="mark voidmark"' in html


# -- in a real browser ------------------------------------------------------------

MEASURE = """JSON.stringify({
  items: [...document.querySelectorAll('[data-kind]')].map(g => {
    const r = g.querySelector('.bar').getBoundingClientRect();
    return {kind: g.dataset.kind, id: g.dataset.id, start: g.dataset.start,
            end: g.dataset.end, left: r.left, right: r.right, top: r.top};
  }),
  ticks: [...document.querySelectorAll('.tick')].map(t => {
    const r = t.getBoundingClientRect();
    return {date: t.dataset.date, x: r.left + r.width / 2};
  }),
  today: (() => { const t = document.querySelector('.today');
    const r = t.getBoundingClientRect();
    return {date: t.dataset.date, x: r.left + r.width / 2}; })(),
  scrollWidth: document.documentElement.scrollWidth,
  smallestText: Math.min(...[...document.querySelectorAll('text, li, p, h1')]
    .map(e => parseFloat(getComputedStyle(e).fontSize))),
})"""


@pytest.fixture
def browser():
    binary = find_chromium()
    if binary is None:
        pytest.skip(
            "no Chromium on this machine (.ci/run installs Debian's chromium: "
            "apt-get install -y chromium)"
        )
    with tempfile.TemporaryDirectory() as profile:
        opened = Browser(binary, profile, 1280, 800)
        try:
            yield opened
        finally:
            opened.close()


def png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", png[16:24])


def test_chromium_draws_each_item_at_its_dates_and_asks_for_nothing(
    page, browser, tmp_path
):
    import json

    url = page.resolve().as_uri()
    browser.open(url)
    shot = browser.screenshot()
    (tmp_path / "timeline.png").write_bytes(shot)
    assert png_size(shot) == (1280, 800)
    seen = json.loads(browser.evaluate(MEASURE))

    # the axis: pixels per day from the first and last month ticks
    first, last = seen["ticks"][0], seen["ticks"][-1]
    day0 = date.fromisoformat(first["date"])
    per_day = (last["x"] - first["x"]) / (date.fromisoformat(last["date"]) - day0).days

    def x(day: str) -> float:
        return first["x"] + (date.fromisoformat(day) - day0).days * per_day

    for tick in seen["ticks"]:
        assert abs(tick["x"] - x(tick["date"])) < 1, tick
    assert {(i["kind"], i["id"], i["start"], i["end"]) for i in seen["items"]} == (
        DEMO_ITEMS
    )
    for item in seen["items"]:
        assert abs(item["left"] - x(item["start"])) < 1, item
        assert abs(item["right"] - x(item["end"])) < 1, item
    assert seen["today"]["date"] == "2021-06-01"
    assert abs(seen["today"]["x"] - x("2021-06-01")) < 1.5
    # readable at 1280x800: no sideways scrolling, no text under 11px, and
    # every item within the first screen
    assert seen["scrollWidth"] <= 1280
    assert seen["smallestText"] >= 11
    assert max(i["top"] for i in seen["items"]) < 800
    # no request but the page itself
    assert browser.requests() == [url]
    # printable: a PDF comes out
    assert browser.pdf()[:5] == b"%PDF-"
