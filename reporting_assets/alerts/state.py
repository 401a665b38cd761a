"""Alert episodes in the warehouse table `alert_events`: one row per episode, with its notification bookkeeping
(what channels accepted, and channels' backoff: `deliveries.py`; what reports read: `history.py`).

`notifications_sent` (`Notified`) drives delivery: 0 = nothing sent, 1 = firing sent, 2 = resolved sent (or the single
message of an alert that fired and resolved between two ticks). A row is only advanced after apprise reports
success, so a failed delivery is simply attempted again on the next tick.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import IntEnum

from sqlalchemy import ColumnElement, Engine, and_, func, or_, select, update

from reporting_assets.alerts.episode import COLUMNS as EPISODE_COLUMNS
from reporting_assets.alerts.episode import Episode, from_row
from reporting_assets.lazy import pandas as pd
from reporting_assets.warehouse.store import insert_frame
from reporting_assets.warehouse.tables import alert_events as events

KEY = ["fingerprint", "started_at"]


class Notified(IntEnum):
    """What every channel has been told of an episode (`alert_events.notifications_sent`)."""

    NOTHING = 0
    FIRING = 1
    RESOLVED = 2  # its resolution (or one message saying it fired and resolved)


OPEN = ("pending", "firing")


@dataclass
class Changes:
    """What one evaluation changed, for the sensor's tick log."""

    fired: list[tuple[str, date]] = field(default_factory=list)  # (fingerprint, day)
    resolved: list[tuple[str, date]] = field(default_factory=list)
    pending: list[tuple[str, date]] = field(default_factory=list)

    def __iadd__(self, other: Changes) -> Changes:
        self.fired += other.fired
        self.resolved += other.resolved
        self.pending += other.pending
        return self


def sync(engine: Engine, rule_name: str, fresh: pd.DataFrame, since: date) -> Changes:
    """Store the rule's episodes from `since` on (and its open ones), in one transaction.

    A change on day D only alters evaluations of days >= D, so older episodes stay as they are. A fresh
    episode overlapping a stored one of the same fingerprint is the same alert (its start may have moved when
    late data arrived): it keeps what was already notified. A stored episode the data no longer shows is
    dropped if it was only pending; one that fired (told or not yet: its message may have been refused) is
    kept, resolved, so every transition an evaluation saw is notified.
    """
    fresh = fresh[fresh["date"] >= since]
    scope = and_(events.c.rule_name == rule_name, or_(events.c.date >= since, events.c.status.in_(OPEN)))
    with engine.begin() as conn:
        stored = pd.read_sql(select(events).where(scope), conn)
        pairs = fresh[[*KEY, "date"]].merge(stored, on="fingerprint", suffixes=("", "_old"))
        pairs = pairs[(pairs["started_at"] <= pairs["date_old"]) & (pairs["started_at_old"] <= pairs["date"])]
        pairs = (
            pairs.sort_values("started_at_old").drop_duplicates(KEY).drop_duplicates(["fingerprint", "started_at_old"])
        )
        kept = ["notifications_sent", "last_notified_at", "status_old"]
        merged = fresh.merge(pairs.rename(columns={"status": "status_old"})[[*KEY, *kept]], on=KEY, how="left")
        merged["notifications_sent"] = merged["notifications_sent"].fillna(Notified.NOTHING).astype("int64")

        matched = stored.merge(
            pairs[["fingerprint", "started_at_old"]].rename(columns={"started_at_old": "started_at"}),
            on=KEY,
            how="left",
            indicator=True,
        )
        seen_firing = stored["status"].isin(["firing", "resolved"]).to_numpy()  # pending ones never fired
        orphans = stored[(matched["_merge"] == "left_only").to_numpy() & seen_firing]
        orphans = orphans.copy()
        gone = orphans["status"].isin(OPEN)
        orphans.loc[gone, "status"] = "resolved"
        orphans.loc[gone, "resolved_at"] = since
        orphans.loc[gone, "message"] = orphans.loc[gone, "message"] + " (no longer holds after the data was updated)"

        conn.execute(events.delete().where(scope))
        rows = pd.concat([merged[[*EPISODE_COLUMNS, "notifications_sent", "last_notified_at"]], orphans])
        insert_frame(conn, events, rows)

    new = merged[merged["status"] != merged["status_old"]]
    return Changes(
        fired=_keys(new[new["status"] == "firing"]),
        resolved=_keys(new[new["status"] == "resolved"]) + _keys(orphans[gone]),
        pending=_keys(new[new["status"] == "pending"]),
    )


def _keys(frame: pd.DataFrame) -> list[tuple[str, date]]:
    return list(zip(frame["fingerprint"], frame["date"], strict=True))


@dataclass(frozen=True)
class Stored:
    """An episode as `alert_events` holds it, with what every channel has been told of it (and when)."""

    episode: Episode
    notified: Notified
    last_notified_at: datetime | None


def _stored(engine: Engine, owed: ColumnElement[bool]) -> list[Stored]:
    """The episodes of `alert_events` where `owed` holds, oldest first."""
    query = select(events).where(owed).order_by(events.c.date, *events.primary_key.columns)
    with engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    return [
        Stored(from_row(row), Notified(int(row["notifications_sent"])), utc(row["last_notified_at"])) for row in rows
    ]


def outbox(engine: Engine, horizon: date) -> list[Stored]:
    """Episodes owed a notification, oldest first.

    Firing ones not yet notified, if their day is within the horizon (a backfill of old days pages nobody);
    resolved ones whose firing was notified; and, within the horizon, alerts that fired and resolved before
    anyone was told (one message says both).
    """
    recent = events.c.date >= horizon
    owed = or_(
        and_(events.c.status == "firing", events.c.notifications_sent == Notified.NOTHING, recent),
        and_(events.c.status == "resolved", events.c.notifications_sent == Notified.FIRING),
        and_(events.c.status == "resolved", events.c.notifications_sent == Notified.NOTHING, recent),
    )
    return _stored(engine, owed)


def reminders(engine: Engine, horizon: date) -> list[Stored]:
    """Firing alerts already notified whose latest evaluated day is within the horizon: candidates for a
    reminder (the caller keeps those whose rule's repeat interval has passed since `last_notified_at`)."""
    recent = events.c.date >= horizon
    return _stored(engine, and_(events.c.status == "firing", events.c.notifications_sent == Notified.FIRING, recent))


def mark_sent(engine: Engine, episode: tuple[str, date], was: Notified, sent: Notified, at: datetime) -> None:
    """Record a delivered notification of `episode` (fingerprint, started_at), only if its row still says `was`
    (nobody else advanced it meanwhile)."""
    fingerprint, started_at = episode
    with engine.begin() as conn:
        conn.execute(
            update(events)
            .where(
                events.c.fingerprint == fingerprint,
                events.c.started_at == started_at,
                events.c.notifications_sent == int(was),
            )
            .values(notifications_sent=int(sent), last_notified_at=at)
        )


def earliest_rewritable(engine: Engine, rule_name: str, since: date) -> date | None:
    """The first day of the rule's episodes an evaluation from `since` may rewrite (reaching `since`, or open)."""
    query = select(func.min(events.c.started_at)).where(
        events.c.rule_name == rule_name, or_(events.c.date >= since, events.c.status.in_(OPEN))
    )
    with engine.connect() as conn:
        return conn.execute(query).scalar_one_or_none()


def open_since(engine: Engine, rule_name: str) -> dict[str, date]:
    """The rule's open episodes: asset -> started_at (one open episode per asset for `raw_data_late`)."""
    query = select(events.c.asset, events.c.started_at).where(
        events.c.rule_name == rule_name, events.c.status.in_(OPEN)
    )
    with engine.connect() as conn:
        return dict(conn.execute(query).all())


def utc(value: datetime | str | None) -> datetime | None:
    """A stored moment as an aware UTC datetime (SQLite keeps no time zone, and may give text)."""
    if value is None:
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
