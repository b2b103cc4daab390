"""Calendar arithmetic used by the rules (RULES.md: "Dates are calendar dates")."""

from __future__ import annotations

from datetime import date, timedelta


def one_year_after(day: date) -> date:
    """The same month and day a year later; 29 February becomes 28 February."""
    try:
        return day.replace(year=day.year + 1)
    except ValueError:
        return day.replace(year=day.year + 1, day=28)


def days_after(day: date, days: int) -> date:
    return day + timedelta(days=days)


def days_between(start: date, end: date) -> int:
    return (end - start).days
