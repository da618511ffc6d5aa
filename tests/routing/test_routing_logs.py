"""The worker's routing logs: a damaged log is one ERROR line and no burn rates for its
journey (never an exception inside the worker); a replayed detection is routed at the
moment in the log its ``log_time`` attribute names."""

from __future__ import annotations

import gzip
import logging
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from routing_scenario import Period, simulate

from escalator.policies.loader import load_policies
from escalator.policies.snapshot import snapshot
from escalator.records.store import Store
from escalator.settings import SHIPPED_POLICY_DIR, Settings
from escalator.worker.routing import LOG_TIME, routing_decide
from escalator.workflows.activity_contracts import RoutingInput
from escalator.workflows.contracts import Detection

D, H = timedelta(days=1), timedelta(hours=1)
START = datetime(2026, 3, 2, 11, 0, tzinfo=UTC)
AT = START + 3 * D + H  # Thursday 13:00 in Amsterdam, the log burning at 33.3x
COLUMNS = {
    "case_id": "case:concept:name",
    "event_name": "concept:name",
    "timestamp": "time:timestamp",
    "actor": "org:resource",
}


def _write_good(path: Path) -> None:
    simulate([Period(3 * D, 60, 0.0), Period(H, 60, 0.2)], start=START).frame.rename(
        COLUMNS
    ).write_csv(path)


def _input(onset: datetime = AT, **attributes: str) -> RoutingInput:
    policies = load_policies([SHIPPED_POLICY_DIR])
    d = Detection(
        journey="orderToShip",
        rule="order_process_deviation",
        subject="o-1",
        onset=onset,
        attributes=attributes,
    )
    return RoutingInput(
        exception_id=d.workflow_id, detection=d, policy=snapshot(policies, d.rule, AT), at=AT
    )


def _errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.parametrize(
    ("damage", "what"),
    [
        (lambda p: p.write_bytes(gzip.compress(b"not a csv")), "gzip"),
        (lambda p: p.write_text("case:concept:name,concept:name,time:timestamp\n"), "no events"),
        (lambda p: p.unlink(), "cannot be read"),
    ],
    ids=["gzip-bytes", "header-only", "missing"],
)
async def test_a_damaged_routing_log_is_one_error_line_and_no_burn_rates(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, damage: object, what: str
) -> None:
    log = tmp_path / "orders.csv"
    _write_good(log)
    store = Store.open(f"sqlite:///{tmp_path / 'r.db'}")
    decide = routing_decide(Settings(ESCALATOR_ROUTING_LOGS=f"orderToShip={log}"), store)
    assert (await decide(_input())).headline.startswith("paged: orderToShip burning 33.3x")

    damage(log)  # type: ignore[operator]
    if log.exists():  # a rewrite within the same clock tick must still count as a change
        os.utime(log, (log.stat().st_atime, log.stat().st_mtime + 5))
    caplog.set_level(logging.INFO)
    first = await decide(_input())
    again = await decide(_input())
    assert first.action == again.action == "page"
    assert first.reason.startswith("no burn-rate source"), first.reason
    errors = _errors(caplog)
    assert len(errors) == 1, errors  # once per version of the file, not per decision
    assert str(log) in errors[0] and what in errors[0] and "\n" not in errors[0], errors[0]
    assert "orderToShip" in errors[0] and "no burn rates" in errors[0]

    _write_good(log)  # fixed: the burn rates are back, without a restart
    os.utime(log, (log.stat().st_atime, log.stat().st_mtime + 10))
    fixed = await decide(_input())
    assert fixed.headline.startswith("paged: orderToShip burning 33.3x"), fixed.reason
    store.close()


async def test_a_replayed_detection_is_routed_at_its_log_time(tmp_path: Path) -> None:
    """The demo raises with the onset on the replay's clock (months after the log) and
    the log time as an attribute: routing must judge the log's moment, not the onset."""
    log = tmp_path / "orders.csv"
    _write_good(log)
    store = Store.open(f"sqlite:///{tmp_path / 'r.db'}")
    settings = Settings(
        ESCALATOR_ROUTING_LOGS=f"orderToShip={log}", ESCALATOR_ROUTING_REPLAY_SPEED=3600
    )
    decide = routing_decide(settings, store)
    wall = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)  # a Sunday night on the replay's clock
    replayed = await decide(_input(onset=wall, **{LOG_TIME: AT.isoformat()}))
    assert replayed.action == "page", replayed.reason  # the log's Thursday 13:00, burning
    assert replayed.inputs["log_time"] == AT.isoformat()
    # Without the attribute the onset is the log time (as before): months later, nothing
    # burns and support hours are closed.
    plain = await decide(_input(onset=wall))
    assert plain.inputs["log_time"] == wall.isoformat() and plain.action != "page"
    store.close()
