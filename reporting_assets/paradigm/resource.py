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
from reporting_assets.users.erased import NONE, Erased

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


# Bytes a row may cost a run worker while its window is decoded and flattened, or while a KPI chunk is read and
# computed: conservative, for RSS. Traced (tracemalloc) for user_activities decoded whole: about 400 B with the
# simulator in another process, 1,517 B with it in the same one; the 2,406 MB for 1.4 M records in one
# window was about 1,600 B of RSS a record. Parsed as they are read, answers cost less; KPI chunks about 600 B.
ROW_BYTES = 1_500
PROCESS_MB = 200  # what a run worker holds before any data (Python, Dagster, pandas): not the data's to use


def row_budget(memory_budget_mb: int) -> int:
    """Rows a step may hold at once within `memory_budget_mb` (REPORTING_MEMORY_BUDGET_MB), its process aside."""
    return max(1, int((memory_budget_mb - PROCESS_MB) * 1e6 / ROW_BYTES))


@dataclass(frozen=True)
class Window:
    """The rows of one request window `start..end` (of one company when the days were split by company)."""

    start: date
    end: date
    rows: Rows
    company_id: int | None = None

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def busiest_day(self) -> int:
        """Rows of the window's busiest day."""
        return int(self.rows.frame["date"].value_counts().max()) if len(self.rows.frame) else 0

    def busiest_day_by_company(self) -> dict[int, int]:
        """Rows of each company's busiest day in the window."""
        per_day = self.rows.frame.groupby(["company_id", "date"]).size()
        return {int(c): int(n) for c, n in per_day.groupby(level="company_id").max().items()}


class ParadigmResource(MaskedRepr, ConfigurableResource):
    """Access to a Paradigm instance's reporting API."""

    SECRET_FIELDS: ClassVar[tuple[str, ...]] = ("api_key", "user_id_key")
    base_url: str = Field(description="Instance root, e.g. https://paradigm.lighton.ai")
    api_key: str = Field(default="", description="Bearer token of an admin or company admin (use EnvVar).")
    company_id: int | None = Field(default=None, description="Only this company (instance admins).")
    timeout_s: float = Field(default=60.0, description="Per-request timeout, seconds.")
    max_retries: int = Field(default=5, description="Retries of 429, 5xx and transport errors.")
    retry_backoff_s: float = Field(default=1.0, description="Base of the exponential backoff, seconds.")
    days_per_request: int = Field(default=31, description="Days fetched per API call, at most.")
    memory_budget_mb: int = Field(
        default=500, description="REPORTING_MEMORY_BUDGET_MB: windows are sized so that a step stays within it."
    )
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

    def row_budget(self) -> int:
        """Rows one request window may hold within `memory_budget_mb` (the process's own memory aside)."""
        return row_budget(self.memory_budget_mb)

    def windows(
        self,
        endpoint: Endpoint,
        start: date,
        end: date,
        log: logging.Logger | None = None,
        busiest_day: int | None = None,
        erased: Erased = NONE,
    ) -> Iterator[Window]:
        """Every row of `endpoint` for `start..end` inclusive, one request window (one call plus its retries) at a
        time: a caller that writes each before the next holds one window in memory.

        Windows are sized to the data: as many days (up to `days_per_request`) as `row_budget` holds at the rows of
        the busiest day seen so far (`busiest_day`: from the ledger, then the largest met; unknown, the first window
        is one day). Once one day of every company is over the budget, the days left are asked company by company
        (`split_companies`). A snapshot endpoint takes one call for the range, its figures repeated for each day.
        The rows of `erased` users are left out as each window is parsed (`flatten`)."""
        log = log or logging.getLogger(__name__)
        with self.client() as client:
            drift: set[str] = set()
            if endpoint.snapshot:
                yield self._window(client, endpoint, start, end, self.company_id, log, drift, erased)
                return
            if self._split(busiest_day):
                yield from self._by_company(client, endpoint, start, end, {}, busiest_day, log, drift, erased)
                return
            seen: dict[int, int] = {}  # company -> the rows of its busiest day so far: its own windows' size
            for window in self._sized(client, endpoint, start, end, self.company_id, busiest_day, log, drift, erased):
                yield window
                for company, rows in window.busiest_day_by_company().items():
                    seen[company] = max(seen.get(company, 0), rows)
                busiest_day = max(busiest_day or 0, window.busiest_day())
                if window.end < end and self._split(busiest_day):
                    after = window.end + timedelta(days=1)
                    yield from self._by_company(client, endpoint, after, end, seen, busiest_day, log, drift, erased)
                    return

    def _split(self, busiest_day: int | None) -> bool:
        """Whether one day of every company is over the row budget (never for a one-company resource)."""
        return self.company_id is None and busiest_day is not None and busiest_day > self.row_budget()

    def _sized(
        self,
        client: ParadigmClient,
        endpoint: Endpoint,
        start: date,
        end: date,
        company_id: int | None,
        busiest_day: int | None,
        log: logging.Logger,
        drift: set[str],
        erased: Erased,
    ) -> Iterator[Window]:
        """Windows of `start..end`, each as long as the row budget holds at the busiest day seen so far."""
        day = start
        while day <= end:
            days = 1 if busiest_day is None else max(1, min(self.days_per_request, self.row_budget() // busiest_day))
            last = min(end, day + timedelta(days=days - 1))
            window = self._window(client, endpoint, day, last, company_id, log, drift, erased)
            busiest_day = max(busiest_day or 0, window.busiest_day(), 1)  # a quiet weekend sizes nothing
            day = last + timedelta(days=1)
            yield window

    def _by_company(
        self,
        client: ParadigmClient,
        endpoint: Endpoint,
        start: date,
        end: date,
        seen: dict[int, int],
        busiest_day: int | None,
        log: logging.Logger,
        drift: set[str],
        erased: Erased,
    ) -> Iterator[Window]:
        """`start..end` asked company by company, each company's windows sized to its own rows (its busiest day
        in `seen`, else a first one-day window)."""
        log.info(
            "%s: one day holds about %s rows, over the budget of %d (REPORTING_MEMORY_BUDGET_MB=%d): %s..%s asked "
            "company by company", endpoint.path, busiest_day, self.row_budget(), self.memory_budget_mb, start, end,
        )  # fmt: skip
        for company in self.split_companies(client, start, set(seen)):
            yield from self._sized(client, endpoint, start, end, company, seen.get(company), log, drift, erased)

    def split_companies(self, client: ParadigmClient, day: date, seen: set[int]) -> list[int]:
        """The companies to ask one by one: those the members endpoint lists on `day`, and those seen already."""
        from reporting_assets.paradigm.endpoints import ENDPOINTS

        members = client.get_report(ENDPOINTS["company_members"].path, day, day)
        listed = {block["company"]["id"] for block in members.get("reporting", []) if "company" in block}
        return sorted(listed | seen)

    def _window(
        self,
        client: ParadigmClient,
        endpoint: Endpoint,
        lo: date,
        hi: date,
        company_id: int | None,
        log: logging.Logger,
        drift: set[str],
        erased: Erased,
    ) -> Window:
        """One call for `lo..hi` (and `company_id`), flattened; logs its size and any new schema drift."""
        before = client.requests_made
        days = [d.date() for d in pd.date_range(lo, hi, freq="D")] if endpoint.snapshot else []
        with client.answer(endpoint.path, lo, hi, company_id) as answer:
            try:
                # a batch's objects cost more than its typed rows: a quarter of the budget is theirs
                budget = max(1, self.row_budget() // 4)
                flat = flatten(endpoint, answer, days, self.user_id_key or None, budget, erased)
            except PayloadError as exc:
                raise ParadigmResponseError(endpoint.path, lo, hi, f"unexpected payload: {exc}") from None
        frame = flat.frame
        outside = ~frame["date"].between(lo, hi)
        if outside.any():
            log.warning("%s %s..%s: ignored %d rows dated outside the range", endpoint.path, lo, hi, outside.sum())
            frame = frame.loc[~outside]
        if len(frame) and (frame["date"] == hi).sum() == 0 and lo < hi and company_id is None:
            log.warning(
                "%s %s..%s: no company has data for the last day; is end_date exclusive?", endpoint.path, lo, hi
            )
        if new := set(flat.drift) - drift:
            log.warning("%s: unknown fields ignored (schema drift): %s", endpoint.path, ", ".join(sorted(new)))
            drift |= new
        said = log.info if company_id is None else log.debug  # split by company: the split itself is said once
        of = "" if company_id is None else f" of company {company_id}"
        said("%s %s..%s%s: %d days, %d rows in one request window", endpoint.path, lo, hi, of, (hi - lo).days + 1,
             len(frame))  # fmt: skip
        rows = Rows(frame, flat.drift, flat.docs, client.requests_made - before, flat.dropped)
        return Window(lo, hi, rows, company_id)

    def fetch(self, endpoint: Endpoint, start: date, end: date, log: logging.Logger | None = None) -> Rows:
        """Every row of `endpoint` for `start..end` inclusive in one frame (`windows`, concatenated)."""
        parts = [w.rows for w in self.windows(endpoint, start, end, log)]
        frame = pd.concat([p.frame for p in parts], ignore_index=True) if len(parts) > 1 else parts[0].frame
        drift = sorted({name for p in parts for name in p.drift})
        docs = {column: text for p in parts for column, text in p.docs.items()}
        return Rows(frame, drift, docs, sum(p.requests for p in parts), sum(p.dropped for p in parts))
