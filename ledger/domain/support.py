"""Support tickets against technical benefits (R16, R17)."""

from __future__ import annotations

from ledger.domain.benefits import check_activated, check_kind, find_benefit
from ledger.domain.partner import Partner, TicketOpened
from ledger.domain.rules import (
    TECHNICAL,
    check_benefit_available,
    check_incidents_left,
)
from ledger.domain.state import Ticket
from ledger.domain.write import Write


def open_ticket(partner: Partner, benefit: str, product: str, write: Write) -> Ticket:
    """R17: a ticket names a product and uses one incident of an activated
    technical benefit, within its period."""
    found = find_benefit(partner, benefit)
    check_kind(found, (TECHNICAL,), "a support ticket")
    check_activated(found, "R17")
    check_benefit_available(benefit, write.on, found.activate_by, "R17")
    check_incidents_left(benefit, found.quantity, found.incidents_used)
    ticket = f"{benefit}/T{found.incidents_used + 1}"
    partner.record(
        TicketOpened,
        write,
        ticket=ticket,
        benefit=benefit,
        access_id=found.access_id,
        product=product,
    )
    return partner.tickets[-1]
