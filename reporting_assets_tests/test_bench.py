"""`make bench` keeps working: the benchmark at a tiny size. No figure is asserted (it is not a timed test),
only that every part ran on what it claims to measure."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, timedelta

from reporting_assets.paradigm.endpoints import ENDPOINTS
from reporting_assets.simulator.data import DEFAULT_COMPANIES, company_day

from .processes import ROOT


def test_the_bench_measures_every_part(tmp_path, postgres_root):
    out, days, per_day = tmp_path / "bench.json", 3, 5
    command = [sys.executable, "-W", "ignore", str(ROOT / "scripts" / "bench.py"), "--out", str(out)]
    command += ["--days", str(days), "--single-days", "2", "--docs-per-day", str(per_day)]
    command += ["--postgres-url", postgres_root]
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True, timeout=900)
    results = json.loads(out.read_text())

    year = results["year"]["project"]
    assert year["api_requests"] == {e.slug: 1 for e in ENDPOINTS.values()}
    active = [company_day(7, c, date(2025, 1, 1) + timedelta(days=i)) for c in DEFAULT_COMPANIES for i in range(days)]
    assert year["rows"]["chat_sessions"] == sum(a is not None for a in active)
    assert year["rows"]["adoption_satisfaction"] > 0
    assert results["year"]["floor"]["wall_s"] > 0
    assert results["single_vs_ranged"]["days"] == 2
    assert results["ingest"]["sqlite"]["rows"] == results["ingest"]["postgres"]["rows"] == 3 * days * per_day
    assert results["sensor"]["outcome"].startswith("evaluated adoption_satisfaction from 2025-01-01")
    assert results["import_s"] > 0
    assert len(results["targets"]) == 7
