"""What reports read of the alert store (`alert_events`): typed rows, newest first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Engine, func, or_, select

from reporting_assets.warehouse.tables import alert_events as events

STATUSES = ("pending", "firing", "resolved")


@dataclass(frozen=True)
class AlertRow:
    """An episode as reports show it."""

    company_id: int
    company_name: str
    status: str  # "firing" or "resolved" (pending ones are not shown)
    severity: str
    rule_name: str
    started_at: date
    date: date  # the latest day evaluated
    resolved_at: date | None
    value: float | None
    threshold: float | None


_COLUMNS = [events.c[name] for name in AlertRow.__dataclass_fields__]
_NEWEST = (events.c.started_at.desc(), events.c.fingerprint)


def _rows(engine: Engine, query) -> list[AlertRow]:
    with engine.connect() as conn:
        return [AlertRow(**row) for row in conn.execute(query).mappings()]


def for_reports(engine: Engine, since: date) -> list[AlertRow]:
    """Episodes that fired, still open or resolved from `since` on, newest first."""
    shown = or_(events.c.status == "firing", events.c.resolved_at >= since)
    return _rows(engine, select(*_COLUMNS).where(events.c.status != "pending", shown).order_by(*_NEWEST))


def firing(engine: Engine, limit: int = 50) -> list[AlertRow]:
    """The firing episodes, most recent first (at most `limit`)."""
    return _rows(engine, select(*_COLUMNS).where(events.c.status == "firing").order_by(*_NEWEST).limit(limit))


def counts(engine: Engine) -> dict[str, int]:
    """Episodes per status (`STATUSES`)."""
    with engine.connect() as conn:
        found = dict(conn.execute(select(events.c.status, func.count()).group_by(events.c.status)).all())
    return {status: int(found.get(status, 0)) for status in STATUSES}
