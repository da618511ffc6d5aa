"""Request authenticity for the receiver: Slack signatures with a replay guard.

Slack signs ``v0:<timestamp>:<body>`` with the signing secret; slack_sdk's
verifier checks the HMAC and refuses timestamps more than five minutes off.
A valid request captured on the wire could still be sent again within those
five minutes, so every accepted signature is remembered for the window and a
second use is refused.
"""

from __future__ import annotations

import time
from collections import OrderedDict

from slack_sdk.signature import SignatureVerifier

__all__ = ["REPLAY_WINDOW_S", "ReplayGuard", "SlackRequestCheck"]

REPLAY_WINDOW_S = 5 * 60


class ReplayGuard:
    """Remembers keys for ``ttl`` seconds; `first_use` is true once per key."""

    def __init__(self, ttl: float = REPLAY_WINDOW_S, max_entries: int = 100_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._seen: OrderedDict[str, float] = OrderedDict()

    def first_use(self, key: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        while self._seen and next(iter(self._seen.values())) < now - self.ttl:
            self._seen.popitem(last=False)
        if key in self._seen:
            return False
        self._seen[key] = now
        if len(self._seen) > self.max_entries:  # bounded memory under a flood
            self._seen.popitem(last=False)
        return True


class SlackRequestCheck:
    def __init__(self, signing_secret: str, guard: ReplayGuard | None = None) -> None:
        self.verifier = SignatureVerifier(signing_secret)
        self.guard = guard or ReplayGuard()

    def refuse(self, body: str, timestamp: str | None, signature: str | None) -> str | None:
        """Why the request must be refused, or None when it is authentic and new."""
        if not timestamp or not signature:
            return "missing Slack signature headers"
        try:
            age = abs(time.time() - int(timestamp))
        except ValueError:
            return "malformed Slack timestamp"
        if age > REPLAY_WINDOW_S:
            return "Slack timestamp is more than five minutes off"
        if not self.verifier.is_valid(body=body, timestamp=timestamp, signature=signature):
            return "bad Slack signature"
        if not self.guard.first_use(f"{timestamp}:{signature}"):
            return "replayed Slack request"
        return None
