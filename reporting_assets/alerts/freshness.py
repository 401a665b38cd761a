"""Late data as alerts: a raw asset whose yesterday is still not in the load ledger at the freshness hour.

This is what a missing day really means, so it is said once per asset (firing), and once more when the day
arrives (resolved), through the same `alert_events` lifecycle as KPI alerts. The freshness checks of the
raw assets fail in the UI at the same moment; this puts it in the alert channels too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Engine

from reporting_assets.alerts import episode, state
from reporting_assets.alerts.episode import Episode
from reporting_assets.i18n import Language
from reporting_assets.lazy import pandas as pd
from reporting_assets.metrics import ALL_COMPANIES, ALL_COMPANIES_ID
from reporting_assets.warehouse import ledger

RULE_NAME = "raw_data_late"


@dataclass(frozen=True)
class Freshness:
    """Yesterday of each of `assets` is due by `hour_utc` (UTC), from `first_day` on, for `company_scope`."""

    assets: tuple[str, ...]
    hour_utc: int
    first_day: date
    company_scope: int | None = None

    def due(self, now: datetime) -> date | None:
        """The latest day that should be loaded by `now`; None before the first one is due."""
        day = now.date() - timedelta(days=1 if now.hour >= self.hour_utc else 2)
        return day if day >= self.first_day else None


def late_episodes(
    freshness: Freshness,
    latest: dict[str, date | None],
    due: date | None,
    open_since: dict[str, date],
    lang: Language,
) -> pd.DataFrame:
    """Episodes for the assets late at `due` (firing) and for those with an open episode (`open_since`:
    asset -> started_at) whose data has arrived since (resolved)."""
    found = []
    for asset in freshness.assets:
        last = latest.get(asset)
        # Never loaded: the instance is being set up (the doctor says so), nobody is paged for it
        late = due is not None and last is not None and last < due
        if late:
            first_missing = max(last + timedelta(days=1), freshness.first_day)
            since = min(open_since.get(asset, first_missing), first_missing)
            status, day, value = "firing", due, float((due - first_missing).days + 1)
            late_line = lang.ngettext(
                "{asset}: {days} day not loaded, none since {last} (due by {hour}:00 UTC each day; is the "
                "daily_refresh schedule running?)",
                "{asset}: {days} days not loaded, none since {last} (due by {hour}:00 UTC each day; is the "
                "daily_refresh schedule running?)",
                int(value),
            )
            hour = f"{freshness.hour_utc:02d}"
            message = late_line.format(asset=asset, days=lang.number(value), last=last, hour=hour)
        elif asset in open_since:
            since, status, day, value = open_since[asset], "resolved", last, 0.0
            again = lang.gettext("{asset}: loaded again up to {last}; it was late since {since}")
            message = again.format(asset=asset, last=last, since=open_since[asset])
        else:
            continue
        found.append(
            Episode(
                fingerprint=f"{RULE_NAME}/{asset}",
                started_at=since,
                rule_name=RULE_NAME,
                severity="critical",
                asset=asset,
                company_id=freshness.company_scope or ALL_COMPANIES_ID,
                company_name=ALL_COMPANIES if freshness.company_scope is None else None,
                date=day,
                metric="days_not_loaded",
                value=value,
                threshold=0.0,
                status=status,
                resolved_at=day if status == "resolved" else None,
                message=message,
            )
        )
    return episode.frame(found)


def evaluate(engine: Engine, freshness: Freshness, now: datetime, lang: Language) -> state.Changes:
    """Store the late-data alerts as of `now` in `alert_events`, their messages in `lang` (the caller delivers
    them)."""
    latest = ledger.latest(engine, list(freshness.assets), freshness.company_scope)
    fresh = late_episodes(freshness, latest, freshness.due(now), state.open_since(engine, RULE_NAME), lang)
    if fresh.empty:
        return state.Changes()
    return state.sync(engine, RULE_NAME, fresh, min(fresh["started_at"]))
