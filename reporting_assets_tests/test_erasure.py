"""Erasure that holds, on SQLite and PostgreSQL: a forgotten user stays out of every table, the dashboard and the
extracts through the next morning's refresh and a backfill over their days, with or without pseudonymisation and
across a change of key; the company keeps its other users and the API's company figures; `--undo` lets the user
back with the next refetch."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from dagster import DagsterInstance, materialize

from reporting_assets.assets.users import build_user_assets
from reporting_assets.bi import extracts
from reporting_assets.bi.publish import publish
from reporting_assets.custom_kpis.definition import NO_KPIS
from reporting_assets.i18n import Language
from reporting_assets.reports import store
from reporting_assets.reports.dashboard import FILE_NAME, render
from reporting_assets.simulator.app import Simulator
from reporting_assets.simulator.data import Company
from reporting_assets.users import pseudonyms
from reporting_assets.users.__main__ import main as users_command
from reporting_assets.warehouse.store import Warehouse
from reporting_assets.warehouse.tables import chat_sessions, erased_users, metadata, user_activities, user_activity
from reporting_assets_tests.conftest import TOKEN, RunningSimulator, serving_simulator
from reporting_assets_tests.helpers import MEMORY_BUDGET_MB, kpi_assets, raw_assets, run

TEAM = Company(7_019, "Oubli SA", users=30, documents=3)
FIRST, LAST = "2026-01-05", "2026-02-15"  # six weeks: the refresh takes the last 4 days, the backfill all
REFRESH = "2026-02-12"
NOW = datetime(2026, 2, 16, 6, tzinfo=UTC)
KEY, OTHER_KEY = "a-test-key-of-32-characters-long", "another-key-of-16+chars"
REFRESHED = [*raw_assets, *kpi_assets]  # what daily_refresh materializes: paradigm_raw and paradigm_kpis


@pytest.fixture(scope="module")
def team_api() -> Iterator[RunningSimulator]:
    with serving_simulator(Simulator(seed=11, token=TOKEN, companies=(TEAM,))) as api:
        yield api


def _load(api: RunningSimulator, warehouse: Warehouse, start: str, end: str, key: str = "") -> dict:
    """One run of the daily refresh's assets over `start..end`; returns user_activities' run metadata."""
    result = run(REFRESHED, {"paradigm": api.resource(user_id_key=key), "warehouse": warehouse}, start, end)
    assert result.success
    assert materialize(
        build_user_assets(MEMORY_BUDGET_MB), resources={"warehouse": warehouse}, instance=DagsterInstance.ephemeral()
    )
    events = [e for e in result.get_asset_materialization_events() if e.asset_key.path[-1] == "user_activities"]
    return {k: v.value for k, v in events[-1].materialization.metadata.items()}


def _busiest(warehouse: Warehouse, key: str | None) -> tuple[int, int]:
    """The raw id of the user active on most days, and its id as stored."""
    stored = warehouse.read(user_activities)["user_id"].value_counts().idxmax()
    raws = range(TEAM.id * 1000 + 1, TEAM.id * 1000 + TEAM.users + 1)
    raw = next(r for r in raws if (pseudonyms.pseudonym(key, TEAM.id, r) if key else r) == stored)
    return raw, int(stored)


def _tables_holding(warehouse: Warehouse, value: int) -> set[str]:
    """The tables in which any column holds `value`."""
    out = set()
    for table in metadata.sorted_tables:
        frame = warehouse.read(table)
        if any((frame[c].astype(str) == str(value)).any() for c in frame.columns):
            out.add(table.name)
    return out


def _listed_users(html: str) -> set[str]:
    """The user ids of the dashboard's user tables (its JSON model)."""
    model = json.loads(re.search(r'id="report-data">(.*?)</script>', html, re.S).group(1))
    out = set()
    for name in ("top_users", "dormant_users"):
        table = model["tables"].get(name) or {"columns": [], "rows": []}
        keys = [c["key"] for c in table["columns"]]
        out |= {str(row[keys.index("user_id")]) for row in table["rows"]} if "user_id" in keys else set()
    return out


def _per_user_api_figures(warehouse: Warehouse) -> tuple[pd.DataFrame, pd.Series]:
    """What the API says per company (chat sessions) and its company-level count of active users per day."""
    sessions = warehouse.read(chat_sessions).drop(columns="ingested_at")
    reported = warehouse.read(user_activities).groupby("date")["active_users_count"].max()
    return sessions, reported


def test_a_forgotten_user_stays_out_through_the_refresh_a_backfill_and_a_new_key(
    team_api: RunningSimulator,
    warehouse: Warehouse,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    reports = str(tmp_path / "reports")
    for name, value in {"DATABASE_URL": warehouse.url, "USER_ID_KEY": KEY, "REPORTS_DIR": reports,
                        "LANGUAGE": "fr"}.items():  # fmt: skip
        monkeypatch.setenv(f"REPORTING_{name}", value)
    _load(team_api, warehouse, FIRST, LAST, KEY)
    store.write(reports, FILE_NAME, render(warehouse.engine, NOW, True, Language("fr"), kpis=NO_KPIS).html)
    publish(warehouse.engine, True, first_day=None)
    extracts.write_extracts(warehouse.engine, reports, user_lists=True)
    raw, gone = _busiest(warehouse, KEY)
    users = warehouse.read(user_activities)["user_id"].nunique()
    sessions, reported = _per_user_api_figures(warehouse)
    assert str(gone) in _listed_users((Path(reports) / FILE_NAME).read_text())

    assert users_command(["forget", "--company-id", str(TEAM.id), "--user-id", str(raw)]) == 0
    out = capsys.readouterr().out
    assert "erasure recorded: later loads leave the user out" in out and KEY not in out
    html = (Path(reports) / FILE_NAME).read_text()
    assert '<html lang="fr">' in html and str(gone) not in html  # rendered again in the instance's language

    # the next morning's refresh, then a backfill over every day of the user: they stay out
    refreshed = _load(team_api, warehouse, REFRESH, LAST, KEY)
    assert refreshed["erased_user_rows_dropped"] > 0 and str(raw) not in str(refreshed)
    assert _load(team_api, warehouse, FIRST, LAST, KEY)["erased_user_rows_dropped"] > 0
    assert _tables_holding(warehouse, gone) == {erased_users.name}  # the record alone, as the pseudonym
    assert _tables_holding(warehouse, raw) == set()
    kept = warehouse.read(user_activities)
    assert kept["user_id"].nunique() == users - 1  # the company keeps its other users
    after_sessions, after_reported = _per_user_api_figures(warehouse)
    pd.testing.assert_frame_equal(after_sessions, sessions)  # the API's company figures are unchanged
    pd.testing.assert_series_equal(after_reported, reported)
    per_day = kept.groupby("date")["user_id"].nunique()  # per-user figures leave the user out
    kpi = warehouse.read(user_activity).set_index("date")["active_users"]
    assert (kpi.loc[per_day.index] == per_day).all()
    page = render(warehouse.engine, NOW, True, Language("fr"), kpis=NO_KPIS).html
    assert str(gone) not in page and _listed_users(page)
    for done in extracts.write_extracts(warehouse.engine, reports, user_lists=True):
        if done.path.endswith(".parquet"):
            table = pq.read_table(done.path)
            assert "user_id" not in table.column_names or gone not in table["user_id"].to_pylist(), done.path

    # a new key (reset, then every day loaded again under it): the erasure still holds
    pseudonyms.reset(warehouse.engine)
    _load(team_api, warehouse, FIRST, LAST, OTHER_KEY)
    renamed = pseudonyms.pseudonym(OTHER_KEY, TEAM.id, raw)
    assert renamed not in set(warehouse.read(user_activities)["user_id"])
    assert warehouse.read(user_activities)["user_id"].nunique() == users - 1

    # a mistaken erasure undone: the user is back with the next refetch, not before
    monkeypatch.setenv("REPORTING_USER_ID_KEY", OTHER_KEY)
    assert users_command(["forget", "--company-id", str(TEAM.id), "--user-id", str(raw), "--undo"]) == 0
    assert "back only after a refetch" in capsys.readouterr().out
    assert warehouse.count(erased_users) == 0
    assert renamed not in set(warehouse.read(user_activities)["user_id"])
    assert _load(team_api, warehouse, FIRST, LAST, OTHER_KEY)["erased_user_rows_dropped"] == 0
    assert renamed in set(warehouse.read(user_activities)["user_id"])
    assert users_command(["forget", "--company-id", str(TEAM.id), "--user-id", str(raw), "--undo"]) == 1


def test_without_a_key_the_erasure_keeps_no_raw_id_and_a_french_instance_with_lists_off_stays_so(
    team_api: RunningSimulator,
    warehouse: Warehouse,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    reports = str(tmp_path / "reports")
    _load(team_api, warehouse, REFRESH, LAST)
    store.write(reports, FILE_NAME, render(warehouse.engine, NOW, True, Language("en"), kpis=NO_KPIS).html)
    publish(warehouse.engine, True, first_day=None)
    extracts.write_extracts(warehouse.engine, reports, user_lists=True)  # lists were on: per-user files written
    assert all(store.exists(reports, name) for name in extracts.per_user_files() if name.endswith(".parquet"))
    raw, _ = _busiest(warehouse, None)
    for name, value in {"DATABASE_URL": warehouse.url, "REPORTS_DIR": reports, "LANGUAGE": "fr",
                        "USER_LISTS": "off"}.items():  # fmt: skip
        monkeypatch.setenv(f"REPORTING_{name}", value)

    assert users_command(["forget", "--company-id", str(TEAM.id), "--user-id", str(raw)]) == 0
    capsys.readouterr()
    html = (Path(reports) / FILE_NAME).read_text()
    assert '<html lang="fr">' in html and _listed_users(html) == set()  # French, and no user list
    assert not any(store.exists(reports, n) for n in extracts.per_user_files() if n.endswith(".parquet"))
    record = warehouse.read(erased_users)
    assert len(record) == 1 and raw not in set(record[["user_id", "user_hash"]].to_numpy().ravel())
    assert _load(team_api, warehouse, REFRESH, LAST)["erased_user_rows_dropped"] > 0
    assert _tables_holding(warehouse, raw) == set()


def test_a_refused_per_user_write_leaves_no_row_value_in_the_run_s_event_log(
    team_api: RunningSimulator, warehouse: Warehouse
) -> None:
    """The database refuses every row of user_activities (a CHECK constraint on PostgreSQL, whose DETAIL quotes the
    row; a trigger on SQLite): the run fails naming the table and the cause, and no user id is in its events."""
    with warehouse.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("ALTER TABLE user_activities ADD CONSTRAINT refuse CHECK (queries_count < 0)")
        else:
            conn.exec_driver_sql(
                "CREATE TRIGGER refuse BEFORE INSERT ON user_activities BEGIN SELECT RAISE(ABORT, 'refused'); END"
            )
    instance = DagsterInstance.ephemeral()
    [asset] = [a for a in raw_assets if a.key.path[-1] == "user_activities"]
    result = run([asset], {"paradigm": team_api.resource(), "warehouse": warehouse}, REFRESH, LAST, instance)
    assert not result.success
    [failure] = [e for e in result.all_events if e.is_step_failure]
    assert "the warehouse refused rows of user_activities" in str(failure.step_failure_data.error)
    logged = "\n".join(str(entry) for entry in instance.all_logs(result.run_id))
    ids = [str(TEAM.id * 1000 + k) for k in range(1, TEAM.users + 1)]
    assert "refused rows" in logged and re.findall(r"(?<!\d)(" + "|".join(ids) + r")(?!\d)", logged) == []


def test_forget_against_an_unreachable_warehouse_says_so_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("REPORTING_DATABASE_URL", "postgresql+psycopg://postgres:s3cret-pw@127.0.0.1:1/test")
    assert users_command(["forget", "--company-id", "7", "--user-id", "1"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: the warehouse refused forget: OperationalError: ") and len(err.splitlines()) == 1
    assert "s3cret-pw" not in err


def test_a_load_that_read_the_erasures_before_a_forget_refuses_to_write(warehouse: Warehouse) -> None:
    """The erasures a load read are checked again under the table's lock as it writes: a user erased meanwhile
    is not written back (the run fails and is retried), and the table stays as `forget` left it."""
    from reporting_assets.users import privacy
    from reporting_assets.users.erased import Erased, ErasedMeanwhile

    day = date(2026, 1, 5)
    rows = pd.DataFrame({"date": [day] * 2, "company_id": [TEAM.id] * 2, "company_name": ["Oubli SA"] * 2,
                         "user_id": [11, 12], "sessions_count": [1, 1], "queries_count": [1, 1],
                         "active_users_count": [2, 2]}).assign(ingested_at=NOW, last_activity_at=pd.NaT)  # fmt: skip
    warehouse.replace(user_activities, day, day, rows)
    read = Erased.read(warehouse.engine)  # a load begins
    privacy.forget(warehouse.engine, TEAM.id, 12, None, NOW)  # the user is erased meanwhile
    with pytest.raises(ErasedMeanwhile, match="run it again"):
        warehouse.replace(user_activities, day, day, rows, check=read.still)
    assert list(warehouse.read(user_activities)["user_id"]) == [11]
    again = Erased.read(warehouse.engine)  # the retry reads the erasure and leaves the user out
    kept, dropped = again.drop(rows)
    assert list(kept["user_id"]) == [11] and dropped == 1
    warehouse.replace(user_activities, day, day, kept, check=again.still)
    assert list(warehouse.read(user_activities)["user_id"]) == [11]
