"""ledger audit history | replay | check | digest | verify | export.

Compliance answers read from the event log itself, never from the read
models: who did what and when, what a partner held on a date, whether the
projections agree with the log, and whether the log was altered.
"""

from __future__ import annotations

import re
from typing import Any

import click
import orjson

from commands.context import DATE, listing, pass_context, today
from commands.output import Page, emit, render_record
from commands.params import ValueType, WholeType
from ledger.domain.errors import InvalidInput
from ledger.domain.values import INSTANT, NAME, POSITION, WITHIN_DAYS

PARTNER = click.argument("partner_id", metavar="PARTNER", type=ValueType(NAME))
DIFFERENCE_COLUMNS = ("view", "partner", "in", "row")
REPLAY_SECTIONS = (
    "benefits",
    "keys",
    "subscriptions",
    "seats",
    "users",
    "tickets",
    "entitlements",
    "expiring",
    "reassignable",
    "conflicts",
    "skipped",
)


class Sha256Type(click.ParamType):
    name = "SHA256"

    def convert(self, value: Any, param: Any, ctx: Any) -> str:
        if not re.fullmatch(r"[0-9a-fA-F]{64}", value or ""):
            self.fail(f"{value!r} is not a sha256 (64 hexadecimal digits)", param, ctx)
        return value.lower()


class DigestFile(click.ParamType):
    """A file holding a saved digest: {"position": N, "sha256": H}, or
    {"digest": {...}} as the last line of `audit export` writes it."""

    name = "FILE"

    def convert(self, value: Any, param: Any, ctx: Any) -> tuple[int, str]:
        if isinstance(value, tuple):
            return value
        try:
            with open(value, "rb") as file:
                data = orjson.loads(file.read())
        except OSError as error:
            self.fail(f"cannot read {value!r}: {error.strerror}", param, ctx)
        except orjson.JSONDecodeError as error:
            self.fail(f"{value!r} is not JSON ({error})", param, ctx)
        if isinstance(data, dict) and isinstance(data.get("digest"), dict):
            data = data["digest"]
        if not isinstance(data, dict) or not {"position", "sha256"} <= data.keys():
            self.fail(
                f"{value!r} holds no digest: expected an object with "
                '"position" and "sha256", as `ledger -o json audit digest` prints',
                param,
                ctx,
            )
        position, sha256 = data["position"], data["sha256"]
        try:
            POSITION.parse(position, "position")
        except InvalidInput:
            self.fail(
                f'{value!r}: "position" is {position!r}, not a position '
                f"({POSITION.bound})",
                param,
                ctx,
            )
        if not isinstance(sha256, str) or not re.fullmatch(r"[0-9a-fA-F]{64}", sha256):
            self.fail(
                f'{value!r}: "sha256" is {sha256!r}, not a sha256 (64 hexadecimal '
                "digits)",
                param,
                ctx,
            )
        return position, sha256.lower()


def _audit() -> Any:
    """ledger.audit, imported when a command runs (not for --help)."""
    from ledger import audit

    return audit


def within_option(func: Any) -> Any:
    return click.option(
        "--within",
        type=WholeType(WITHIN_DAYS),
        default=None,
        help="Days ahead for the `expiring` rows (R11); default the policy's "
        "expiring_soon_days in force on the date (30 unless changed).",
    )(func)


@click.group("audit")
def audit_group() -> None:
    """Audit trail, as-of replays, projection checks and tamper-evident digests.

    Every answer comes from the event log itself, not from the read models.
    """


@audit_group.command()
@PARTNER
@click.option(
    "--entity",
    default=None,
    metavar="ID",
    help="Only events that name ID in their data: a benefit, key, subscription, seat, "
    "user e-mail, tenant, ticket, offer or access id. A seat BENEFIT#N also keeps the "
    "grant of BENEFIT that created it.",
)
@listing(
    "position",
    "partner",
    "version",
    "recorded_at",
    "effective_on",
    "actor",
    "login_role",
    "event",
    "request_id",
    "data",
    "voided_by",
    "voids",
    "reason",
    after="position",
)
@pass_context
def history(obj, page: Page, partner_id: str, entity: str | None) -> None:
    """Every event of PARTNER in the order it was recorded.

    Each row has `position` (the event's global position in the log),
    `recorded_at` (when the ledger recorded it), `effective_on` (its business
    date), `actor`, `login_role` (the PostgreSQL login role that recorded it;
    empty on SQLite), `event`, `request_id` and `data` (the event's own fields).
    Page through a long history with --limit and --after (the last position
    of the page before).

    \b
    Example:
      ledger -o json audit history MPN-1
      ledger audit history MPN-1 --entity VS-2021#1
      ledger audit history MPN-1 --limit 20 --after 120
    """
    page.emit(obj.output, _audit().history(obj.app, partner_id, entity))


@audit_group.command()
@PARTNER
@click.option(
    "--as-of",
    "as_of",
    type=DATE,
    required=True,
    help="Replay the events effective on or before this date.",
)
@click.option(
    "--known-at",
    "known_at",
    type=ValueType(INSTANT),
    default=None,
    help="Also leave out events recorded after this instant (ISO timestamp; "
    "without an offset it is UTC): what the ledger said at that moment.",
)
@within_option
@pass_context
def replay(obj, partner_id: str, as_of, known_at, within: int | None) -> None:
    """PARTNER's state as of a date, rebuilt from its own events alone.

    Events effective on or before --as-of (and, with --known-at, recorded at
    or before that instant) are applied in recorded order to an empty
    partner. The answer has the membership (`partner`), `benefits`, `keys`,
    `subscriptions`, `seats`, `users` and `tickets`, and the report rows
    `entitlements`, `expiring`, `reassignable` and `conflicts` on that date,
    with the same rows and fields as `ledger report ...`. An event whose
    prerequisites are not in effect on that date is listed in `skipped`.
    The same log always gives byte-identical JSON.

    A partner enrolled after --as-of (or whose enrollment was recorded after
    --known-at) held nothing yet: exit 1 with the enrollment date.

    \b
    Example:
      ledger -o json audit replay MPN-1 --as-of 2020-12-01
      ledger -o json audit replay MPN-1 --as-of 2020-12-01 --known-at 2020-12-02T09:00
    """
    answer = _audit().replay(obj.app, partner_id, as_of, known_at, within)
    if obj.output == "json":
        emit("json", answer)
        return
    summary = {
        k: answer[k] for k in ("as_of", "known_at", "events", "through_position")
    }
    if obj.output == "csv":  # one document: a row per item, named by its section
        rows = [{"section": "partner", **summary, **answer["partner"]}]
        rows += [{"section": s, **row} for s in REPLAY_SECTIONS for row in answer[s]]
        emit("csv", rows, ("section",))
        return
    emit(obj.output, {**summary, **answer["partner"]})
    for section in REPLAY_SECTIONS:
        click.echo()
        click.secho(f"== {section}", bold=True)
        emit(obj.output, answer[section])


@audit_group.command()
@click.option(
    "--on",
    "on",
    type=DATE,
    default=None,
    help="Compare the report rows on this date; default today (UTC).",
)
@within_option
@pass_context
def check(obj, on, within: int | None) -> None:
    """Compare every projection with a fresh replay of the whole log.

    For each enrolled partner, the report rows (entitlements, expiring,
    reassignable, conflicts) are computed from its events and compared with
    the rows the projections answer. Exit 0 with `"ok": true`; exit 1 with
    the `differences` (view, partner, which side has the row, the row).

    \b
    Example:
      ledger -o json audit check --on 2021-03-01
    """
    day = on or today()
    from projections.check import check as check_projections

    answer = check_projections(obj.app, day, within)
    summary = {k: v for k, v in answer.items() if k != "differences"}
    if obj.output == "json":
        emit("json", answer)
    elif obj.output == "csv":  # one document: the differences; the summary on stderr
        emit("csv", answer["differences"], DIFFERENCE_COLUMNS)
        click.echo(render_record(summary), err=True)
    else:
        emit(obj.output, summary)
        if answer["differences"]:
            click.echo()
            emit(obj.output, answer["differences"], DIFFERENCE_COLUMNS)
    if not answer["ok"]:
        click.get_current_context().exit(1)


@audit_group.command()
@pass_context
def digest(obj) -> None:
    """Print the head of the hash chain over every stored event.

    `{"position": N, "sha256": H}`: position N is the last event's position;
    H chains, in order, every event's position, aggregate id, version, type
    and stored data (which holds its recorded time). Keep it somewhere the
    database's writers can't reach: `verify --position N --sha256 H` later
    proves the log up to N is unchanged.

    The chain hashes are also recorded in the table ledger_audit_chain, so a
    later verify can name the first position that departs. If the log
    already departs from a chain recorded before, no digest is given: exit 1
    with the position, as `verify` does.

    \b
    Example:
      ledger -o json audit digest > digest.json
    """
    ok, answer = _audit().digest(obj.app)
    _finish(obj, ok, answer)


@audit_group.command()
@click.option(
    "--position",
    type=WholeType(POSITION),
    default=None,
    help="Position N of a digest saved earlier.",
)
@click.option(
    "--sha256", type=Sha256Type(), default=None, help="The sha256 H of that digest."
)
@click.option(
    "--digest-file",
    type=DigestFile(),
    default=None,
    help="A digest saved earlier: the JSON `audit digest -o json` printed (or the "
    "last line of `audit export`).",
)
@pass_context
def verify(
    obj,
    position: int | None,
    sha256: str | None,
    digest_file: tuple[int, str] | None,
) -> None:
    """Recompute the hash chain and check the log.

    With a digest saved earlier (--position N --sha256 H), proves that the
    log up to position N is exactly what was digested, or exits 1. The
    verdict rests on H alone; the position named comes from comparing the
    log with the chain hashes `digest` recorded (a changed, deleted,
    inserted or moved event is named by its position; a truncated tail by
    the first missing position). If those recorded hashes were rewritten
    too, verify still exits 1 but can only say "at or before N". Events
    after N are not covered by that digest: an event appended later looks
    like any later write unless a check below fails.

    Without a digest it checks the log against the recorded chain hashes and
    checks what needs no digest: every event decodes and each aggregate's
    versions follow 1, 2, 3... That catches damage and naive edits; only a
    digest kept outside the database proves the log against someone who can
    rewrite the whole database.

    Exit 0 with `"ok": true`; exit 1 with `"ok": false`, `broken_at` (the
    first position where the log breaks), `problem` (changed, missing,
    inserted, undecodable, version-sequence or digest-mismatch), `message`
    and the `problems` found. With a digest, `digest_matches` says whether
    the log up to N is the one digested (a break after N fails too).

    Every answer also says `identity`: "database" when the actor of a write
    is the e-mail bound to its PostgreSQL login role (`ledger db setup`
    ran), "self-declared" when it is whatever --actor said; and
    `append_only`: whether the database's trigger refuses UPDATE, DELETE and
    TRUNCATE on the event tables (false on SQLite).

    \b
    Example:
      ledger -o json audit digest > digest.json
      ledger audit verify --digest-file digest.json
      ledger -o json audit verify --position 1200 --sha256 9f2c...e1
    """
    if (position is None) != (sha256 is None):
        raise click.UsageError(
            "give both --position and --sha256 (a saved digest), or neither"
        )
    if digest_file is not None:
        if position is not None:
            raise click.UsageError(
                "give the saved digest either as --digest-file or as --position "
                "and --sha256, not both"
            )
        position, sha256 = digest_file
    ok, answer = _audit().verify(obj.app, position, sha256)
    _finish(obj, ok, answer)


@audit_group.command()
@click.option(
    "--partner",
    "partner_id",
    default=None,
    metavar="PARTNER",
    type=ValueType(NAME),
    help="Only this partner's events (default: every partner's).",
)
@pass_context
def export(obj, partner_id: str | None) -> None:
    """Print the audit trail as JSON Lines, whatever -o says.

    One `history` row per line (with `partner`), in order of position, then a
    last line `{"digest": {"position": N, "sha256": H}}`: the digest of the
    whole log at export time, which `audit verify --position N --sha256 H`
    accepts as long as the log is unchanged. Request records (idempotency
    answers) are covered by the digest but are not trail lines. If the log
    already departs from the chain recorded earlier, the last line says so
    and the exit code is 1.

    \b
    Example:
      ledger audit export --partner MPN-1 > MPN-1.trail.jsonl
      tail -n 1 MPN-1.trail.jsonl
    """
    last: dict[str, Any] = {}
    for row in _audit().export(obj.app, partner_id):
        click.echo(orjson.dumps(row).decode())
        last = row
    if last.get("digest") is None:
        click.get_current_context().exit(1)


def _finish(obj, ok: bool, answer: dict[str, Any]) -> None:
    emit(obj.output, answer)
    if not ok:
        click.get_current_context().exit(1)


COMMANDS = [audit_group]
