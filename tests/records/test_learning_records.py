"""The learning loop in the records, on SQLite and PostgreSQL: a resolution's cause code
and whether it was real reach the exceptions row and the analytics frame; a database
written before revision 0005 keeps its resolutions as "not said"; scorecards are kept
and the latest one per rule is found."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from record_steps import T0, detected, step

from escalator.records.engine import current_revision, head_revision, make_engine, upgrade
from escalator.records.frames import load_exceptions
from escalator.records.scorecards import keep_scorecards, latest_scorecard, latest_scorecards
from escalator.records.store import Store
from escalator.workflows.contracts import StepKind


def _resolved(exc: str, **detail: object) -> list:
    return [
        detected(exc),
        step(StepKind.RESOLVED, 2, 30, exc=exc, actor="dirk", detail={"note": "n", **detail}),
    ]


def test_cause_and_real_reach_the_row_and_the_frame(store: Store) -> None:
    store.record_steps_sync(_resolved("exc:a", cause="bank_outage", real=True))
    store.record_steps_sync(_resolved("exc:b", cause="noise", real=False))
    store.record_steps_sync(_resolved("exc:c", cause=None))  # not said
    rows = {x: store.get_exception(x) for x in ("exc:a", "exc:b", "exc:c")}
    assert {x: (r.resolution_cause, r.resolution_real) for x, r in rows.items() if r} == {
        "exc:a": ("bank_outage", True),
        "exc:b": ("noise", False),
        "exc:c": (None, None),
    }
    frame = load_exceptions(store.engine).sort("exception_id")
    assert frame["resolution_real"].to_list() == [True, False, None]
    assert frame["resolution_cause"].to_list() == ["bank_outage", "noise", None]


def test_resolutions_before_0005_read_as_not_said(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine, "0004")
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO exceptions (exception_id, run_id, journey, rule, state, "
                "detected_at, resolved_at, resolution_cause, highest_level, occurrences, "
                "exhausted, restore_breached) VALUES ('exc:old', 'run-1', 'j', 'r', "
                "'resolved', :at, :at, 'stock_sync', 1, 1, false, false)"
            ),
            {"at": datetime(2026, 1, 1, tzinfo=UTC)},
        )
    engine.dispose()
    store = Store.open(db_url)
    try:
        assert current_revision(store.engine) == head_revision()
        row = store.get_exception("exc:old")
        assert row is not None and (row.resolution_cause, row.resolution_real) == (
            "stock_sync",
            None,
        )
    finally:
        store.close()


def test_latest_scorecard_per_rule(store: Store) -> None:
    older = [{"rule": "late_pay", "precision": 0.5}, {"rule": "surge", "precision": 0.9}]
    newer = [{"rule": "late_pay", "precision": 0.7, "lift": 1.4, "base_rate": 0.3}]
    assert keep_scorecards(store, journey="j", log="a.csv", figures=older, at=T0) == 2
    keep_scorecards(store, journey="j", log="b.csv", figures=newer, at=T0 + timedelta(days=1))
    latest = latest_scorecard(store, "late_pay")
    assert latest is not None
    assert (latest.log, latest.figures["lift"]) == ("b.csv", 1.4)
    assert latest.scored_at == T0 + timedelta(days=1)
    every = latest_scorecards(store)
    assert {r: k.figures["precision"] for r, k in every.items()} == {"late_pay": 0.7, "surge": 0.9}
    assert latest_scorecard(store, "unknown") is None


def test_review_reads_every_run_on_both_databases(store: Store) -> None:
    """A reopened exception: two runs, both in the review, with the reopen as rework and
    the escalation before anyone answered as follow-ups."""
    from record_steps import lifecycle

    from escalator.records.review import build_review

    store.record_steps_sync(lifecycle())
    again = detected(
        run="run-2", reopened_from="run-1", onset=(T0 + timedelta(hours=3)).isoformat()
    )
    again = again.model_copy(update={"at": T0 + timedelta(hours=3)})
    store.record_steps_sync(
        [
            again,
            step(StepKind.REOPENED, 2, 180, run="run-2", detail={"rework_count": 1}),
            step(StepKind.RESOLVED, 3, 200, run="run-2", actor="ana",
                 detail={"note": "retried again", "cause": "psp_outage", "real": True}),
        ]
    )  # fmt: skip
    text = build_review(store, "exc:orderToShip:payment_pending:o-1")
    assert "- **Runs**: 2 (reopened 1 times: rework)" in text
    assert "| confirmed (real) | psp_outage |" in text  # run 2
    assert "| not said | psp outage |" in text  # run 1, resolved before the verdict existed
    assert "| slack | #billing | sent |" in text
    assert "Escalated to level 2 before anyone acknowledged" in text
    assert "Reopened 1 times: the condition flapped" in text
    assert "Cause `psp_outage`: add a playbook step" in text
    assert "No scorecard kept for payment_pending" in text
