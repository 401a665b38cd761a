"""Part 7: an instance admin's reports over years x hundreds of companies: the dashboard (render, memory, size,
drawing in chromium, a reader's walk through it in English and French), the same dashboard over thousands of
companies, the digest, the BI contract and its extracts."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scripts.bench.common import ROOT

if TYPE_CHECKING:
    from sqlalchemy import Engine


RENDER = """
import json, sys, time
from datetime import UTC, datetime
from pathlib import Path
from reporting_assets.custom_kpis.definition import NO_KPIS, load
from reporting_assets.i18n import Language
from reporting_assets.reports.dashboard import render
from reporting_assets.warehouse.store import Warehouse
t0 = time.perf_counter()
kpis = load(Path(sys.argv[4])) if len(sys.argv) > 4 else NO_KPIS
html = render(Warehouse(url=sys.argv[1]).engine, datetime.now(UTC), True, Language(sys.argv[3]), kpis).html
open(sys.argv[2], "w", encoding="utf-8").write(html)
wall = time.perf_counter() - t0
peak = next(line for line in open("/proc/self/status") if line.startswith("VmHWM"))  # this process alone
print(json.dumps({"wall_s": round(wall, 1), "rss_mb": round(int(peak.split()[1]) / 1e3)}))
"""


BI = """
import json, sys, time
from reporting_assets.bi.extracts import write_extracts
from reporting_assets.bi.publish import publish
from reporting_assets.warehouse.store import Warehouse
t0 = time.perf_counter()
engine = Warehouse(url=sys.argv[1]).engine
publish(engine, True, None)
published = time.perf_counter() - t0
written = write_extracts(engine, sys.argv[2], user_lists=True)
wall = time.perf_counter() - t0
peak = next(line for line in open("/proc/self/status") if line.startswith("VmHWM"))  # Python's; hyperd aside
rows = {e.view: e.rows for e in written if e.view != "*"}
out = {"publish_s": round(published, 2), "wall_s": round(wall, 1), "rss_mb": round(int(peak.split()[1]) / 1e3)}
print(json.dumps({**out, "rows": rows, "hyper": len(written) > len(rows)}))
"""


INSTANCE_USERS, INSTANCE_USER_DAYS = 150, 120


def big_instance(base: Path, days: int, companies: int, wide: tuple[int, int]) -> dict[str, Any]:
    """Part 7: the dashboard and the digest of `days` x `companies` of KPI history, with `INSTANCE_USERS` users a
    company over its last `INSTANCE_USER_DAYS` days (the Users section at its bound: more users than it lists),
    walked through in English and French; and the dashboard of `wide` (days, companies) of KPIs alone."""
    sys.path.insert(0, str(ROOT))
    from dagster import DagsterInstance, materialize

    from reporting_assets.assets.users import build_user_assets
    from reporting_assets.custom_kpis.definition import NO_KPIS
    from reporting_assets.i18n import ENGLISH
    from reporting_assets.reports.digest import compose, last_complete_week
    from reporting_assets.warehouse.store import Warehouse
    from reporting_assets.warehouse.tables import KPI_TABLES, user_activities
    from reporting_assets_tests.synthetic import write_instance, write_users

    url, page = f"sqlite:///{base / 'instance.db'}", base / "usage_dashboard.html"
    start = date(2026, 1, 1) - timedelta(days=days)
    warehouse = Warehouse(url=url)
    write_instance(warehouse, start, days, companies, resources=3)
    user_days = min(days, INSTANCE_USER_DAYS)
    write_users(warehouse, start + timedelta(days=days - user_days), user_days, companies, INSTANCE_USERS)
    per_user = build_user_assets(500)
    materialize(per_user, resources={"warehouse": warehouse}, instance=DagsterInstance.ephemeral())
    out: dict[str, Any] = {"days": days, "companies": companies, "users": companies * INSTANCE_USERS}
    out["rows"] = {name: warehouse.count(table) for name, table in KPI_TABLES.items()}
    out["user_rows"] = warehouse.count(user_activities)
    out["dashboard"] = {**render(url, page), **_in_chromium(page, "en")}
    french = base / "usage_dashboard_fr.html"
    out["dashboard_fr"] = {**render(url, french, "fr"), **_in_chromium(french, "fr")}
    digest = compose(warehouse.engine, last_complete_week(datetime(2026, 1, 1, tzinfo=UTC)), None, ENGLISH, NO_KPIS)
    out["digest_chars"] = len(digest.title) + len(digest.body)
    # the BI contract published and its extracts (Parquet, Tableau) written, in a process of their own
    raw_resources(warehouse.engine)
    child = subprocess.run(
        [sys.executable, "-c", BI, url, str(base / "bi")], capture_output=True, text=True, check=True
    )
    out["bi"] = json.loads(child.stdout)
    warehouse.engine.dispose()
    wide_days, wide_companies = wide
    wide_url = f"sqlite:///{base / 'wide.db'}"
    wide_warehouse = Warehouse(url=wide_url)
    write_instance(wide_warehouse, date(2026, 1, 1) - timedelta(days=wide_days), wide_days, wide_companies, resources=3)
    wide_warehouse.engine.dispose()
    out["wide"] = {"days": wide_days, "companies": wide_companies, **render(wide_url, base / "wide.html")}
    return out


def raw_resources(engine: Engine) -> None:
    """The raw tools and documents the BI contract reads, as the synthetic `resource_usage` has them."""
    with engine.begin() as conn:
        for table, columns, kind in (
            ("tools_usage", "tool_name", "tool"),
            ("used_documents", "document_id, document_title, document_filename", "document"),
        ):
            values = "resource_id" if kind == "tool" else "CAST(resource_id AS INTEGER), resource_name, resource_name"
            conn.exec_driver_sql(
                f"INSERT INTO {table} (date, company_id, company_name, ingested_at, {columns}, usage_count) "
                f"SELECT date, company_id, company_name, '2026-01-01 00:00:00', {values}, usage_count "
                f"FROM resource_usage WHERE resource_type = '{kind}'"
            )


def render(url: str, page: Path, code: str = "en", kpis: Path | None = None) -> dict[str, Any]:
    """The dashboard of the warehouse at `url` written to `page` in a process of its own, with the KPI file `kpis`
    if any: wall, peak RSS, file."""
    command = [sys.executable, "-c", RENDER, url, str(page), code, *([str(kpis)] if kpis else [])]
    child = subprocess.run(command, capture_output=True, text=True, check=True)
    return {**json.loads(child.stdout), "mb": round(page.stat().st_size / 1e6, 2)}


def _in_chromium(page: Path, code: str) -> dict[str, Any]:
    """Seconds from opening `page` offline in chromium to its charts drawn, and a reader's walk through it
    (`page_walk`: each step checked against the page's model, and timed); "failed" says which check failed."""
    chromium = shutil.which("chromium")
    if not chromium:
        return {"drawn_s": "skipped: no chromium (`make browser`)"}
    from playwright.sync_api import sync_playwright

    from reporting_assets_tests.page_walk import walk

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        view = browser.new_context(offline=True).new_page()
        t0 = time.perf_counter()
        view.goto(page.as_uri())
        view.wait_for_selector("body[data-ready=true]", timeout=60_000)
        drawn = round(time.perf_counter() - t0, 2)
        try:
            walked = walk(view, code)
            steps: dict[str, Any] = {"seconds": walked.seconds, "views": walked.views, "pdf_pages": walked.pdf_pages}
        except AssertionError as failed:
            steps = {"failed": f"{failed!r}"[:500]}
        browser.close()
    return {"drawn_s": drawn, "walk": steps}
