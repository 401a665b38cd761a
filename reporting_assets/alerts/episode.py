"""An alert episode: one row of `alert_events` (pending -> firing -> resolved) without its notification
bookkeeping (`state.Notified`). Rules evaluate episodes in bulk as frames with these columns; late data builds
them one by one."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from datetime import date

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
