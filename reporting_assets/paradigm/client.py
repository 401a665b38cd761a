"""HTTP access to the Paradigm reporting API: one `httpx.Client` per run, retries by tenacity."""

from __future__ import annotations

import json
import logging
import random
import re
import time
from collections.abc import Callable
from datetime import date
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from reporting_assets.paradigm.errors import (
    ParadigmAuthError,
    ParadigmRequestError,
    ParadigmResponseError,
    ParadigmUnavailable,
)

log = logging.getLogger(__name__)

API_ROOT_SUFFIXES = ("/api/v2", "/api/v3")
MAX_RETRY_AFTER_S = 300.0
_NUL = re.compile(r"(?<!\\)((?:\\\\)*)\\u0000")  # a JSON `\u0000` escape (not an escaped backslash's "u0000")


def _json(response: httpx.Response) -> Any:
    """The body decoded. A NUL in a string (a PostgreSQL TEXT cannot hold one) is read as U+FFFD on every
    database, so that text from the API is stored alike everywhere; the search costs one scan of the bytes."""
    if b"\\u0000" not in response.content:
        return response.json()
    return json.loads(_NUL.sub(r"\1\\ufffd", response.text))


def normalise_base_url(url: str) -> str:
    """Instance root from what users paste: `https://host`, `https://host/api/v2` or `.../api/v3`."""
    root = url.strip().rstrip("/")
    for suffix in API_ROOT_SUFFIXES:
        if root.endswith(suffix):
            root = root[: -len(suffix)]
    return root


class _TransientError(Exception):
    """A failure worth retrying; `retry_after` is the server's wish in seconds, when it said one."""

    def __init__(self, cause: str, retry_after: float | None = None) -> None:
        super().__init__(cause)
        self.retry_after = retry_after


def _retry_after_s(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


def _detail(response: httpx.Response) -> str:
    """The server's own explanation, short, whether the body is JSON or not."""
    try:
        body = response.json()
        text = body.get("detail", body) if isinstance(body, dict) else body
    except ValueError:
        text = response.text
    return str(text).strip()[:200]


class ParadigmClient:
    """Calls one reporting endpoint for one date range and returns the decoded JSON payload."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout_s: float = 30.0,
        max_retries: int = 5,
        backoff_s: float = 1.0,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self._token = token
        self._max_retries = max_retries
        self._backoff_s = backoff_s
        self._sleep = sleep
        self.requests_made = 0
        self._http = httpx.Client(
            base_url=normalise_base_url(base_url),
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 10.0)),
            transport=transport,
            follow_redirects=False,
        )

    def __enter__(self) -> ParadigmClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _wait(self, state: RetryCallState) -> float:
        """Server's Retry-After when given, else exponential backoff with full jitter."""
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _TransientError) and exc.retry_after is not None:
            return min(exc.retry_after, MAX_RETRY_AFTER_S)
        return random.uniform(0, self._backoff_s * 2 ** (state.attempt_number - 1))  # noqa: S311 (jitter)

    def get_report(self, path: str, start: date, end: date, company_id: int | None = None) -> dict[str, Any]:
        """GET `path` for `start..end` (inclusive), retrying transient failures; raises a `ParadigmError`."""
        params: dict[str, str | int] = {"start_date": start.isoformat(), "end_date": end.isoformat()}
        if company_id is not None:
            params["company_id"] = company_id
        retrying = Retrying(
            retry=retry_if_exception_type(_TransientError),
            stop=stop_after_attempt(self._max_retries + 1),
            wait=self._wait,
            sleep=self._sleep or time.sleep,
            before_sleep=lambda s: log.warning(
                "Paradigm %s %s..%s: %s; retry %d/%d",
                path,
                start,
                end,
                s.outcome.exception() if s.outcome else "?",
                s.attempt_number,
                self._max_retries,
            ),
            reraise=True,
        )
        try:
            response = retrying(self._get_once, path, params)
        except _TransientError as exc:
            raise ParadigmUnavailable(
                path, start, end, f"{exc} (gave up after {self._max_retries + 1} attempts; is the API up?)"
            ) from None
        return self._decode(response, path, start, end)

    def _get_once(self, path: str, params: dict[str, str | int]) -> httpx.Response:
        self.requests_made += 1
        try:
            response = self._http.get(path, params=params)
        except httpx.TransportError as exc:
            raise _TransientError(f"{type(exc).__name__}: {exc or 'connection failed'}") from None
        if response.status_code == 429 or response.status_code >= 500:
            raise _TransientError(f"HTTP {response.status_code} {_detail(response)}", _retry_after_s(response))
        return response

    def _decode(self, response: httpx.Response, path: str, start: date, end: date) -> dict[str, Any]:
        status = response.status_code
        if status in (401, 403):
            why = "the token was rejected (401)" if status == 401 else "the token lacks admin rights here (403)"
            raise ParadigmAuthError(
                path, start, end, f"{why}: check PARADIGM_API_KEY and the user's role. Server said: {_detail(response)}"
            )
        if status >= 300:
            raise ParadigmRequestError(path, start, end, f"HTTP {status}: {_detail(response)}")
        try:
            payload = _json(response)
        except ValueError as exc:
            raise ParadigmResponseError(path, start, end, f"response is not valid JSON ({exc})") from None
        if not isinstance(payload, dict):
            raise ParadigmResponseError(path, start, end, f"expected a JSON object, got {type(payload).__name__}")
        return payload
