"""Part 3: the ingest path alone (flatten and warehouse write; JSON decoding timed apart), on SQLite and
PostgreSQL."""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

from scripts.bench.common import Unreachable, pg_schema


def documents_payload(start: date, end: date, companies: int, per_day: int) -> bytes:
    """A used-documents answer as the API documents it: `per_day` documents a day for each company."""
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    reporting = [
        {
            "company": {"id": c, "name": f"Company {c}"},
            "dates": [
                {
                    "date": d.isoformat(),
                    "documents": [
                        {
                            "document_id": c * 100_000 + k,
                            "document_filename": f"doc_{k}.pdf",
                            "document_title": f"Document {k}",
                            "usage_count": 1 + (k * 7 + d.day) % 13,
                        }
                        for k in range(per_day)
                    ],
                }
                for d in days
            ],
        }
        for c in range(1, companies + 1)
    ]
    return json.dumps({"metadata": {}, "reporting": reporting}).encode()


def ingest(url: str, start: date, end: date, companies: int, per_day: int) -> dict[str, Any]:
    """Part 3: flatten + `Warehouse.replace` of used documents, 31 days per payload like the resource does.

    JSON decoding (httpx's `response.json()`) is timed apart: it is the HTTP client's work, not ours.
    """
    from reporting_assets.paradigm.endpoints import ENDPOINTS
    from reporting_assets.paradigm.flatten import flatten
    from reporting_assets.paradigm.resource import date_chunks
    from reporting_assets.warehouse import ledger
    from reporting_assets.warehouse.store import Warehouse

    endpoint, warehouse = ENDPOINTS["used_documents"], Warehouse(url=url)
    decode_s = flatten_s = write_s = 0.0
    rows = 0
    for lo, hi in date_chunks(start, end, 31):
        body = documents_payload(lo, hi, companies, per_day)
        t0 = time.perf_counter()
        payload = json.loads(body)
        t1 = time.perf_counter()
        frame = flatten(endpoint, payload).frame.assign(ingested_at=datetime.now(UTC))
        t2 = time.perf_counter()
        loaded = ledger.entries(endpoint.name, ledger.day_counts(frame, lo, hi, None), "bench")
        warehouse.replace(endpoint.table, lo, hi, frame, loaded=loaded)
        t3 = time.perf_counter()
        decode_s, flatten_s, write_s = decode_s + t1 - t0, flatten_s + t2 - t1, write_s + t3 - t2
        rows += len(frame)
    if warehouse.count(endpoint.table) != rows:
        sys.exit(f"ingest into {warehouse.engine.url.get_backend_name()}: row count differs from rows written")
    warehouse.engine.dispose()
    return {
        "rows": rows,
        "decode_s": round(decode_s, 2),
        "flatten_s": round(flatten_s, 2),
        "write_s": round(write_s, 2),
        "rows_per_s": round(rows / (flatten_s + write_s)),
        "flatten_rows_per_s": round(rows / flatten_s),
        "write_rows_per_s": round(rows / write_s),
    }


def ingest_postgres(root_url: str, start: date, end: date, companies: int, per_day: int) -> dict[str, Any]:
    """Part 3 on PostgreSQL, in a schema of its own, dropped afterwards."""
    try:
        with pg_schema(root_url, f"bench_{os.getpid()}") as url:
            return ingest(url, start, end, companies, per_day)
    except Unreachable as exc:
        return {"skipped": str(exc)}
