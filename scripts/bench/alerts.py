"""Part 6: the alert sensor's ticks over years of KPI history, the first one and the daily one."""

from __future__ import annotations

import logging
import shutil
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from scripts.bench.common import (
    ROOT,
)


def kpi_history(url: str, start: date, days: int, companies: int) -> None:
    """`days` x `companies` of adoption_satisfaction rows (random, plausible) and their ledger entries."""
    import numpy as np
    import pandas as pd

    from reporting_assets.warehouse import ledger
    from reporting_assets.warehouse.store import Warehouse
    from reporting_assets.warehouse.tables import adoption_satisfaction as table

    rng = np.random.default_rng(7)
    dates = pd.date_range(start, periods=days, freq="D").date
    frame = pd.DataFrame(
        {"date": np.tile(dates, companies), "company_id": np.repeat(np.arange(1, companies + 1), days)}
    )
    frame["company_name"] = "Company " + frame["company_id"].astype(str)
    for column in table.columns:
        if column.name not in frame:
            frame[column.name] = rng.integers(0, 500, len(frame))
    frame["satisfaction_rate"] = frame["satisfaction_rate_7d"] = rng.uniform(0.4, 1.0, len(frame))
    frame[["feedback_rate", "queries_per_session"]] = rng.uniform(0.0, 3.0, (len(frame), 2))
    days_frame = pd.DataFrame({"date": dates, "company_scope": None, "rows": companies})
    warehouse = Warehouse(url=url)
    end = dates[-1]
    warehouse.replace(table, start, end, frame, loaded=ledger.entries(table.name, days_frame, "bench"))
    warehouse.engine.dispose()


def alert_history(base: Path, years: int, companies: int) -> dict[str, Any]:
    """Part 6: `kpi_alerts` ticks over `years` x `companies` of KPI history: the first one (every partition new
    to it) and the daily one (one new partition), with the project's default rules."""
    from dagster import AssetMaterialization, DagsterInstance, build_sensor_context

    from reporting_assets.alerts.notify import Notifier
    from reporting_assets.alerts.rules import load_rules
    from reporting_assets.alerts.sensors import build_alert_sensor
    from reporting_assets.custom_kpis.definition import NO_KPIS
    from reporting_assets.i18n import ENGLISH
    from reporting_assets.settings import DEFAULT_RULES_PATH
    from reporting_assets.warehouse.store import Warehouse

    logging.getLogger("dagster").setLevel(logging.WARNING)  # one line per alert episode otherwise
    days, start = 365 * years, date(2023, 1, 1)
    url, home = f"sqlite:///{base / 'alerts.db'}", base / "alerts_home"
    home.mkdir()
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    kpi_history(url, start, days, companies)
    rules = load_rules(DEFAULT_RULES_PATH, NO_KPIS)
    sensor = build_alert_sensor(rules, lang=ENGLISH, interval_s=60)
    resources = {"warehouse": Warehouse(url=url), "notifier": Notifier()}
    out: dict[str, Any] = {"years": years, "companies": companies, "kpi_rows": days * companies}
    with DagsterInstance.from_config(str(home)) as instance:
        cursor = None
        for tick, day in (("first_tick_s", start), ("daily_tick_s", start + timedelta(days=days - 1))):
            for asset in {rule.asset for rule in rules.rules}:
                instance.report_runless_asset_event(AssetMaterialization(asset, partition=day.isoformat()))
            context = build_sensor_context(instance=instance, resources=resources, cursor=cursor)
            t0 = time.perf_counter()
            outcome = sensor(context)
            out[tick] = round(time.perf_counter() - t0, 2)
            out[tick.replace("_s", "_outcome")] = outcome.skip_reason.skip_message
            cursor = context.cursor
    return out
