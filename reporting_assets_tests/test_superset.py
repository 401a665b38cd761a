"""The Superset kit against a real Apache Superset (`make superset-env`: its own virtual environment, SQLite
metadata) reading the PostgreSQL warehouse as a contract reader: the bundle imports, every chart's data through the
REST API equals the same figure computed from the warehouse (people and members per month from the per-user rows
and the members snapshots, not from the contract), no chart shows a period in progress, SQL Lab is off, and the
datasets' column descriptions equal the views' comments."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import uuid
import zipfile
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import httpx
import pandas as pd
import pytest
import sqlalchemy as sa

from reporting_assets.bi import access, kits, superset, views
from reporting_assets.bi.contract import VIEWS
from reporting_assets.custom_kpis.definition import EXAMPLE_KPIS, NO_KPIS
from reporting_assets.custom_kpis.definition import load as load_kpis
from reporting_assets.warehouse.store import Warehouse
from reporting_assets.warehouse.tables import custom_kpis
from reporting_assets_tests.processes import stop

pytestmark = [pytest.mark.xdist_group("bi"), pytest.mark.slow(1)]

CONFIG = Path(__file__).parents[1] / "deploy" / "superset_config.py"
SUPERSET_ENV = Path(
    os.environ.get("REPORTING_TEST_SUPERSET_ENV")
    or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "paradigm-reporting" / "superset-6.1.0"
)
PERIODS = {"P1D": "D", "P1W": "W-SUN", "P1M": "M"}  # Superset's time grains as pandas periods (weeks from Monday)


@pytest.fixture(scope="session")
def superset_env() -> Path:
    if not (SUPERSET_ENV / "template.db").is_file():
        message = f"Apache Superset is not installed in {SUPERSET_ENV} (`make superset-env`)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message}; under CI, .ci/run installs it and the Superset test must run", pytrace=False)
        pytest.skip(message)
    return SUPERSET_ENV


@pytest.fixture(scope="module")
def pg_loaded(bi_warehouses, postgres_root: str) -> Warehouse:
    return bi_warehouses("postgres", postgres_root)


@pytest.fixture(scope="module")
def reader(pg_loaded: Warehouse) -> Iterator[str]:
    """A reader of every company, what the kit connects as (roles belong to the cluster: one of the module's own)."""
    role = f"bi_superset_{uuid.uuid4().hex[:8]}"
    with pg_loaded.engine.begin() as conn:
        access.grant(conn, role, company_id=None, user_lists=True)
    yield role
    with pg_loaded.engine.begin() as conn:
        access.revoke(conn, role, drop=True)


@pytest.fixture(scope="module")
def running(
    superset_env: Path, pg_loaded: Warehouse, reader: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[httpx.Client]:
    """Superset with the kit's bundle imported through its REST API (its own copy of the metadata), logged in: one
    server for the module's tests, which only read."""
    tmp_path = tmp_path_factory.mktemp("superset")
    with pg_loaded.engine.connect() as conn:
        schema, comments = views.schema_of(conn), views.comments(conn)
    bundle = tmp_path / "bundle.zip"
    kits.write("superset", bundle, schema, pg_loaded.url, True, comments, reader, load_kpis(EXAMPLE_KPIS))
    shutil.copy(superset_env / "template.db", tmp_path / "superset.db")
    env = {
        **os.environ,
        "SUPERSET_CONFIG_PATH": str(CONFIG),
        "SUPERSET_METADATA_DB": str(tmp_path / "superset.db"),
        "SUPERSET_LOG_LEVEL": "warning",
    }
    server = subprocess.Popen(
        [str(superset_env / "bin" / "superset"), "run", "-h", "127.0.0.1", "-p", "0", "--with-threads"],
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        start_new_session=True,  # its workers go with it
    )
    try:
        url = None
        for line in server.stderr:  # Flask says where it listens once it does
            found = re.search(r"Running on (http://127\.0\.0\.1:\d+)", line)
            if found:
                url = found.group(1)
                break
        assert url, "Superset stopped before listening"
        with httpx.Client(base_url=url, timeout=60) as client:
            login = {"username": "admin", "password": "admin", "provider": "db"}
            token = client.post("/api/v1/security/login", json=login).raise_for_status().json()["access_token"]
            client.headers["Authorization"] = f"Bearer {token}"
            # what `superset import-dashboards -p FILE` does, through the REST API (one Superset process, not two)
            files = {"formData": ("bundle.zip", bundle.read_bytes(), "application/zip")}
            imported = client.post("/api/v1/dashboard/import/", files=files, data={"overwrite": "true"})
            assert imported.status_code == 200, imported.text[:500]
            yield client
    finally:
        stop(server, timeout_s=15)


def _listing(client: httpx.Client, kind: str) -> list[dict]:
    return client.get(f"/api/v1/{kind}/", params={"q": json.dumps({"page_size": 100})}).json()["result"]


def _in_progress(chart: superset.Chart, day: date) -> pd.Timestamp:
    """The start of the period of `chart`'s grain holding `day`."""
    return pd.Timestamp(day).to_period(PERIODS[chart.grain or "P1D"]).start_time


def _people_and_members(warehouse: Warehouse, last_loaded: date) -> pd.DataFrame:
    """Per whole month, from the warehouse's own rows (not the contract): the distinct people active, and each
    company's members on the month's last snapshot, summed over companies."""
    with warehouse.engine.connect() as conn:
        activities = pd.read_sql(sa.text("SELECT company_id, date, user_id FROM user_activities"), conn)
        members = pd.read_sql(sa.text("SELECT company_id, date, current_active_members FROM company_members"), conn)
    out = {}
    for name, frame in (("active_users", activities), ("members", members)):
        frame["month"] = pd.to_datetime(frame["date"]).dt.to_period("M").dt.start_time
        if name == "active_users":
            per_company = frame.groupby(["month", "company_id"])["user_id"].nunique()
        else:
            per_company = frame.sort_values("date").groupby(["month", "company_id"])["current_active_members"].last()
        out[name] = per_company.groupby(level="month").sum()
    months = pd.DataFrame(out)
    months["adoption_rate"] = months["active_users"] / months["members"]
    return months[months.index < _in_progress(superset.CHARTS[1], last_loaded + timedelta(days=1))]


def _expected(chart: superset.Chart, frame: pd.DataFrame, months: pd.DataFrame, last_loaded: date) -> list[tuple]:
    """The chart's figures from the view's rows (pandas, not SQL): parts summed per period or group, then divided;
    people and members per month from `months`; a period in progress left out."""
    if VIEWS[chart.view].periodic:
        return sorted((k, round(float(v), 9)) for k, v in months[chart.metric].items())
    field = next((f for f in VIEWS[chart.view].fields if f.name == chart.metric), None)
    if chart.where:
        column, value = re.fullmatch(r"(\w+) = '(\w+)'", chart.where).groups()
        frame = frame[frame[column] == value]
    if chart.grain:
        keys = pd.to_datetime(frame["date"]).dt.to_period(PERIODS[chart.grain]).dt.start_time
        over = keys < _in_progress(chart, date.today())  # the calendar's period in progress left out
        frame, keys = frame[over], keys[over]
    else:
        keys = frame[chart.groupby[0]]
    if field is None:  # a row count
        sums = frame.groupby(keys).size()
    elif field.ratio:
        known = frame[field.ratio.parts].notna().all(axis=1)
        parts = frame[known].groupby(keys[known])[field.ratio.parts].sum()
        sums = field.ratio.of(parts)
    else:
        sums = frame.groupby(keys)[field.name].sum()
    return sorted((k, None if pd.isna(v) else round(float(v), 9)) for k, v in sums.items())


def test_the_superset_bundle_imports_and_every_chart_equals_the_warehouse(running: httpx.Client, pg_loaded: Warehouse):
    client = running
    charts = {c["slice_name"]: c["id"] for c in _listing(client, "chart")}
    assert set(charts) == {c.name for c in superset.CHARTS}
    [dashboard] = [d for d in _listing(client, "dashboard") if d["dashboard_title"] == superset.DASHBOARD_TITLE]
    on_dashboard = client.get(f"/api/v1/dashboard/{dashboard['id']}/charts").json()["result"]
    assert {c["slice_name"] for c in on_dashboard} == set(charts)
    with pg_loaded.engine.connect() as conn:
        schema = views.schema_of(conn)
        rows = {
            v: pd.read_sql(sa.text(f"SELECT * FROM {views.qualified(conn, VIEWS[v], schema)}"), conn)
            for v in {c.view for c in superset.CHARTS}
        }
        last_loaded = conn.execute(sa.text("SELECT MAX(date) FROM load_log WHERE asset = 'chat_sessions'")).scalar()
    months = _people_and_members(pg_loaded, last_loaded)
    assert len(months) == 1 and months["active_users"].iloc[0] > 0  # January, whole; February in progress
    for chart in superset.CHARTS:
        saved = client.get(f"/api/v1/chart/{charts[chart.name]}").json()["result"]
        answer = client.post("/api/v1/chart/data", json=json.loads(saved["query_context"]))
        assert answer.status_code == 200, (chart.name, answer.text[:500])
        [result] = answer.json()["result"]
        key = chart.time_column if chart.grain else chart.groupby[0]
        got = [(pd.Timestamp(r[key], unit="ms") if chart.grain else r[key], r[chart.metric]) for r in result["data"]]
        expected = _expected(chart, rows[chart.view], months, last_loaded)
        if chart.row_limit < len(expected):  # a top N: the largest, each equal to its own sum
            by_key = dict(expected)
            assert len(got) == chart.row_limit and all(by_key[k] == pytest.approx(v) for k, v in got), chart.name
            assert sorted((v for _, v in got), reverse=True) == sorted((v for _, v in expected), reverse=True)[:10]
        else:
            got = sorted((k, None if v is None else round(float(v), 9)) for k, v in got)
            assert got == expected, chart.name
        if chart.name != "Dormant users per company":  # 32 days loaded: nobody has gone dormant yet
            assert got, chart.name


def test_each_custom_kpi_s_metric_equals_its_parts_summed_from_the_table(running: httpx.Client, pg_loaded: Warehouse):
    """The kit written with the example KPI file: each KPI's metric, asked of Superset per company over every day,
    equals the KPI's numerators summed (a ratio: divided by its denominators summed), from `custom_kpis`; a KPI per
    active user or per level is NULL over several days (people and levels are never summed over days)."""
    file = load_kpis(EXAMPLE_KPIS)
    [dataset] = [d for d in _listing(running, "dataset") if d["table_name"] == "fct_custom_kpi"]
    metrics = [f"kpi_{k.name}" for k in file.kpis]
    query = {"columns": ["company_id"], "metrics": metrics, "row_limit": 1000, "orderby": [], "filters": []}
    payload = {"datasource": {"id": dataset["id"], "type": "table"}, "queries": [query], "result_format": "json",
               "result_type": "full", "force": True}  # fmt: skip
    answer = running.post("/api/v1/chart/data", json=payload)
    assert answer.status_code == 200, answer.text[:500]
    got = pd.DataFrame(answer.json()["result"][0]["data"]).set_index("company_id").sort_index()
    rows = pg_loaded.read(custom_kpis)
    sums = rows.groupby(["kpi", "company_id"])[["numerator", "denominator"]].sum(min_count=1)
    assert len(got) == rows["company_id"].nunique() > 3
    for kpi in file.kpis:
        mine = sums.loc[kpi.name]
        expected = mine["numerator"] if kpi.denominator is None else mine["numerator"] / mine["denominator"]
        expected = expected if kpi.additive else expected * float("nan")
        pd.testing.assert_series_equal(
            got[f"kpi_{kpi.name}"].astype(float), expected.astype(float).sort_index(), check_names=False, rtol=1e-9
        )


def test_no_chart_by_week_or_month_draws_the_period_in_progress(running: httpx.Client, pg_loaded: Warehouse):
    """A day of today (whichever it is) with a million sessions: no weekly or monthly chart draws its period."""
    charts = {c["slice_name"]: c["id"] for c in _listing(running, "chart")}
    today = date.today()
    row = {"d": today, "c": 101, "n": "today's row", "s": 1_000_000}
    insert = "INSERT INTO adoption_satisfaction (date, company_id, company_name, sessions_count) VALUES (:d,:c,:n,:s)"
    with pg_loaded.engine.begin() as conn:
        conn.execute(sa.text(insert), row)
    try:
        for chart in superset.CHARTS:
            if chart.grain not in ("P1W", "P1M"):
                continue
            saved = running.get(f"/api/v1/chart/{charts[chart.name]}").json()["result"]
            [result] = running.post("/api/v1/chart/data", json=json.loads(saved["query_context"])).json()["result"]
            drawn = [pd.Timestamp(r[chart.time_column], unit="ms") for r in result["data"]]
            assert drawn and max(drawn) < _in_progress(chart, date.today()), chart.name  # after the query
            if _in_progress(chart, today) == _in_progress(chart, date.today()):  # the row's period is still going
                assert all(r[chart.metric] is None or r[chart.metric] < 1_000_000 for r in result["data"])
    finally:
        with pg_loaded.engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM adoption_satisfaction WHERE date = :d AND company_id = :c"), row)


def test_superset_datasets_describe_every_column_as_the_views_comment_it(running: httpx.Client, pg_loaded: Warehouse):
    datasets = {d["table_name"]: d["id"] for d in _listing(running, "dataset")}
    assert set(datasets) == set(VIEWS)
    with pg_loaded.engine.connect() as conn:
        schema = views.schema_of(conn)
        inspector = sa.inspect(conn)
        for name, dataset_id in datasets.items():
            described = running.get(f"/api/v1/dataset/{dataset_id}").json()["result"]
            comments = {c["name"]: c["comment"] for c in inspector.get_columns(name, schema=schema)}
            assert {c["column_name"]: c["description"] for c in described["columns"]} == comments
            assert described["schema"] == schema


def test_superset_connects_as_the_reader_with_sql_lab_off(running: httpx.Client, reader: str):
    [database] = running.get("/api/v1/database/").json()["result"]
    assert database["expose_in_sqllab"] is False
    uri = running.get(f"/api/v1/database/{database['id']}/connection").json()["result"]["sqlalchemy_uri"]
    assert f"//{reader}@" in uri and "postgres@" not in uri


def test_the_bundle_connects_as_the_reader_and_never_holds_a_password(tmp_path: Path):
    url = "postgresql+psycopg://owner:s3cret-Pa55@db.example/w"
    kits.write("superset", tmp_path / "b.zip", "bi", url, True, None, "acme_reader", NO_KPIS)
    with zipfile.ZipFile(tmp_path / "b.zip") as bundle:
        text = "".join(bundle.read(name).decode() for name in bundle.namelist())
    assert "s3cret-Pa55" not in text and "owner" not in text
    assert "postgresql+psycopg2://acme_reader@db.example/w" in text and "expose_in_sqllab: false" in text
    with pytest.raises(ValueError, match="reader"):
        kits.write("superset", tmp_path / "c.zip", "bi", url, True, None, None, NO_KPIS)
