"""HTTP access to the Paradigm reporting API: one `httpx.Client` per run, retries by tenacity."""

from __future__ import annotations

import io
import json
import logging
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date
from email.utils import parsedate_to_datetime
from typing import IO, Any

import httpx
import ijson
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from reporting_assets.clock import utc_now
from reporting_assets.paradigm.errors import (
    ParadigmAuthError,
    ParadigmError,
    ParadigmRequestError,
    ParadigmResponseError,
    ParadigmUnavailable,
)

log = logging.getLogger(__name__)

API_ROOT_SUFFIXES = ("/api/v2", "/api/v3")
MAX_RETRY_AFTER_S = 300.0
NUL = b"\\u0000"  # a NUL in a JSON string: a PostgreSQL TEXT cannot hold one
JSON_TYPES = {"start_array": "list", "string": "str", "number": "number", "boolean": "bool", "null": "null"}


def _no_nul(value: Any) -> Any:
    """`value` with every NUL of its strings (keys too) read as U+FFFD, so that text from the API is stored alike
    on every database. Called only for an answer whose bytes hold a `\\u0000` escape."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {_no_nul(k): _no_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_no_nul(v) for v in value]
    return value


class Answer:
    """One answer's body, its bytes kept in memory (never on disk: with REPORTING_USER_ID_KEY they hold raw user
    ids, which only `flatten` turns into pseudonyms) and parsed as they are read (ijson): `get` gives a
    top-level field, and `get("reporting")` its company blocks one at a time, so that a large answer never needs
    its whole object tree in memory. `flatten` reads it as it reads the dict that `get_report` returns."""

    def __init__(self, body: IO[bytes], nul: bool, path: str, start: date, end: date) -> None:
        self._body, self._nul, self._where = body, nul, (path, start, end)

    def kind(self, key: str = "") -> str | None:
        """The parser's first event of top-level `key` ('start_map', 'start_array', 'string', ...), '' the body
        itself; None when absent. Reads events only as far as `key`: for the body and `reporting` (the large
        field), never through a large field."""
        self._body.seek(0)
        try:
            events = ijson.parse(self._body, use_float=True)
            return next((event for prefix, event, _ in events if prefix == key and event != "map_key"), None)
        except ijson.JSONError as exc:
            raise self._invalid(exc) from None

    def get(self, key: str, default: Any = None) -> Any:
        """Top-level `key`: `reporting`, when a list, as an iterator of its blocks; any other field (the small
        `metadata` blocks) built whole, the parser skipping the rest in C wherever the field lies."""
        if key == "reporting" and (kind := self.kind(key)) in (None, "start_array"):
            return default if kind is None else self._items("reporting.item")
        return next(self._items(key), default)

    def _items(self, prefix: str) -> Iterator[Any]:
        self._body.seek(0)
        try:
            for item in ijson.items(self._body, prefix, use_float=True):
                yield _no_nul(item) if self._nul else item
        except ijson.JSONError as exc:
            raise self._invalid(exc) from None

    def whole(self) -> dict[str, Any]:
        """The body decoded whole, for a small answer."""
        self._body.seek(0)
        try:
            payload = json.load(self._body)
        except ValueError as exc:
            raise self._invalid(exc) from None
        return _no_nul(payload) if self._nul else payload

    def _invalid(self, exc: Exception) -> ParadigmResponseError:
        said = str(exc).strip().splitlines() or [type(exc).__name__]  # the parser's message, its first line
        return ParadigmResponseError(*self._where, f"response is not valid JSON ({said[0]})")


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
            when = parsedate_to_datetime(value)
            when = when if when.tzinfo else when.replace(tzinfo=UTC)  # an HTTP-date is GMT
            return max(0.0, (when - utc_now()).total_seconds())
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
        """The answer of `path` for `start..end` decoded whole (a small answer: the company list, the doctor)."""
        with self.answer(path, start, end, company_id) as answer:
            return answer.whole()

    @contextmanager
    def answer(self, path: str, start: date, end: date, company_id: int | None = None) -> Iterator[Answer]:
        """GET `path` for `start..end` (inclusive), retrying transient failures (the body too, read to its end
        before it is parsed); raises a `ParadigmError`. The body is parsed as it is read (`Answer`)."""
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
            response, body, nul = retrying(self._get_once, path, params)
        except _TransientError as exc:
            raise ParadigmUnavailable(
                path, start, end, f"{exc} (gave up after {self._max_retries + 1} attempts; is the API up?)"
            ) from None
        if body is None:
            raise self._refused(response, path, start, end)
        with body:
            answer = Answer(body, nul, path, start, end)
            if (kind := answer.kind()) != "start_map":
                got = JSON_TYPES.get(kind or "", kind)
                raise ParadigmResponseError(path, start, end, f"expected a JSON object, got {got}")
            yield answer

    def _get_once(self, path: str, params: dict[str, str | int]) -> tuple[httpx.Response, IO[bytes] | None, bool]:
        """One request: its response, and its body spooled (None for an error) with whether it holds a NUL."""
        self.requests_made += 1
        request = self._http.build_request("GET", path, params=params)
        try:
            response = self._http.send(request, stream=True)
            try:
                if response.status_code >= 300:
                    response.read()  # the server's short explanation
                    return self._failed(response), None, False
                return response, *_spool(response)
            finally:
                response.close()
        except httpx.TransportError as exc:
            raise _TransientError(f"{type(exc).__name__}: {exc or 'connection failed'}") from None

    @staticmethod
    def _failed(response: httpx.Response) -> httpx.Response:
        if response.status_code == 429 or response.status_code >= 500:
            raise _TransientError(f"HTTP {response.status_code} {_detail(response)}", _retry_after_s(response))
        return response

    @staticmethod
    def _refused(response: httpx.Response, path: str, start: date, end: date) -> ParadigmError:
        status = response.status_code
        if status in (401, 403):
            why = "the token was rejected (401)" if status == 401 else "the token lacks admin rights here (403)"
            return ParadigmAuthError(
                path, start, end, f"{why}: check PARADIGM_API_KEY and the user's role. Server said: {_detail(response)}"
            )
        return ParadigmRequestError(path, start, end, f"HTTP {status}: {_detail(response)}")


def _spool(response: httpx.Response) -> tuple[IO[bytes], bool]:
    """The body read to its end, as bytes in memory (a tenth of its object tree), and whether it holds a NUL
    escape (a chunk's edge too)."""
    body: IO[bytes] = io.BytesIO()
    nul, tail = False, b""
    try:
        for chunk in response.iter_bytes():
            body.write(chunk)
            nul = nul or NUL in chunk or NUL in tail + chunk[: len(NUL)]
            tail = chunk[-len(NUL) :]
    except BaseException:
        body.close()
        raise
    return body, nul
