"""Alert state in `alert_events` (SQLite and PostgreSQL): idempotent syncs, kept bookkeeping, the outbox."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pandas as pd

from reporting_assets.alerts import state
from reporting_assets.alerts.evaluate import episodes
from reporting_assets.alerts.rules import Rule
from reporting_assets.i18n import ENGLISH
from reporting_assets.warehouse.store import Warehouse
from reporting_assets.warehouse.tables import alert_events

DAY0 = date(2026, 3, 2)
RULE = Rule(
    name="low", asset="adoption_satisfaction", metric="satisfaction_rate", condition="below", threshold=0.6, for_days=2
)


def _kpi(values: list[float]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "date": [DAY0 + timedelta(days=i) for i in range(len(values))],
            "company_id": 7,
            "company_name": "Co7",
            "satisfaction_rate": values,
        }
    )


def _sync(warehouse: Warehouse, values: list[float], since: date = DAY0) -> state.Changes:
    kpi = _kpi(values)
    loaded = pd.DataFrame({"date": kpi["date"], "company_scope": pd.array([None] * len(kpi), dtype="Int64")})
    return state.sync(warehouse.engine, RULE.name, episodes(RULE, kpi, loaded, lang=ENGLISH), since)


def _rows(warehouse: Warehouse) -> list[tuple]:
    table = warehouse.read(alert_events).sort_values(["started_at"])
    return [(r["started_at"], r["date"], r["status"], r["notifications_sent"]) for r in table.to_dict("records")]


def test_syncing_the_same_data_twice_changes_nothing(warehouse: Warehouse) -> None:
    first = _sync(warehouse, [0.9, 0.5, 0.5, 0.5])
    assert first.fired == [("low/7", DAY0 + timedelta(days=3))]
    before = _rows(warehouse)
    again = _sync(warehouse, [0.9, 0.5, 0.5, 0.5])
    assert (again.fired, again.resolved, again.pending) == ([], [], [])
    assert _rows(warehouse) == before == [(DAY0 + timedelta(days=1), DAY0 + timedelta(days=3), "firing", 0)]


def _mark_sent(warehouse: Warehouse, owed: state.Stored, sent: int) -> None:
    key = (owed.episode.fingerprint, owed.episode.started_at)
    state.mark_sent(warehouse.engine, key, owed.notified, state.Notified(sent), datetime.now(UTC))


def test_notification_bookkeeping_survives_new_days_and_moved_starts(warehouse: Warehouse) -> None:
    _sync(warehouse, [0.9, 0.9, 0.5, 0.5])
    [owed] = state.outbox(warehouse.engine, DAY0 + timedelta(days=0))
    _mark_sent(warehouse, owed, 1)
    assert state.outbox(warehouse.engine, DAY0 + timedelta(days=0)) == []

    # Late data lowers day 1 too (the episode now starts earlier) and day 4 arrives, still low.
    changes = _sync(warehouse, [0.9, 0.5, 0.5, 0.5, 0.5], since=DAY0 + timedelta(days=1))
    assert changes.fired == []
    assert _rows(warehouse) == [(DAY0 + timedelta(days=1), DAY0 + timedelta(days=4), "firing", 1)]
    assert state.outbox(warehouse.engine, DAY0 + timedelta(days=1)) == []

    changes = _sync(warehouse, [0.9, 0.5, 0.5, 0.5, 0.5, 0.8], since=DAY0 + timedelta(days=5))
    assert changes.resolved == [("low/7", DAY0 + timedelta(days=5))]
    [owed] = state.outbox(warehouse.engine, DAY0 + timedelta(days=2))
    assert (owed.episode.status, owed.notified) == ("resolved", state.Notified.FIRING)
    _mark_sent(warehouse, owed, 2)
    assert state.outbox(warehouse.engine, DAY0 + timedelta(days=2)) == []


def test_an_alert_the_data_no_longer_shows_is_resolved_and_owed_whether_people_were_told_or_not(
    warehouse: Warehouse,
) -> None:
    _sync(warehouse, [0.5, 0.5])  # fired; its notification not delivered yet (refused, or not ticked)
    assert _sync(warehouse, [0.9, 0.9]).resolved == [("low/7", DAY0 + timedelta(days=1))]  # seen firing: kept
    assert _rows(warehouse) == [(DAY0, DAY0 + timedelta(days=1), "resolved", 0)]
    [owed] = state.outbox(warehouse.engine, DAY0 + timedelta(days=-2))  # one message: both
    assert owed.episode.message.endswith("(no longer holds after the data was updated)")
    with warehouse.engine.begin() as conn:
        conn.execute(alert_events.delete())

    _sync(warehouse, [0.5, 0.5])  # fired and told
    [owed] = state.outbox(warehouse.engine, DAY0 + timedelta(days=-2))
    _mark_sent(warehouse, owed, 1)
    assert _sync(warehouse, [0.9, 0.9]).resolved == [("low/7", DAY0 + timedelta(days=1))]
    assert _rows(warehouse) == [(DAY0, DAY0 + timedelta(days=1), "resolved", 1)]
    assert len(state.outbox(warehouse.engine, DAY0 + timedelta(days=27))) == 1  # the resolve is owed


def test_outbox_leaves_old_partitions_unsent(warehouse: Warehouse) -> None:
    _sync(warehouse, [0.5, 0.5, 0.5])
    assert len(state.outbox(warehouse.engine, DAY0 + timedelta(days=2))) == 1
    assert state.outbox(warehouse.engine, DAY0 + timedelta(days=3)) == []


def test_older_episodes_are_left_alone_by_a_later_sync(warehouse: Warehouse) -> None:
    _sync(warehouse, [0.5, 0.5, 0.9, 0.9, 0.9])
    changes = _sync(warehouse, [0.5, 0.5, 0.9, 0.9, 0.9, 0.5, 0.5], since=DAY0 + timedelta(days=5))
    assert changes.fired == [("low/7", DAY0 + timedelta(days=6))]
    assert [r[2] for r in _rows(warehouse)] == ["resolved", "firing"]
