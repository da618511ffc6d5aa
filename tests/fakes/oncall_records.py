"""On-call in tests: the inventory role with a weekly rotation, and its overrides and
vacations kept in an SQLite records database of the test's own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from escalator.policies.roles import Member, OwnerRole
from escalator.policies.schedules import Schedule
from escalator.records.oncall import OnCallStore
from escalator.records.store import Store

__all__ = ["INVENTORY", "oncall_store_fixture"]

# alice and bob hand over weekly; carol is a member but in no layer: only an override
# puts her on call.
INVENTORY = OwnerRole(
    name="inventory",
    slack_channel="#inventory",
    members=[
        Member(name="alice", slack_user_id="UALICE1", phone="+31600000001"),
        Member(name="bob", slack_user_id="UBOB01", phone="+31600000003"),
        Member(name="carol", slack_user_id="UCAROL1", phone="+31600000004"),
    ],
    schedule=Schedule.model_validate(
        {
            "layers": [
                {
                    "name": "weekly",
                    "order": ["alice", "bob"],
                    "start": "2026-01-05T09:00:00",
                    "timezone": "Europe/Amsterdam",
                }
            ]
        }
    ),
)


def oncall_store_fixture(tmp_path: Path) -> Iterator[OnCallStore]:
    """The body of an ``oncall`` fixture: ``oncall = pytest.fixture(oncall_store_fixture,
    name="oncall")``."""
    store = Store.open(f"sqlite:///{tmp_path / 'records.db'}")
    try:
        yield OnCallStore(store.engine)
    finally:
        store.close()
