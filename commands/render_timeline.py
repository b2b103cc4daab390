"""One self-contained HTML page that draws a partner's dates on a time axis.

Inline SVG and CSS only: no script, no font, no image, no URL at all, and a
Content-Security-Policy that forbids the page any request. Every drawn item
carries `data-kind` (period, benefit, key, subscription, seat), `data-id`,
`data-start` and `data-end` (ISO dates); its bar spans exactly those dates on
the axis, whose ticks carry `data-date`. Hovering an item shows its dates
(an SVG <title>). Laid out for a 1280x800 screen; prints on A4 landscape.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from html import escape

from ledger.domain.deadlines import (
    Deadline,
    PartnerDates,
    VoidedDates,
    deadlines,
    grace_until,
)

WIDTH = 1200  # the SVG's user units; it scales to the page's width
LABELS = 290  # the column of item labels on the left
RIGHT = 20
ROW = 26
BAR = 14
TOP = 46  # room for the axis labels
PAD_DAYS = 130  # room after the last date for its label
CSP = "default-src 'none'; style-src 'unsafe-inline'"


@dataclass(frozen=True)
class Span:
    """A part of an item's bar: [start, end] with a CSS class."""

    start: date
    end: date
    css: str


@dataclass(frozen=True)
class Mark:
    """A point on an item's bar (an activation, a sign-in)."""

    on: date
    css: str
    label: str


@dataclass(frozen=True)
class Item:
    """One drawn thing: a bar from `start` to `end` and its parts."""

    kind: str
    ident: str
    label: str
    start: date
    end: date
    hover: str
    status: str = ""
    spans: list[Span] = field(default_factory=list)
    marks: list[Mark] = field(default_factory=list)
    voided: bool = False


SECTIONS = [
    ("period", "Enrollment periods (R1, R3, R5 grace)"),
    ("benefit", "Benefits: activation window (R2, R5)"),
    ("key", "Product keys: redeemed → usable until (R7)"),
    ("subscription", "Subscriptions and licenses (R10)"),
    ("seat", "Seats: assigned → reassignable on (R13, R14)"),
]


def _status(found: list[Deadline], item: str, ident: str, name: str) -> str:
    for deadline in found:
        if (deadline.item, deadline.ident, deadline.name) == (item, ident, name):
            return deadline.status
    return ""


def items(dates: PartnerDates) -> list[Item]:
    """What the page draws for a partner, section by section."""
    found = deadlines(dates)
    drawn: list[Item] = []
    for p in dates.periods:
        ident = p.start.isoformat()
        grace = grace_until(dates, p)
        spans = [Span(p.renewal_start_date, p.renewal_date, "window")]
        if grace is not None and grace > p.renewal_date:
            spans.append(Span(p.renewal_date, grace, "grace"))
        drawn.append(
            Item(
                "period",
                ident,
                f"period {ident}",
                p.start,
                p.renewal_date,
                f"period {ident} → renewal date {p.renewal_date}; renewal opens "
                f"{p.renewal_start_date}"
                + (f"; user-assigned benefits' grace until {grace}" if grace else ""),
                _status(found, "period", ident, "renewal-date"),
                spans,
            )
        )
    for b in dates.benefits:
        marks = [Mark(b.activated_on, "done", "activated")] if b.activated_on else []
        spans = []
        if b.activate_by > b.benefit_expiry_date:
            spans.append(Span(b.benefit_expiry_date, b.activate_by, "grace"))
        drawn.append(
            Item(
                "benefit",
                b.benefit,
                f"{b.benefit} · {b.product}",
                b.granted_on,
                b.activate_by,
                f"benefit {b.benefit} ({b.kind}, {b.quantity}) granted {b.granted_on},"
                f" expiry {b.benefit_expiry_date}, activate by {b.activate_by}"
                + (f", activated {b.activated_on}" if b.activated_on else ""),
                _status(found, "benefit", b.benefit, "activate-by"),
                spans,
                marks,
            )
        )
    for k in dates.keys:
        drawn.append(
            Item(
                "key",
                k.key,
                f"{k.key} · {k.licenses} licenses → {k.subscription}",
                k.redeemed_on,
                k.usable_until,
                f"key {k.key} ({k.licenses} licenses, {k.mode}) redeemed "
                f"{k.redeemed_on}, usable until {k.usable_until}",
                _status(found, "key", k.key, "usable-until"),
            )
        )
    for s in dates.subscriptions:
        drawn.append(
            Item(
                "subscription",
                s.subscription,
                f"{s.subscription} · {s.licenses} licenses",
                s.created_on,
                s.end,
                f"subscription {s.subscription} on {s.tenant}: {s.licenses} licenses,"
                f" from {s.created_on} to {s.end}",
                _status(found, "subscription", s.subscription, "end"),
            )
        )
    for seat in dates.seats:
        marks = (
            [Mark(seat.signed_in_on, "done", "signed in")] if seat.signed_in_on else []
        )
        spans = []
        if seat.use_until > seat.reassignable_on:
            spans.append(Span(seat.reassignable_on, seat.use_until, "after"))
        drawn.append(
            Item(
                "seat",
                seat.seat,
                f"{seat.seat} · {seat.state}",
                seat.assigned_on,
                seat.reassignable_on,
                f"seat {seat.seat} assigned {seat.assigned_on}"
                + (f", signed in {seat.signed_in_on}" if seat.signed_in_on else "")
                + f", reassignable on {seat.reassignable_on}, usable until "
                f"{seat.use_until}",
                _status(found, "seat", seat.seat, "reassignable-on"),
                spans,
                marks,
            )
        )
    return drawn


def voided_items(voided: Iterable[VoidedDates]) -> list[Item]:
    """Voided events (corrections) as struck-through items; one that only
    marked a day (an activation, a sign-in) gets a crossed mark."""
    return [
        Item(
            v.kind,
            v.ident,
            f"{v.ident} · {v.event} voided",
            v.start,
            v.end,
            f"{v.event} of {v.kind} {v.ident} ({v.start} → {v.end}) voided on "
            f"{v.voided_on}: {v.reason}",
            marks=[Mark(v.start, "voidmark", v.event)] if v.start == v.end else [],
            voided=True,
        )
        for v in voided
    ]


class Axis:
    """Dates to x positions: whole months around everything drawn."""

    def __init__(self, first: date, last: date) -> None:
        self.start = date(first.year, first.month, 1)
        month = last.month % 12 + 1
        self.end = date(last.year + (last.month == 12), month, 1)
        self.x0, self.x1 = LABELS, WIDTH - RIGHT
        self.days = (self.end - self.start).days

    def x(self, day: date) -> float:
        return round(
            self.x0 + (day - self.start).days * (self.x1 - self.x0) / self.days, 2
        )

    def months(self) -> list[date]:
        found, day = [], self.start
        while day <= self.end:
            found.append(day)
            day = date(day.year + (day.month == 12), day.month % 12 + 1, 1)
        return found


def _axis_svg(axis: Axis, height: float) -> list[str]:
    months = axis.months()
    step = 1 if len(months) <= 20 else 3 if len(months) <= 60 else 12
    out = []
    for month in months:
        x = axis.x(month)
        major = month.month == 1
        out.append(
            f'<line class="tick{" year" if major else ""}" data-date="{month}" '
            f'x1="{x}" x2="{x}" y1="{TOP - 6}" y2="{height - 16}"/>'
        )
        if (month.month - 1) % step == 0 and month < axis.end:
            text = month.strftime("%b") if not major or step == 12 else ""
            if text:
                out.append(_text("month", x + 3, TOP - 10, text))
        if major or month == months[0]:
            out.append(_text("yearlabel", x + 3, TOP - 26, str(month.year)))
    return out


def _text(css: str, x: float, y: float, text: str) -> str:
    return f'<text class="{css}" x="{x}" y="{y}">{escape(text)}</text>'


def _item_svg(item: Item, axis: Axis, y: float) -> list[str]:
    x0, x1 = axis.x(item.start), axis.x(item.end)
    classes = ("item", item.kind, item.status, "voided" if item.voided else "")
    css = " ".join(c for c in classes if c)
    out = [
        f'<g class="{css}" data-kind="{item.kind}" data-id="{escape(item.ident)}" '
        f'data-start="{item.start}" data-end="{item.end}"'
        + (f' data-status="{item.status}"' if item.status else "")
        + (' data-voided="true"' if item.voided else "")
        + ">",
        f"<title>{escape(item.hover)}</title>",
        f'<text class="label" x="{LABELS - 10}" y="{y + BAR - 3}">'
        f"{escape(item.label)}</text>",
    ]
    out.append(
        f'<rect class="bar" x="{x0}" y="{y}" width="{round(x1 - x0, 2)}" '
        f'height="{BAR}"/>'
    )
    for span in item.spans:
        sx0, sx1 = axis.x(span.start), axis.x(span.end)
        grow = 3 if span.css == "window" else 0
        out.append(
            f'<rect class="part {span.css}" x="{sx0}" y="{y - grow}" '
            f'width="{round(sx1 - sx0, 2)}" height="{BAR + 2 * grow}"/>'
        )
    for mark in item.marks:
        mx = axis.x(mark.on)
        out.append(
            f'<circle class="mark {mark.css}" cx="{mx}" cy="{y + BAR / 2}" r="4">'
            f"<title>{escape(mark.label)} {mark.on}</title></circle>"
        )
    if item.voided:
        out.append(
            f'<line class="strike" x1="{x0}" x2="{x1}" y1="{y + BAR / 2}" '
            f'y2="{y + BAR / 2}"/>'
        )
    after = max([x1] + [axis.x(s.end) for s in item.spans])
    if after < axis.x1 - 95:
        out.append(
            f'<text class="dates" x="{after + 4}" y="{y + BAR - 3}">{item.end}'
            + (f" · {item.status}" if item.status else "")
            + "</text>"
        )
    out.append("</g>")
    return out


STYLE = """
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 16px 20px; font: 14px/1.4 system-ui, -apple-system, "Segoe UI",
  Roboto, "DejaVu Sans", sans-serif; color: #1f2328; background: #fff; }
h1 { font-size: 20px; margin: 0 0 4px; }
p.sub { margin: 0 0 10px; color: #57606a; }
ul.legend { list-style: none; display: flex; flex-wrap: wrap; gap: 6px 18px;
  padding: 0; margin: 0 0 8px; font-size: 13px; color: #24292f; }
ul.legend i { display: inline-block; width: 22px; height: 11px; margin-right: 6px;
  vertical-align: -1px; border-radius: 2px; }
svg { display: block; width: 100%; height: auto; }
svg text { font-size: 12px; fill: #24292f; }
.section { font-size: 13px; font-weight: 600; fill: #57606a; }
.band { fill: #f6f8fa; }
.tick { stroke: #d0d7de; stroke-width: 1; }
.tick.year { stroke: #8c959f; }
.month { fill: #57606a; }
.yearlabel { font-weight: 600; }
.label { text-anchor: end; }
.dates { fill: #57606a; font-size: 11px; }
.bar { fill-opacity: .85; rx: 3; }
.period .bar { fill: #0969da; }
.benefit .bar { fill: #8250df; }
.key .bar { fill: #bf8700; }
.subscription .bar { fill: #1a7f37; }
.seat .bar { fill: #1b7c83; }
.part { fill-opacity: 1; }
.part.window { fill: #54aeff; fill-opacity: .9; stroke: #0969da; }
.part.grace, .part.after { fill: none; stroke: #57606a; stroke-dasharray: 4 3; }
.item.missed .bar { stroke: #a40e26; stroke-width: 2; }
.mark { fill: #fff; stroke: #1f2328; stroke-width: 2; }
.today { stroke: #d1242f; stroke-width: 2; }
.todaylabel { fill: #d1242f; font-weight: 600; text-anchor: middle; }
.item:hover .bar { fill-opacity: 1; stroke: #1f2328; stroke-width: 2; }
.item:hover .label { font-weight: 600; }
.voided .bar { fill-opacity: .25; }
.voided .label { text-decoration: line-through; fill: #6e7781; }
.strike { stroke: #1f2328; stroke-width: 2; }
.voidmark { fill: #fff; stroke: #6e7781; stroke-dasharray: 2 2; }
.empty { color: #57606a; }
@media print {
  @page { size: A4 landscape; margin: 10mm; }
  body { margin: 0; font-size: 11px; }
  * { print-color-adjust: exact; -webkit-print-color-adjust: exact; }
  svg { page-break-inside: avoid; break-inside: avoid; }
}
"""

VOIDED_LEGEND = (
    "linear-gradient(transparent 5px,#1f2328 5px 7px,transparent 7px),#c8d1da",
    "voided by a correction (struck through)",
)
LEGEND = [
    ("#0969da", "enrollment period"),
    ("#54aeff", "renewal window (R3)"),
    (
        "repeating-linear-gradient(90deg,#57606a 0 4px,transparent 4px 7px)",
        "grace (R5) / held after reassignable-on",
    ),
    ("#8250df", "benefit: granted → activate by"),
    ("#bf8700", "key: redeemed → usable until"),
    ("#1a7f37", "subscription"),
    ("#1b7c83", "seat: assigned → reassignable"),
    (
        "linear-gradient(90deg,transparent 10px,#d1242f 10px 12px,transparent 12px)",
        "the date shown (--on)",
    ),
]


def timeline_html(dates: PartnerDates, voided: Iterable[VoidedDates] = ()) -> str:
    """The page for one partner as of `dates.on`; `voided` items (from
    corrections) are drawn struck through in their sections."""
    struck = voided_items(voided)
    drawn = items(dates) + struck
    legend = LEGEND + ([VOIDED_LEGEND] if struck else [])
    head = (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(dates.partner)}: timeline on {dates.on}</title>\n"
        f"<style>{STYLE}</style>\n</head>\n<body>\n"
        f"<h1>{escape(dates.partner)}: benefits timeline</h1>\n"
        f'<p class="sub">As of {dates.on} (the red line). Hover an item for its '
        "dates. A thick red outline marks a missed deadline.</p>\n"
        '<ul class="legend">'
        + "".join(f'<li><i style="background:{c}"></i>{t}</li>' for c, t in legend)
        + "</ul>\n"
    )
    if not drawn:
        nothing = f'<p class="empty">Nothing recorded as of {dates.on}.</p>'
        return f"{head}{nothing}\n</body>\n</html>\n"
    return head + _svg(drawn, dates.on) + "\n</body>\n</html>\n"


def _svg(drawn: list[Item], on: date) -> str:
    first = min([i.start for i in drawn] + [on])
    last = max([i.end for i in drawn] + [s.end for i in drawn for s in i.spans] + [on])
    axis = Axis(first, last + timedelta(days=PAD_DAYS))
    bands: list[str] = []
    body: list[str] = []
    y = TOP + 4
    for kind, title in SECTIONS:
        section = [i for i in drawn if i.kind == kind]
        if not section:
            continue
        bands.append(
            f'<rect class="band" x="0" y="{y}" width="{WIDTH}" height="{ROW}"/>'
        )
        body.append(f'<text class="section" x="8" y="{y + 17}">{escape(title)}</text>')
        y += ROW
        for item in section:
            body += _item_svg(item, axis, y + (ROW - BAR) / 2)
            y += ROW
    height = y + 22
    today = axis.x(on)
    svg = [
        f'<svg viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-label="timeline" data-axis-start="{axis.start}" '
        f'data-axis-end="{axis.end}">',
        *bands,
        *_axis_svg(axis, height),
        *body,
        f'<line class="today" data-date="{on}" x1="{today}" x2="{today}" '
        f'y1="{TOP - 6}" y2="{height - 16}"/>',
        f'<text class="todaylabel" x="{today}" y="{height - 3}">{on}</text>',
        "</svg>",
    ]
    return "\n".join(svg)
