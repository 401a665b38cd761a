"""The warehouse replaces date ranges atomically and reads them back the same on SQLite and PostgreSQL."""

from __future__ import annotations

import multiprocessing
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd
import pytest
from sqlalchemy.exc import OperationalError

from reporting_assets.settings import Settings
from reporting_assets.warehouse.store import Warehouse, WriteError, _lost_creation_race, engine_for
from reporting_assets.warehouse.tables import (
    RECENT_COLUMNS,
    SEGMENT_COLUMNS,
    chat_sessions,
    group_segments,
    tools_usage,
)

NOW = datetime(2025, 1, 10, 6, 0, tzinfo=UTC)


def tools(day: date, company_id: int, **counts: int) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "date": day,
                "company_id": company_id,
                "company_name": f"C{company_id}",
                "ingested_at": NOW,
                "tool_name": name,
                "usage_count": n,
            }
            for name, n in counts.items()
        ]
    )


D1, D2, D3 = date(2025, 1, 1), date(2025, 1, 2), date(2025, 1, 3)


def test_replace_swaps_exactly_the_dates_given(warehouse):
    warehouse.replace(tools_usage, D1, D3, pd.concat([tools(D1, 1, a=1), tools(D2, 1, a=2), tools(D3, 1, a=3)]))
    warehouse.replace(tools_usage, D2, D2, tools(D2, 1, b=5))
    got = warehouse.read(tools_usage)
    assert list(zip(got["date"], got["tool_name"], got["usage_count"], strict=True)) == [
        (D1, "a", 1),
        (D2, "b", 5),
        (D3, "a", 3),
    ]
    assert str(got["ingested_at"].dt.tz) == "UTC"
    assert list(warehouse.read(tools_usage, D2, D3)["date"]) == [D2, D3]


def test_replace_with_an_empty_frame_clears_the_range(warehouse):
    warehouse.replace(tools_usage, D1, D2, pd.concat([tools(D1, 1, a=1), tools(D2, 1, a=2)]))
    warehouse.replace(tools_usage, D2, D2, tools(D2, 1))
    assert list(warehouse.read(tools_usage)["date"]) == [D1]


def test_a_company_scoped_replace_leaves_other_companies_alone(warehouse):
    warehouse.replace(tools_usage, D1, D1, pd.concat([tools(D1, 1, a=1), tools(D1, 2, a=2)]))
    warehouse.replace(tools_usage, D1, D1, tools(D1, 2, a=9), company_id=2)
    got = warehouse.read(tools_usage)
    assert dict(zip(got["company_id"], got["usage_count"], strict=True)) == {1: 1, 2: 9}


def test_a_failed_replace_leaves_the_table_as_it_was(warehouse):
    warehouse.replace(tools_usage, D1, D1, tools(D1, 1, a=1, b=2))
    before = warehouse.read(tools_usage)
    duplicate_key = pd.concat([tools(D1, 1, a=7), tools(D1, 1, a=8)])
    with pytest.raises(WriteError, match="refused rows of"):
        warehouse.replace(tools_usage, D1, D1, duplicate_key)
    pd.testing.assert_frame_equal(warehouse.read(tools_usage), before)


def test_tables_replaced_together_are_all_kept_when_one_is_refused(warehouse):
    warehouse.replace(tools_usage, D1, D1, tools(D1, 1, a=1, b=2))
    before = warehouse.read(tools_usage)
    group = {"company_id": 1, "attribute": "site", "group_name": "Lyon", "as_of_date": D1, "headcount": 12}
    group |= dict.fromkeys([*SEGMENT_COLUMNS, *RECENT_COLUMNS], 1)
    with pytest.raises(WriteError, match="refused rows of group_segments"):
        warehouse.replace_tables({tools_usage: tools(D2, 1, c=3), group_segments: pd.DataFrame([group, group])})
    pd.testing.assert_frame_equal(warehouse.read(tools_usage), before)  # its new rows went with the refused ones
    written = warehouse.replace_tables({tools_usage: tools(D2, 1, c=3), group_segments: pd.DataFrame([group])})
    assert written == {"tools_usage": 1, "group_segments": 1} and warehouse.read(tools_usage)["date"].tolist() == [D2]


def test_default_database_is_a_sqlite_file_under_dagster_home(monkeypatch, tmp_path):
    monkeypatch.delenv("REPORTING_DATABASE_URL", raising=False)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    assert Settings.load().database_url == f"sqlite:///{tmp_path / 'reporting.db'}"
    monkeypatch.delenv("DAGSTER_HOME")
    assert Settings.load().database_url.endswith("/data/reporting.db")


@pytest.fixture(params=["sqlite", "psycopg", "psycopg2"])
def any_driver(request: pytest.FixtureRequest, tmp_path) -> Warehouse:
    """One warehouse per bulk insert path: SQLite executemany, psycopg COPY, SQLAlchemy's own (psycopg2)."""
    if request.param == "sqlite":
        return Warehouse(url=f"sqlite:///{tmp_path / 'reporting.db'}")
    url = request.getfixturevalue("postgres_url")
    return Warehouse(url=url.replace("+psycopg:", f"+{request.param}:"))


def test_values_and_nulls_of_every_type_round_trip(any_driver):
    columns = [c.name for c in chat_sessions.columns]
    full = {name: 3 for name in columns} | {
        "date": D1,
        "company_name": 'Ünïcode, "quoted"\ttab',
        "ingested_at": NOW,
        "average_session_length_s": 12.5,
        "last_model_response_at": datetime(2025, 1, 1, 17, 3, 4, 500000, tzinfo=UTC),
        "agent_average_thread_length_s": 0.25,
    }
    empty = {name: None for name in columns} | {"date": D1, "company_id": 4, "company_name": "", "ingested_at": NOW}
    frame = pd.DataFrame([full, empty])
    any_driver.replace(chat_sessions, D1, D1, frame)
    got = any_driver.read(chat_sessions).to_dict("records")
    assert got[0] == full  # microseconds and time zone kept, text verbatim
    assert {k: v for k, v in got[1].items() if not pd.isna(v)} == {k: v for k, v in empty.items() if v is not None}


def _create_tables(url: str, barrier: Any, results: Any) -> None:
    barrier.wait()
    try:
        engine_for(url)
        results.put("ok")
    except Exception as exc:  # reported to the test process
        results.put(repr(exc))


def test_steps_starting_together_on_a_new_warehouse_both_create_its_tables(tmp_path, postgres_url):
    """The first run's parallel steps race to create the tables: neither may fail (14 times in 20 did, once)."""
    context = multiprocessing.get_context("fork")
    for url in [*(f"sqlite:///{tmp_path / f'new{i}.db'}" for i in range(5)), postgres_url]:
        barrier, results = context.Barrier(2), context.Queue()
        workers = [context.Process(target=_create_tables, args=(url, barrier, results)) for _ in range(2)]
        for worker in workers:
            worker.start()
        outcomes = [results.get(timeout=120) for _ in workers]
        for worker in workers:
            worker.join()
        assert outcomes == ["ok", "ok"], url


def test_only_a_lost_creation_race_is_retried():
    def error(message: str) -> OperationalError:
        return OperationalError("CREATE TABLE t", {}, Exception(message))

    assert _lost_creation_race(error("table chat_sessions already exists"))
    assert _lost_creation_race(error("database is locked"))
    assert not _lost_creation_race(error('connection to server at "db" failed: Connection refused'))
    assert not _lost_creation_race(error('password authentication failed for user "reporting"'))
