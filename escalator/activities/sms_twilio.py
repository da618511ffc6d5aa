"""The Twilio client escalator uses: async, a base-URL override, optional retries on 429 and 5xx.

twilio's client has no base-URL setting, so the http client rewrites the
scheme and host of every request when ``TWILIO_API_URL`` is set (tests point
it at a local fake). Retries: a 429 waits for Retry-After (capped), a 5xx
backs off exponentially; a refused connection is retried too, because the
request never left. A timeout is not retried here: Twilio may have accepted
the message, and the ledger decides what a retried activity does.

The SMS sender runs inside the deliver activity with ``retries=0``: Temporal
is its one retry layer, so a 429 or 5xx is raised at once as
``TwilioUnavailable`` with the Retry-After it carried (twilio's own exception
has no headers).
"""

from __future__ import annotations

import asyncio
import base64
import logging
from urllib.parse import urlsplit, urlunsplit

import aiohttp
from twilio.http import AsyncHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from escalator.errors import DeliveryError

__all__ = ["RetryingTwilioHttpClient", "TwilioUnavailable", "twilio_client"]

log = logging.getLogger(__name__)
MAX_RETRY_AFTER = 30.0


class TwilioUnavailable(DeliveryError):
    """Twilio answered 429 or 5xx after this client's own retries (none for the sender)."""

    def __init__(self, status: int, wait: float | None) -> None:
        super().__init__(f"HTTP {status}" + (f", retry after {wait:g} s" if wait else ""))
        self.status = status
        self.wait = wait


def _retry_after(response: Response) -> float | None:
    value = (response.headers or {}).get("Retry-After")
    try:
        return min(float(value), MAX_RETRY_AFTER) if value is not None else None
    except ValueError:  # an HTTP date: no hint
        return None


class RetryingTwilioHttpClient(AsyncHttpClient):
    def __init__(
        self,
        *,
        base_url: str | None = None,
        retries: int = 3,
        backoff: float = 0.5,
        timeout: float = 10.0,
    ) -> None:
        super().__init__(log, True, timeout)
        self.base = urlsplit(base_url) if base_url else None
        self.retries = retries
        self.backoff = backoff
        self.attempts = 0  # requests actually made, for tests and logs

    def _rewrite(self, url: str) -> str:
        if self.base is None:
            return url
        parts = urlsplit(url)
        path = self.base.path.rstrip("/") + parts.path
        return urlunsplit((self.base.scheme, self.base.netloc, path, parts.query, parts.fragment))

    async def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - twilio's http client signature
        allow_redirects: bool = False,
    ) -> Response:
        url = self._rewrite(url)
        attempt = 0
        while True:
            self.attempts += 1
            try:
                response = await self._once(
                    method, url, params, data, headers, auth, timeout or self.timeout
                )
            except aiohttp.ClientConnectorError:
                if attempt >= self.retries:
                    raise
                await asyncio.sleep(self.backoff * 2**attempt)
                attempt += 1
                continue
            status = response.status_code
            if not (status == 429 or status >= 500):
                return response
            if attempt >= self.retries:
                raise TwilioUnavailable(status, _retry_after(response))
            wait = self.backoff * 2**attempt
            hinted = _retry_after(response)
            if status == 429 and hinted is not None:
                wait = hinted
            log.info("Twilio answered %s; retry %d in %.1f s", status, attempt + 1, wait)
            await asyncio.sleep(wait)
            attempt += 1

    async def _once(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None,
        data: dict[str, object] | None,
        headers: dict[str, str] | None,
        auth: tuple[str, str] | None,
        timeout: float | None,  # noqa: ASYNC109 - a per-request total, as twilio passes it
    ) -> Response:
        """One request on a short-lived session: the client can be built outside a running
        loop, never leaks a session, and sends basic auth as a header (aiohttp's BasicAuth
        is deprecated)."""
        headers = dict(headers or {})
        if auth is not None:
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        self.log_request({"method": method, "url": url, "params": params, "headers": headers})
        client_timeout = aiohttp.ClientTimeout(total=timeout) if timeout else None
        async with (
            aiohttp.ClientSession(timeout=client_timeout) as session,
            session.request(
                method.upper(),
                url,
                params=params,  # type: ignore[arg-type]
                data=data,
                headers=headers,
                allow_redirects=False,
            ) as answer,
        ):
            response = Response(answer.status, await answer.text(), answer.headers)
        self.log_response(response.status_code, response)
        return response


def twilio_client(
    account_sid: str,
    auth_token: str,
    *,
    base_url: str | None = None,
    retries: int = 3,
    backoff: float = 0.5,
    timeout: float = 10.0,
) -> Client:
    http = RetryingTwilioHttpClient(
        base_url=base_url, retries=retries, backoff=backoff, timeout=timeout
    )
    return Client(account_sid, auth_token, http_client=http)
