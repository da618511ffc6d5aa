"""The ESCALATOR_DETECT_* settings: which journeys detection on Temporal watches, where,
and how often; an unusable setting is an error naming the variable and what to write."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, cast

import pytest
from watch_helpers import WATCH_POLICY

from escalator.detectors.watch_sources import DetectSettingsError, watch_sources
from escalator.policies.policy_set import PolicyDocument, PolicySet
from escalator.settings import Settings

PG = "postgresql+psycopg://app:s3cret@db:5432/shop?sslmode=require"


def _policies() -> PolicySet:
    [orders] = cast(list[dict[str, Any]], WATCH_POLICY["journeys"])
    journeys = [orders, {**orders, "name": "tickets"}]
    return PolicySet.merge([PolicyDocument.model_validate({**WATCH_POLICY, "journeys": journeys})])


def _sources(**fields: Any) -> dict[str, Any]:
    return watch_sources(Settings(**fields), _policies())


def test_unset_table_watches_nothing() -> None:
    assert _sources(detect_source=PG) == {}


def test_one_table_for_all_with_per_journey_intervals_and_sources() -> None:
    found = _sources(
        detect_table="events",
        detect_source=f"{PG},tickets=sqlite:///tickets.db",
        detect_every="1m,tickets=30s",
    )
    assert sorted(found) == ["orders", "tickets"]
    assert (found["orders"].url, found["orders"].every) == (PG, timedelta(minutes=1))
    assert found["tickets"].url == "sqlite:///tickets.db"
    assert found["tickets"].every == timedelta(seconds=30)
    assert found["orders"].key == "orders:events" and found["orders"].id_column == "id"


def test_per_journey_tables_watch_only_those() -> None:
    found = _sources(detect_table="orders=public.order_events", detect_source=PG)
    assert list(found) == ["orders"] and found["orders"].table == "public.order_events"
    assert found["orders"].every == timedelta(minutes=1)  # the default


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"detect_table": "events"}, "ESCALATOR_DETECT_SOURCE has no URL for journey 'orders'"),
        (
            {"detect_table": "shipments=events", "detect_source": PG},
            "ESCALATOR_DETECT_TABLE entry 1 names journey 'shipments', which the policies do not",
        ),
        (
            {"detect_table": "events,more", "detect_source": PG},
            "ESCALATOR_DETECT_TABLE entry 2 is a second value for every journey",
        ),
        (
            {"detect_table": "events", "detect_source": PG, "detect_every": "orders=soon"},
            "ESCALATOR_DETECT_EVERY for orders: expected a duration",
        ),
        (
            {"detect_table": "events", "detect_source": PG, "detect_every": "0.5s"},
            "ESCALATOR_DETECT_EVERY for orders is 0.5s; the shortest is 1s",
        ),
        (
            {"detect_table": "orders=", "detect_source": PG},
            "ESCALATOR_DETECT_TABLE entry 1 (orders=) has no value",
        ),
    ],
)
def test_unusable_settings_name_the_variable(fields: dict[str, Any], says: str) -> None:
    with pytest.raises(DetectSettingsError) as err:
        _sources(**fields)
    assert says in str(err.value)
    assert "s3cret" not in str(err.value)  # a URL's password never reaches a message
