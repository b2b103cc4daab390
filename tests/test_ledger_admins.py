"""Ledger admins: `ledger init` names the first, ledger admins grant and revoke
others (never the last), and only they change the policy, on the dates they
hold the role."""

from __future__ import annotations

import pytest

from ledger.domain.errors import InvalidInput, RuleViolation
from tests.conftest import ACTOR, d

OPS = "ops@contoso.example"


def test_policy_set_on_a_ledger_without_admin_says_to_run_init(app, run):
    before = run.events()
    result = run("policy", "set", "reassignment_days", "60", "--on", "2021-01-01")
    assert result.exit_code == 1
    assert "ledger init --admin EMAIL" in result.stderr
    assert '"rule":"admin"' in result.stderr.replace(" ", "")
    assert run.events() == before


def test_init_names_the_first_ledger_admin_who_may_change_the_policy(run):
    assert run.json("init", "--admin", OPS, actor=None) == {"ledger_admins": [OPS]}
    changed = run.json(
        "policy", "set", "reassignment_days", "60", "--on", "2021-01-01", actor=OPS
    )
    assert changed["reassignment_days"] == 60


def test_init_again_with_the_same_admin_records_nothing(run):
    run.json("init", "--admin", OPS, actor=None)
    before = run.events()
    assert run.json("init", "--admin", OPS, actor=None) == {"ledger_admins": [OPS]}
    assert run.events() == before


def test_init_with_another_admin_once_one_exists_is_refused(run):
    run.json("init", "--admin", OPS, actor=None)
    before = run.events()
    result = run("init", "--admin", "mallory@example.com", actor=None)
    assert result.exit_code == 1
    assert "the ledger already has a ledger admin" in result.stderr
    assert OPS not in result.stderr
    assert run.events() == before


def test_a_partner_admin_is_not_a_ledger_admin(app):
    app.init_ledger(OPS, d("1900-01-01"))
    app.enroll("P1", d("2020-01-31"), ACTOR)
    with pytest.raises(RuleViolation) as error:
        app.set_policy("reassignment_days", 60, d("2021-01-01"), ACTOR)
    assert error.value.message == (
        f"{ACTOR} is not an admin of the ledger (rule admin)"
    )


def test_ledger_admins_grant_and_revoke_others_but_never_the_last(app):
    app.init_ledger(OPS, d("1900-01-01"))
    granted = app.grant_ledger_admin("it@contoso.example", OPS, d("2021-01-01"))
    assert granted == {"ledger_admins": [OPS, "it@contoso.example"]}
    app.set_policy("reassignment_days", 60, d("2021-02-01"), "it@contoso.example")
    app.revoke_ledger_admin(OPS, "it@contoso.example", d("2021-03-01"))
    with pytest.raises(RuleViolation) as error:
        app.revoke_ledger_admin(
            "it@contoso.example", "it@contoso.example", d("2021-04-01")
        )
    assert error.value.code == "last-admin"
    with pytest.raises(InvalidInput):
        app.grant_ledger_admin(
            "it@contoso.example", "it@contoso.example", d("2021-04-01")
        )


def test_a_ledger_admin_changes_no_policy_dated_before_the_grant(app):
    app.init_ledger(OPS, d("1900-01-01"))
    app.grant_ledger_admin("it@contoso.example", OPS, d("2021-01-01"))
    with pytest.raises(RuleViolation) as error:
        app.set_policy("reassignment_days", 60, d("2020-12-31"), "it@contoso.example")
    assert error.value.message == (
        "it@contoso.example is not an admin of the ledger on 2020-12-31 "
        "(admin from 2021-01-01) (rule admin)"
    )


def test_admin_grant_ledger_on_the_command_line(run):
    run.json("init", "--admin", OPS, actor=None)
    shown = run.json(
        "admin",
        "grant",
        "--ledger",
        "it@contoso.example",
        "--on",
        "2021-01-01",
        actor=OPS,
    )
    assert shown == {"ledger_admins": [OPS, "it@contoso.example"]}
    revoked = run.json(
        "admin",
        "revoke",
        "--ledger",
        OPS,
        "--on",
        "2021-02-01",
        actor="it@contoso.example",
    )
    assert revoked == {"ledger_admins": ["it@contoso.example"]}
    assert run("admin", "grant", "P1", "--ledger", "x@contoso.example").exit_code == 2
    assert run("admin", "grant", "P1").exit_code == 2
