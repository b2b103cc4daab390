"""An iCalendar (RFC 5545) file of deadlines, written with `icalendar`.

One all-day VEVENT per deadline, with a UID that stays the same across runs
(calendar apps update an event instead of duplicating it) and a VALARM the
policy's `expiring_soon_days` before.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta

from icalendar import Alarm, Calendar, Event

from ledger.domain.deadlines import Deadline

PRODID = "-//benefits-ledger//deadlines//EN"


def summary(deadline: Deadline) -> str:
    """Partner, thing, what is due, rule and its status on the date asked."""
    d = deadline
    return f"{d.partner} {d.item} {d.ident}: {d.what} ({d.rule}) — {d.status}"


def description(deadline: Deadline, on: date) -> str:
    d = deadline
    return (
        f"{d.what.capitalize()} {d.due.isoformat()} (rule {d.rule}): {d.detail}.\n"
        f"Remedy (Benefits FAQ): {d.remedy}.\n"
        f"On {on.isoformat()} this deadline is {d.status}."
    )


def vevent(deadline: Deadline, on: date, alarm_days: int, stamp: datetime) -> Event:
    event = Event()
    event.add("uid", deadline.uid)
    event.add("dtstamp", stamp)
    event.add("dtstart", deadline.due)
    event.add("dtend", deadline.due + timedelta(days=1))
    event.add("summary", summary(deadline))
    event.add("description", description(deadline, on))
    event.add("categories", [deadline.item, deadline.rule, deadline.status])
    event.add("transp", "TRANSPARENT")
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", summary(deadline))
    alarm.add("trigger", timedelta(days=-alarm_days))
    event.add_component(alarm)
    return event


def calendar_ics(
    deadlines: Iterable[Deadline], on: date, alarm_days: int, stamp: datetime
) -> bytes:
    """The calendar file: the deadlines judged on `on`, each with an alarm
    `alarm_days` before; `stamp` (UTC) is when the file was made (DTSTAMP)."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", "Benefits ledger deadlines")
    for deadline in deadlines:
        calendar.add_component(vevent(deadline, on, alarm_days, stamp))
    return calendar.to_ical()
