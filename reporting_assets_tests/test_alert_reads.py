"""The alert sensor reads a bounded window per rule (`alerts/reads.py`): tick after tick, the episodes it stores
equal those of an evaluation over every row and every ledger day, on both databases."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from reporting_assets.alerts import state
from reporting_assets.alerts.evaluate import episodes
from reporting_assets.alerts.rules import Rule, load_rules
from reporting_assets.alerts.tick import evaluate
from reporting_assets.custom_kpis.definition import NO_KPIS
from reporting_assets.i18n import ENGLISH
from reporting_assets.settings import DEFAULT_RULES_PATH
from reporting_assets.warehouse import ledger
from reporting_assets.warehouse.store import Warehouse
from reporting_assets.warehouse.tables import adoption_satisfaction, alert_events

DAY0 = date(2025, 1, 1)
RULES = [  # the shipped rules: low_satisfaction (below, 2 days), sessions_drop (7-day mean), no_sessions (no data)
    *load_rules(DEFAULT_RULES_PATH, NO_KPIS).rules,
    Rule(
        name="busy",
        asset="adoption_satisfaction",
        metric="sessions_count",
        condition="rise_vs_mean",
        threshold=0.2,
        baseline_days=14,
        for_days=2,
    ),
]
QUIET = 103  # this company has no row at all after day 100: only a row before the window says it is watched


def _day(offset: int, rng: np.random.Generator, shift: float = 0.0) -> pd.DataFrame:
    """One day of adoption_satisfaction for 3 companies: noisy, with dips that hold for a few days."""
    day = DAY0 + timedelta(days=offset)
    ids = [101, 102] + ([QUIET] if offset <= 100 else [])
    sessions = rng.integers(50, 120, len(ids)) * (1 + shift)
    sessions[rng.random(len(ids)) < 0.1] = 0
    frame = pd.DataFrame({"date": day, "company_id": ids, "company_name": [f"Co{i}" for i in ids]})
    for column in adoption_satisfaction.columns:
        if column.name not in frame:
            frame[column.name] = rng.integers(0, 50, len(ids))
    frame["sessions_count"] = sessions.astype(int)
    frame["sessions_7d"] = (sessions * 7).astype(int)
    frame["satisfaction_rate"] = rng.choice([0.3, 0.8, 0.9], len(ids))
    frame[["feedback_rate", "queries_per_session", "satisfaction_rate_7d"]] = 0.5
    return frame


def _write(warehouses: list[Warehouse], offset: int, rng: np.random.Generator, shift: float = 0.0) -> date:
    frame, day = _day(offset, rng, shift), DAY0 + timedelta(days=offset)
    days = pd.DataFrame({"date": [day], "company_scope": [None], "rows": [len(frame)]})
    for warehouse in warehouses:
        loaded = ledger.entries("adoption_satisfaction", days, "test", datetime(2025, 6, 1, tzinfo=UTC))
        warehouse.replace(adoption_satisfaction, day, day, frame, loaded=loaded)
    return day


def _evaluate_everything(warehouse: Warehouse, rule: Rule, since: date) -> None:
    """What the sensor did before reads.py: every row and every ledger day of the rule's asset."""
    kpi = warehouse.read(adoption_satisfaction, columns=["date", "company_id", "company_name", rule.metric])
    state.sync(warehouse.engine, rule.name, episodes(rule, kpi, warehouse.loaded([rule.asset]), lang=ENGLISH), since)


def _events(warehouse: Warehouse) -> pd.DataFrame:
    return warehouse.read(alert_events).drop(columns=["last_notified_at"])


@pytest.fixture
def second(tmp_path) -> Warehouse:
    """The warehouse of the reference evaluation (a read of everything)."""
    return Warehouse(url=f"sqlite:///{tmp_path / 'everything.db'}")


def test_bounded_reads_store_the_episodes_a_read_of_everything_stores(warehouse: Warehouse, second: Warehouse) -> None:
    rng = np.random.default_rng(3)
    both = [warehouse, second]
    offsets = [*range(0, 40), *range(44, 110)]  # days 40..43 never loaded
    history = pd.concat([_day(offset, rng) for offset in offsets], ignore_index=True)
    days = history.groupby("date").size().rename("rows").reset_index().assign(company_scope=None)
    for target in both:  # the history in one write, then the ticks' days one by one
        loaded = ledger.entries("adoption_satisfaction", days, "test", datetime(2025, 6, 1, tzinfo=UTC))
        target.replace(adoption_satisfaction, DAY0, DAY0 + timedelta(days=109), history, loaded=loaded)
    for rule in RULES:
        evaluate(warehouse.engine, rule, DAY0, ENGLISH)
        _evaluate_everything(second, rule, DAY0)
    first = _events(warehouse)
    assert set(first["rule_name"]) >= {"low_satisfaction", "no_sessions", "busy"}, first
    pd.testing.assert_frame_equal(first, _events(second))

    ticks = [(offset, 0.0) for offset in range(110, 118)]
    ticks[4:4] = [(60, -0.6), (41, 0.0)]  # a day rewritten lower, and a day of the gap loaded late
    for offset, shift in ticks:
        since = _write(both, offset, rng, shift)
        for rule in RULES:
            evaluate(warehouse.engine, rule, since, ENGLISH)
            _evaluate_everything(second, rule, since)
        pd.testing.assert_frame_equal(_events(warehouse), _events(second), obj=f"after day {since}")
    quiet = _events(warehouse).query("rule_name == 'no_sessions' and company_id == @QUIET")
    assert list(quiet["status"]) == ["firing"] and quiet["started_at"].max() < date(2025, 4, 20)
