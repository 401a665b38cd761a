"""KPI assets compute their range in chunks (bounded memory): chunked equals one computation over the whole range,
whatever the range, the chunk size and where the chunk edges fall against the trailing windows and ledger gaps."""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest

from reporting_assets.assets import kpis
from reporting_assets.assets.kpis import KPIS, Kpi, chunks
from reporting_assets.paradigm.endpoints import ENDPOINTS
from reporting_assets.warehouse import ledger
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


def _computed(kpi: Kpi, warehouse: Warehouse, start: date, end: date, days: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    columns = [c.name for c in kpi.table.columns]
    parts = list(chunks(kpi, warehouse, start, end, columns, days=days))
    frames = [frame.astype({"date": "object"}) for frame, _ in parts if len(frame)]
    rows = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
    return rows, pd.concat([entries for _, entries in parts], ignore_index=True)


@pytest.mark.parametrize("seed", range(12))
def test_chunked_kpis_equal_the_whole_range_computed_at_once(loaded_warehouse: Warehouse, seed: int) -> None:
    rng = random.Random(seed)
    start = FIRST + timedelta(days=rng.randrange(0, 80))
    end = min(LAST, start + timedelta(days=rng.randrange(0, 70)))
    days = rng.choice([1, 2, 6, 7, 13, 29, 30, 31])
    whole_days = (end - start).days + 1
    for kpi in KPIS:
        whole, whole_entries = _computed(kpi, loaded_warehouse, start, end, whole_days)
        chunked, chunked_entries = _computed(kpi, loaded_warehouse, start, end, days)
        assert len(whole) > 0, (kpi.table.name, start, end)
        pd.testing.assert_frame_equal(chunked, whole, check_dtype=False, obj=f"{kpi.table.name} by {days} days")
        pd.testing.assert_frame_equal(chunked_entries, whole_entries, check_dtype=False)


def test_small_inputs_are_computed_in_one_chunk_large_ones_31_days_at_a_time(
    loaded_warehouse: Warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    kpi = KPIS[0]
    assert kpis._chunk_days(kpi, loaded_warehouse, FIRST, LAST) == (LAST - FIRST).days + 1  # the demo companies
    monkeypatch.setattr(kpis, "CHUNK_ROWS", 100)
    assert kpis._chunk_days(kpi, loaded_warehouse, FIRST, LAST) == kpis.CHUNK_DAYS
    columns = [c.name for c in kpi.table.columns]
    assert len(list(kpis.chunks(kpi, loaded_warehouse, FIRST, LAST, columns))) == 4  # 120 days
    # within a memory budget (REPORTING_MEMORY_BUDGET_MB's rows): fewer days a chunk, one at the least
    assert (
        kpis._chunk_days(kpi, loaded_warehouse, FIRST, LAST, budget=1) == max(kpi.inputs.values()) + 1
    )  # its lookback
    assert (
        max(kpi.inputs.values()) + 1
        < kpis._chunk_days(kpi, loaded_warehouse, FIRST, LAST, budget=100)
        < kpis.CHUNK_DAYS
    )
