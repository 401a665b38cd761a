"""The BI contract on both databases: views that equal the warehouse, a committed snapshot of names and types, column
comments, company-scoped readers (PostgreSQL row-level security), and Parquet and Tableau extracts that equal the
views. The warehouse is loaded once per database from the simulator, the hostile corpus among its companies."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import lkml
import pandas as pd
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
from dagster import DagsterInstance, materialize

from reporting_assets.bi import access, extracts, lookml, powerbi, views
from reporting_assets.bi import docs as bi_docs
from reporting_assets.bi.__main__ import main as bi_main
from reporting_assets.bi.contract import VERSION, VIEWS
from reporting_assets.bi.defs import build_bi_assets
from reporting_assets.bi.publish import publish
from reporting_assets.custom_kpis.definition import NO_KPIS
from reporting_assets.doctor import checks as doctor
from reporting_assets.i18n import ENGLISH
from reporting_assets.simulator.data import DEPARTMENTS
from reporting_assets.warehouse.store import Warehouse
from reporting_assets.warehouse.tables import OTHER, load_log
from reporting_assets_tests import bi_warehouse, hostile
from reporting_assets_tests.bi_warehouse import FIRST, LAST

SNAPSHOT = Path(__file__).parents[1] / "reporting_assets" / "bi" / f"contract_v{VERSION}.json"
COMPANY_VIEWS = [v for v in VIEWS.values() if v.per_company]
pytestmark = pytest.mark.xdist_group("bi")  # one worker builds each warehouse once


@pytest.fixture(params=["sqlite", "postgres"])
def loaded(request: pytest.FixtureRequest, bi_warehouses) -> Warehouse:
    root = request.getfixturevalue("postgres_root") if request.param == "postgres" else None
    return bi_warehouses(request.param, root)


@pytest.fixture
def pg_loaded(bi_warehouses, postgres_root: str) -> Warehouse:
    """The PostgreSQL one: roles and comments are PostgreSQL's (a SQLite warehouse is one file, readable by whoever
    opens it; SQLite has no comments)."""
    return bi_warehouses("postgres", postgres_root)


def _view(warehouse: Warehouse, name: str, where: str = "", through: date | str | None = None) -> pd.DataFrame:
    """A view's rows; `through`: dim_date up to that day only (it runs to today, which midnight moves between two
    reads)."""
    if through is not None:
        where = f"WHERE date <= '{pd.Timestamp(through).date()}'"
    with warehouse.engine.connect() as conn:
        sql = f"SELECT * FROM {views.qualified(conn, VIEWS[name], views.schema_of(conn))} {where}"
        return pd.read_sql(sa.text(sql), conn)


def _sql(warehouse: Warehouse, sql: str) -> pd.DataFrame:
    with warehouse.engine.connect() as conn:
        return pd.read_sql(sa.text(sql), conn)


def test_the_registry_matches_the_committed_snapshot_of_its_version():
    """Names and types BI users depend on change only with a new version (docs/bi-tools.md, "Versions")."""
    snapshot = {name: {f.name: f.type for f in view.fields} for name, view in VIEWS.items()}
    assert json.loads(SNAPSHOT.read_text()) == snapshot, f"a breaking change needs contract v{VERSION + 1}"


def test_every_view_is_present_and_current_with_the_contract_columns(loaded: Warehouse):
    with loaded.engine.connect() as conn:
        state = views.status(conn, user_lists=True)
        assert state.current, state.summary(lang=ENGLISH)
        internal = {"load_log", "alert_events", "alert_channels", "alert_deliveries", "pseudonymisation"}
        schema = views.schema_of(conn)
        published = set(sa.inspect(conn).get_view_names(schema=schema))
        assert published == set(VIEWS) and not published & internal
    for name, view in VIEWS.items():
        assert list(_view(loaded, name).columns) == view.names


def _last_day(table) -> date:
    """An extract's last day of dim_date: the calendar it was written with."""
    return pd.Timestamp(table.column("date").to_pandas().max()).date()


def _today(warehouse: Warehouse) -> date:
    today = _sql(warehouse, f"SELECT {views.SNIPPETS[warehouse.engine.dialect.name]['today']}").iloc[0, 0]
    return pd.Timestamp(today).date()


def test_dim_date_is_a_contiguous_calendar_to_today_with_the_ledger_s_days(loaded: Warehouse):
    before = _today(loaded)
    dim = _view(loaded, "dim_date")
    dim["date"] = pd.to_datetime(dim["date"])
    dim = dim.sort_values("date", ignore_index=True)
    assert dim["date"].iloc[0].date() == FIRST and dim["date"].iloc[-1].date() in {before, _today(loaded)}
    assert (dim["date"].diff().dropna() == pd.Timedelta(days=1)).all()
    iso = dim["date"].dt.isocalendar()
    assert dim["iso_year"].tolist() == iso["year"].tolist() and dim["iso_week"].tolist() == iso["week"].tolist()
    assert dim["weekday"].tolist() == iso["day"].tolist()
    assert dim["is_weekend"].astype(bool).tolist() == (iso["day"] >= 6).tolist()
    assert (pd.to_datetime(dim["week_start"]) == dim["date"] - pd.to_timedelta(iso["day"] - 1, unit="D")).all()
    assert dim["quarter"].tolist() == dim["date"].dt.quarter.tolist()
    assert (pd.to_datetime(dim["month_start"]) == dim["date"].dt.to_period("M").dt.start_time).all()
    entries = loaded.read(load_log)
    for asset in ("chat_sessions", "user_activities", "company_members"):
        days = set(pd.to_datetime(entries.loc[entries["asset"] == asset, "date"]))
        assert set(dim.loc[dim[f"{asset}_loaded"].astype(bool), "date"]) == days
    assert len(days) == (LAST - FIRST).days + 1 and len(dim) > len(days)  # days after LAST: calendar, not loaded
    publish(
        loaded.engine, first_day=FIRST - timedelta(days=10), user_lists=True
    )  # the first partition, before the first day loaded
    earlier = _view(loaded, "dim_date", through=dim["date"].iloc[-1])
    publish(loaded.engine, user_lists=True, first_day=None)
    assert len(earlier) == len(dim) + 10 and pd.to_datetime(earlier["date"]).min().date() == FIRST - timedelta(days=10)
    assert earlier["chat_sessions_loaded"].astype(bool).sum() == len(days)


def test_the_facts_equal_the_warehouse_tables_and_ratios_are_recomputed_from_their_parts(loaded: Warehouse):
    daily = _view(loaded, "fct_daily_usage").sort_values(["date", "company_id"], ignore_index=True)
    kpi = _sql(loaded, "SELECT * FROM adoption_satisfaction").sort_values(["date", "company_id"], ignore_index=True)
    users = _sql(loaded, "SELECT * FROM user_activity")
    assert len(daily) == len(kpi.merge(users, on=["date", "company_id"], how="outer"))
    assert daily["likes_count"].sum() == kpi["likes_count"].sum() > 0
    assert daily["active_users"].sum() == users["active_users"].sum() > 0
    for source, names in ((kpi, ("satisfaction_rate", "feedback_rate", "queries_per_session")),
                          (users, ("stickiness", "adoption_rate", "sessions_per_active_user"))):  # fmt: skip
        both = daily.merge(source, on=["date", "company_id"], suffixes=("", "_kpi"))
        for name in names:
            pd.testing.assert_series_equal(both[name], both[f"{name}_kpi"], check_names=False, rtol=1e-9)
        assert both[names[0]].notna().any()
    assert daily["adoption_rate"].notna().sum() > 0  # the 30-day window is whole for the last days
    company = _view(loaded, "dim_company")
    assert len(company) == company["company_id"].nunique() == len(bi_warehouse.COMPANIES)
    assert set(company["company_name"]) >= set(hostile.STORED.values())
    assert company["current_active_members"].notna().all()
    for view, table, column in (("fct_tool_usage", "tools_usage", "usage_count"),
                                ("fct_document_usage", "used_documents", "usage_count"),
                                ("fct_user_engagement", "user_engagement", "active_days"),
                                ("fct_retention", "retention_cohorts", "retained_users")):  # fmt: skip
        facts, rows = _view(loaded, view), _sql(loaded, f"SELECT * FROM {table}")
        assert len(facts) == len(rows) > 0 and facts[column].sum() == rows[column].sum()
    retention = _view(loaded, "fct_retention").merge(_sql(loaded, "SELECT * FROM retention_cohorts"))
    assert len(retention) == len(_view(loaded, "fct_retention"))  # same rates, recomputed from the parts


def test_postgres_comments_every_view_column_from_the_registry(pg_loaded: Warehouse):
    loaded = pg_loaded
    with loaded.engine.connect() as conn:
        schema = views.schema_of(conn)
        inspector = sa.inspect(conn)
        for view in VIEWS.values():
            comments = {c["name"]: c["comment"] for c in inspector.get_columns(view.name, schema=schema)}
            for field in view.fields:
                assert comments[field.name] == field.comment, (view.name, field.name)
            assert inspector.get_table_comment(view.name, schema=schema)["text"].startswith(view.description)


def _doctor(warehouse: Warehouse, monkeypatch: pytest.MonkeyPatch) -> list[doctor.Check]:
    monkeypatch.setenv("PARADIGM_BASE_URL", "")  # the API is not what is checked here
    monkeypatch.setenv("REPORTING_DATABASE_URL", warehouse.url)
    return doctor.checks(now=lambda: datetime(2025, 2, 10, tzinfo=UTC))


def test_a_missing_or_changed_view_is_reported_and_published_again(loaded: Warehouse, monkeypatch: pytest.MonkeyPatch):
    with loaded.engine.begin() as conn:
        schema = views.schema_of(conn)
        conn.execute(sa.text(f"DROP VIEW {views.qualified(conn, VIEWS['dim_company'], schema)}"))
        conn.execute(sa.text(f"DROP VIEW {views.qualified(conn, VIEWS['fct_tool_usage'], schema)}"))
        conn.execute(
            sa.text(f"CREATE VIEW {views.qualified(conn, VIEWS['fct_tool_usage'], schema)} AS SELECT 1 AS date")
        )
    with loaded.engine.connect() as conn:
        state = views.status(conn, user_lists=True)
    assert state.missing == ["dim_company"] and state.stale == ["fct_tool_usage"]
    assert "materialize bi_contract" in state.summary(lang=ENGLISH)
    [found] = [c for c in _doctor(loaded, monkeypatch) if c.name == "BI contract"]
    assert not found.ok and found.detail == state.summary(lang=ENGLISH)
    assert publish(loaded.engine, user_lists=True, first_day=None).views == list(VIEWS)
    with loaded.engine.connect() as conn:
        assert views.status(conn, user_lists=True).current
    [found] = [c for c in _doctor(loaded, monkeypatch) if c.name == "BI contract"]
    assert found.ok and found.detail.startswith(f"v{VERSION}: every view present and current")
    assert publish(loaded.engine, user_lists=False, first_day=None).views == [
        v for v in VIEWS if v != "fct_user_engagement"
    ]
    with loaded.engine.connect() as conn:
        assert views.status(conn, user_lists=False).current and not views.status(conn, user_lists=True).current
    publish(loaded.engine, user_lists=True, first_day=None)


def test_the_extracts_equal_the_views_in_parquet_and_in_tableau_s_hyper(loaded: Warehouse, tmp_path: Path):
    from tableauhyperapi import Connection, HyperProcess, Telemetry

    written = extracts.write_extracts(loaded.engine, str(tmp_path), user_lists=False)
    assert [e.view for e in written] == [*(v for v in VIEWS if v != "fct_user_engagement"), "*"]
    hyper_path = tmp_path / extracts.folder() / extracts.HYPER_FILE
    with (
        HyperProcess(Telemetry.DO_NOT_SEND_USAGE_DATA_TO_TABLEAU, parameters={"log_config": ""}) as hyper,
        Connection(hyper.endpoint, str(hyper_path)) as conn,
    ):
        for extract in written[:-1]:
            view = VIEWS[extract.view]
            table = pq.read_table(tmp_path / extracts.folder() / view.name / f"{view.name}.parquet")
            frame = _view(loaded, view.name, through=_last_day(table) if view.name == "dim_date" else None)
            assert table.schema == extracts.arrow_schema(view) and table.num_rows == extract.rows == len(frame)
            assert conn.execute_scalar_query(f'SELECT COUNT(*) FROM "Extract"."{view.name}"') == len(frame)
            for field in view.fields:
                if field.kind in ("count", "level", "rate"):
                    expected = frame[field.name].sum()
                    assert table[field.name].to_pandas().sum() == pytest.approx(expected), (view.name, field.name)
                    got = conn.execute_scalar_query(f'SELECT SUM("{field.name}") FROM "Extract"."{view.name}"')
                    assert float(got or 0) == pytest.approx(expected), (view.name, field.name)
        names = {r[0] for r in conn.execute_list_query('SELECT company_name FROM "Extract"."dim_company"')}
        assert names >= set(hostile.STORED.values())  # API text is data: kept as it is, never interpreted
        query = 'SELECT DISTINCT group_name FROM "Extract"."fct_group_activity"'
        hyper_groups = {r[0] for r in conn.execute_list_query(query)}
    # the demo's departments below the minimum size (10) are named in no extract; "(other)" holds them
    sizes = [(name, size) for departments in DEPARTMENTS.values() for name, size, _ in departments]
    small = {n for n, size in sizes if size < 10} - {n for n, size in sizes if size >= 10}  # Engineering is both
    for view in ("dim_group", "fct_group_activity"):
        groups = set(pq.read_table(tmp_path / extracts.folder() / view / f"{view}.parquet")["group_name"].to_pylist())
        assert groups and not groups & small and OTHER in groups, view
    assert hyper_groups == groups and not hyper_groups & small
    dim = pq.read_table(tmp_path / extracts.folder() / "dim_group" / "dim_group.parquet").to_pandas()
    initech = dim[(dim["company_id"] == 103) & (dim["attribute"] == "department")]  # departments of 9 and 3
    assert initech["group_name"].tolist() == [OTHER] and initech["headcount"].tolist() == [12]
    titles = pq.read_table(tmp_path / extracts.folder() / "fct_document_usage" / "fct_document_usage.parquet")
    assert set(titles["document_title"].to_pylist()) >= set(hostile.STORED.values())
    assert not (tmp_path / extracts.folder() / "fct_user_engagement").exists()  # REPORTING_USER_LISTS=off


def _reader_url(warehouse: Warehouse, role: str) -> str:
    return warehouse.url.replace("postgres@", f"{role}@", 1)


@pytest.fixture
def roles(pg_loaded: Warehouse) -> Iterator[list[str]]:
    """Two role names of this test's own (roles belong to the whole PostgreSQL cluster), dropped afterwards."""
    names = [f"bi_test_{uuid.uuid4().hex[:8]}" for _ in range(2)]
    yield names
    for role in names:
        with pg_loaded.engine.begin() as conn:
            if conn.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first():
                access.revoke(conn, role, drop=True)


def test_a_company_reader_sees_its_company_only_through_every_view_and_nothing_internal(
    pg_loaded: Warehouse, roles: list[str]
):
    loaded = pg_loaded
    scoped, everyone = roles
    company = hostile.FIRST_ID + 1
    with loaded.engine.begin() as conn:
        access.grant(conn, scoped, company, user_lists=True)
        access.grant(conn, everyone, company_id=None, user_lists=True)
    publish(loaded.engine, user_lists=True, first_day=None)  # views created anew keep their readers
    with loaded.engine.connect() as conn:
        assert sorted(access.readers(conn), key=lambda r: r.role) == sorted(
            [access.Reader(scoped, company), access.Reader(everyone, None)], key=lambda r: r.role
        )
    reader = sa.create_engine(_reader_url(loaded, scoped))
    whole = sa.create_engine(_reader_url(loaded, everyone))
    try:
        with reader.connect() as conn, whole.connect() as all_conn:
            schema = views.schema_of(loaded.engine.connect())
            for view in COMPANY_VIEWS:
                name = views.qualified(conn, view, schema)
                mine = conn.execute(sa.text(f"SELECT company_id, COUNT(*) FROM {name} GROUP BY company_id")).all()
                direct = _view(loaded, view.name, f"WHERE company_id = {company}")
                assert len(direct) > 0 and mine == [(company, len(direct))], view.name
                assert all_conn.execute(sa.text(f"SELECT COUNT(*) FROM {name}")).scalar() == len(
                    _view(loaded, view.name)
                )
            dim_date = views.qualified(conn, VIEWS["dim_date"], schema)
            days, last = conn.execute(sa.text(f"SELECT COUNT(*), MAX(date) FROM {dim_date}")).one()
            assert days == len(_view(loaded, "dim_date", through=last))
        for statement in (
            "SELECT * FROM load_log",
            "SELECT * FROM alert_events",
            "INSERT INTO adoption_satisfaction (date, company_id, company_name) VALUES ('2030-01-01', 1, 'x')",
            f"UPDATE adoption_satisfaction SET likes_count = 0 WHERE company_id = {company}",
            f"DELETE FROM tools_usage WHERE company_id = {company}",
        ):
            with reader.connect() as conn, pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
                conn.execute(sa.text(statement))
    finally:
        reader.dispose()
        whole.dispose()
    owner_sees = _sql(loaded, "SELECT DISTINCT company_id FROM adoption_satisfaction")
    assert len(owner_sees) == len(bi_warehouse.COMPANIES)  # the owner sees all
    with loaded.engine.begin() as conn:
        access.revoke(conn, scoped)
    with loaded.engine.connect() as conn:
        assert [r.role for r in access.readers(conn)] == [everyone]


def test_the_command_line_publishes_grants_checks_and_revokes(
    pg_loaded: Warehouse, roles: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    loaded = pg_loaded
    monkeypatch.setenv("PARADIGM_BASE_URL", "demo")
    monkeypatch.setenv("REPORTING_DATABASE_URL", loaded.url)
    assert bi_main(["install"]) == 0
    assert bi_main(["grant", roles[0], "--company", "101"]) == 0
    assert bi_main(["grant", "Robert'); DROP TABLE x;--"]) == 1
    assert bi_main(["check"]) == 0
    out, err = capsys.readouterr()
    assert f"views in schema {views.schema_of(loaded.engine.connect())}" in out
    assert f"reader {roles[0]}: company 101" in out and "every view present and current" in out
    assert "use lower-case letters" in err
    assert bi_main(["revoke", roles[0], "--drop"]) == 0
    with loaded.engine.connect() as conn:
        assert not conn.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": roles[0]}).first()


def test_the_assets_publish_the_contract_and_write_the_extracts(bi_warehouses, tmp_path: Path):
    loaded = bi_warehouses("sqlite")  # the assets are the same on both databases: the views and extracts are tested
    result = materialize(
        build_bi_assets(str(tmp_path), FIRST, user_lists=True),
        resources={"warehouse": loaded},
        instance=DagsterInstance.ephemeral(),
    )
    assert result.success
    [contract, files] = result.get_asset_materialization_events()
    assert contract.materialization.metadata["views"].value == list(VIEWS)
    rows = files.materialization.metadata["rows"].value
    last = _last_day(pq.read_table(tmp_path / extracts.folder() / "dim_date" / "dim_date.parquet"))
    assert rows == {name: len(_view(loaded, name, through=last if name == "dim_date" else None)) for name in VIEWS}
    assert (tmp_path / extracts.folder() / extracts.HYPER_FILE).is_file()


def _expand(measure: dict, alias: str) -> str:
    """A LookML measure's SQL as Looker writes it: `${TABLE}` the view's alias, a `sum` measure summed."""
    sql = measure["sql"].replace("${TABLE}", alias)
    return f"SUM({sql})" if measure["type"] == "sum" else sql


def _month(warehouse: Warehouse, column: str) -> str:
    """The month of a date column, in the warehouse's SQL."""
    if warehouse.engine.dialect.name == "sqlite":
        return f"strftime('%Y-%m-01', {column})"
    return f"CAST(date_trunc('month', {column}) AS DATE)"


def _looker(warehouse: Warehouse, view: dict, group: str, where: str = "") -> pd.DataFrame:
    """Every measure of a LookML view, expanded and run on the warehouse, grouped by `group` (SQL on alias f)."""
    sql_table = view["sql_table_name"].replace("main.", "")
    measures = ", ".join(f"{_expand(m, 'f')} AS {m['name']}" for m in view["measures"])
    query = f"SELECT {group} AS k, {measures} FROM {sql_table} AS f {where} GROUP BY {group} ORDER BY 1"
    frame = _sql(warehouse, query)
    frame["k"] = pd.to_datetime(frame["k"])
    return frame.set_index("k")


def test_the_lookml_measures_by_month_sum_counts_divide_parts_and_never_sum_people_or_levels(loaded: Warehouse):
    with loaded.engine.connect() as conn:
        schema = views.schema_of(conn) or "main"
    kit = {path: lkml.load(text) for path, text in lookml.files(schema, None, NO_KPIS).items()}
    model = kit[f"{lookml.MODEL}.model.lkml"]
    assert [e["name"] for e in model["explores"]] == list(lookml.EXPLORES)
    [periods] = [e for e in model["explores"] if e["name"] == "fct_active_users"]
    assert periods["always_filter"] == {"filters__all": [[{"fct_active_users.grain": "month"}]]}
    [daily] = kit["views/fct_daily_usage.view.lkml"]["views"]
    by_month = _looker(loaded, daily, _month(loaded, "f.date"))
    by_day = _looker(loaded, daily, "f.date")

    # Independently, from the warehouse's tables (not the contract): each day's parts, then per month
    kpi = _sql(loaded, "SELECT * FROM adoption_satisfaction")
    users = _sql(loaded, "SELECT * FROM user_activity")
    members = _sql(loaded, "SELECT * FROM company_members").drop(columns=["company_name", "ingested_at"])
    days = kpi.merge(users, on=["date", "company_id"], how="outer", suffixes=("", "_u"))
    for name in ("sessions_count", "user_queries_count"):
        days[name] = days[name].fillna(days[f"{name}_u"])
    days = days.merge(members, on=["date", "company_id"], how="left")
    month = pd.to_datetime(days["date"]).dt.to_period("M").dt.start_time
    assert len(by_month) == 2  # January, and one day of February
    for field in VIEWS["fct_daily_usage"].fields:
        if field.kind == "count":
            expected = days.groupby(month)[field.name].sum()
            assert by_month[field.name].tolist() == pytest.approx(expected.tolist()), field.name
        elif field.ratio:
            known = days[field.ratio.parts].notna().all(axis=1)
            parts = days[known].groupby(month[known])[field.ratio.parts].sum()
            expected = field.ratio.of(parts).reindex(by_month.index)
            got = by_month[field.name].astype(float)
            assert got.tolist() == pytest.approx(expected.tolist(), nan_ok=True), field.name
            assert ((got.dropna() >= 0) & (got.dropna() <= 1)).all() or field.unit == "average", field.name
        elif field.kind in ("level", "distinct"):
            per_day = days.groupby(pd.to_datetime(days["date"]))[field.name].sum(min_count=1)
            got = by_day[field.name].astype(float)
            assert got.tolist() == pytest.approx(per_day.reindex(got.index).tolist(), nan_ok=True), field.name
            # over January's 31 days: never a sum of days; February holds one day loaded: that day's figure
            assert pd.isna(by_month.loc[pd.Timestamp("2025-01-01"), field.name]), field.name
            assert by_month.loc[pd.Timestamp("2025-02-01"), field.name] == got.iloc[-1]

    # People and members per month: the period view's measures equal counts from the per-user rows
    [people] = kit["views/fct_active_users.view.lkml"]["views"]
    got = _looker(loaded, people, "f.period_start", "WHERE f.grain = 'month'")
    activities = _sql(loaded, "SELECT company_id, date, user_id FROM user_activities")
    active_month = pd.to_datetime(activities["date"]).dt.to_period("M").dt.start_time
    distinct = activities.groupby([active_month, "company_id"])["user_id"].nunique().groupby(level=0).sum()
    members["month"] = pd.to_datetime(members["date"]).dt.to_period("M").dt.start_time
    last = members.sort_values("date").groupby(["month", "company_id"])["current_active_members"].last()
    assert got["active_users"].tolist() == distinct.tolist() and distinct.iloc[0] > 0
    assert got["members"].tolist() == last.groupby(level=0).sum().tolist()
    assert got["adoption_rate"].tolist() == pytest.approx((distinct / last.groupby(level=0).sum()).tolist())
    two_grains = _looker(loaded, people, "f.period_start", "WHERE f.grain IN ('month', 'year')")
    assert two_grains.loc[pd.Timestamp("2025-01-01"), ["active_users", "members"]].isna().all()


def test_every_dax_measure_follows_its_kind_s_pattern():
    """Power BI cannot run here: each generated measure's pattern, per aggregation kind (docs/bi-tools.md says how
    to check them in Power BI Desktop)."""
    for view in VIEWS.values():
        for field in view.fields:
            if not field.aggregation:
                continue
            dax = powerbi.expression(view, field)
            one = f"HASONEVALUE('{view.name}'[grain]) && HASONEVALUE('{view.name}'[period_start])"
            if "attribute" in view.names:  # a person is in one group of each attribute: within one attribute only
                assert dax.startswith(f"IF(HASONEVALUE('{view.name}'[attribute])"), field.name
                assert (one in dax) == view.periodic and f"SUM('{view.name}'[{field.name}])" in dax, field.name
            elif view.periodic:
                assert dax.startswith(f"IF({one}, "), field.name
            elif field.ratio:
                assert dax.startswith("VAR known = FILTER(") and "DIVIDE(SUMX(known" in dax, field.name
                assert all(f"NOT ISBLANK('{view.name}'[{p}])" in dax for p in field.ratio.parts), field.name
            elif field.kind == "level" and view.dated:
                assert dax.startswith(f"SUMX(VALUES('{view.name}'[company_id]), CALCULATE(") and "LASTNONBLANK(" in dax
            elif field.kind == "distinct":
                assert dax == f"IF(HASONEVALUE('{view.name}'[date]), SUM('{view.name}'[{field.name}]))"
            else:
                assert dax == f"SUM('{view.name}'[{field.name}])", (view.name, field.name)
                assert field.kind == "count" or not (view.dated or view.periodic), (view.name, field.name)
    members = [line for line in powerbi.measures(NO_KPIS).splitlines() if line.startswith("Current active members")]
    assert len(members) == 1 and "LASTNONBLANK" in members[0]  # and never a SUM of dim_company's latest snapshot
    assert not [line for line in powerbi.measures(NO_KPIS).splitlines() if "SUM('dim_company'" in line]


def test_the_extracts_go_to_object_storage_too(bi_warehouses, s3: str):
    from fsspec.core import url_to_fs

    warehouse = bi_warehouses("sqlite")
    location = f"s3://{s3}/reports"
    written = extracts.write_extracts(warehouse.engine, location, user_lists=True)
    assert written[-1].path == f"{location}/{extracts.folder()}/{extracts.HYPER_FILE}"
    fs, root = url_to_fs(location)
    for extract in written[:-1]:
        table = pq.read_table(f"{root}/{extracts.folder()}/{extract.view}/{extract.view}.parquet", filesystem=fs)
        through = _last_day(table) if extract.view == "dim_date" else None
        assert table.num_rows == extract.rows == len(_view(warehouse, extract.view, through=through))
    assert not [p for p in fs.find(root) if p.endswith(".partial")]


def test_the_bi_page_shows_the_registry_s_columns_and_measures():
    page = (Path(__file__).parents[1] / "docs" / "bi-tools.md").read_text()
    assert bi_docs.render(page, bi_docs.BLOCKS) == page, "run `python scripts/bi_docs.py`"
    for view in VIEWS.values():
        assert f"### `{view.name}`" in page and all(f"| `{f.name}` |" in page for f in view.fields)
    rates = [f for v in VIEWS.values() for f in v.fields if f.ratio]
    assert sum(line.count("DIVIDE(") for line in powerbi.measures(NO_KPIS).splitlines()) == len(rates)


def test_without_pyarrow_the_code_location_loads_and_publishes_the_contract_without_extracts(monkeypatch):
    """Parquet and Tableau extracts are an extra (with pyarrow installed, every process importing pandas imports it)."""
    blocked = "import sys; sys.modules['pyarrow'] = None; import reporting_assets.definitions, reporting_assets.erasure"
    subprocess.run([sys.executable, "-c", blocked], check=True, capture_output=True)
    monkeypatch.setattr(extracts, "available", lambda: False)
    assert [a.key.path[-1] for a in build_bi_assets("/nowhere", FIRST, user_lists=True)] == ["bi_contract"]


def test_the_api_s_own_field_descriptions_describe_the_contract_and_its_kits(
    postgres_root: str, simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """The raw assets record the API's `metadata` descriptions (and units); `bi_contract` comments the columns that
    are those fields with them, and the kits describe the columns as the comments do."""
    from reporting_assets.simulator.payloads import METADATA
    from reporting_assets_tests.conftest import fresh_schema
    from reporting_assets_tests.helpers import raw_assets, run

    with fresh_schema(postgres_root) as url:
        warehouse, instance = Warehouse(url=url), DagsterInstance.ephemeral()
        resources = {"warehouse": warehouse, "paradigm": simulator.resource()}
        assert run(raw_assets, resources, "2025-01-06", "2025-01-07", instance).success
        bi = build_bi_assets(str(tmp_path), FIRST, user_lists=True)
        assert materialize(bi[:1], resources={"warehouse": warehouse}, instance=instance).success
        with warehouse.engine.connect() as conn:
            comments = views.comments(conn)
        sessions = METADATA["chat-sessions"]["sessions_count"]
        assert comments[("fct_daily_usage", "sessions_count")] == f"{sessions['description']} ({sessions['unit']})"
        tools = METADATA["tools"]["usage_count"]
        assert comments[("fct_tool_usage", "usage_count")] == f"{tools['description']} ({tools['unit']})"
        [rolling] = [f for f in VIEWS["fct_daily_usage"].fields if f.name == "active_users_7d"]  # not an API field
        assert comments[("fct_daily_usage", "active_users_7d")] == rolling.comment
        monkeypatch.setenv("PARADIGM_BASE_URL", "demo")
        monkeypatch.setenv("REPORTING_DATABASE_URL", url)
        assert bi_main(["kit", "looker", "--out", str(tmp_path / "looker")]) == 0
        [daily] = lkml.load((tmp_path / "looker" / "views" / "fct_daily_usage.view.lkml").read_text())["views"]
        described = {m["name"]: m["description"] for m in daily["measures"]}
        assert described["sessions_count"] == comments[("fct_daily_usage", "sessions_count")]


def _privileges(warehouse: Warehouse, role: str) -> list[str]:
    """Every privilege `role` holds on a table, view or schema of the warehouse and its contract."""
    with warehouse.engine.connect() as conn:
        schema = views.schema_of(conn)
        tables = conn.execute(
            sa.text(
                "SELECT format('%I.%I', schemaname, tablename) FROM pg_tables "
                "WHERE schemaname IN (current_schema(), :s) UNION ALL "
                "SELECT format('%I.%I', schemaname, viewname) FROM pg_views WHERE schemaname IN (current_schema(), :s)"
            ),
            {"s": schema},
        ).scalars()
        held = [
            f"{name}: {what}"
            for name in tables
            for what in ("SELECT", "INSERT", "UPDATE", "DELETE")
            if conn.execute(
                sa.text("SELECT has_table_privilege(:r, :t, :p)"), {"r": role, "t": name, "p": what}
            ).scalar()
        ]
        for where in (schema, conn.execute(sa.text("SELECT current_schema()")).scalar()):
            if conn.execute(sa.text("SELECT has_schema_privilege(:r, :s, 'USAGE')"), {"r": role, "s": where}).scalar():
                held.append(f"schema {where}: USAGE")
    return held


def test_a_role_row_security_cannot_hold_is_refused_a_company_and_check_says_not_scoped(
    pg_loaded: Warehouse, roles: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    loaded = pg_loaded
    bypassing, member = roles
    with loaded.engine.begin() as conn:
        conn.execute(sa.text(f'CREATE ROLE "{bypassing}" LOGIN BYPASSRLS'))
        conn.execute(sa.text(f'CREATE ROLE "{member}" LOGIN'))
        conn.execute(sa.text(f'GRANT "{bypassing}" TO "{member}"'))
    for role, why in (
        (bypassing, "has BYPASSRLS"),
        (member, f"member of {bypassing}, has BYPASSRLS"),
        ("postgres", "a superuser"),
    ):
        with loaded.engine.begin() as conn, pytest.raises(access.AccessError, match=why):
            access.grant(conn, role, 101, user_lists=True)
    monkeypatch.setenv("PARADIGM_BASE_URL", "demo")
    monkeypatch.setenv("REPORTING_DATABASE_URL", loaded.url)
    assert bi_main(["grant", bypassing, "--company", "101"]) == 1
    assert "can bypass row security" in capsys.readouterr().err
    assert _privileges(loaded, bypassing) == []  # refused: nothing granted
    # A plain reader scoped, then given BYPASSRLS by someone: check reports it, and exits non-zero
    with loaded.engine.begin() as conn:
        conn.execute(sa.text(f'REVOKE "{bypassing}" FROM "{member}"'))
        access.grant(conn, member, 101, user_lists=True)
    assert bi_main(["check"]) == 0
    with loaded.engine.begin() as conn:
        conn.execute(sa.text(f'ALTER ROLE "{member}" BYPASSRLS'))
    assert bi_main(["check"]) == 1
    assert (
        f"reader {member}: NOT scoped to company 101 (can bypass row security: has BYPASSRLS)"
        in capsys.readouterr().out
    )
    [found] = [c for c in _doctor(loaded, monkeypatch) if c.name == "BI contract"]
    assert not found.ok and f"{member}: NOT scoped to company 101" in found.detail


def test_the_tables_owner_is_held_to_row_security_and_its_writes_still_work(pg_loaded: Warehouse, roles: list[str]):
    """FORCE ROW LEVEL SECURITY: the tables' owner (not a superuser) is held to the policies like any role, and
    the permissive one lets the project's writer see and replace every row; the owner is refused a scope."""
    loaded = pg_loaded
    owner, reader = roles
    with loaded.engine.begin() as conn:
        access.grant(conn, reader, 101, user_lists=True)
        forced = conn.execute(
            sa.text("SELECT bool_and(relforcerowsecurity) FROM pg_class WHERE relname = ANY(:t) AND relkind = 'r' "
                    "AND relnamespace = current_schema()::regnamespace"),
            {"t": access._tables(user_lists=True)},
        ).scalar()  # fmt: skip
        assert forced
        conn.execute(sa.text(f'CREATE ROLE "{owner}" LOGIN'))
        conn.execute(
            sa.text(f'GRANT USAGE ON SCHEMA {conn.execute(sa.text("SELECT current_schema()")).scalar()} TO "{owner}"')
        )
        conn.execute(sa.text(f'ALTER TABLE user_activity OWNER TO "{owner}"'))
    try:
        with loaded.engine.begin() as conn, pytest.raises(access.AccessError, match="owns the warehouse's tables"):
            access.grant(conn, owner, 101, user_lists=True)
        with loaded.engine.begin() as conn:
            conn.execute(sa.text(f'SET LOCAL ROLE "{owner}"'))
            before = conn.execute(sa.text("SELECT COUNT(*), COUNT(DISTINCT company_id) FROM user_activity")).one()
            day = conn.execute(sa.text("SELECT MAX(date) FROM user_activity")).scalar()
            kept = conn.execute(sa.text("SELECT * FROM user_activity WHERE date = :d"), {"d": day}).mappings().all()
            conn.execute(sa.text("DELETE FROM user_activity WHERE date = :d"), {"d": day})
            conn.execute(
                sa.insert(sa.table("user_activity", *(sa.column(c) for c in kept[0]))), [dict(r) for r in kept]
            )
            after = conn.execute(sa.text("SELECT COUNT(*), COUNT(DISTINCT company_id) FROM user_activity")).one()
        # the owner sees, deletes and writes every company's rows
        assert before == after and before[1] == len(bi_warehouse.COMPANIES)
    finally:
        with loaded.engine.begin() as conn:
            conn.execute(sa.text("ALTER TABLE user_activity OWNER TO postgres"))
            conn.execute(
                sa.text(
                    f'REVOKE ALL ON SCHEMA {conn.execute(sa.text("SELECT current_schema()")).scalar()} FROM "{owner}"'
                )
            )


def test_long_role_names_get_their_own_scope_and_revoke_leaves_no_privilege(pg_loaded: Warehouse):
    loaded = pg_loaded
    stem = "bi_test_" + uuid.uuid4().hex[:8] + "_" + "x" * 40  # 61 characters in all: "bi_scope_<role>" cut at 63
    # would name both roles' policies alike
    first, second = stem + "_101", stem + "_102"
    try:
        with loaded.engine.begin() as conn:
            access.grant(conn, first, 101, user_lists=True)
            access.grant(conn, second, 102, user_lists=True)
        with loaded.engine.connect() as conn:
            scopes = {r.role: r.company_id for r in access.readers(conn)}
        assert scopes[first] == 101 and scopes[second] == 102
        for role, company in ((first, 101), (second, 102)):
            engine = sa.create_engine(_reader_url(loaded, role))
            try:
                daily = _view(loaded, "fct_daily_usage", f"WHERE company_id = {company}")
                with engine.connect() as conn:
                    name = views.qualified(conn, VIEWS["fct_daily_usage"], views.schema_of(loaded.engine.connect()))
                    seen = conn.execute(sa.text(f"SELECT DISTINCT company_id FROM {name}")).scalars().all()
                assert seen == [company] and len(daily) > 0
            finally:
                engine.dispose()
        assert _privileges(loaded, first)
        with loaded.engine.begin() as conn:
            access.revoke(conn, first)
        assert _privileges(loaded, first) == []
        with loaded.engine.connect() as conn:
            assert {r.role: r.company_id for r in access.readers(conn)}.get(second) == 102
    finally:
        with loaded.engine.begin() as conn:
            for role in (first, second):
                if conn.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first():
                    access.revoke(conn, role, drop=True)


def test_with_user_lists_off_no_reader_holds_a_per_user_table_or_view(pg_loaded: Warehouse, roles: list[str]):
    loaded = pg_loaded
    before, after = roles
    with loaded.engine.begin() as conn:
        access.grant(conn, before, 101, user_lists=True)  # lists on: it may read user_engagement
    assert any("user_engagement" in p for p in _privileges(loaded, before))
    try:
        publish(loaded.engine, user_lists=False, first_day=None)  # turned off: what was granted is taken back
        with loaded.engine.begin() as conn:
            access.grant(conn, after, 101, user_lists=False)
        for role in roles:
            held = _privileges(loaded, role)
            assert held and not [p for p in held if "user_engagement" in p], role
            engine = sa.create_engine(_reader_url(loaded, role))
            try:
                with engine.connect() as conn, pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
                    conn.execute(sa.text("SELECT * FROM user_engagement"))
            finally:
                engine.dispose()
    finally:
        publish(loaded.engine, user_lists=True, first_day=None)


def test_a_customer_view_over_the_contract_survives_republishing_and_comments_are_literal(pg_loaded: Warehouse):
    loaded = pg_loaded
    with loaded.engine.connect() as conn:
        schema = views.schema_of(conn)
    daily = f'"{schema}".fct_daily_usage'
    with loaded.engine.begin() as conn:
        conn.execute(sa.text(f"CREATE VIEW customer_sessions AS SELECT date, company_id, sessions_count FROM {daily}"))
    try:
        hostile_doc = "Sessions :name started, 100% (it's $1) -- ;DROP"
        assets = build_bi_assets("/nowhere", FIRST, user_lists=True)[:1]
        for docs in ({}, {"chat_sessions.sessions_count": hostile_doc}):  # published twice, the second time changed
            publish(loaded.engine, True, FIRST, docs)
            assert materialize(assets, resources={"warehouse": loaded}, instance=DagsterInstance.ephemeral()).success
        assert len(_sql(loaded, "SELECT * FROM customer_sessions")) == len(_view(loaded, "fct_daily_usage")) > 0
        publish(loaded.engine, True, FIRST, {"chat_sessions.sessions_count": hostile_doc})
        with loaded.engine.connect() as conn:
            assert views.comments(conn)[("fct_daily_usage", "sessions_count")] == hostile_doc
    finally:
        with loaded.engine.begin() as conn:
            conn.execute(sa.text("DROP VIEW customer_sessions"))
        publish(loaded.engine, user_lists=True, first_day=None)


def test_one_company_s_extracts_hold_that_company_only(
    pg_loaded: Warehouse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    from tableauhyperapi import Connection, HyperProcess, Telemetry

    loaded, company = pg_loaded, 102
    monkeypatch.setenv("PARADIGM_BASE_URL", "demo")
    monkeypatch.setenv("REPORTING_DATABASE_URL", loaded.url)
    assert bi_main(["extracts", "--company", str(company), "--out", str(tmp_path)]) == 0
    assert bi_main(["extracts", "--company", "999999", "--out", str(tmp_path / "none")]) == 1
    assert "company 999999 is not in dim_company" in capsys.readouterr().err and not (tmp_path / "none").exists()
    folder = tmp_path / extracts.folder()
    with (
        HyperProcess(Telemetry.DO_NOT_SEND_USAGE_DATA_TO_TABLEAU, parameters={"log_config": ""}) as hyper,
        Connection(hyper.endpoint, str(folder / extracts.HYPER_FILE)) as conn,
    ):
        for view in VIEWS.values():
            table = pq.read_table(folder / view.name / f"{view.name}.parquet").to_pandas()
            through = table["date"].max() if view.name == "dim_date" else None
            expected = _view(loaded, view.name, f"WHERE company_id = {company}" if view.per_company else "", through)
            assert len(table) == len(expected) > 0, view.name
            hyper_rows = conn.execute_scalar_query(f'SELECT COUNT(*) FROM "Extract"."{view.name}"')
            assert hyper_rows == len(expected), view.name
            if view.per_company:
                assert set(table["company_id"]) == {company}, view.name
        assert conn.execute_scalar_query('SELECT COUNT(*) FROM "Extract"."dim_company"') == 1


def test_people_by_month_in_the_hyper_extract_are_the_distinct_users_of_the_warehouse(
    loaded: Warehouse, tmp_path: Path
):
    """Tableau's Hyper, by month, on the extract: people from fct_active_users, never summed from days."""
    from tableauhyperapi import Connection, HyperProcess, Telemetry

    extracts.write_extracts(loaded.engine, str(tmp_path), user_lists=False)
    activities = _sql(loaded, "SELECT company_id, date, user_id FROM user_activities")
    month = pd.to_datetime(activities["date"]).dt.to_period("M").dt.start_time
    expected = activities.groupby([month, "company_id"])["user_id"].nunique().groupby(level=0).sum()
    with (
        HyperProcess(Telemetry.DO_NOT_SEND_USAGE_DATA_TO_TABLEAU, parameters={"log_config": ""}) as hyper,
        Connection(hyper.endpoint, str(tmp_path / extracts.folder() / extracts.HYPER_FILE)) as conn,
    ):
        rows = conn.execute_list_query(
            'SELECT period_start, SUM(active_users) FROM "Extract"."fct_active_users" WHERE grain = \'month\' '
            "GROUP BY period_start ORDER BY period_start"
        )
    assert [(pd.Timestamp(str(d)), int(n)) for d, n in rows] == list(expected.items())
    parquet = pq.read_table(tmp_path / extracts.folder() / "fct_active_users" / "fct_active_users.parquet")
    assert parquet.schema.field("active_users").metadata[b"aggregation"].startswith(b"distinct people")


def test_a_database_refusal_is_one_line_naming_the_command_never_a_traceback(
    pg_loaded: Warehouse, roles: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    loaded, owner = pg_loaded, roles[0]
    monkeypatch.setenv("PARADIGM_BASE_URL", "demo")
    monkeypatch.setenv("REPORTING_DATABASE_URL", loaded.url)
    assert bi_main(["grant", owner]) == 0
    with loaded.engine.begin() as conn:  # the role owns something: PostgreSQL refuses to drop it
        conn.execute(sa.text(f"CREATE TABLE owned_{owner} (x int)"))
        conn.execute(sa.text(f'ALTER TABLE owned_{owner} OWNER TO "{owner}"'))
    try:
        capsys.readouterr()
        assert bi_main(["revoke", owner, "--drop"]) == 1
        err = capsys.readouterr().err
        assert err.startswith("error: the warehouse refused revoke: ") and "depend" in err
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    finally:
        with loaded.engine.begin() as conn:
            conn.execute(sa.text(f"DROP TABLE owned_{owner}"))
