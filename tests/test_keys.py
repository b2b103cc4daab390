"""R2, R7-R10: product keys and cloud subscriptions, with the FAQ's dates."""

from __future__ import annotations

import pytest

from ledger.domain.errors import NotFound, RuleViolation
from tests.conftest import ACTOR, count_events, d


@pytest.fixture
def keyed(app):
    """Enrolled 2020-01-31 (benefit expiry 2021-01-31), 40 Azure licenses."""
    app.enroll("P1", d("2020-01-31"), ACTOR)
    app.grant_benefit("P1", "AZ", "product-key", "Azure", 40, d("2020-02-01"), ACTOR)
    app.activate_benefit("P1", "AZ", d("2020-02-01"), ACTOR)
    app.add_tenant("P1", "demo", d("2020-02-01"), ACTOR)
    for n, licenses in enumerate((10, 10, 5, 10), start=1):
        app.issue_key("P1", "AZ", f"K{n}", licenses, d("2020-03-01"), ACTOR)
    return app


def redeem(app, key, mode, on, sub="S1", tenant="demo"):
    return app.redeem_key("P1", key, tenant, sub, mode, d(on), ACTOR)


def test_a_key_is_usable_one_year_from_redemption_whatever_its_expiry(keyed):
    answer = redeem(keyed, "K1", "new", "2020-12-01")
    assert answer["key_usable_until"] == "2021-12-01"
    assert answer["subscription_end"] == "2021-12-01"
    assert answer["licenses"] == 10


def test_redeeming_on_the_benefit_expiry_date_is_accepted(keyed):
    assert redeem(keyed, "K1", "new", "2021-01-31")["key_usable_until"] == "2022-01-31"


def test_redeeming_after_the_benefit_expiry_date_is_rejected(keyed):
    before = count_events(keyed.url)
    with pytest.raises(RuleViolation) as error:
        redeem(keyed, "K1", "new", "2021-02-01")
    assert error.value.rule == "R2"
    assert "2021-01-31" in error.value.message
    assert count_events(keyed.url) == before


def test_a_tenant_not_registered_to_the_partner_is_a_customers(keyed):
    with pytest.raises(RuleViolation) as error:
        redeem(keyed, "K1", "new", "2020-12-01", tenant="customer")
    assert error.value.rule == "R8"
    assert "demonstration" in error.value.message


@pytest.mark.parametrize("mode", ["new", "add", "extend"])
def test_a_key_is_redeemed_once_by_any_mode(keyed, mode):
    redeem(keyed, "K1", "new", "2020-12-01")
    with pytest.raises(RuleViolation) as error:
        redeem(keyed, "K1", mode, "2020-12-02", sub="S1" if mode != "new" else "S2")
    assert error.value.rule == "R9"
    assert "2020-12-01" in error.value.message


def test_new_on_an_existing_subscription_is_rejected(keyed):
    redeem(keyed, "K1", "new", "2020-12-01")
    with pytest.raises(RuleViolation) as error:
        redeem(keyed, "K2", "new", "2020-12-02")
    assert error.value.rule == "R10"


def test_add_conserves_license_days_and_ends_in_less_than_a_year(keyed):
    redeem(keyed, "K1", "new", "2020-03-01")  # ends 2021-03-01
    answer = redeem(keyed, "K2", "add", "2020-11-21")  # 100 days left
    assert answer["licenses"] == 20
    assert answer["subscription_end"] == "2021-07-11"  # 2020-11-21 + 232 days


def test_extend_keeps_the_count_and_adds_a_year_to_the_end(keyed):
    redeem(keyed, "K1", "new", "2020-03-01")
    answer = redeem(keyed, "K4", "extend", "2020-12-01")
    assert (answer["licenses"], answer["subscription_end"]) == (10, "2022-03-01")


def test_extend_after_the_end_counts_a_year_from_the_extension(keyed):
    redeem(keyed, "K1", "new", "2020-03-01")  # ends 2021-03-01
    keyed.renew("P1", d("2020-12-01"), ACTOR)
    keyed.grant_benefit("P1", "AZ2", "product-key", "Azure", 10, d("2021-03-01"), ACTOR)
    keyed.activate_benefit("P1", "AZ2", d("2021-03-01"), ACTOR)
    keyed.issue_key("P1", "AZ2", "K9", 10, d("2021-03-01"), ACTOR)
    assert (
        redeem(keyed, "K9", "extend", "2021-03-10")["subscription_end"] == "2022-03-10"
    )


def test_a_key_smaller_than_the_subscription_cannot_extend_it(keyed):
    redeem(keyed, "K1", "new", "2020-03-01")
    with pytest.raises(RuleViolation) as error:
        redeem(keyed, "K3", "extend", "2020-12-01")
    assert error.value.rule == "R10"
    assert "5" in error.value.message and "10" in error.value.message


@pytest.mark.parametrize("mode", ["add", "extend"])
def test_add_or_extend_on_an_unknown_subscription_is_rejected(keyed, mode):
    with pytest.raises(RuleViolation) as error:
        redeem(keyed, "K1", mode, "2020-12-01", sub="NOPE")
    assert error.value.rule == "R10"


def test_keys_never_add_up_to_more_than_the_benefit_quantity(keyed):
    with pytest.raises(RuleViolation) as error:
        keyed.issue_key("P1", "AZ", "K5", 6, d("2020-03-02"), ACTOR)
    assert "40" in error.value.message and "35" in error.value.message


def test_an_unknown_key_is_not_found(keyed):
    with pytest.raises(NotFound):
        redeem(keyed, "NOPE", "new", "2020-12-01")


def test_subscription_show_reports_status_on_a_date(keyed):
    redeem(keyed, "K1", "new", "2020-12-01")
    assert keyed.subscription_show("P1", "S1", d("2021-12-01"))["status"] == "active"
    assert keyed.subscription_show("P1", "S1", d("2021-12-02"))["status"] == "expired"
