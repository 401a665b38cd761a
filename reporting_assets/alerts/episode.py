"""An alert episode: one row of `alert_events` (pending -> firing -> resolved) without its notification
bookkeeping (`state.Notified`). Rules evaluate episodes in bulk as frames with these columns; late data builds
them one by one."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields
from datetime import date, datetime
from typing import Any

from reporting_assets.lazy import pandas as pd


@dataclass(frozen=True)
class Episode:
    fingerprint: str  # rule_name/company_id (rule_name/asset for late data)
    started_at: date  # first day the condition held
    rule_name: str
    severity: str  # info, warning, critical
    asset: str
    company_id: int
    company_name: str | None
    date: date  # latest day evaluated, or the resolution day
    metric: str
    value: float | None
    threshold: float | None
    status: str  # pending, firing, resolved
    resolved_at: date | None
    message: str


COLUMNS = [f.name for f in fields(Episode)]


def frame(episodes: Iterable[Episode]) -> pd.DataFrame:
    """Episodes as the frame `state.sync` stores."""
    return pd.DataFrame([asdict(e) for e in episodes], columns=COLUMNS)


def _day(value: Any) -> date | None:
    if value is None or pd.isna(value):
        return None
    return value if isinstance(value, date) and not isinstance(value, datetime) else pd.Timestamp(value).date()


def from_row(row: Mapping[str, Any]) -> Episode:
    """The episode of an `alert_events` row as read (dates as dates, NaN as None)."""
    values = {name: (None if pd.isna(row[name]) else row[name]) for name in COLUMNS}
    for name in ("started_at", "date", "resolved_at"):
        values[name] = _day(row[name])
    return Episode(**values)
