"""Shared by the digest tests: a copy of the shipped policies with chosen role digests, and
ticket-level exceptions written into a real records database."""

from __future__ import annotations

import re
import shutil
from datetime import datetime
from pathlib import Path

from escalator.records.store import Store
from escalator.settings import SHIPPED_POLICY_DIR
from escalator.workflows.contracts import StepKind, TimelineStep

# Recorded DigestWorkflow histories (a folder of their own: tests/histories/*.json are
# EscalationWorkflow's, replayed by test_replay.py).
DIGEST_HISTORIES = Path(__file__).parent.parent / "histories" / "digest"


SHIPPED_DIGEST = re.compile(r"^    (# The morning digest.*|digest: .*)\n", re.M)


def without_digests(roles_yaml: str) -> str:
    """The shipped roles.yaml without its roles' digests (tests give the digests they need)."""
    return SHIPPED_DIGEST.sub("", roles_yaml)


def policy_dir(root: Path, digests: dict[str, str]) -> Path:
    """The shipped policies, each role in ``digests`` given that digest (YAML flow text).
    Called again on the same root, it rewrites the roles (a policy change between starts)."""
    target = root / "policies"
    if not target.exists():
        shutil.copytree(SHIPPED_POLICY_DIR, target)
    roles = without_digests((SHIPPED_POLICY_DIR / "roles.yaml").read_text())
    for role, digest in digests.items():
        anchor = f'slack_channel: "#ops-{role}"'
        assert anchor in roles, f"no role {role} with channel #ops-{role} in the shipped roles"
        roles = roles.replace(anchor, f"{anchor}\n    digest: {digest}")
    (target / "roles.yaml").write_text(roles)
    return target


def record_ticket(
    store: Store, xid: str, role: str, detected_at: datetime, *, resolved: bool = False
) -> None:
    """One exception routing made a ticket of, detected at ``detected_at``."""
    detail = {
        "journey": "orderToShip",
        "rule": "payment_pending",
        "subject": xid.rsplit(":", 1)[-1],
        "owner_role": role,
        "detected_at": detected_at.isoformat(),
    }
    kinds = [(StepKind.DETECTED, detail), (StepKind.ROUTED, {"decision": "ticket", "reason": "r"})]
    if resolved:
        kinds.append((StepKind.RESOLVED, {}))
    for seq, (kind, d) in enumerate(kinds, 1):
        store.record_step_sync(
            TimelineStep(
                exception_id=xid, run_id="r1", seq=seq, kind=kind, at=detected_at, detail=d
            )
        )
