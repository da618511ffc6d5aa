"""Is an alert request from the integration it claims to be: bearer token, basic auth,
HMAC signature (with a timestamp window and a replay guard when the sender sends one).

Every method the integration configures must pass. The answer is a status and a reason:
401 when credentials are missing, 403 when they are wrong (a forgery), 503 when the
receiver lacks the secret it should compare with (a setup error, logged at start).
Comparisons are constant-time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from pydantic import SecretStr

from escalator.policies.integrations import Integration
from escalator.receiver.security import REPLAY_WINDOW_S, ReplayGuard

__all__ = ["AlertAuth", "Refusal", "missing_secrets"]

SecretLookup = Callable[[str], SecretStr | None]


@dataclass(frozen=True)
class Refusal:
    status: int
    reason: str


def missing_secrets(integration: Integration, secret: SecretLookup) -> list[str]:
    """The environment variables the integration names that hold nothing."""
    auth = integration.auth
    names = [auth.bearer_token_env, auth.basic_password_env, auth.hmac_secret_env]
    return [n for n in names if n and secret(n) is None]


class AlertAuth:
    def __init__(self, secret: SecretLookup, guard: ReplayGuard | None = None) -> None:
        self.secret = secret
        self.guard = guard or ReplayGuard()

    def refuse(
        self, integration: Integration, headers: Mapping[str, str], body: bytes
    ) -> Refusal | None:
        """Why the request must be refused, or None when it is authentic."""
        auth = integration.auth
        missing = missing_secrets(integration, self.secret)
        if missing:
            return Refusal(
                503,
                f"integration {integration.name!r} is not set up on the receiver: "
                f"{', '.join(missing)} unset",
            )
        given = headers.get("Authorization", "")
        if auth.bearer_token_env:
            token = self._value(auth.bearer_token_env)
            if not given.startswith("Bearer "):
                return Refusal(401, "missing bearer token (Authorization: Bearer …)")
            if not hmac.compare_digest(given[7:].strip().encode(), token.encode()):
                return Refusal(403, "wrong bearer token")
        if auth.basic_user and auth.basic_password_env:
            if not given.startswith("Basic "):
                return Refusal(401, "missing basic auth (Authorization: Basic …)")
            expected = f"{auth.basic_user}:{self._value(auth.basic_password_env)}"
            try:
                sent = base64.b64decode(given[6:].strip(), validate=True)
            except ValueError:
                return Refusal(403, "malformed basic auth")
            if not hmac.compare_digest(sent, expected.encode()):
                return Refusal(403, "wrong basic auth user or password")
        if auth.hmac_secret_env:
            return self._signature(integration, headers, body)
        return None

    def _value(self, name: str) -> str:
        secret = self.secret(name)
        assert secret is not None  # missing_secrets checked
        return secret.get_secret_value()

    def _signature(
        self, integration: Integration, headers: Mapping[str, str], body: bytes
    ) -> Refusal | None:
        auth = integration.auth
        assert auth.hmac_secret_env
        signature = headers.get(auth.hmac_header, "").strip()
        if not signature:
            return Refusal(401, f"missing signature header {auth.hmac_header}")
        signed = body
        stamp = None
        if auth.hmac_timestamp_header:
            stamp = headers.get(auth.hmac_timestamp_header, "").strip()
            if not stamp:
                return Refusal(401, f"missing timestamp header {auth.hmac_timestamp_header}")
            try:
                age = abs(time.time() - float(stamp))
            except ValueError:
                return Refusal(403, f"malformed timestamp in {auth.hmac_timestamp_header}")
            if age > REPLAY_WINDOW_S:
                return Refusal(403, "signature timestamp is more than five minutes off")
            signed = stamp.encode() + b":" + body
        key = self._value(auth.hmac_secret_env).encode()
        expected = hmac.new(key, signed, hashlib.sha256).hexdigest()
        sent = signature.removeprefix("sha256=").lower()
        if not hmac.compare_digest(sent.encode(), expected.encode()):
            return Refusal(403, "bad signature")
        if stamp is not None and not self.guard.first_use(f"{integration.name}:{sent}"):
            return Refusal(403, "replayed request")
        return None
