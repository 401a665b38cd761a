"""Headless backfill through a running webserver, as the UI launches it (GraphQL `launchPartitionBackfill`).

    python -m reporting_assets.backfill --start 2025-01-01 --end 2025-12-31 [--url http://127.0.0.1:3000]

Follows the backfill to the end, printing progress; exits 0 when it completed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date, timedelta
from typing import Any

import httpx

from reporting_assets.warehouse.tables import KPI_TABLES, PERIOD_TABLES, RAW_TABLES

LAUNCH = """
mutation Launch($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message }
    ... on InvalidStepError { invalidStepKey }
    ... on InvalidOutputError { invalidOutputName }
    ... on UnauthorizedError { message }
    ... on PartitionSetNotFoundError { message }
  }
}"""
STATUS = """
query Status($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    __typename
    ... on PartitionBackfill { status runs(limit: 1000) { runId status } }
    ... on PythonError { message }
  }
}"""
DONE = {"COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED", "FAILING", "CANCELING"}


class BackfillError(RuntimeError):
    """The webserver refused the backfill or could not be reached."""


def _graphql(client: httpx.Client, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    try:
        response = client.post("/graphql", json={"query": query, "variables": variables})
    except httpx.HTTPError as exc:
        raise BackfillError(f"cannot reach the Dagster webserver at {client.base_url}: {exc}") from None
    body = response.json() if response.headers.get("content-type", "").startswith("application/json") else {}
    if response.status_code != 200 or body.get("errors"):
        raise BackfillError(f"GraphQL error ({response.status_code}): {body.get('errors') or response.text[:300]}")
    return body["data"]


def launch(client: httpx.Client, start: date, end: date, assets: list[str]) -> str:
    """Start a backfill of `assets` over `start..end`; returns its id."""
    days = [str(start + timedelta(days=i)) for i in range((end - start).days + 1)]
    params = {"assetSelection": [{"path": [name]} for name in assets], "partitionNames": days}
    result = _graphql(client, LAUNCH, {"params": params})["launchPartitionBackfill"]
    if result["__typename"] != "LaunchBackfillSuccess":
        raise BackfillError(f"backfill refused ({result['__typename']}): {result.get('message', result)}")
    return result["backfillId"]


def follow(client: httpx.Client, backfill_id: str, poll_s: float = 2.0, timeout_s: float = 3600) -> str:
    """Poll the backfill until it ends, printing each change of progress; returns its final status."""
    deadline, last = time.monotonic() + timeout_s, ""
    while True:
        result = _graphql(client, STATUS, {"id": backfill_id})["partitionBackfillOrError"]
        if result["__typename"] != "PartitionBackfill":
            raise BackfillError(f"backfill {backfill_id}: {result.get('message', result['__typename'])}")
        runs = [r["status"] for r in result["runs"]]
        progress = f"{result['status']}: " + (
            ", ".join(f"{runs.count(s)} {s.lower()}" for s in sorted(set(runs))) or "no run yet"
        )
        if progress != last:
            print(f"backfill {backfill_id} {progress}", flush=True)
            last = progress
        active = any(s in ("QUEUED", "NOT_STARTED", "STARTING", "STARTED", "CANCELING") for s in runs)
        if result["status"] in DONE and not active:
            return result["status"]
        if time.monotonic() > deadline:
            raise BackfillError(f"backfill {backfill_id} still {result['status']} after {timeout_s:.0f} s")
        time.sleep(poll_s)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--start", type=date.fromisoformat, required=True, help="first day, YYYY-MM-DD")
    parser.add_argument("--end", type=date.fromisoformat, required=True, help="last day, YYYY-MM-DD (inclusive)")
    parser.add_argument("--url", default="http://127.0.0.1:3000", help="Dagster webserver (default %(default)s)")
    parser.add_argument(
        "--assets",
        default=",".join([*RAW_TABLES, *KPI_TABLES, *PERIOD_TABLES]),
        help="comma-separated asset keys (default: all)",
    )
    parser.add_argument("--timeout", type=float, default=3600, help="seconds to wait for the end (default 3600)")
    args = parser.parse_args(argv)
    if args.end < args.start:
        parser.error("--end is before --start")
    with httpx.Client(base_url=args.url, timeout=30) as client:
        try:
            backfill_id = launch(client, args.start, args.end, args.assets.split(","))
            print(f"backfill {backfill_id} launched: {args.start}..{args.end}, {args.url}/runs/b/{backfill_id}")
            status = follow(client, backfill_id, timeout_s=args.timeout)
        except BackfillError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    return 0 if status in ("COMPLETED", "COMPLETED_SUCCESS") else 1


if __name__ == "__main__":
    sys.exit(main())
