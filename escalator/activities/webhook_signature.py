"""The signature on outbound webhooks: HMAC-SHA256 over the timestamp and the raw body.

Header ``Escalator-Signature: t=<unix seconds>,v1=<hex digest>`` where the digest is
``HMAC-SHA256(secret, f"{t}." + body)``. The timestamp is signed so a captured request
cannot be replayed later: a receiver refuses a ``t`` older than its tolerance
(docs/integrations.md shows the check receivers write).
"""

from __future__ import annotations

import hashlib
import hmac
import time

__all__ = [
    "IDEMPOTENCY_HEADER",
    "SIGNATURE_HEADER",
    "TOLERANCE",
    "sign",
    "signature_header",
    "verify",
]

SIGNATURE_HEADER = "Escalator-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
TOLERANCE = 300  # seconds a receiver accepts between the signed timestamp and its clock


def sign(secret: str, timestamp: int, body: bytes) -> str:
    message = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, body: bytes, now: float | None = None) -> str:
    t = int(time.time() if now is None else now)
    return f"t={t},v1={sign(secret, t, body)}"


def verify(
    secret: str, header: str, body: bytes, now: float | None = None, tolerance: int = TOLERANCE
) -> str | None:
    """None when ``header`` signs ``body`` with ``secret`` within ``tolerance``; else why not."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        t = int(parts["t"])
    except (KeyError, ValueError):
        return f"{SIGNATURE_HEADER} has no t=<unix seconds>"
    given = parts.get("v1")
    if not given:
        return f"{SIGNATURE_HEADER} has no v1=<hex digest>"
    clock = time.time() if now is None else now
    if abs(clock - t) > tolerance:
        return f"signed {int(clock - t)} s ago, outside the {tolerance} s tolerance"
    if not hmac.compare_digest(sign(secret, t, body), given):
        return "the signature does not match the body"
    return None
