"""Overrides and vacations in the records database (SQLite and PostgreSQL) and the
`escalator oncall` CLI: who may change what, and who is on call as a result."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent.parent / "records"))
from records_db import db_url, pg_problem, pg_url, sqlite_url  # noqa: F401

from escalator.cli.main import app
from escalator.policies.loader import load_policies
from escalator.policies.policy_set import PolicySet
from escalator.policies.roles import OwnerRole
from escalator.records.oncall import OnCallError, OnCallStore, check_actor
from escalator.records.store import Store
from escalator.settings import SHIPPED_POLICY_DIR

# Tue 10 March 2026, 10:00 UTC: anna's week in the inventory rotation (anna, bram, chloe).
NOW = datetime(2026, 3, 10, 10, tzinfo=UTC)
H = timedelta(hours=1)


@pytest.fixture
def oncall(db_url: str) -> Iterator[OnCallStore]:  # noqa: F811
    store = Store.open(db_url)
    try:
        yield OnCallStore(store.engine)
    finally:
        store.close()


@pytest.fixture(scope="module")
def policies() -> PolicySet:
    return load_policies([SHIPPED_POLICY_DIR])


def _role(policies: PolicySet, name: str) -> OwnerRole:
    return next(r for r in policies.roles if r.name == name)


def test_an_override_and_a_vacation_change_who_is_on_call(
    oncall: OnCallStore, policies: PolicySet
) -> None:
    inventory = _role(policies, "inventory")
    assert inventory.who(NOW, oncall.for_role(inventory, NOW)).member == "anna"
    away = oncall.add(
        kind="away", member="anna", starts_at=NOW, ends_at=NOW + 48 * H, created_by="anna", now=NOW
    )
    who = inventory.who(NOW + H, oncall.for_role(inventory, NOW))
    assert (who.member, who.skipped) == ("bram", ("anna",))
    assert "anna away, next in order covers" in who.why
    cover = oncall.add(
        kind="override", role="inventory", member="chloe", covers="bram",
        starts_at=NOW + 2 * H, ends_at=NOW + 4 * H, created_by="bram", now=NOW, reason="dentist",
    )  # fmt: skip
    changes = oncall.for_role(inventory, NOW)
    who = inventory.who(NOW + 3 * H, changes)
    assert (who.member, who.override) == ("chloe", cover.id)
    assert "made by bram" in who.why
    assert inventory.who(NOW + 5 * H, changes).member == "bram"  # the override ended
    # The records keep who made it and when, read back in UTC on both databases.
    row = oncall.get(cover.id)
    assert (row.created_by, row.created_at, row.starts_at) == ("bram", NOW, NOW + 2 * H)
    oncall.remove(away.id, by="anna", now=NOW + H)
    assert inventory.who(NOW + H, oncall.for_role(inventory, NOW)).member == "anna"
    assert [r.id for r in oncall.current(with_removed=True)] == [away.id, cover.id]
    assert oncall.get(away.id).removed_by == "anna"
    with pytest.raises(OnCallError, match="already removed"):
        oncall.remove(away.id, by="anna", now=NOW + H)
    # Another role's overrides do not touch inventory.
    oncall.add(
        kind="override", role="billing", member="eva", starts_at=NOW, ends_at=NOW + H,
        created_by="eva", now=NOW,
    )  # fmt: skip
    assert [c.id for c in oncall.for_role(inventory, NOW)] == [cover.id]


def test_bad_periods_are_refused(oncall: OnCallStore) -> None:
    kw = {"kind": "override", "role": "inventory", "member": "bram", "created_by": "bram"}
    with pytest.raises(OnCallError, match="before it starts"):
        oncall.add(starts_at=NOW, ends_at=NOW - H, now=NOW, **kw)  # type: ignore[arg-type]
    with pytest.raises(OnCallError, match="in the past"):
        oncall.add(starts_at=NOW - 3 * H, ends_at=NOW - H, now=NOW, **kw)  # type: ignore[arg-type]


def test_who_may_override(policies: PolicySet) -> None:
    check_actor(policies, "override", "bram", "chloe", "inventory")  # a member of the role
    check_actor(policies, "override", "jan", "chloe", "inventory")  # an incident lead
    with pytest.raises(OnCallError) as err:
        check_actor(policies, "override", "dirk", "chloe", "inventory")
    assert str(err.value) == (
        "dirk may not change who is on call for inventory: only its members "
        "(anna, bram, chloe) or an incident lead (incident-leads: jan, kim) may"
    )
    with pytest.raises(OnCallError, match="dirk is not a member of role inventory"):
        check_actor(policies, "override", "anna", "dirk", "inventory")
    with pytest.raises(OnCallError, match="may not mark anna away"):
        check_actor(policies, "away", "eva", "anna", None)
    check_actor(policies, "away", "kim", "anna", None)


def test_cli_add_show_list_remove(tmp_path: Path) -> None:
    env = {"ESCALATOR_DATABASE_URL": f"sqlite:///{tmp_path / 'r.db'}"}
    run = CliRunner().invoke
    soon = (datetime.now(UTC) + H).replace(microsecond=0)
    later = soon + 24 * H
    shown = run(app, ["oncall", "inventory", "--at", soon.isoformat(), "--json"], env=env)
    assert shown.exit_code == 0, shown.output
    before = json.loads(shown.output)[0]["on_call"]["member"]
    other = "bram" if before != "bram" else "chloe"
    refused = run(
        app,
        ["oncall", "override", "add", "inventory", "--member", other, "--from", soon.isoformat(),
         "--until", later.isoformat(), "--as", "dirk"],
        env=env,
    )  # fmt: skip
    assert refused.exit_code == 2
    assert "dirk may not change who is on call for inventory" in refused.output
    assert "Traceback" not in refused.output
    added = run(
        app,
        ["oncall", "override", "add", "inventory", "--member", other, "--from", soon.isoformat(),
         "--until", later.isoformat(), "--as", "anna", "--reason", "swap", "--json"],
        env=env,
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    made = json.loads(added.output)
    assert made["created_by"] == "anna" and made["role"] == "inventory"
    now = json.loads(
        run(app, ["oncall", "inventory", "--at", soon.isoformat(), "--json"], env=env).output
    )[0]
    assert now["on_call"]["member"] == other and now["on_call"]["override"] == made["id"]
    assert now["next"][0]["at"] == later.isoformat() and now["next"][0]["member"] == before
    text = run(app, ["oncall", "--at", soon.isoformat()], env=env).output
    assert f"inventory: {other} (override {made['id']}" in text and "billing: dirk" in text
    listed = run(app, ["oncall", "override", "list", "inventory"], env=env)
    assert (
        made["id"] in listed.output and "made by anna" in listed.output and "swap" in listed.output
    )
    removed = run(app, ["oncall", "override", "remove", made["id"], "--as", "bram"], env=env)
    assert removed.exit_code == 0, removed.output
    assert run(app, ["oncall", "override", "list"], env=env).output.strip() == (
        "no current overrides or vacations"
    )
    away = run(
        app,
        ["oncall", "away", "add", before, "--from", soon.isoformat(), "--until", later.isoformat(),
         "--as", before],
        env=env,
    )  # fmt: skip
    assert away.exit_code == 0, away.output
    covered = json.loads(
        run(app, ["oncall", "inventory", "--at", soon.isoformat(), "--json"], env=env).output
    )[0]["on_call"]
    assert covered["member"] != before and covered["skipped"] == [before]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["oncall", "nosuchrole"], "no role 'nosuchrole'"),
        (["oncall", "inventory", "--at", "tomorrow"], "--at 'tomorrow': give an ISO time"),
        (
            ["oncall", "override", "add", "inventory", "--member", "bram", "--from",
             "2030-01-02", "--until", "2030-01-01", "--as", "anna"],
            "before it starts",
        ),
        (["oncall", "override", "remove", "ov-nope", "--as", "anna"], "no override or vacation"),
    ],
)  # fmt: skip
def test_cli_refusals_are_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    env = {"ESCALATOR_DATABASE_URL": f"sqlite:///{tmp_path / 'r.db'}"}
    result = CliRunner().invoke(app, args, env=env)
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
