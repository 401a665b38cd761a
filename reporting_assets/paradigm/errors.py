"""One hierarchy of errors for everything that can go wrong talking to Paradigm.

Every message names the endpoint, the date range and the cause, and says what to do; none contains the token.
"""

from __future__ import annotations

from datetime import date


class ParadigmError(Exception):
    """Base of every error raised by the Paradigm client."""

    def __init__(self, endpoint: str, start: date | None, end: date | None, cause: str) -> None:
        self.endpoint, self.start, self.end, self.cause = endpoint, start, end, cause
        where = f" for {start}..{end}" if start else ""
        super().__init__(f"Paradigm {endpoint}{where}: {cause}")


class ParadigmConfigError(ParadigmError):
    """The resource is configured wrongly (missing URL or token): fix the environment."""


class ParadigmAuthError(ParadigmError):
    """401/403: the token was rejected or lacks admin rights; retrying will not help."""


class ParadigmRequestError(ParadigmError):
    """Any other 4xx: the request itself is wrong (bad date, unknown path or company)."""


class ParadigmUnavailable(ParadigmError):
    """429, 5xx or a transport failure that persisted through every retry."""


class ParadigmResponseError(ParadigmError):
    """The API answered 200 with a body we cannot use (not JSON, missing or mistyped fields)."""
