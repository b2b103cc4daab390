"""Generate a realistic import file: partners with years of history.

Each partner enrolls, grants a second admin, registers a demo tenant, and
every year is granted product keys, Visual Studio seats and a support
benefit; activates them; adds users (one holds an outside offer); issues
keys and redeems them (new, then add, then extend); assigns seats, signs
users in, reassigns one seat after 90 days, frees another and gives it out
again; opens support tickets; and renews inside the renewal window. Every
command is accepted by the ledger's rules, in file order.

Written by `python scripts/gen_data.py COMMANDS OUT.jsonl`, used by the
benchmark and the tests. The file has no actor fields and no request ids:
import it with --actor (ACTOR below) and the ids are derived from the file.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import orjson

ACTOR = "ops@ledger.example"
FIRST_DAY = date(2018, 1, 1)


def _year_after(day: date, years: int) -> date:
    return day.replace(year=day.year + years)


class History:
    """The commands of one partner, in the order they happened."""

    def __init__(self, index: int, start: date) -> None:
        self.partner = f"MPN-{index:06d}"
        self.domain = f"p{index}.example"
        self.start = start
        self.commands: list[tuple[date, int, dict[str, Any]]] = []

    def add(self, command: str, on: date, **fields: Any) -> None:
        record = {
            "command": command,
            "partner": self.partner,
            **fields,
            "on": on.isoformat(),
        }
        self.commands.append((on, len(self.commands), record))

    def user(self, number: int) -> str:
        return f"u{number}@{self.domain}"

    def ordered(self) -> list[dict[str, Any]]:
        return [record for _, _, record in sorted(self.commands)]


def _membership(h: History, rng: random.Random) -> None:
    h.add("partner enroll", h.start, name=f"Partner {h.partner}")
    h.add("admin grant", h.start, email=f"it@{h.domain}")
    h.add("tenant add", h.start, tenant=f"demo.{h.domain}")


def _benefits(h: History, year: int, p: date, rng: random.Random) -> None:
    day = p + timedelta(days=1)
    for benefit, kind, product, quantity in (
        (f"AZ-{year}", "product-key", "Azure", 50),
        (f"VS-{year}", "user-subscription", "Visual Studio Enterprise", 5),
        (f"SUP-{year}", "technical", "Advanced Support", 3),
    ):
        h.add(
            "benefit grant",
            day,
            benefit=benefit,
            kind=kind,
            product=product,
            quantity=quantity,
        )
        h.add("benefit activate", day, benefit=benefit)


def _users(h: History, year: int, p: date, rng: random.Random) -> None:
    day = p + timedelta(days=2)
    new = range(1, 7) if year == 0 else range(5 + 2 * year, 7 + 2 * year)
    for number in new:
        h.add(
            "user add",
            day,
            email=h.user(number),
            source=rng.choice(["aad", "user-management"]),
        )
    if year == 0:
        h.add("user offer", day, email=h.user(1), offer="azure-pass")


def _keys(h: History, year: int, p: date, rng: random.Random) -> None:
    benefit, sub = f"AZ-{year}", f"SUB-{year}"
    for number, (licenses, mode) in enumerate(
        ((10, "new"), (10, "add"), (20, "extend")), 1
    ):
        issued = p + timedelta(days=10 + 20 * number + rng.randrange(5))
        key = f"KEY-{h.partner}-{year}-{number}"
        h.add("key issue", issued, benefit=benefit, key=key, licenses=licenses)
        h.add(
            "key redeem",
            issued + timedelta(days=3),
            key=key,
            tenant=f"demo.{h.domain}",
            subscription=sub,
            mode=mode,
        )


def _seats(h: History, year: int, p: date, rng: random.Random) -> None:
    benefit = f"VS-{year}"
    users = (
        [h.user(n) for n in range(1, 7)]
        if year == 0
        else [h.user(n) for n in (1, 2, 3, 5 + 2 * year, 6 + 2 * year)] + [h.user(4)]
    )
    for number, user in enumerate(users[:5], 1):
        h.add("seat assign", p + timedelta(days=3), benefit=benefit, email=user)
        if number <= 4:
            h.add(
                "seat sign-in",
                p + timedelta(days=5 + number),
                seat=f"{benefit}#{number}",
            )
    h.add("seat reassign", p + timedelta(days=100), seat=f"{benefit}#1", email=users[5])
    h.add("seat sign-in", p + timedelta(days=101), seat=f"{benefit}#1")
    h.add("seat release", p + timedelta(days=120), seat=f"{benefit}#2")
    h.add("seat assign", p + timedelta(days=130), benefit=benefit, email=users[0])


def _support(h: History, year: int, p: date, rng: random.Random) -> None:
    for days in (30, 60):
        h.add(
            "ticket open",
            p + timedelta(days=days + rng.randrange(10)),
            benefit=f"SUP-{year}",
            product=rng.choice(["SQL Server", "Azure", "Windows"]),
        )


def partner_history(index: int, years: int, rng: random.Random) -> list[dict[str, Any]]:
    """Every command of one partner over `years` enrollment years."""
    start = FIRST_DAY + timedelta(days=rng.randrange(700))
    start = start.replace(day=min(start.day, 28))
    h = History(index, start)
    _membership(h, rng)
    for year in range(years):
        p = _year_after(start, year)
        for part in (_benefits, _users, _keys, _seats, _support):
            part(h, year, p, rng)
        h.add("partner renew", _year_after(start, year + 1) - timedelta(days=30))
    return h.ordered()


def generate(commands: int, years: int = 3, seed: int = 1) -> Iterator[dict[str, Any]]:
    """`commands` commands: whole partner histories, the last one cut short."""
    rng = random.Random(seed)
    left, index = commands, 0
    while left > 0:
        index += 1
        history = partner_history(index, years, rng)[:left]
        left -= len(history)
        yield from history


def write_jsonl(path: Path, commands: int, years: int = 3, seed: int = 1) -> int:
    """Write the file; the number of partners in it."""
    partners: set[str] = set()
    with path.open("wb") as out:
        for record in generate(commands, years, seed):
            partners.add(record["partner"])
            out.write(orjson.dumps(record) + b"\n")
    return len(partners)
