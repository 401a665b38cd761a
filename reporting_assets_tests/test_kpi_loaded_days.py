"""KPI frames against the load ledger (pure functions, hand-made rows): a day that was not loaded gets no row,
a rolling figure whose window is not wholly loaded is NULL, and a loaded day without activity is a real 0."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest

from reporting_assets.assets import kpi_frames
from reporting_assets.warehouse import ledger, tables

DAY = date(2025, 5, 20)  # the day under test
COMPANY = {"company_id": 1, "company_name": "Co1"}


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def ledger_of(assets: list[str], loaded_days: list[date], scope: int | None = None) -> pd.DataFrame:
    frame = pd.DataFrame([{"asset": a, "date": d, "company_scope": scope} for a in assets for d in loaded_days])
    return frame.astype({"company_scope": "Int64"}) if len(frame) else frame


def frame(table, rows: list[dict]) -> pd.DataFrame:
    now = datetime(2025, 6, 1, tzinfo=UTC)
    return pd.DataFrame([{"ingested_at": now, **r} for r in rows], columns=[c.name for c in table.columns])


def sessions(active_days: list[date], count: int = 10, company: dict = COMPANY) -> pd.DataFrame:
    rows = [{"date": d, **company, "sessions_count": count, "user_queries_count": 3 * count} for d in active_days]
    return frame(tables.chat_sessions, [{**r, "model_responses_count": 3 * count} for r in rows])


def feedbacks(active_days: list[date], company: dict = COMPANY) -> pd.DataFrame:
    row = {"model_responses_count": 30, "likes_count": 3, "dislikes_count": 1, "copies_count": 0}
    return frame(tables.chat_feedbacks, [{"date": d, **company, **row} for d in active_days])


def compute(kpi: str, loaded: pd.DataFrame, start: date = DAY, end: date = DAY, **inputs: pd.DataFrame) -> pd.DataFrame:
    """The KPI frame function `kpi` over `start..end`, fed by table name as the asset feeds it."""
    columns = [c.name for c in tables.KPI_TABLES[kpi].columns]
    if kpi == "user_activity":
        inputs.setdefault("company_members", frame(tables.company_members, []))
    return getattr(kpi_frames, kpi)(**inputs, loaded=loaded, start=start, end=end, columns=columns)


def adoption(loaded: pd.DataFrame, active: list[date], start: date = DAY, end: date = DAY) -> pd.DataFrame:
    return compute(
        "adoption_satisfaction", loaded, start, end, chat_sessions=sessions(active), chat_feedbacks=feedbacks(active)
    )


ADOPTION_INPUTS = ["chat_sessions", "chat_feedbacks"]
WEEK = days(DAY - timedelta(days=6), DAY)


def test_a_wholly_loaded_window_gives_the_rolling_figures() -> None:
    [row] = adoption(ledger_of(ADOPTION_INPUTS, WEEK), WEEK).to_dict("records")
    assert row["sessions_count"] == 10 and row["sessions_7d"] == 70 and row["satisfaction_rate_7d"] == 0.75


@pytest.mark.parametrize("missing", [DAY - timedelta(days=6), DAY - timedelta(days=3)])
@pytest.mark.parametrize("asset", ADOPTION_INPUTS)
def test_a_partly_loaded_window_gives_null_rolling_figures_but_keeps_the_day(missing: date, asset: str) -> None:
    loaded = ledger_of(ADOPTION_INPUTS, WEEK)
    loaded = loaded[~((loaded["asset"] == asset) & (loaded["date"] == missing))]
    [row] = adoption(loaded, WEEK).to_dict("records")
    assert row["sessions_count"] == 10 and row["satisfaction_rate"] == 0.75  # the day itself is whole
    assert pd.isna(row["sessions_7d"]) and pd.isna(row["satisfaction_rate_7d"])


@pytest.mark.parametrize("asset", ADOPTION_INPUTS)
def test_a_day_not_loaded_in_one_input_gets_no_row(asset: str) -> None:
    loaded = ledger_of(ADOPTION_INPUTS, WEEK)
    loaded = loaded[~((loaded["asset"] == asset) & (loaded["date"] == DAY))]
    assert adoption(loaded, WEEK).empty


def test_days_never_loaded_after_a_loaded_range_get_no_rows_not_zeros() -> None:
    """The reproduction: raw data up to DAY, KPIs asked for the 5 days after it (a backfill does that)."""
    out = adoption(ledger_of(ADOPTION_INPUTS, WEEK), WEEK, start=DAY, end=DAY + timedelta(days=5))
    assert list(out["date"]) == [DAY]


def test_the_first_days_after_the_start_date_have_null_rolling_figures() -> None:
    first = DAY - timedelta(days=8)  # the first partition: nothing before it is loaded
    loaded_days = days(first, DAY)
    out = adoption(ledger_of(ADOPTION_INPUTS, loaded_days), loaded_days, start=first, end=DAY)
    weekly = dict(zip(out["date"], out["sessions_7d"], strict=True))
    assert [d for d, v in weekly.items() if pd.isna(v)] == days(first, first + timedelta(days=5))
    assert weekly[first + timedelta(days=6)] == 70 and weekly[DAY] == 70


def test_a_loaded_day_without_activity_is_a_real_zero() -> None:
    active = WEEK[:-1]  # active the 6 days before, quiet on DAY, which was loaded
    [row] = adoption(ledger_of(ADOPTION_INPUTS, WEEK), active).to_dict("records")
    assert row["sessions_count"] == 0 and row["likes_count"] == 0 and row["sessions_7d"] == 60
    assert pd.isna(row["satisfaction_rate"])  # no feedback that day: undefined, not 0


def test_a_day_loaded_for_one_company_only_computes_that_company() -> None:
    other = {"company_id": 2, "company_name": "Co2"}
    out = compute(
        "adoption_satisfaction",
        ledger_of(ADOPTION_INPUTS, WEEK, scope=2),
        chat_sessions=pd.concat([sessions(WEEK), sessions(WEEK, company=other)]),
        chat_feedbacks=pd.concat([feedbacks(WEEK), feedbacks(WEEK, company=other)]),
    )
    assert list(out["company_id"]) == [2] and out["sessions_7d"].iloc[0] == 70


def users(active_days: list[date], user_ids: tuple[int, ...] = (11, 12)) -> pd.DataFrame:
    row = {**COMPANY, "sessions_count": 1, "queries_count": 2}
    return frame(tables.user_activities, [{"date": d, "user_id": u, **row} for d in active_days for u in user_ids])


def activity(loaded: pd.DataFrame, active: list[date]) -> dict:
    out = compute("user_activity", loaded, user_activities=users(active), chat_sessions=sessions(active))
    [row] = out.to_dict("records")
    return row


MONTH = days(DAY - timedelta(days=29), DAY)


def test_user_activity_windows_are_null_unless_wholly_loaded() -> None:
    whole = activity(ledger_of(["user_activities", "chat_sessions"], MONTH), MONTH)
    assert (whole["active_users"], whole["active_users_7d"], whole["active_users_30d"]) == (2, 2, 2)
    assert whole["stickiness"] == 1.0

    loaded = ledger_of(["user_activities", "chat_sessions"], MONTH)
    loaded = loaded[loaded["date"] != DAY - timedelta(days=20)]  # inside 30 days, outside 7
    gap = activity(loaded, MONTH)
    assert gap["active_users"] == 2 and gap["active_users_7d"] == 2
    assert pd.isna(gap["active_users_30d"]) and pd.isna(gap["stickiness"])


def test_resource_usage_keeps_only_days_loaded_in_both_inputs() -> None:
    docs = frame(
        tables.used_documents,
        [{"date": d, **COMPANY, "document_id": 7, "document_title": "Doc", "usage_count": 2} for d in WEEK],
    )
    tools = frame(tables.tools_usage, [{"date": d, **COMPANY, "tool_name": "web", "usage_count": 1} for d in WEEK])
    loaded = ledger_of(["used_documents", "tools_usage"], WEEK)
    loaded = loaded[~((loaded["asset"] == "tools_usage") & (loaded["date"] == DAY))]
    out = compute("resource_usage", loaded, WEEK[0], DAY, used_documents=docs, tools_usage=tools)
    assert set(out["date"]) == set(WEEK[:-1]) and len(out) == 2 * 6


def test_common_days_need_every_input_and_a_null_scope_covers_every_company() -> None:
    start, end = DAY - timedelta(days=2), DAY
    a = ledger_of(["a"], days(start, end)).drop(columns="asset")
    b = pd.concat([ledger_of(["b"], [start]), ledger_of(["b"], [DAY - timedelta(days=1)], scope=5)])
    common = ledger.common({"a": a, "b": b.drop(columns="asset")}, start, end)
    scopes = [None if pd.isna(s) else int(s) for s in common["company_scope"]]
    assert list(zip(common["date"], scopes, strict=True)) == [(start, None), (DAY - timedelta(days=1), 5)]
