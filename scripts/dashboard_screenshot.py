"""The README's dashboard screenshot (`docs/dashboard.png`): the demo's last 180 days but three, rendered, then
shot in Debian's chromium (`make browser`). `python scripts/dashboard_screenshot.py [--out PATH]`"""

from __future__ import annotations

import argparse
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from dagster import DagsterInstance, materialize

from reporting_assets.assets.kpis import build_kpi_assets
from reporting_assets.assets.partitions import build_partitions
from reporting_assets.assets.raw import build_raw_assets
from reporting_assets.assets.schedules import RANGE_END_TAG, RANGE_START_TAG
from reporting_assets.custom_kpis.definition import NO_KPIS
from reporting_assets.definitions import build_definitions
from reporting_assets.i18n import ENGLISH
from reporting_assets.reports.dashboard import render
from reporting_assets.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "dashboard.png")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.load(paradigm_base_url="demo", dagster_home=Path(tmp))
        defs = build_definitions(settings)
        partitions = build_partitions(settings.paradigm_start_date)
        assets = [*build_raw_assets(partitions), *build_kpi_assets(partitions, 500)]
        yesterday = datetime.now(UTC).date() - timedelta(days=1)
        gap = yesterday - timedelta(days=40)  # three days never loaded: they show as gaps
        for start, end in ((yesterday - timedelta(days=180), gap - timedelta(days=1)), (gap + timedelta(3), yesterday)):
            tags = {RANGE_START_TAG: str(start), RANGE_END_TAG: str(end)}
            result = materialize(assets, resources=defs.resources, tags=tags, instance=DagsterInstance.ephemeral())
            if not result.success:
                raise SystemExit(f"the demo load of {start}..{end} failed")
        page = Path(tmp) / "usage_dashboard.html"
        warehouse = defs.resources["warehouse"]
        page.write_text(
            render(warehouse.engine, datetime.now(UTC), user_lists=True, lang=ENGLISH, kpis=NO_KPIS).html,
            encoding="utf-8",
        )

        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
            view = browser.new_context(offline=True, viewport={"width": 1100, "height": 1300}).new_page()
            view.goto(page.as_uri())
            view.wait_for_selector("body[data-ready=true]")
            view.screenshot(path=str(args.out))
            browser.close()
    print(f"dashboard screenshot: {args.out}")


if __name__ == "__main__":
    main()
