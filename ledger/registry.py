"""The write commands, listed once.

Every write the ledger accepts is one `WriteCommand` here: its name (as typed
on the command line and in import lines), its fields with their value types
(ledger/domain/values.py, where every bound lives), how each field appears on
the command line, its help text with an example, and the domain decision it
runs. From this one list:

- the CLI builds its write commands (commands/writes.py),
- the import reads its lines (ledger/bulk/lines.py),
- the application checks the fields and computes the idempotency
  fingerprint (`Ledger.run`).

Adding a write command means adding its entry here, its decision in the
domain, and its test.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from eventsourcing.domain import Aggregate

from ledger.domain import (
    benefits,
    corrections,
    erasure,
    keys,
    ledger_admins,
    membership,
    seats,
    support,
    values,
    views,
)
from ledger.domain.ledger_admins import LedgerAdmins
from ledger.domain.partner import Partner
from ledger.domain.policy import Policy, PolicyLog, change_policy, days_bound
from ledger.domain.values import Value
from ledger.domain.write import Write

Answer = dict[str, Any]
# A decision: the subject (the partner, or the policy log for ledger-wide
# writes; None when the write creates it), the write, the policy in force on
# its date and the checked fields; it returns the aggregate to save and the
# answer.
Decide = Callable[..., tuple[Aggregate, Answer]]

# What a write acts on, which the application loads before deciding:
PARTNER = "partner"  # an enrolled partner; the actor must be one of its admins
ENROLLMENT = "enrollment"  # nothing yet: the write enrolls the partner
POLICY = "policy"  # the policy log; the actor must be a ledger admin
LEDGER_ADMINS = "ledger admins"  # the ledger admins (the decision checks the actor)
PARTNER_SCOPES = (PARTNER, ENROLLMENT)  # the writes an import file may hold


@dataclass(frozen=True)
class Field:
    """One field of a write: its name (the Python keyword, the import line's
    key), its value type, and how the command line shows it: an argument
    (with `metavar`) or an option `--name` (with `help`)."""

    name: str
    value: Value[Any]
    option: bool = False
    required: bool = True
    help: str = ""
    metavar: str | None = None
    # a user's e-mail (personal data): the application gives the decision
    # the user's reference instead (ledger/domain/erasure.py)
    personal: bool = False

    def parse(self, raw: Any) -> Any:
        if raw is None and not self.required:
            return None
        return self.value.parse(raw, self.name)


@dataclass(frozen=True)
class WriteCommand:
    """One write: `name` as typed on the command line and in import lines
    (and recorded with its request id), its fields, its decision and help.

    `scope` says what it acts on (see above). `reads_history`: the decision
    also gets the partner's stored events (`history=`), as a void does.
    `cli=False`: its command line is written by hand in commands/ (it shares
    a command with another entry, e.g. `admin grant --ledger EMAIL`).
    `check_together`: a bound that depends on more than one field.
    `complete`: fills in the answer what is known only once saved."""

    name: str
    fields: tuple[Field, ...]
    decide: Decide
    help: str
    scope: str = PARTNER
    reads_history: bool = False
    cli: bool = True
    check_together: Callable[[dict[str, Any]], None] | None = None
    complete: Callable[[Any, Answer], Answer] | None = None
    # `user add`: the decision also gets the e-mail encrypted (`sealed`);
    # `user forget`: once saved, the application destroys the user's key
    adds_user: bool = False
    erases_user: bool = False

    @property
    def group(self) -> str | None:
        """The CLI group (`seat` of `seat assign`); None for a top-level command."""
        words = self.name.split(" ")
        return words[0] if len(words) > 1 else None

    @property
    def verb(self) -> str:
        """The CLI command's own name (`assign` of `seat assign`)."""
        return self.name.split(" ")[-1]

    def check(self, given: dict[str, Any]) -> dict[str, Any]:
        """The fields checked against their value types (InvalidInput names
        the field, the value and the bound); an unknown or missing field is
        refused too."""
        unknown = set(given) - {f.name for f in self.fields}
        if unknown:
            raise TypeError(f"{self.name}: unknown field(s) {', '.join(unknown)}")
        checked = {f.name: f.parse(given.get(f.name)) for f in self.fields}
        if self.check_together is not None:
            self.check_together(checked)
        return checked

    def fingerprint_args(self, checked: dict[str, Any]) -> dict[str, Any]:
        """What makes two requests of this command the same content (with the
        date and the actor): its name, the partner and every field."""
        return {"command": self.name, "partner": "", **_jsonable(checked)}


def _jsonable(checked: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, date) else v for k, v in checked.items()}


def _partner_field() -> Field:
    return Field("partner", values.NAME, metavar="PARTNER")


def write_command(
    name: str, *fields: Field, decide: Decide, scope: str = PARTNER, **more: Any
) -> WriteCommand:
    """A write command whose help text is its decision's docstring; a
    partner's write has the partner as its first field."""
    help_text = inspect.cleandoc(decide.__doc__ or "")
    if scope in PARTNER_SCOPES:
        fields = (_partner_field(), *fields)
    return WriteCommand(name, fields, decide, help_text, scope, **more)


# -- the decisions, each a domain function and the answer it gives -------------------


def _enroll(
    _: None, write: Write, policy: Policy, partner: str, name: str | None
) -> tuple[Aggregate, Answer]:
    """Enroll PARTNER: opens a one-year enrollment period (R1).

    The actor becomes the partner's first admin.

    \b
    Example:
      ledger --actor ops@contoso.com partner enroll MPN-1 --on 2020-01-31 --name Contoso
    """
    created = membership.enroll(partner, name, write, policy)
    return created, views.partner_view(created, write.on)


def _renew(
    p: Partner, write: Write, policy: Policy, partner: str
) -> tuple[Aggregate, Answer]:
    """Renew PARTNER's membership for the next year (R3, R4).

    Allowed from the renewal start date (90 days before the renewal date).

    \b
    Example:
      ledger --actor ops@contoso.com partner renew MPN-1 --on 2020-12-01
    """
    membership.renew(p, write, policy)
    return p, views.partner_view(p, p.current_period.start)


def _grant_admin(
    p: Partner, write: Write, policy: Policy, partner: str, email: str
) -> tuple[Aggregate, Answer]:
    """Make EMAIL an admin of PARTNER.

    \b
    Example:
      ledger --actor ops@contoso.com admin grant MPN-1 it@contoso.com
    """
    membership.grant_admin(p, email, write)
    return p, {"partner": partner, "admins": list(p.admins)}


def _revoke_admin(
    p: Partner, write: Write, policy: Policy, partner: str, email: str
) -> tuple[Aggregate, Answer]:
    """Revoke EMAIL's admin role on PARTNER (never the last admin).

    \b
    Example:
      ledger --actor ops@contoso.com admin revoke MPN-1 it@contoso.com
    """
    membership.revoke_admin(p, email, write)
    return p, {"partner": partner, "admins": list(p.admins)}


def _grant_benefit(
    p: Partner,
    write: Write,
    policy: Policy,
    partner: str,
    benefit: str,
    kind: str,
    product: str,
    quantity: int,
) -> tuple[Aggregate, Answer]:
    """Grant BENEFIT to PARTNER in the period that contains --on.

    It expires on that period's renewal date (R2); seats of user-assigned
    benefits get 30 more days (R5).

    \b
    Example:
      ledger --actor ops@contoso.com benefit grant MPN-1 VS-2020 \\
        --kind user-subscription --product "Visual Studio Enterprise" \\
        --quantity 5 --on 2020-02-01
    """
    benefits.grant_benefit(p, benefit, kind, product, quantity, write, policy)
    return p, views.benefit_view(p.benefits[benefit])


def _activate_benefit(
    p: Partner, write: Write, policy: Policy, partner: str, benefit: str
) -> tuple[Aggregate, Answer]:
    """Activate BENEFIT, by its activate-by date at the latest (R2, R5, R6).

    A technical benefit gets an Access ID (R16).

    \b
    Example:
      ledger --actor ops@contoso.com benefit activate MPN-1 VS-2020 --on 2020-02-02
    """
    return p, views.benefit_view(benefits.activate_benefit(p, benefit, write))


def _add_tenant(
    p: Partner, write: Write, policy: Policy, partner: str, tenant: str
) -> tuple[Aggregate, Answer]:
    """Register TENANT as a cloud tenant PARTNER owns.

    \b
    Example:
      ledger --actor ops@contoso.com tenant add MPN-1 contoso-demo.onmicrosoft.com
    """
    keys.add_tenant(p, tenant, write)
    return p, {"partner": partner, "tenant": tenant, "added_on": write.on.isoformat()}


def _issue_key(
    p: Partner,
    write: Write,
    policy: Policy,
    partner: str,
    benefit: str,
    key: str,
    licenses: int,
) -> tuple[Aggregate, Answer]:
    """Record KEY, delivered by the activated product-key BENEFIT.

    The licenses of a benefit's keys never add up to more than its quantity.

    \b
    Example:
      ledger --actor ops@contoso.com key issue MPN-1 AZ-2020 KEY-1 \\
        --licenses 10 --on 2020-11-01
    """
    keys.issue_key(p, benefit, key, licenses, write)
    found = p.benefits[benefit]
    return p, {
        "key": key,
        "benefit": benefit,
        "licenses": licenses,
        "issued_on": write.on.isoformat(),
        "licenses_left": found.quantity - found.licenses_issued,
    }


def _redeem_key(
    p: Partner,
    write: Write,
    policy: Policy,
    partner: str,
    key: str,
    tenant: str,
    subscription: str,
    mode: str,
) -> tuple[Aggregate, Answer]:
    """Redeem KEY once, by the benefit expiry date (R2, R9, R10).

    The key is usable for one year from redemption (R7).

    \b
    Example:
      ledger --actor ops@contoso.com key redeem MPN-1 KEY-1 \\
        --tenant contoso-demo.onmicrosoft.com --subscription SUB-1 \\
        --mode new --on 2020-12-01
    """
    found = keys.redeem_key(p, key, tenant, subscription, mode, write)
    return p, views.redemption_view(found, p.subscriptions[subscription])


def _add_user(
    p: Partner,
    write: Write,
    policy: Policy,
    partner: str,
    email: str,
    source: str,
    sealed: str = "",
) -> tuple[Aggregate, Answer]:
    """Add EMAIL to PARTNER's users; only users can receive seats (R12).

    The e-mail is kept encrypted under the user's own key ("Personal data"
    in the README).

    \b
    Example:
      ledger --actor ops@contoso.com user add MPN-1 dev@contoso.com --source aad
    """
    seats.add_user(p, email, sealed, source, write)
    return p, views.user_view(p, email)


def _forget_user(
    p: Partner, write: Write, policy: Policy, partner: str, email: str, reason: str
) -> tuple[Aggregate, Answer]:
    """Erase EMAIL's personal data (GDPR art. 17): destroy the user's key.

    Records UserForgotten, naming the user's pseudonym, never the e-mail.
    From then on the user reads as the pseudonym everywhere (user show takes
    it); seats stay counted and keep their dates. Once per user.

    \b
    Example:
      ledger --actor ops@contoso.com user forget MPN-1 dev@contoso.com \
        --reason "erasure request 42"
    """
    name = erasure.forget_user(p, email, reason, write)
    answer = {
        "partner": partner,
        "user": name,
        "forgotten_on": write.on.isoformat(),
        "reason": reason,
    }
    return p, answer


def _record_offer(
    p: Partner, write: Write, policy: Policy, partner: str, email: str, offer: str
) -> tuple[Aggregate, Answer]:
    """Record that EMAIL already has OFFER outside the ledger (a fact, R15).

    OFFER: enterprise-agreement, cloud-solution-partner, azure-in-open,
    azure-pass, action-pack, or other:NAME.

    \b
    Example:
      ledger --actor ops@contoso.com user offer MPN-1 dev@contoso.com azure-pass
    """
    seats.record_offer(p, email, offer, write)
    return p, views.user_view(p, email)


def _assign_seat(
    p: Partner, write: Write, policy: Policy, partner: str, benefit: str, email: str
) -> tuple[Aggregate, Answer]:
    """Give EMAIL a free seat of the activated BENEFIT (R5, R12, R14, R15).

    \b
    Example:
      ledger --actor ops@contoso.com seat assign MPN-1 VS-2020 dev@contoso.com \\
        --on 2021-01-01
    """
    return p, views.seat_view(seats.assign_seat(p, benefit, email, write, policy))


def _sign_in(
    p: Partner, write: Write, policy: Policy, partner: str, seat: str
) -> tuple[Aggregate, Answer]:
    """Record that SEAT's user logged in: the seat becomes active (R13).

    \b
    Example:
      ledger --actor ops@contoso.com seat sign-in MPN-1 'VS-2020#1' --on 2021-01-02
    """
    return p, views.seat_view(seats.sign_in(p, seat, write))


def _reassign_seat(
    p: Partner, write: Write, policy: Policy, partner: str, seat: str, email: str
) -> tuple[Aggregate, Answer]:
    """Move SEAT to EMAIL, 90 days after its current assignment (R14).

    \b
    Example:
      ledger --actor ops@contoso.com seat reassign MPN-1 'VS-2020#1' \\
        qa@contoso.com --on 2021-04-01
    """
    return p, views.seat_view(seats.reassign_seat(p, seat, email, write, policy))


def _release_seat(
    p: Partner, write: Write, policy: Policy, partner: str, seat: str
) -> tuple[Aggregate, Answer]:
    """Free SEAT. Giving it to someone else inside its 90-day window is still
    a reassignment, refused the same way (R14).

    \b
    Example:
      ledger --actor ops@contoso.com seat release MPN-1 'VS-2020#1' --on 2021-02-01
    """
    return p, views.seat_view(seats.release_seat(p, seat, write))


def _open_ticket(
    p: Partner, write: Write, policy: Policy, partner: str, benefit: str, product: str
) -> tuple[Aggregate, Answer]:
    """Open a support ticket for --product on the activated technical BENEFIT;
    it uses one incident (R17).

    \b
    Example:
      ledger --actor ops@contoso.com ticket open MPN-1 SUP-2020 --product "SQL Server"
    """
    ticket = support.open_ticket(p, benefit, product, write)
    return p, views.ticket_view(ticket, p.benefits[benefit])


def _set_policy(
    log: PolicyLog | None, write: Write, policy: Policy, name: str, days: int
) -> tuple[Aggregate, Answer]:
    """Set NAME to DAYS from --on. Writes on or after that date use it; events
    recorded before keep the dates they were decided with.

    \b
    Example:
      ledger --actor ops@contoso.com policy set reassignment_days 60 --on 2021-01-01
    """
    changed = change_policy(log, name, days, write)
    # the change is the latest in effective time, so on its date the policy
    # is the one in force before it with this parameter changed
    in_force = replace(policy, **{name: days})
    return changed, {"on": write.on.isoformat(), **in_force.as_dict()}


def _check_policy_days(checked: dict[str, Any]) -> None:
    days_bound(checked["name"]).parse(checked["days"], checked["name"])


def _void(
    p: Partner,
    write: Write,
    policy: Policy,
    partner: str,
    position: int,
    reason: str,
    history: list[Any],
) -> tuple[Aggregate, Answer]:
    """Void PARTNER's event at POSITION (as `audit history` prints it): from
    then on the partner is as if it had never happened, at every date, while
    `audit replay --known-at` an earlier instant still shows it. Refused while
    a later event depends on it: void the later ones first, latest first.

    \b
    Example:
      ledger --actor ops@contoso.com void MPN-1 42 \\
        --reason "seat given to the wrong user" --on 2021-03-01
    """
    voided = corrections.void(p, history, position, reason, write)
    p.adopt(corrections.fold([*(h.event for h in history), voided]))
    return p, {
        "partner": partner,
        "voided": position,
        "event": voided.voided_event,
        "reason": reason,
        "position": None,  # known once saved (`complete`)
    }


def _void_position(app: Any, answer: Answer) -> Answer:
    if answer.get("position") is not None:
        return answer
    return {
        **answer,
        "position": app.void_position(answer["partner"], answer["voided"]),
    }


def _init_ledger(
    log: LedgerAdmins | None, write: Write, policy: Policy, email: str
) -> tuple[Aggregate, Answer]:
    """Name the ledger's first ledger admin, who may change the policy and
    grant other ledger admins. Running it again with an admin of the ledger
    changes nothing; once the ledger has an admin, anyone else is refused.

    \b
    Example:
      ledger init --admin ops@contoso.com
    """
    changed = ledger_admins.init_ledger(log, email, write)
    return changed, {"ledger_admins": changed.admins}


def _grant_ledger_admin(
    log: LedgerAdmins | None, write: Write, policy: Policy, email: str
) -> tuple[Aggregate, Answer]:
    """Make EMAIL a ledger admin from --on (`admin grant --ledger EMAIL`).

    \b
    Example:
      ledger --actor ops@contoso.com admin grant --ledger audit@contoso.com
    """
    changed = ledger_admins.grant_ledger_admin(log, email, write)
    return changed, {"ledger_admins": changed.admins}


def _revoke_ledger_admin(
    log: LedgerAdmins | None, write: Write, policy: Policy, email: str
) -> tuple[Aggregate, Answer]:
    """Revoke EMAIL's ledger admin role from --on, never the last one
    (`admin revoke --ledger EMAIL`).

    \b
    Example:
      ledger --actor ops@contoso.com admin revoke --ledger audit@contoso.com
    """
    changed = ledger_admins.revoke_ledger_admin(log, email, write)
    return changed, {"ledger_admins": changed.admins}


# -- the registry --------------------------------------------------------------------

BENEFIT = Field("benefit", values.NAME, metavar="BENEFIT")
SEAT = Field("seat", values.NAME, metavar="SEAT")
EMAIL = Field("email", values.EMAIL)
USER = Field("email", values.EMAIL, personal=True)

WRITE_COMMANDS: dict[str, WriteCommand] = {
    c.name: c
    for c in (
        write_command(
            "partner enroll",
            Field(
                "name",
                values.NAME,
                option=True,
                required=False,
                help="Display name of the partner.",
            ),
            decide=_enroll,
            scope=ENROLLMENT,
        ),
        write_command("partner renew", decide=_renew),
        # `admin grant|revoke` share their command line with the ledger
        # admins' (commands/admin.py): PARTNER EMAIL, or --ledger EMAIL
        write_command("admin grant", EMAIL, decide=_grant_admin, cli=False),
        write_command("admin revoke", EMAIL, decide=_revoke_admin, cli=False),
        write_command(
            "benefit grant",
            BENEFIT,
            Field("kind", values.KIND, option=True, help="What the benefit is."),
            Field(
                "product",
                values.NAME,
                option=True,
                help="Product name, e.g. 'Visual Studio Enterprise'.",
            ),
            Field(
                "quantity",
                values.QUANTITY,
                option=True,
                help="Licenses, seats or support incidents.",
            ),
            decide=_grant_benefit,
        ),
        write_command("benefit activate", BENEFIT, decide=_activate_benefit),
        write_command(
            "tenant add",
            Field("tenant", values.NAME, metavar="TENANT"),
            decide=_add_tenant,
        ),
        write_command(
            "key issue",
            BENEFIT,
            Field("key", values.NAME, metavar="KEY"),
            Field(
                "licenses", values.QUANTITY, option=True, help="Licenses on the key."
            ),
            decide=_issue_key,
        ),
        write_command(
            "key redeem",
            Field("key", values.NAME, metavar="KEY"),
            Field(
                "tenant",
                values.NAME,
                option=True,
                help="A tenant the partner owns (R8).",
            ),
            Field(
                "subscription",
                values.NAME,
                option=True,
                help="Subscription to create, add to or extend.",
            ),
            Field(
                "mode",
                values.MODE,
                option=True,
                help="new: create; add: more licenses, same license-days; "
                "extend: one more year. Final.",
            ),
            decide=_redeem_key,
        ),
        write_command(
            "user add",
            USER,
            Field(
                "source",
                values.SOURCE,
                option=True,
                help="The partner's User Management list, or its AAD tenant.",
            ),
            decide=_add_user,
            adds_user=True,
        ),
        write_command(
            "user offer", USER, Field("offer", values.OFFER), decide=_record_offer
        ),
        write_command(
            "user forget",
            USER,
            Field(
                "reason",
                values.REASON,
                option=True,
                help="Why (e.g. the erasure request); kept in the log.",
            ),
            decide=_forget_user,
            erases_user=True,
        ),
        write_command("seat assign", BENEFIT, USER, decide=_assign_seat),
        write_command("seat sign-in", SEAT, decide=_sign_in),
        write_command("seat reassign", SEAT, USER, decide=_reassign_seat),
        write_command("seat release", SEAT, decide=_release_seat),
        write_command(
            "ticket open",
            BENEFIT,
            Field(
                "product",
                values.NAME,
                option=True,
                help="The product you're trying to install.",
            ),
            decide=_open_ticket,
        ),
        write_command(
            "policy set",
            Field("name", values.Choice(tuple(Policy.names()))),
            Field("days", values.POLICY_DAYS),
            decide=_set_policy,
            scope=POLICY,
            check_together=_check_policy_days,
        ),
        write_command(
            "void",
            Field("position", values.POSITION, metavar="POSITION"),
            Field(
                "reason",
                values.REASON,
                option=True,
                help="Why the event is void (1..500 characters); kept in the log.",
            ),
            decide=_void,
            reads_history=True,
            complete=_void_position,
        ),
        # `ledger init --admin EMAIL` acts before any admin exists (its actor
        # defaults to EMAIL), written by hand in commands/admin.py
        write_command(
            "ledger init", EMAIL, decide=_init_ledger, scope=LEDGER_ADMINS, cli=False
        ),
        write_command(
            "admin grant --ledger",
            EMAIL,
            decide=_grant_ledger_admin,
            scope=LEDGER_ADMINS,
            cli=False,
        ),
        write_command(
            "admin revoke --ledger",
            EMAIL,
            decide=_revoke_ledger_admin,
            scope=LEDGER_ADMINS,
            cli=False,
        ),
    )
}


def write_commands_of(group: str | None) -> list[WriteCommand]:
    """The write commands the CLI builds in one group (`seat`: assign,
    sign-in, ...), or at the top level (None: `void`)."""
    return [c for c in WRITE_COMMANDS.values() if c.cli and c.group == group]
