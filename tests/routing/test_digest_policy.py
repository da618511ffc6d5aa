"""The optional `digest` of an owner role: its time is checked, its calendar must exist."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from escalator.policies.errors import PolicyError
from escalator.policies.loader import load_policies
from escalator.settings import SHIPPED_POLICY_DIR

ANCHOR = 'slack_channel: "#ops-inventory"'


def _with_digest(tmp_path: Path, digest: str) -> Path:
    starter = tmp_path / "starter"
    shutil.copytree(SHIPPED_POLICY_DIR, starter)
    roles = starter / "roles.yaml"
    # The shipped roles have digests of their own: replace them, one role at a time.
    shipped = re.sub(r"^    digest: .*\n", "", roles.read_text(), flags=re.M)
    roles.write_text(shipped.replace(ANCHOR, f"{ANCHOR}\n    digest: {digest}"))
    return starter


def test_a_digest_loads(tmp_path: Path) -> None:
    policies = load_policies([_with_digest(tmp_path, '{at: "09:00", calendar: nl-warehouse}')])
    digest = policies.role("inventory").digest
    assert digest is not None and digest.hour_minute == (9, 0)
    assert policies.role("billing").digest is None  # optional, default None


def test_the_starter_roles_have_morning_digests_on_their_calendars() -> None:
    policies = load_policies([SHIPPED_POLICY_DIR])
    digests = {r.name: r.digest for r in policies.roles if r.digest is not None}
    assert set(digests) == {"inventory", "billing", "it-ops", "support"}
    assert all(d.hour_minute == (9, 0) and d.calendar for d in digests.values())


@pytest.mark.parametrize(
    ("digest", "where", "says"),
    [
        (
            '{at: "09:00", calendar: nl-offfice}',
            "roles[0].digest.calendar",
            "unknown calendar 'nl-offfice'",
        ),
        ('{at: "9am"}', "roles[0].digest.at", "got '9am'"),
    ],
)
def test_a_bad_digest_is_reported_at_its_line(
    tmp_path: Path, digest: str, where: str, says: str
) -> None:
    starter = _with_digest(tmp_path, digest)
    with pytest.raises(PolicyError) as err:
        load_policies([starter])
    [problem] = err.value.problems
    assert problem.path == where and says in problem.message
    assert problem.file.endswith("roles.yaml")
    lines = (starter / "roles.yaml").read_text().splitlines()
    assert "digest:" in lines[problem.line - 1]
