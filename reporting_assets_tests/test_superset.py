"""The Superset kit against a real Apache Superset (`make superset-env`: its own virtual environment, SQLite
metadata) reading the PostgreSQL warehouse: the bundle imports, every chart's data through the REST API equals the
same figure computed from the warehouse, and the datasets' column descriptions equal the views' comments."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pandas as pd
import pytest
import sqlalchemy as sa

from reporting_assets.bi import kits, superset, views
from reporting_assets.bi.contract import VIEWS
from reporting_assets.warehouse.store import Warehouse

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
def running(
    superset_env: Path, pg_loaded: Warehouse, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[httpx.Client]:
    """Superset with the kit's bundle imported through its REST API (its own copy of the metadata), logged in: one
    server for the module's tests, which only read."""
    tmp_path = tmp_path_factory.mktemp("superset")
    with pg_loaded.engine.connect() as conn:
        schema, comments = views.schema_of(conn), views.comments(conn)
    bundle = tmp_path / "bundle.zip"
    kits.write("superset", bundle, schema, pg_loaded.url, comments=comments)
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
        server.terminate()
        server.wait(timeout=30)


def _listing(client: httpx.Client, kind: str) -> list[dict]:
    return client.get(f"/api/v1/{kind}/", params={"q": json.dumps({"page_size": 100})}).json()["result"]


def _expected(chart: superset.Chart, frame: pd.DataFrame) -> list[tuple]:
    """The chart's figures from the view's rows (pandas, not SQL): parts summed per period or group, then divided."""
    field = next((f for f in VIEWS[chart.view].fields if f.name == chart.metric), None)
    if chart.where:
        column, value = re.fullmatch(r"(\w+) = '(\w+)'", chart.where).groups()
        frame = frame[frame[column] == value]
    if chart.grain:
        keys = pd.to_datetime(frame["date"]).dt.to_period(PERIODS[chart.grain]).dt.start_time
    else:
        keys = frame[chart.groupby[0]]
    if field is None:  # a row count
        sums = frame.groupby(keys).size()
    elif field.ratio:
        parts = frame.groupby(keys)[sorted({*field.ratio.numerator, *field.ratio.denominator})].sum()
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
    for chart in superset.CHARTS:
        saved = client.get(f"/api/v1/chart/{charts[chart.name]}").json()["result"]
        answer = client.post("/api/v1/chart/data", json=json.loads(saved["query_context"]))
        assert answer.status_code == 200, (chart.name, answer.text[:500])
        [result] = answer.json()["result"]
        key = "date" if chart.grain else chart.groupby[0]
        got = [(pd.Timestamp(r[key], unit="ms") if chart.grain else r[key], r[chart.metric]) for r in result["data"]]
        expected = _expected(chart, rows[chart.view])
        if chart.row_limit < len(expected):  # a top N: the largest, each equal to its own sum
            by_key = dict(expected)
            assert len(got) == chart.row_limit and all(by_key[k] == pytest.approx(v) for k, v in got), chart.name
            assert sorted((v for _, v in got), reverse=True) == sorted((v for _, v in expected), reverse=True)[:10]
        else:
            got = sorted((k, None if v is None else round(float(v), 9)) for k, v in got)
            assert got == expected, chart.name
        if chart.name != "Dormant users per company":  # 32 days loaded: nobody has gone dormant yet
            assert got, chart.name


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


def test_the_bundle_never_holds_the_warehouse_password(tmp_path: Path):
    kits.write("superset", tmp_path / "b.zip", "bi", "postgresql+psycopg://reader:s3cret-Pa55@db.example/w")
    with zipfile.ZipFile(tmp_path / "b.zip") as bundle:
        text = "".join(bundle.read(name).decode() for name in bundle.namelist())
    assert "s3cret-Pa55" not in text and "postgresql+psycopg2://reader@db.example/w" in text
