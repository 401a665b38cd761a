"""End to end as an operator runs it: `make instance` + `dagster dev` (webserver and daemon) on a free port, a
14-day backfill launched through GraphQL by the headless helper, the warehouse checked against an in-process
run of the same range. Instance storage on SQLite, then on PostgreSQL. Then the same from a real browser."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pandas as pd
import pytest
import sqlalchemy as sa
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import sync_playwright

from reporting_assets.assets.kpis import kpi_assets
from reporting_assets.assets.raw import raw_assets
from reporting_assets.backfill import follow
from reporting_assets.backfill import main as backfill
from reporting_assets.warehouse.store import Warehouse
from reporting_assets.warehouse.tables import KPI_TABLES, RAW_TABLES
from reporting_assets_tests.conftest import RunningSimulator
from reporting_assets_tests.helpers import run
from reporting_assets_tests.processes import dagster_dev, graphql

START, END = "2026-02-01", "2026-02-14"
MATERIALIZED = """query($path: [String!]!) { assetOrError(assetKey: {path: $path}) {
  ... on Asset { assetMaterializations(limit: 1000) { partition } } } }"""


@pytest.fixture
def dagster_postgres(postgres_root: str) -> Iterator[str]:
    """A fresh PostgreSQL database for the Dagster instance, dropped afterwards."""
    name = f"dagster_e2e_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(postgres_root, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(postgres_root)
    yield url.set(drivername="postgresql+psycopg2", database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


def _backfill_and_compare(tmp_path: Path, simulator: RunningSimulator, url: str, db: Path, capsys) -> None:
    assert backfill(["--start", START, "--end", END, "--url", url, "--timeout", "600"]) == 0
    printed = capsys.readouterr().out
    assert "launched" in printed and "success" in printed and "failure" not in printed, printed

    expected = Warehouse(url=f"sqlite:///{tmp_path / 'expected.db'}")
    assert run(
        [*raw_assets, *kpi_assets], {"paradigm": simulator.resource(), "warehouse": expected}, START, END
    ).success
    actual = Warehouse(url=f"sqlite:///{db}")
    for table in [*RAW_TABLES.values(), *KPI_TABLES.values()]:
        # Dagster's backfill also refreshes the KPI days after END whose 7-day window reads END: compare the range.
        ignore = [c for c in ("ingested_at",) if c in table.c]
        left = actual.read(table, date(2026, 2, 1), date(2026, 2, 14)).drop(columns=ignore)
        right = expected.read(table).drop(columns=ignore)
        assert len(left) > 0
        pd.testing.assert_frame_equal(left, right, obj=table.name)
    for name in KPI_TABLES:
        data = graphql(url, MATERIALIZED, path=[name])["assetOrError"]["assetMaterializations"]
        assert {m["partition"] for m in data} >= {f"2026-02-{d:02d}" for d in range(1, 15)}, name


def test_a_backfill_launched_through_graphql_fills_the_warehouse(tmp_path, simulator, capsys) -> None:
    with dagster_dev(tmp_path, simulator) as (url, db):
        _backfill_and_compare(tmp_path, simulator, url, db, capsys)


def test_the_same_on_a_postgresql_instance(tmp_path, simulator, dagster_postgres, capsys) -> None:
    with dagster_dev(tmp_path, simulator, DAGSTER_POSTGRES_URL=dagster_postgres) as (url, db):
        _backfill_and_compare(tmp_path, simulator, url, db, capsys)


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's chromium, installed with apt-get when missing (as root); skipped only if that is impossible."""
    path = shutil.which("chromium")
    if not path and os.geteuid() == 0 and shutil.which("apt-get"):
        install = ["apt-get", "install", "-y", "-q", "chromium"]
        if subprocess.run(install, capture_output=True, check=False).returncode:
            subprocess.run(["apt-get", "update", "-q"], capture_output=True, check=False)
            subprocess.run(install, capture_output=True, check=False)
        path = shutil.which("chromium")
    if not path:
        pytest.skip("chromium is not installed and cannot be installed here (needs root and apt-get)")
    return path


def test_a_backfill_launched_from_the_ui_completes(tmp_path, simulator, chromium) -> None:

    first = datetime.now(UTC).date() - timedelta(days=16)  # within the dialog's default "last 90 days"
    days = {first + timedelta(days=i) for i in range(7)}
    start, end = str(min(days)), str(max(days))
    with dagster_dev(tmp_path, simulator) as (url, db):
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            try:
                page.goto(f"{url}/asset-groups/paradigm_raw", wait_until="networkidle")
                with contextlib.suppress(PlaywrightTimeout):  # the first visit may greet with a newsletter dialog
                    page.get_by_role("button", name="Skip").click(timeout=10_000)
                page.get_by_text("paradigm_kpis").first.wait_for()  # the asset graph is drawn
                page.get_by_role("button", name="Materialize all").click()
                box = page.get_by_placeholder("No matching partitions")
                box.fill(f"[{start}...{end}]")
                box.press("Enter")
                page.get_by_text("7 partitions").wait_for()
                page.get_by_role("button", name="Launch backfill").click()
                toast = page.get_by_text("Created backfill")
                toast.wait_for()
                backfill_id = toast.inner_text().split()[-1]
            except Exception:
                page.screenshot(path=str(tmp_path / "failure.png"))
                raise
            finally:
                browser.close()
        with httpx.Client(base_url=url, timeout=30) as client:
            assert follow(client, backfill_id, poll_s=1, timeout_s=600) in ("COMPLETED", "COMPLETED_SUCCESS")
        warehouse = Warehouse(url=f"sqlite:///{db}")
        for table in RAW_TABLES.values():
            assert set(warehouse.read(table)["date"]) == days, table.name
        for table in KPI_TABLES.values():
            assert days <= set(warehouse.read(table)["date"]), table.name
