"""Per-user analytics and privacy, on SQLite and PostgreSQL: engagement segments and cohorts on a hand-built
history, pseudonyms (stable across processes, raw ids nowhere), converting a warehouse of raw ids, retention
(purged days keep their KPI figures) and erasure."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from dagster import DagsterInstance, materialize

from reporting_assets.assets.users import build_user_assets
from reporting_assets.bi import extracts
from reporting_assets.bi.publish import publish
from reporting_assets.custom_kpis.definition import NO_KPIS
from reporting_assets.i18n import ENGLISH
from reporting_assets.reports import store
from reporting_assets.reports.dashboard import FILE_NAME, render
from reporting_assets.simulator.app import Simulator, serve
from reporting_assets.simulator.data import Company
from reporting_assets.users import pseudonyms
from reporting_assets.users.__main__ import main as users_command
from reporting_assets.warehouse import ledger
from reporting_assets.warehouse.store import Warehouse
from reporting_assets.warehouse.tables import (
    load_log,
    metadata,
    retention_cohorts,
    user_activities,
    user_activity,
    user_engagement,
)
from reporting_assets_tests.conftest import TOKEN, RunningSimulator
from reporting_assets_tests.helpers import MEMORY_BUDGET_MB, PARTITIONS, kpi_assets, raw_assets, run
from reporting_assets_tests.synthetic import write_instance

D = date(2026, 3, 31)  # the last loaded day of the hand-built history
FIRST = date(2026, 1, 1)
NOW = datetime(2026, 4, 1, 6, tzinfo=UTC)
KEY = "a-test-key-of-32-characters-long"
COMPANY = 7


def _days(*offsets: int) -> list[date]:
    """Days counted back from D (0 = D)."""
    return [D - timedelta(days=o) for o in offsets]


# One user of each kind, as of D (the last 30 days: D-29..D).
HISTORY = {
    11: _days(*range(0, 60, 2)),  # power: every other day, 15 of the last 30
    12: _days(*range(35, 90)),  # gone quiet: active until 35 days ago
    13: _days(*range(0, 90, 7)),  # weekly: 5 of the last 30 (regular)
    14: _days(3, 50, 80),  # sporadic: 1 of the last 30 (occasional)
    15: _days(5, 4, 1),  # new: first seen 5 days ago
}
SEGMENT = {11: "power", 12: "dormant", 13: "regular", 14: "occasional", 15: "new"}


def _write_history(warehouse: Warehouse, history: dict[int, list[date]], first: date, last: date, skip=()) -> None:
    """`history` (user -> active days) as user_activities rows of one company, every day of `first..last`
    loaded but those of `skip`."""
    rows = pd.DataFrame(
        [
            {"date": day, "company_id": COMPANY, "company_name": "Umbrella", "user_id": user, "sessions_count": 2,
             "queries_count": 5, "active_users_count": 0}
            for user, days in history.items()
            for day in days
            if first <= day <= last
        ]
    ).assign(ingested_at=NOW, last_activity_at=pd.NaT)  # fmt: skip
    rows = rows[~rows["date"].isin(list(skip))]
    days = ledger.day_counts(rows, first, last, None)
    days = days[~days["date"].isin(list(skip))]
    warehouse.replace(user_activities, first, last, rows, loaded=ledger.entries("user_activities", days, "test", NOW))


def _materialize(warehouse: Warehouse) -> None:
    result = materialize(
        build_user_assets(MEMORY_BUDGET_MB),
        resources={"warehouse": warehouse},
        instance=DagsterInstance.ephemeral(),
    )
    assert result.success


def test_every_segment_on_a_hand_built_history(warehouse: Warehouse) -> None:
    _write_history(warehouse, HISTORY, D - timedelta(days=89), D)
    _materialize(warehouse)
    got = warehouse.read(user_engagement).set_index("user_id")
    assert got["segment"].to_dict() == SEGMENT
    window = D - timedelta(days=29)
    for user, days in HISTORY.items():
        recent = [d for d in days if d >= window]
        row = got.loc[user]
        assert (row["first_active_date"], row["last_active_date"]) == (min(days), max(days)), user
        assert (row["active_days"], row["active_days_30d"]) == (len(days), len(recent)), user
        assert (row["sessions_30d"], row["queries_30d"]) == (2 * len(recent), 5 * len(recent)), user
    assert set(got["days_loaded_30d"]) == {30} and set(got["as_of_date"]) == {D}
    assert set(got["company_name"]) == {"Umbrella"}


def test_a_last_30_days_not_all_loaded_gives_no_segment(warehouse: Warehouse) -> None:
    _write_history(warehouse, HISTORY, D - timedelta(days=89), D, skip=[D - timedelta(days=10)])
    _materialize(warehouse)
    got = warehouse.read(user_engagement)
    assert got["segment"].isna().all() and set(got["days_loaded_30d"]) == {29}


def test_cohorts_count_who_comes_back_and_mark_the_first_loaded_month(warehouse: Warehouse) -> None:
    """Loaded from 2026-01-10 to 2026-03-31, 2026-02-14 missing. January: users 1-4 (everyone already active is
    in it: left-censored); February: 5 and 6 new; March: 1 and 5 back, 7 new."""
    jan, feb, mar = date(2026, 1, 12), date(2026, 2, 3), date(2026, 3, 20)
    history = {1: [jan, mar], 2: [jan, feb], 3: [jan], 4: [jan, feb], 5: [feb, mar], 6: [feb], 7: [mar]}
    _write_history(warehouse, history, date(2026, 1, 10), D, skip=[date(2026, 2, 14)])
    _materialize(warehouse)
    got = warehouse.read(retention_cohorts)
    table = got[["cohort_month", "month_offset", "cohort_users", "retained_users", "days_loaded", "left_censored"]]
    assert table.values.tolist() == [
        [date(2026, 1, 1), 0, 4, 4, 22, True],
        [date(2026, 1, 1), 1, 4, 2, 27, True],
        [date(2026, 1, 1), 2, 4, 1, 31, True],
        [date(2026, 2, 1), 0, 2, 2, 27, False],
        [date(2026, 2, 1), 1, 2, 1, 31, False],
        [date(2026, 3, 1), 0, 1, 1, 31, False],
    ]
    assert got["retention_rate"].round(4).tolist() == [1.0, 0.5, 0.25, 1.0, 0.5, 1.0]


def _serve_simulator(company: Company):
    sim = Simulator(seed=7, token=TOKEN, companies=(company,))
    server = serve(sim)
    host, port = server.server_address[:2]
    return server, RunningSimulator(sim, f"http://{host}:{port}")


# A company whose user ids (731977001...) are long enough to be found by a scan of files without false hits.
PRIVATE = Company(731_977, "Privé SA", users=40, documents=5)
RAW_IDS = [str(PRIVATE.id * 1000 + k) for k in range(1, PRIVATE.users + 1)]
RUN_IN_A_PROCESS = """
import sys
from dagster import DagsterInstance
from reporting_assets.warehouse.store import Warehouse
from reporting_assets_tests.conftest import RunningSimulator
from reporting_assets_tests.helpers import raw_assets, run
from reporting_assets.simulator.app import Simulator
url, db, key = sys.argv[1:4]
sim = RunningSimulator(Simulator(), url)
[asset] = [a for a in raw_assets if a.key.path[-1] == "user_activities"]
result = run([asset], {"paradigm": sim.resource(user_id_key=key), "warehouse": Warehouse(url=db)},
             "2026-03-01", "2026-03-10", DagsterInstance.get())
assert result.success
"""


def test_pseudonyms_are_equal_across_processes_and_raw_ids_appear_nowhere(tmp_path: Path, warehouse: Warehouse):
    server, sim = _serve_simulator(PRIVATE)
    try:
        [asset] = [a for a in raw_assets if a.key.path[-1] == "user_activities"]
        resources = {"paradigm": sim.resource(user_id_key=KEY), "warehouse": warehouse}
        assert run([asset], resources, "2026-03-01", "2026-03-10").success
        home = tmp_path / "dagster_home"
        home.mkdir()
        other = f"sqlite:///{tmp_path / 'other.db'}"
        env = {"DAGSTER_HOME": str(home), "PATH": "/usr/bin:/bin"}
        subprocess.run([sys.executable, "-c", RUN_IN_A_PROCESS, sim.url, other, KEY], env=env, check=True)
    finally:
        server.shutdown()
        server.server_close()
    _materialize(warehouse)

    ours = warehouse.read(user_activities).drop(columns=["ingested_at"])
    theirs = Warehouse(url=other).read(user_activities).drop(columns=["ingested_at"])
    pd.testing.assert_frame_equal(ours, theirs)  # same pseudonyms in another process
    expected = {pseudonyms.pseudonym(KEY, PRIVATE.id, int(raw)) for raw in RAW_IDS}
    assert set(ours["user_id"]) <= expected and len(set(ours["user_id"])) > 20
    assert all(0 < p < 2**63 for p in expected)
    other_key = {pseudonyms.pseudonym("another-key-of-16+chars", PRIVATE.id, int(raw)) for raw in RAW_IDS}
    assert not other_key & expected

    # No raw id in any table, nor in any file the run in another process left under DAGSTER_HOME.
    raw = {int(r) for r in RAW_IDS}
    for table in metadata.sorted_tables:
        frame = warehouse.read(table)
        for column in frame.columns:
            assert not set(frame[column].dropna().map(str)) & set(RAW_IDS), (table.name, column)
    assert not set(warehouse.read(user_engagement)["user_id"]) & raw
    corpus = "\n".join(p.read_bytes().decode("utf-8", "replace") for p in home.rglob("*") if p.is_file())
    assert "user_activities" in corpus  # the scan reads the run's event log
    found = re.findall(r"(?<![\d.])(" + "|".join(RAW_IDS) + r")(?![\d.])", corpus)
    assert found == [], found[:5]


def test_setting_a_key_converts_the_stored_raw_ids_and_a_changed_key_is_refused(warehouse: Warehouse) -> None:
    _write_history(warehouse, HISTORY, D - timedelta(days=89), D)
    _materialize(warehouse)
    before = warehouse.read(user_activities)
    assert pseudonyms.ensure(warehouse.engine, None) == "off"

    assert pseudonyms.ensure(warehouse.engine, KEY) == f"on: {len(before) + len(HISTORY)} stored rows converted"
    after = warehouse.read(user_activities)
    assert len(after) == len(before)  # no row lost...
    mapping = {u: pseudonyms.pseudonym(KEY, COMPANY, u) for u in HISTORY}
    expected = before.assign(user_id=before["user_id"].map(mapping)).sort_values(["date", "company_id", "user_id"])
    pd.testing.assert_frame_equal(after, expected.reset_index(drop=True))  # ...none left raw
    assert set(warehouse.read(user_engagement)["user_id"]) == set(mapping.values())
    assert pseudonyms.ensure(warehouse.engine, KEY) == "on"

    with pytest.raises(pseudonyms.KeyMismatch, match=r"not the key .* `python -m reporting_assets\.users reset`"):
        pseudonyms.ensure(warehouse.engine, "another-key-of-16+chars")
    with pytest.raises(pseudonyms.KeyMismatch, match="unset, but the warehouse's user ids are pseudonyms"):
        pseudonyms.ensure(warehouse.engine, None)
    assert len(warehouse.read(user_activities)) == len(before)  # refusing changed nothing

    cohorts = warehouse.read(retention_cohorts)
    deleted = pseudonyms.reset(warehouse.engine)
    assert deleted["user_activities"] == len(before) and deleted["load_log"] == 90
    _materialize(warehouse)  # nothing loaded now: the aggregates stay as they are
    pd.testing.assert_frame_equal(warehouse.read(retention_cohorts), cohorts)
    assert warehouse.count(user_engagement) == 0
    assert pseudonyms.ensure(warehouse.engine, "another-key-of-16+chars") == "on: 0 stored rows converted"


def test_a_raw_run_with_a_changed_key_fails_clearly(simulator: RunningSimulator, warehouse: Warehouse) -> None:
    [asset] = [a for a in raw_assets if a.key.path[-1] == "user_activities"]
    first = {"paradigm": simulator.resource(user_id_key=KEY), "warehouse": warehouse}
    assert run([asset], first, "2025-03-03").success
    changed = {"paradigm": simulator.resource(user_id_key="another-key-of-16+chars"), "warehouse": warehouse}
    result = run([asset], changed, "2025-03-04")
    assert not result.success
    [failure] = [e for e in result.all_events if e.is_step_failure]
    message = str(failure.step_failure_data.user_failure_data.description)
    assert "REPORTING_USER_ID_KEY is not the key" in message and KEY not in message


def test_retention_purges_old_per_user_rows_keeps_kpi_figures_and_a_refetch_restores(
    simulator: RunningSimulator, warehouse: Warehouse
) -> None:
    from reporting_assets.assets.users import build_retention

    resources = {"paradigm": simulator.resource(), "warehouse": warehouse}
    users_assets = [a for a in raw_assets if a.key.path[-1] in ("user_activities", "chat_sessions")]
    [kpi] = [a for a in kpi_assets if a.key.path[-1] == "user_activity"]
    assert run([*users_assets, kpi], resources, "2025-01-01", "2025-03-31").success
    kpis_before = warehouse.read(user_activity)
    rows_before = warehouse.read(user_activities)

    # 60 days kept on 2025-04-01: rows before 2025-01-31 go
    job, schedule = build_retention(60, 6, now=lambda: datetime(2025, 4, 1, 6, 30, tzinfo=UTC))
    assert job.execute_in_process(resources={"warehouse": warehouse}).success
    cutoff = date(2025, 1, 31)
    left = warehouse.read(user_activities)
    assert left["date"].min() == cutoff and len(left) == (rows_before["date"] >= cutoff).sum()
    entries = warehouse.read(load_log)
    user_days = entries[entries["asset"] == "user_activities"]
    assert (user_days["purged_at"].notna() == (user_days["date"] < cutoff)).all() and len(user_days) == 90

    # Recomputing the KPI over the whole range keeps the purged days' figures, and says so
    result = run([kpi], resources, "2025-01-01", "2025-03-31")
    assert result.success
    pd.testing.assert_frame_equal(warehouse.read(user_activity)[kpis_before["date"] < cutoff],
                                  kpis_before[kpis_before["date"] < cutoff])  # fmt: skip
    day = result.asset_materializations_for_node("user_activity")[0]
    assert day.partition == "2025-01-01" and day.metadata["purged"].value is True

    # Fetching the purged days again restores them
    [users] = [a for a in raw_assets if a.key.path[-1] == "user_activities"]
    assert run([users], resources, "2025-01-01", "2025-01-30").success
    pd.testing.assert_frame_equal(
        warehouse.read(user_activities).drop(columns="ingested_at"), rows_before.drop(columns="ingested_at")
    )
    assert warehouse.read(load_log)["purged_at"].isna().all()
    assert schedule.default_status.value == "RUNNING"


def _listed_users(dashboard: Path) -> set[str]:
    """The user ids of the dashboard's user tables (its JSON model: as text, 63-bit ids do not fit a JS number)."""
    model = json.loads(re.search(r'id="report-data">(.*?)</script>', dashboard.read_text(), re.S).group(1))
    out = set()
    for name in ("top_users", "dormant_users"):
        table = model["tables"].get(name, {"columns": [], "rows": []})
        column = [c["key"] for c in table["columns"]].index("user_id") if table["columns"] else None
        out |= {str(row[column]) for row in table["rows"]} if column is not None else set()
    return out


def test_forget_deletes_one_users_rows_everywhere_and_says_what(
    warehouse: Warehouse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _write_history(warehouse, HISTORY, D - timedelta(days=89), D)
    write_instance(warehouse, D - timedelta(days=89), 90, COMPANY, resources=1)  # KPI days: a dashboard to render
    pseudonyms.ensure(warehouse.engine, KEY)
    _materialize(warehouse)
    reports = tmp_path / "reports"
    store.write(
        str(reports), FILE_NAME, render(warehouse.engine, NOW, user_lists=True, lang=ENGLISH, kpis=NO_KPIS).html
    )
    publish(warehouse.engine, user_lists=True, first_day=None)
    extracts.write_extracts(warehouse.engine, str(reports), user_lists=True)
    gone, kept = pseudonyms.pseudonym(KEY, COMPANY, 13), pseudonyms.pseudonym(KEY, COMPANY, 11)
    assert {str(gone), str(kept)} <= _listed_users(reports / FILE_NAME)
    monkeypatch.setenv("REPORTING_DATABASE_URL", warehouse.url)
    monkeypatch.setenv("REPORTING_USER_ID_KEY", KEY)
    monkeypatch.setenv("REPORTING_REPORTS_DIR", str(reports))
    assert users_command(["forget", "--company-id", str(COMPANY), "--user-id", "13"]) == 0
    out = capsys.readouterr().out
    assert f"{len(HISTORY[13])} row(s) from user_activities, 1 row(s) from user_engagement" in out
    assert f"pseudonym {gone}" in out and KEY not in out
    for table in (user_activities, user_engagement):
        ids = set(warehouse.read(table)["user_id"])
        assert gone not in ids and kept in ids
    # the dashboard, rendered again where it is stored, no longer lists the user; what is out of reach is said
    assert f"dashboard: rendered again at {reports / FILE_NAME} without the user" in out
    listed = _listed_users(reports / FILE_NAME)
    assert str(gone) not in listed and str(kept) in listed and str(gone) not in (reports / FILE_NAME).read_text()
    assert f"BI extracts: written again at {reports / extracts.folder()} without the user" in out
    engaged = pq.read_table(reports / extracts.folder() / "fct_user_engagement" / "fct_user_engagement.parquet")
    assert gone not in engaged["user_id"].to_pylist() and kept in engaged["user_id"].to_pylist()
    assert "not reached: Dagster's run history" in out
    # new runs' metadata holds no user id: the per-user assets' events, read from the instance
    instance = DagsterInstance.ephemeral()
    assert materialize(
        build_user_assets(MEMORY_BUDGET_MB)[:1], resources={"warehouse": warehouse}, instance=instance
    ).success
    logged = [str(entry) for entry in instance.all_logs(instance.get_runs()[0].run_id)]
    assert logged and not any(str(p) in entry for entry in logged for p in (gone, kept))

    monkeypatch.delenv("REPORTING_USER_ID_KEY")  # without the key, the user cannot be found: refused
    assert users_command(["forget", "--company-id", str(COMPANY), "--user-id", "11"]) == 1
    assert "REPORTING_USER_ID_KEY must be the key" in capsys.readouterr().err


def test_the_definitions_schedule_retention_only_when_it_is_set() -> None:
    from reporting_assets.definitions import build_definitions
    from reporting_assets.settings import Settings

    kept = build_definitions(Settings.load(paradigm_base_url="demo"))
    limited = build_definitions(Settings.load(paradigm_base_url="demo", reporting_user_retention_days=400))
    assert kept.get_schedule_def("user_data_retention").default_status.value == "STOPPED"
    assert limited.get_schedule_def("user_data_retention").default_status.value == "RUNNING"
    assert PARTITIONS.start.date() == date(2025, 1, 1)
    with pytest.raises(ValueError, match="REPORTING_USER_RETENTION_DAYS"):
        Settings.load(paradigm_base_url="demo", reporting_user_retention_days=7)
    with pytest.raises(ValueError, match="REPORTING_USER_ID_KEY: must be at least 16") as error:
        Settings.load(paradigm_base_url="demo", reporting_user_id_key="short-secret")
    assert "short-secret" not in str(error.value)


def test_user_assets_follow_any_newly_loaded_day_of_user_activities() -> None:
    """Not eager's "every upstream partition loaded": one new day of user_activities is enough."""
    from dagster import AssetMaterialization, AssetSpec, Definitions, evaluate_automation_conditions

    users = AssetSpec("user_activities", partitions_def=PARTITIONS)
    defs = Definitions(
        assets=[users, *build_user_assets(MEMORY_BUDGET_MB)],
        resources={"warehouse": Warehouse(url="sqlite://")},
    )
    instance = DagsterInstance.ephemeral()
    first = evaluate_automation_conditions(defs=defs, instance=instance, evaluation_time=NOW)
    quiet = evaluate_automation_conditions(defs=defs, instance=instance, cursor=first.cursor, evaluation_time=NOW)
    assert quiet.total_requested == 0
    instance.report_runless_asset_event(AssetMaterialization("user_activities", partition="2026-03-30"))
    after = evaluate_automation_conditions(defs=defs, instance=instance, cursor=quiet.cursor, evaluation_time=NOW)
    requested = {r.key.to_user_string() for r in after.results if r.true_subset.size}
    assert requested == {"user_engagement", "retention_cohorts"}
