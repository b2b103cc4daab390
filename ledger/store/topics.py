"""Event topics that stay readable when a class moves.

The store keeps each event's topic (module:Class) as written. Version 0.1 wrote
the domain's events from `ledger.partner` and `ledger.policy`; they now live in
`ledger.domain`. Registering the old module paths (eventsourcing's public
`register_topic`, made for moved classes) lets every old event, snapshot and
request record resolve to the same classes, so an existing ledger opens
unchanged and its hash chain, which covers the stored topic, still verifies.
"""

from __future__ import annotations

from eventsourcing.utils import get_topic, register_topic

from ledger.domain import partner, policy

MOVED_MODULES = {"ledger.partner": partner, "ledger.policy": policy}

for _old, _module in MOVED_MODULES.items():
    register_topic(_old, _module)


def topics_of(cls: type) -> list[str]:
    """Every topic under which events of `cls` may be stored: the current one
    and the one it had before its module moved."""
    current = get_topic(cls)
    module, _, name = current.partition(":")
    old = [f"{o}:{name}" for o, m in MOVED_MODULES.items() if m.__name__ == module]
    return [current, *old]
