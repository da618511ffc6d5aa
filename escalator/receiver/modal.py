"""A submitted Slack modal: whose it is and which exception (or storm) it answers.

Shared by the Resolve modal of an exception and the Resolve-all modal of a storm: a
value that does not decode, or a Slack user who is no member, is refused inside the
modal (Slack shows it under the note field), and nothing else happens.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from escalator.receiver.directory import MemberDirectory, stranger

__all__ = ["choice", "field", "modal_submission", "real_answer"]

V = TypeVar("V")


def field(values: dict[str, Any], name: str) -> str | None:
    """The text of input block ``name`` (its action id is the same name)."""
    value = ((values.get(name) or {}).get(name) or {}).get("value")
    return value if isinstance(value, str) else None


def choice(values: dict[str, Any], name: str) -> str | None:
    """The value of the option chosen in input block ``name`` (radio buttons, a select)."""
    option = ((values.get(name) or {}).get(name) or {}).get("selected_option") or {}
    value = option.get("value")
    return value if isinstance(value, str) else None


def real_answer(values: dict[str, Any]) -> bool | None:
    """The answer to "was it real?" (`learning_inputs`): only the two options escalator
    wrote count; anything else is "not said"."""
    return {"real": True, "false_alarm": False}.get(choice(values, "real") or "")


async def modal_submission(
    ack: Any,
    body: dict[str, Any],
    view: dict[str, Any],
    decode: Callable[[str | None], V],
    directory: MemberDirectory,
) -> tuple[V, str, dict[str, Any]] | None:
    """The decoded value, the member and the modal's input values; None once refused."""
    user = (body.get("user") or {}).get("id", "")
    try:
        value = decode(view.get("private_metadata"))
    except ValueError as err:  # ButtonValueError and a storm value's errors alike
        await ack(response_action="errors", errors={"note": f"Refused: {err}"})
        return None
    actor = directory.by_slack_user(user)
    if actor is None:
        await ack(response_action="errors", errors={"note": stranger(user)})
        return None
    return value, actor, (view.get("state") or {}).get("values") or {}
