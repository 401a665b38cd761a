"""KPI assets compute their range in chunks of days and of companies (bounded memory): chunked equals one computation
over the whole range, whatever the range, the chunk size, the company ranges and where the chunk edges fall against
the trailing windows and ledger gaps."""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest

from reporting_assets.assets import kpis
from reporting_assets.assets.kpis import KPIS, Kpi, Plan, chunks
from reporting_assets.paradigm.endpoints import ENDPOINTS
from reporting_assets.warehouse import ledger
from reporting_assets.warehouse.company_ranges import EVERY_COMPANY
from reporting_assets.warehouse.store import Warehouse
from reporting_assets_tests.conftest import serving_simulator

FIRST, LAST = date(2025, 1, 1), date(2025, 4, 30)
# Loaded for every company, a gap of 4 days, then one company alone: ledger edges for the chunks to cross.
LOADS = [(date(2025, 1, 1), date(2025, 2, 9), None), (date(2025, 2, 14), date(2025, 4, 30), None)]
LOADS += [(date(2025, 2, 10), date(2025, 2, 12), 102)]


@pytest.fixture(scope="module")
def loaded_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    warehouse = Warehouse(url=f"sqlite:///{Path(tmp_path_factory.mktemp('chunks')) / 'w.db'}")
    with serving_simulator() as simulator:
        for start, end, company in LOADS:
            paradigm = simulator.resource(company_id=company)
            for endpoint in ENDPOINTS.values():
                frame = paradigm.fetch(endpoint, start, end).frame.assign(ingested_at=pd.Timestamp.now(tz="UTC"))
                loaded = ledger.entries(endpoint.name, ledger.day_counts(frame, start, end, company), "test")
                warehouse.replace(endpoint.table, start, end, frame, company, loaded)
    return warehouse


def _computed(
    kpi: Kpi, warehouse: Warehouse, start: date, end: date, planned: Plan
) -> tuple[pd.DataFrame, pd.DataFrame]:
    columns = [c.name for c in kpi.table.columns]
    parts = list(chunks(kpi, warehouse, start, end, columns, planned=planned))
    assert [entries is None for _, entries in parts] == [i % len(planned.companies) < len(planned.companies) - 1
                                                         for i in range(len(parts))]  # fmt: skip
    frames = [frame.astype({"date": "object"}) for frame, _ in parts if len(frame)]
    rows = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
    key = [c.name for c in kpi.table.primary_key.columns]
    return rows.sort_values(key, ignore_index=True), pd.concat([entries for _, entries in parts], ignore_index=True)


# the demo's companies are 101, 102 and 103
COMPANY_RANGES = [[EVERY_COMPANY], [(None, 101), (102, None)], [(None, 101), (102, 102), (103, None)]]


@pytest.mark.parametrize("seed", range(12))
def test_chunked_kpis_equal_the_whole_range_computed_at_once(loaded_warehouse: Warehouse, seed: int) -> None:
    rng = random.Random(seed)
    start = FIRST + timedelta(days=rng.randrange(0, 80))
    end = min(LAST, start + timedelta(days=rng.randrange(0, 70)))
    planned = Plan(rng.choice([1, 2, 6, 7, 13, 29, 30, 31]), COMPANY_RANGES[seed % 3])
    for kpi in KPIS:
        whole, whole_entries = _computed(
            kpi, loaded_warehouse, start, end, Plan((end - start).days + 1, [EVERY_COMPANY])
        )
        chunked, chunked_entries = _computed(kpi, loaded_warehouse, start, end, planned)
        assert len(whole) > 0, (kpi.table.name, start, end)
        pd.testing.assert_frame_equal(chunked, whole, check_dtype=False, obj=f"{kpi.table.name} by {planned}")
        pd.testing.assert_frame_equal(chunked_entries, whole_entries, check_dtype=False)
        # the partitions' summaries read the totals: added up over company ranges, they are the whole range's
        chunk_totals = kpis.totals(
            kpi,
            [
                kpis.totals(kpi, [f])
                for f in [chunked[chunked["company_id"] <= 101], chunked[chunked["company_id"] > 101]]
            ],
        )
        pd.testing.assert_frame_equal(chunk_totals, kpis.totals(kpi, [whole]), check_dtype=False)


def test_small_inputs_are_computed_at_once_large_ones_by_days_then_by_companies(
    loaded_warehouse: Warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    kpi = KPIS[0]
    lookback = max(kpi.inputs.values())
    assert kpis.plan(kpi, loaded_warehouse, FIRST, LAST) == Plan((LAST - FIRST).days + 1, [EVERY_COMPANY])
    monkeypatch.setattr(kpis, "CHUNK_ROWS", 100)
    assert kpis.plan(kpi, loaded_warehouse, FIRST, LAST, budget=10**6) == Plan(kpis.CHUNK_DAYS, [EVERY_COMPANY])
    columns = [c.name for c in kpi.table.columns]
    assert len(list(kpis.chunks(kpi, loaded_warehouse, FIRST, LAST, columns, budget=10**6))) == 4  # 120 days
    # within a memory budget (REPORTING_MEMORY_BUDGET_MB's rows): fewer days a chunk, down to the lookback's length
    assert lookback + 1 < kpis.plan(kpi, loaded_warehouse, FIRST, LAST, budget=100).days < kpis.CHUNK_DAYS
    # a budget under what the lookback's days of every company hold: the companies in ranges, one each here
    tight = kpis.plan(kpi, loaded_warehouse, FIRST, LAST, budget=1)
    assert tight == Plan(lookback + 1, [(None, 101), (102, 102), (103, None)])
    # per-user rows (ACME has the most users): the largest company's days fit the budget, not all companies'
    users = KPIS[2]
    lookback = max(users.inputs.values())
    per_company = kpis._company_rows(users, loaded_warehouse, FIRST - timedelta(days=lookback), LAST)
    span = (LAST - FIRST).days + 1 + lookback
    budget = int(per_company.max() * (2 * lookback + 1) / span) + 1
    assert per_company.idxmax() == 101 and per_company.loc[[102, 103]].sum() < per_company.max()
    assert kpis.plan(users, loaded_warehouse, FIRST, LAST, budget) == Plan(lookback + 1, [(None, 101), (102, None)])
