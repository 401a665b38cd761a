"""What each channel accepted (`alert_deliveries`: once per channel, whatever the number of ticks or
processes), and the channels refusing messages, with their backoff (`alert_channels`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Engine, select, update

from reporting_assets.alerts.state import utc
from reporting_assets.warehouse.tables import alert_channels as channels
from reporting_assets.warehouse.tables import alert_deliveries as deliveries


@dataclass(frozen=True)
class Streak:
    """A channel refusing notifications (`alert_channels`): since when, how many tries, when it is tried again,
    and when the refusal was reported (UTC)."""

    failing_since: datetime
    failures: int
    retry_at: datetime
    reported_at: datetime | None


DeliveryKey = tuple[str, date, str, str]  # fingerprint, started_at, transition, occurrence
RETRY_CAP = timedelta(hours=1)


def delivered(engine: Engine, keys: list[DeliveryKey]) -> set[tuple[DeliveryKey, str]]:
    """Which of `keys` each channel has accepted: (key, channel) pairs."""
    if not keys:
        return set()
    d = deliveries.c
    query = select(d.fingerprint, d.started_at, d.transition, d.occurrence, d.channel).where(
        d.fingerprint.in_(sorted({k[0] for k in keys}))
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return {((f, s if isinstance(s, date) else date.fromisoformat(str(s)), t, o), c) for f, s, t, o, c in rows}


def record(engine: Engine, keys: list[DeliveryKey], channel: str, at: datetime) -> None:
    """`channel` accepted the notifications of `keys`."""
    rows = [
        {"fingerprint": f, "started_at": s, "transition": t, "occurrence": o, "channel": channel, "delivered_at": at}
        for f, s, t, o in keys
    ]
    with engine.begin() as conn:
        conn.execute(deliveries.insert(), rows)


def failing_channels(engine: Engine) -> dict[str, Streak]:
    """Channels refusing notifications, by channel."""
    with engine.connect() as conn:
        rows = conn.execute(select(channels)).mappings().all()
    return {
        row["channel"]: Streak(utc(row["failing_since"]), int(row["failures"]), utc(row["retry_at"]),
                               utc(row["reported_at"]))
        for row in rows
    }  # fmt: skip


def refused(engine: Engine, channel: str, now: datetime) -> Streak:
    """One more refusal of `channel`: its next try waits 1, 2, 4... minutes (one hour at most)."""
    before = failing_channels(engine).get(channel)
    failures = 1 + (before.failures if before else 0)
    streak = Streak(
        failing_since=before.failing_since if before else now,
        failures=failures,
        retry_at=now + min(timedelta(minutes=2 ** (failures - 1)), RETRY_CAP),
        reported_at=before.reported_at if before else None,
    )
    with engine.begin() as conn:
        conn.execute(channels.delete().where(channels.c.channel == channel))
        conn.execute(channels.insert(), {"channel": channel, **asdict(streak)})
    return streak


def mark_reported(engine: Engine, channel: str, at: datetime) -> None:
    with engine.begin() as conn:
        conn.execute(update(channels).where(channels.c.channel == channel).values(reported_at=at))


def accepted(engine: Engine, channel: str) -> None:
    """`channel` works again: its failing streak ends."""
    with engine.begin() as conn:
        conn.execute(channels.delete().where(channels.c.channel == channel))
