"""A Slack request while Temporal is unreachable: a clear ephemeral answer, at once.

Slack never retries an interactive payload or a slash command (only Events API
deliveries are retried), so answering 5xx would leave the person with a warning icon and
no reason. Instead, a signed request that needs Temporal, while the last readiness probe
found it unreachable (`escalator/receiver/ready.py`), is answered without touching bolt:

- a button click (block_actions): HTTP 200, and the sentence posted ephemerally to the
  click's response_url (the message itself is not replaced);
- a slash command: HTTP 200 with the ephemeral sentence as the response body;
- a modal submission: the sentence shown as the error of the modal's first input, so
  the note typed into it is not lost;

Events API callbacks (and the link-only runbook button) go to bolt as usual.
"""

from __future__ import annotations

import json
import logging
import urllib.parse
from typing import Any

import aiohttp
from aiohttp import web

from escalator.activities.slack_blocks import RUNBOOK_ACTION

__all__ = ["answer_during_outage"]

log = logging.getLogger("escalator.receiver")


async def answer_during_outage(body: str, sentence: str) -> web.Response | None:
    """The answer for a Slack request while Temporal is down; None: let bolt handle it."""
    form = urllib.parse.parse_qs(body, keep_blank_values=True)
    if "command" in form:
        return web.json_response({"response_type": "ephemeral", "text": sentence})
    raw = (form.get("payload") or [""])[0]
    try:
        payload: dict[str, Any] = json.loads(raw) if raw else {}
    except json.JSONDecodeError:
        return None  # bolt answers a malformed payload with 400
    kind = payload.get("type")
    if kind == "block_actions":
        actions = payload.get("actions") or [{}]
        if all(a.get("action_id") == RUNBOOK_ACTION for a in actions):
            return None  # a link: Slack opens it, nothing needs Temporal
        url = payload.get("response_url")
        if url:
            await _post_ephemeral(url, sentence)
        return web.Response(status=200)
    if kind == "view_submission":
        values = ((payload.get("view") or {}).get("state") or {}).get("values") or {}
        block = next(iter(values), None)
        if block is None:
            return web.Response(status=200)
        return web.json_response({"response_action": "errors", "errors": {block: sentence}})
    return None


async def _post_ephemeral(url: str, text: str) -> None:
    message = {"text": text, "response_type": "ephemeral", "replace_original": False}
    try:
        timeout = aiohttp.ClientTimeout(total=2)
        async with (
            aiohttp.ClientSession(timeout=timeout) as http,
            http.post(url, json=message) as r,
        ):
            if r.status >= 300:
                log.warning("response_url answered %s to the outage notice", r.status)
    except (aiohttp.ClientError, TimeoutError) as err:
        log.warning("could not post the outage notice to response_url: %r", err)
