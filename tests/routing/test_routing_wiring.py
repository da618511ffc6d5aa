"""The worker's routing wiring: ESCALATOR_ROUTING=budget computes burn rates from the
configured event-log file, silences from the records database; `page` pages everything."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from routing_scenario import Period, simulate

from escalator.activities.routing import always_page
from escalator.policies.loader import load_policies
from escalator.policies.snapshot import snapshot
from escalator.records.silences import SilenceStore
from escalator.records.store import Store
from escalator.settings import SHIPPED_POLICY_DIR, Settings
from escalator.worker.routing import parse_routing_logs, routing_decide
from escalator.workflows.activity_contracts import RoutingInput
from escalator.workflows.contracts import Detection

D, H = timedelta(days=1), timedelta(hours=1)
START = datetime(2026, 3, 2, 11, 0, tzinfo=UTC)
AT = START + 3 * D + H  # Thursday 13:00 in Amsterdam: the warehouse is open


def _csv(tmp_path: Path) -> Path:
    log = simulate([Period(3 * D, 60, 0.0), Period(H, 60, 0.2)], start=START)
    path = tmp_path / "orders.csv"
    log.frame.rename(
        {"case_id": "case:concept:name", "event_name": "concept:name",
         "timestamp": "time:timestamp", "actor": "org:resource"}
    ).write_csv(path)  # fmt: skip
    return path


def _input() -> RoutingInput:
    policies = load_policies([SHIPPED_POLICY_DIR])
    d = Detection(journey="orderToShip", rule="order_process_deviation", subject="o-1", onset=AT)
    policy = snapshot(policies, d.rule, AT)
    return RoutingInput(exception_id=d.workflow_id, detection=d, policy=policy, at=AT)


def test_parse_routing_logs() -> None:
    assert parse_routing_logs("a=x.csv, b = /d/y.jsonl") == {
        "a": Path("x.csv"),
        "b": Path("/d/y.jsonl"),
    }
    assert parse_routing_logs(None) == {}
    with pytest.raises(ValueError, match=r"'orders\.csv' is not JOURNEY=PATH"):
        parse_routing_logs("orders.csv")


async def test_budget_routing_from_a_log_file_and_the_records(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'r.db'}")
    settings = Settings(
        ESCALATOR_ROUTING="budget", ESCALATOR_ROUTING_LOGS=f"orderToShip={_csv(tmp_path)}"
    )
    decide = routing_decide(settings, store)
    decision = await decide(_input())
    assert decision.action == "page", decision.reason  # a medium rule, paged by the burn rate
    assert decision.headline.startswith("paged: orderToShip burning 33.3x over 1h")
    SilenceStore(store.engine).add(
        journey="orderToShip", reason="stock count", created_by="anna", now=AT - H, ends_at=AT + H
    )
    held = await decide(_input())
    assert held.action == "suppress" and held.recheck_at == AT + 5 * timedelta(minutes=1)
    store.close()


async def test_page_mode_pages_everything_a_silence_does_not_hold(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'r.db'}")
    decide = routing_decide(Settings(ESCALATOR_ROUTING="page"), store)
    paged = await decide(_input())
    assert paged.action == "page" and paged.reason == (await always_page(_input())).reason
    SilenceStore(store.engine).add(
        journey="orderToShip", reason="stock count", created_by="anna", now=AT - H, ends_at=AT + H
    )
    held = await decide(_input())
    assert held.action == "suppress" and held.silence_id is not None
    store.close()


async def test_burn_rates_are_evaluated_once_per_minute_for_a_storm() -> None:
    from routing_scenario import journey

    from escalator.activities.routing import LogBurnRates

    log = simulate([Period(3 * D, 60, 0.0), Period(H, 60, 0.2)], start=START)
    rates = LogBurnRates({"orderToShip": lambda: log.frame})
    j = journey()
    first = await rates.evaluations(j, AT)
    assert first is not None and first[0].fires
    assert await rates.evaluations(j, AT + timedelta(seconds=30)) is first  # same minute
    later = await rates.evaluations(j, AT + 2 * H)  # the burst has left the 1 h window
    assert later is not None and later is not first and not later[0].fires
    assert await rates.evaluations(journey("unknown"), AT) is None


async def test_the_default_routes_by_budget(tmp_path: Path) -> None:
    """No ESCALATOR_ROUTING: budget routing. Without logs nothing burns, so it pages, but
    support hours still apply (page mode would page at night)."""
    store = Store.open(f"sqlite:///{tmp_path / 'r.db'}")
    decide = routing_decide(Settings(), store)
    night = AT.replace(hour=23)  # Thursday 23:00 UTC, midnight in Amsterdam: closed
    inp = _input().model_copy(update={"at": night})
    decision = await decide(inp)
    # No burn-rate source means page; outside support hours it drops one tier.
    assert decision.action == "notify", decision.reason
    assert decision.deliver_at == datetime(2026, 3, 6, 6, 0, tzinfo=UTC)  # 07:00 Amsterdam
    store.close()


async def test_a_replayed_log_is_judged_at_the_detections_log_time(tmp_path: Path) -> None:
    """ESCALATOR_ROUTING_REPLAY_SPEED: burn rates and support hours at the detection's log
    time (the real clock may be any hour); a hold for support hours waits log time / speed."""
    store = Store.open(f"sqlite:///{tmp_path / 'r.db'}")
    settings = Settings(
        ESCALATOR_ROUTING_LOGS=f"orderToShip={_csv(tmp_path)}",
        ESCALATOR_ROUTING_REPLAY_SPEED=3600,
    )
    decide = routing_decide(settings, store)
    real_now = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)  # a Sunday night, in real time
    burning = await decide(_input().model_copy(update={"at": real_now}))
    assert burning.action == "page", burning.reason  # the log's Thursday 13:00: open, burning
    assert burning.inputs["log_time"] == AT.isoformat() and burning.deliver_at is None

    late = AT.replace(hour=21, minute=30)  # 22:30 in Amsterdam: the warehouse closed at 22:00
    d = _input().detection.model_copy(update={"onset": late, "detected_at": late})
    held = await decide(_input().model_copy(update={"detection": d, "at": real_now}))
    opens = datetime(2026, 3, 6, 6, 0, tzinfo=UTC)  # Friday 07:00 in Amsterdam
    # The burst is over by then: a ticket (medium), and a ticket at night stays a ticket.
    assert held.action == "ticket" and "outside support hours" in held.reason
    assert held.deliver_at == real_now + (opens - late) / 3600  # 8.5 log hours: 8.5 s
    store.close()
