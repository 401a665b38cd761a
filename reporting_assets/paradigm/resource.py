"""`ParadigmResource`: the Dagster resource that fetches one endpoint over a date range, in few requests."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, ClassVar

from dagster import ConfigurableResource
from pydantic import Field

from reporting_assets.lazy import pandas as pd
from reporting_assets.paradigm.endpoints import Endpoint
from reporting_assets.paradigm.errors import ParadigmConfigError, ParadigmResponseError
from reporting_assets.paradigm.flatten import PayloadError, Rows, flatten
from reporting_assets.redact import MaskedRepr

if TYPE_CHECKING:
    import httpx

    from reporting_assets.paradigm.client import ParadigmClient


def date_chunks(start: date, end: date, days: int) -> list[tuple[date, date]]:
    """`start..end` cut into inclusive windows of at most `days` days."""
    chunks = []
    while start <= end:
        stop = min(end, start + timedelta(days=days - 1))
        chunks.append((start, stop))
        start = stop + timedelta(days=1)
    return chunks


@dataclass(frozen=True)
class Window:
    """The rows of one request window `start..end`."""

    start: date
    end: date
    rows: Rows


class ParadigmResource(MaskedRepr, ConfigurableResource):
    """Access to a Paradigm instance's reporting API."""

    SECRET_FIELDS: ClassVar[tuple[str, ...]] = ("api_key", "user_id_key")
    base_url: str = Field(description="Instance root, e.g. https://paradigm.lighton.ai")
    api_key: str = Field(default="", description="Bearer token of an admin or company admin (use EnvVar).")
    company_id: int | None = Field(default=None, description="Only this company (instance admins).")
    timeout_s: float = Field(default=60.0, description="Per-request timeout, seconds.")
    max_retries: int = Field(default=5, description="Retries of 429, 5xx and transport errors.")
    retry_backoff_s: float = Field(default=1.0, description="Base of the exponential backoff, seconds.")
    days_per_request: int = Field(default=31, description="Days fetched per API call.")
    user_id_key: str = Field(
        default="", description="REPORTING_USER_ID_KEY: user ids become pseudonyms as they are parsed (use EnvVar)."
    )

    def transport(self) -> httpx.BaseTransport | None:
        """Where requests go: None, the network. The assembly may choose another (the demo's simulator)."""
        return None

    def client(self) -> ParadigmClient:
        from reporting_assets.paradigm.client import ParadigmClient  # on use: httpx costs 0.1 s at load

        if not self.base_url.strip():
            raise ParadigmConfigError("reporting", None, None, "PARADIGM_BASE_URL is not set")
        if not self.api_key:
            raise ParadigmConfigError("reporting", None, None, "PARADIGM_API_KEY is not set")
        return ParadigmClient(
            self.base_url,
            self.api_key,
            timeout_s=self.timeout_s,
            max_retries=self.max_retries,
            backoff_s=self.retry_backoff_s,
            transport=self.transport(),
        )

    def windows(
        self, endpoint: Endpoint, start: date, end: date, log: logging.Logger | None = None
    ) -> Iterator[Window]:
        """Every row of `endpoint` for `start..end` inclusive, one request window (`days_per_request` days, one
        call plus its retries) at a time: a caller that writes each before the next holds one window in memory.
        A snapshot endpoint takes one call for the range, its figures repeated for each day."""
        log = log or logging.getLogger(__name__)
        drift: set[str] = set()
        windows = [(start, end)] if endpoint.snapshot else date_chunks(start, end, self.days_per_request)
        with self.client() as client:
            for lo, hi in windows:
                before = client.requests_made
                payload = client.get_report(endpoint.path, lo, hi, self.company_id)
                days = [d.date() for d in pd.date_range(lo, hi, freq="D")] if endpoint.snapshot else []
                try:
                    flat = flatten(endpoint, payload, days, self.user_id_key or None)
                except PayloadError as exc:
                    raise ParadigmResponseError(endpoint.path, lo, hi, f"unexpected payload: {exc}") from None
                del payload
                frame = flat.frame
                outside = ~frame["date"].between(lo, hi)
                if outside.any():
                    log.warning(
                        "%s %s..%s: ignored %d rows dated outside the range", endpoint.path, lo, hi, outside.sum()
                    )
                    frame = frame.loc[~outside]
                if len(frame) and (frame["date"] == hi).sum() == 0 and lo < hi:
                    log.warning(
                        "%s %s..%s: no company has data for the last day; is end_date exclusive?", endpoint.path, lo, hi
                    )
                if new := set(flat.drift) - drift:
                    log.warning("%s: unknown fields ignored (schema drift): %s", endpoint.path, ", ".join(sorted(new)))
                    drift |= new
                yield Window(lo, hi, Rows(frame, flat.drift, flat.docs, client.requests_made - before))

    def fetch(self, endpoint: Endpoint, start: date, end: date, log: logging.Logger | None = None) -> Rows:
        """Every row of `endpoint` for `start..end` inclusive in one frame (`windows`, concatenated)."""
        parts = [w.rows for w in self.windows(endpoint, start, end, log)]
        frame = pd.concat([p.frame for p in parts], ignore_index=True) if len(parts) > 1 else parts[0].frame
        drift = sorted({name for p in parts for name in p.drift})
        docs = {column: text for p in parts for column, text in p.docs.items()}
        return Rows(frame, drift, docs, sum(p.requests for p in parts))
