"""The Slack Web API client escalator uses: base URL from settings.

Two kinds of caller. The notification senders run inside the deliver
activity, and Temporal is their one retry layer (``retries=False``): a 429 or
5xx comes straight back to the sender, which reports it retryable with
Retry-After, so no back-off hides inside an attempt and holds a heartbeat.
The receiver answers people (ephemeral replies, modals) outside any activity,
so it keeps slack_sdk's retry handlers: 429 waits for Retry-After, 500/503 and
dropped connections back off.
"""

from __future__ import annotations

import random
from typing import Any

from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.http_retry.jitter import Jitter
from slack_sdk.web.async_client import AsyncWebClient

__all__ = ["PERMANENT_ERRORS", "TRANSIENT_ERRORS", "retry_after", "slack_client"]

# Slack errors a retry cannot fix: fall back to the next channel or role instead.
PERMANENT_ERRORS = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "invalid_auth",
        "not_authed",
        "token_revoked",
        "token_expired",
        "account_inactive",
        "missing_scope",
        "no_permission",
        "user_not_found",
        "cannot_dm_bot",
        "invalid_blocks",
        "msg_too_long",
        "restricted_action",
        "message_not_found",
        "cant_update_message",
        "edit_window_closed",
    }
)


# Errors Slack documents as temporary (answered with HTTP 200 and ok=false, or 5xx).
TRANSIENT_ERRORS = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)
MAX_RETRY_AFTER = 300.0  # seconds: a larger Retry-After is capped, the delivery keeps its turn


def retry_after(headers: Any) -> float | None:
    """Seconds from a Retry-After header (any header-name case); None when absent or a date."""
    for name, value in dict(headers or {}).items():
        if str(name).lower() == "retry-after":
            value = value[0] if isinstance(value, list) and value else value
            try:
                return min(max(float(value), 0.0), MAX_RETRY_AFTER)
            except (TypeError, ValueError):
                return None
    return None


class ProportionalJitter(Jitter):
    """Up to +100 % of the backoff: slack_sdk's default adds up to a whole second,
    which makes a small backoff factor pointless."""

    def recalculate(self, duration: float) -> float:
        return duration * (1 + random.random())


def slack_client(
    token: str,
    *,
    base_url: str = "https://slack.com/api/",
    timeout: int = 10,
    rate_limit_retries: int = 3,
    server_error_retries: int = 2,
    backoff: float = 0.5,
    retries: bool = True,
) -> AsyncWebClient:
    backoff_calc = BackoffRetryIntervalCalculator(
        backoff_factor=backoff, jitter=ProportionalJitter()
    )
    if not retries:  # the deliver activity: Temporal retries, with Retry-After
        return AsyncWebClient(token=token, base_url=base_url, timeout=timeout, retry_handlers=[])
    return AsyncWebClient(
        token=token,
        base_url=base_url,
        timeout=timeout,
        retry_handlers=[
            AsyncRateLimitErrorRetryHandler(max_retry_count=rate_limit_retries),
            AsyncServerErrorRetryHandler(
                max_retry_count=server_error_retries, interval_calculator=backoff_calc
            ),
            AsyncConnectionErrorRetryHandler(max_retry_count=2, interval_calculator=backoff_calc),
        ],
    )
