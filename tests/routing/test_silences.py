"""Silences: the store (SQLite and PostgreSQL), matching, and the `escalator silence` CLI."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent.parent / "records"))
from records_db import db_url, pg_problem, pg_url, sqlite_url  # noqa: F401

from escalator.cli.main import app
from escalator.records.silences import SilenceError, SilenceStore
from escalator.records.store import Store
from escalator.workflows.contracts import StepKind, TimelineStep

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
H = timedelta(hours=1)


@pytest.fixture
def silences(db_url: str):  # noqa: F811
    store = Store.open(db_url)
    try:
        yield SilenceStore(store.engine)
    finally:
        store.close()


def test_matching_and_time_window(silences: SilenceStore) -> None:
    kw: dict[str, Any] = {"reason": "stock count", "created_by": "anna", "now": NOW}
    whole = silences.add(journey="orderToShip", ends_at=NOW + 2 * H, **kw)
    ams = silences.add(
        journey="orderToShip", rule="awaiting_inventory", labels={"site": "ams"},
        ends_at=NOW + 5 * H, **kw,
    )  # fmt: skip
    silences.add(journey="ticketToResolution", ends_at=NOW + 5 * H, **kw)

    def ids(rule: str, labels: dict[str, str], at: datetime) -> set[str]:
        return {s.id for s in silences.active_for("orderToShip", rule, labels, at)}

    assert ids("awaiting_inventory", {"site": "ams"}, NOW + H) == {whole.id, ams.id}
    assert ids("awaiting_inventory", {"site": "rtm"}, NOW + H) == {whole.id}
    assert ids("payment_pending", {"site": "ams"}, NOW + H) == {whole.id}
    assert ids("awaiting_inventory", {"site": "ams"}, NOW + 3 * H) == {ams.id}  # whole ended
    assert ids("awaiting_inventory", {"site": "ams"}, NOW - H) == set()  # not begun
    silences.expire(ams.id, by="bram", now=NOW + 4 * H)
    assert ids("awaiting_inventory", {"site": "ams"}, NOW + 4 * H) == set()
    assert ids("awaiting_inventory", {"site": "ams"}, NOW + 3 * H) == {ams.id}  # history kept
    with pytest.raises(SilenceError, match="already expired"):
        silences.expire(ams.id, by="bram", now=NOW + 5 * H)


def test_an_end_in_another_zone_is_kept_as_the_same_instant(silences: SilenceStore) -> None:
    """SQLite keeps no offset: 18:00+01:00 must come back as 17:00 UTC, not 18:00 UTC."""
    cet = timezone(timedelta(hours=1))
    sil = silences.add(
        journey="orderToShip", reason="r", created_by="anna", now=NOW.astimezone(cet),
        ends_at=datetime(2026, 3, 2, 18, 0, tzinfo=cet),
    )  # fmt: skip
    stored = silences.get(sil.id)
    assert stored.ends_at == datetime(2026, 3, 2, 17, 0, tzinfo=UTC)
    assert stored.starts_at == NOW and sil.ends_at == stored.ends_at
    assert [s.id for s in silences.active_for("orderToShip", "r", {}, NOW + 6 * H)] == [sil.id]
    assert silences.active_for("orderToShip", "r", {}, NOW + 7 * H) == []


def test_until_resolved_ends_when_the_latest_run_resolves(silences: SilenceStore) -> None:
    outage = "exc:orderToShip:label_print_failed:w1"
    sil = silences.add(
        journey="orderToShip", reason="printer", created_by="farid", now=NOW, until_resolved=outage
    )
    assert [s.id for s in silences.active_for("orderToShip", "x", {}, NOW + H)] == [sil.id]
    store = Store(silences.engine)
    for seq, kind in ((1, StepKind.DETECTED), (2, StepKind.RESOLVED)):
        store.record_step_sync(
            TimelineStep(exception_id=outage, run_id="r1", seq=seq, kind=kind, at=NOW, actor="f")
        )
    assert silences.active_for("orderToShip", "x", {}, NOW + H) == []


def test_a_silence_needs_one_end_and_a_reason(silences: SilenceStore) -> None:
    with pytest.raises(SilenceError, match="exactly one end"):
        silences.add(journey="j", reason="r", created_by="a", now=NOW)
    with pytest.raises(SilenceError, match="before it starts"):
        silences.add(journey="j", reason="r", created_by="a", now=NOW, ends_at=NOW - H)
    with pytest.raises(SilenceError, match="--reason"):
        silences.add(journey="j", reason=" ", created_by="a", now=NOW, ends_at=NOW + H)


def test_cli_add_list_expire(tmp_path: Path) -> None:
    env = {"ESCALATOR_DATABASE_URL": f"sqlite:///{tmp_path / 'r.db'}"}
    run = CliRunner().invoke
    added = run(
        app,
        ["silence", "add", "--journey", "orderToShip", "--rule", "awaiting_inventory",
         "--label", "site=ams", "--for", "2h", "--reason", "stock count", "--as", "anna", "--json"],
        env=env,
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    silence = json.loads(added.output)
    assert silence["labels"] == {"site": "ams"} and silence["created_by"] == "anna"
    ends = datetime.fromisoformat(silence["ends_at"]) - datetime.fromisoformat(silence["starts_at"])
    assert ends == 2 * H
    listed = run(app, ["silence", "list"], env=env)
    assert silence["id"] in listed.output and "stock count (anna)" in listed.output
    expired = run(app, ["silence", "expire", silence["id"], "--as", "anna"], env=env)
    assert expired.exit_code == 0 and "expired" in expired.output
    assert run(app, ["silence", "list"], env=env).output.strip() == "no active silences"
    assert silence["id"] in run(app, ["silence", "list", "--all"], env=env).output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--journey", "orderToShipp", "--for", "1h"], "--journey 'orderToShipp': no such journey"),
        (
            ["--journey", "orderToShip", "--rule", "nope", "--for", "1h"],
            "--rule 'nope': not a rule",
        ),
        (["--journey", "orderToShip", "--for", "1h", "--label", "site"], "expected key=value"),
        (["--journey", "orderToShip", "--for", "1h", "--until", "2030-01-01"], "exactly one of"),
        (["--journey", "orderToShip", "--for", "soon"], "--for 'soon'"),
    ],
)
def test_cli_refuses_bad_silences(tmp_path: Path, args: list[str], message: str) -> None:
    env = {"ESCALATOR_DATABASE_URL": f"sqlite:///{tmp_path / 'r.db'}"}
    base = ["silence", "add", "--reason", "r", "--as", "anna"]
    result = CliRunner().invoke(app, base + args, env=env)
    assert result.exit_code == 2
    assert message in result.output
    assert "no active silences" in CliRunner().invoke(app, ["silence", "list"], env=env).output


def test_cli_refuses_an_unknown_member(tmp_path: Path) -> None:
    env = {"ESCALATOR_DATABASE_URL": f"sqlite:///{tmp_path / 'r.db'}"}
    args = ["silence", "add", "--journey", "orderToShip", "--for", "1h", "--reason", "r"]
    result = CliRunner().invoke(app, [*args, "--as", "mallory"], env=env)
    assert result.exit_code == 2 and "--as 'mallory': not a member" in result.output
