"""`make bench` keeps working: the benchmark at a tiny size, in two halves that run side by side. No figure is
asserted (it is not a timed test), only that every part ran on what it claims to measure."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from reporting_assets.paradigm.endpoints import ENDPOINTS
from reporting_assets.simulator.data import DEFAULT_COMPANIES, Company, company_day
from reporting_assets_tests.processes import ROOT

pytestmark = pytest.mark.slow(minutes=2)
DAYS = 3


def _targets_of(parts: set[str]) -> set[str]:
    """The targets the bench checks when only `parts` of its results are there (its own TARGETS table)."""
    from scripts.bench.targets import TARGETS

    return {name for name, (part, _, _) in TARGETS.items() if part in parts}


def _bench(tmp_path: Path, *args: str) -> dict:
    out = tmp_path / "bench.json"
    command = [sys.executable, "-W", "ignore", "-m", "scripts.bench", "--out", str(out), *args]
    command += ["--executor", "in_process"]  # a process a run, not a step: the suite's time, not the bench's figures
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True, timeout=900)
    return json.loads(out.read_text())


def test_the_bench_measures_the_demo_year_ingest_and_load(tmp_path, postgres_root) -> None:
    per_day = 5
    results = _bench(
        tmp_path,
        # part 2 (single-partition runs vs one ranged run) is left out: the two runs of part 1 cost the suite enough
        *("--parts", "import,year,ingest", "--days", str(DAYS), "--import-repeat", "1"),
        *("--docs-per-day", str(per_day), "--postgres-url", postgres_root),
    )
    year = results["year"]["project"]
    # company_members is only snapshotted for recent days: a 2025 range does not ask for it
    # one day first (rows per day unknown), then one window for the other days
    assert year["api_requests"] == {e.slug: 2 for e in ENDPOINTS.values() if not e.snapshot}
    assert 0.5 < year["dashboard"]["mb"] < 5  # the Vega runtime inlined, and the range's figures
    active = [company_day(7, c, date(2025, 1, 1) + timedelta(days=i)) for c in DEFAULT_COMPANIES for i in range(DAYS)]
    assert year["rows"]["chat_sessions"] == sum(a is not None for a in active)
    assert year["rows"]["adoption_satisfaction"] > 0
    assert results["year"]["floor"]["wall_s"] > 0
    assert results["ingest"]["sqlite"]["rows"] == results["ingest"]["postgres"]["rows"] == 3 * DAYS * per_day
    assert results["sensor"]["outcome"].startswith("evaluated adoption_satisfaction from 2025-01-01")
    assert results["import_s"] > 0
    checked = {name for name, verdict in results["targets"].items() if verdict is not None}
    assert checked == _targets_of({"year", "import_s", "ingest", "sensor"})  # not the other half's, part 2, Celery


def test_the_bench_measures_a_large_tenant_alert_ticks_and_an_instances_reports(tmp_path) -> None:
    users, documents = 40, 20
    results = _bench(
        tmp_path,
        *("--parts", "large,alerts,instance,users,custom_kpis", "--large-users", str(users)),
        *("--large-documents", str(documents), "--kpi-days", "10", "--kpi-companies", "3", "--kpi-count", "4"),
        *("--user-days", str(DAYS), "--user-repeat", "1"),
        *("--large-days", str(DAYS), "--alert-years", "1", "--alert-companies", "3"),
        *("--instance-days", "20", "--instance-companies", "3", "--wide-days", "5", "--wide-companies", "30"),
    )
    large = results["large"]
    assert large["days"] == [DAYS] and set(large) >= {f"{DAYS}d_in_process"}
    company = Company(201, "BigCo", users=users, documents=documents)
    activity = [company_day(7, company, date(2025, 1, 1) + timedelta(days=i)) for i in range(DAYS)]
    run = large[f"{DAYS}d_in_process"]
    assert run["rows"]["user_activities"] == sum(len(a["users"]) for a in activity if a)
    assert run["rows"]["resource_usage"] > 0 and run["rss_max_process_mb"] > 0
    alerts = results["alerts"]
    assert alerts["kpi_rows"] == 365 * 3
    assert alerts["first_tick_outcome"].startswith("evaluated adoption_satisfaction from 2023-01-01")
    assert alerts["daily_tick_outcome"].startswith("evaluated adoption_satisfaction from 2023-12-31")
    instance = results["instance"]
    assert instance["rows"]["adoption_satisfaction"] == 20 * 3 and instance["dashboard"]["mb"] > 0.5
    assert instance["dashboard"]["rss_mb"] > 0 and instance["digest_chars"] > 0
    for dashboard in (instance["dashboard"], instance["dashboard_fr"]):  # walked through: every check passed
        assert dashboard["walk"]["views"] == 10 and dashboard["walk"]["pdf_pages"] >= 2, dashboard["walk"]
    assert "language" in instance["dashboard_fr"]["walk"]["seconds"] and instance["wide"]["companies"] == 30
    bi = instance["bi"]  # the BI contract over the same warehouse: a row per company and day, and Tableau's extract
    assert bi["rows"]["fct_daily_usage"] == 20 * 3 and bi["rows"]["dim_company"] == 3 and bi["hyper"]
    per_user = results["users"]
    assert per_user["rows"]["user_activities"] == sum(len(a["users"]) for a in activity if a)
    assert per_user["rows"]["user_engagement"] == len({u["user_id"] for a in activity if a for u in a["users"]})
    assert per_user["rows"]["retention_cohorts"] == 1  # one company, one month: its first cohort
    assert per_user["per_user_assets"]["rss_max_process_mb"] > 0 and per_user["raw_ids"]["run_s"] > 0
    kpis = results["custom_kpis"]  # every company, day and KPI of the synthetic history
    assert kpis["rows"] == 10 * 3 * 4 and kpis["rss_max_process_mb"] > 0
    assert kpis["dashboard"]["with"]["mb"] > kpis["dashboard"]["without"]["mb"]  # the section holds the KPIs
    checked = {name for name, verdict in results["targets"].items() if verdict is not None}
    assert checked == _targets_of({"large", "alerts", "instance", "users", "custom_kpis"})
