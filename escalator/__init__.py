"""escalator: exception-driven operations automation on Temporal.

The public API, for an upstream detector that finds an exception in its own service
and hands it to escalator (one durable EscalationWorkflow per exception):

```python
from datetime import UTC, datetime

import escalator


async def report_stuck_order(
    address: str, policy_dir: str, waiting_since: datetime, task_queue: str = "escalator"
) -> str:
    client = await escalator.connect(address)
    policies = escalator.load_policies([policy_dir])
    detection = escalator.Detection(
        journey="orderToShip",
        rule="awaiting_inventory",
        subject="order-42",  # the case: one exception per journey, rule and subject
        onset=waiting_since,  # when the condition became true, not when it was noticed
        payload={"warehouse": "NL-1", "checked_at": datetime.now(UTC).isoformat()},
    )
    raised = await escalator.raise_exception(
        client, detection, policies=policies, task_queue=task_queue
    )
    # "new" the first time; "duplicate" for later detections while it is still open
    return raised.outcome
```

When the condition is gone,
``await escalator.clear_condition(client, "orderToShip", "awaiting_inventory", "order-42")``
lets the exception resolve itself. Errors escalator raises on purpose are
:class:`EscalatorError` (see docs/architecture.md for the tree).

The names below load on first use, so that importing one room (the workflow sandbox
imports ``escalator.workflows``) does not pull in the Temporal client.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from escalator.client import Raised, clear_condition, connect, raise_exception
    from escalator.errors import EscalatorError
    from escalator.policies.loader import load_policies
    from escalator.policies.policy_set import PolicySet
    from escalator.workflows.contracts import Detection

__all__ = [
    "Detection",
    "EscalatorError",
    "PolicySet",
    "Raised",
    "clear_condition",
    "connect",
    "load_policies",
    "raise_exception",
]

_HOME = {
    "Detection": "escalator.workflows.contracts",
    "EscalatorError": "escalator.errors",
    "PolicySet": "escalator.policies.policy_set",
    "Raised": "escalator.client",
    "clear_condition": "escalator.client",
    "connect": "escalator.client",
    "load_policies": "escalator.policies.loader",
    "raise_exception": "escalator.client",
}


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module 'escalator' has no attribute {name!r}")
    value = getattr(import_module(_HOME[name]), name)
    globals()[name] = value
    return value
