"""The Slack Web API client escalator uses: base URL from settings, retry handlers on.

slack_sdk's own retry handlers do the waiting: HTTP 429 waits for Retry-After,
500/503 and dropped connections back off. What is still failing after them
reaches the sender, which tells retryable from permanent failures.
"""

from __future__ import annotations

import random

from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.http_retry.jitter import Jitter
from slack_sdk.web.async_client import AsyncWebClient

__all__ = ["PERMANENT_ERRORS", "slack_client"]

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
) -> AsyncWebClient:
    backoff_calc = BackoffRetryIntervalCalculator(
        backoff_factor=backoff, jitter=ProportionalJitter()
    )
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
