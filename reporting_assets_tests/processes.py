"""Dagster as processes, the way operators run it: `make instance`, `dagster dev`, the `dagster` CLI."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from reporting_assets_tests.conftest import TOKEN, RunningSimulator

ROOT = Path(__file__).resolve().parents[1]
DAGSTER = Path(sys.executable).parent / "dagster"
LOADED = (
    "{ workspaceOrError { ... on Workspace { locationEntries { loadStatus locationOrLoadError { __typename } } } } }"
)


def instance_env(tmp_path: Path, simulator: RunningSimulator, **extra: str) -> dict[str, str]:
    """Environment of a fresh DAGSTER_HOME (prepared by `make instance`) against `simulator`."""
    home = tmp_path / "dagster_home"
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "PARADIGM_BASE_URL": simulator.url,
        "PARADIGM_API_KEY": TOKEN,
        "REPORTING_DATABASE_URL": f"sqlite:///{tmp_path / 'reporting.db'}",
        # The daily refresh fires 12 hours from now, never during a test: it would load days a test leaves out.
        "REPORTING_REFRESH_HOUR_UTC": str((datetime.now(UTC).hour + 12) % 24),
        "REPORTING_DIGEST_HOUR_UTC": str((datetime.now(UTC).hour + 12) % 24),  # and so does Monday's digest
        **extra,
    }
    if not extra.get("DAGSTER_POSTGRES_URL"):
        env.pop("DAGSTER_POSTGRES_URL", None)
    subprocess.run(["make", "-s", "instance"], cwd=ROOT, env=env, check=True)
    assert ("postgres_url:" in (home / "dagster.yaml").read_text()) == bool(env.get("DAGSTER_POSTGRES_URL"))
    return env


def stop(process: subprocess.Popen, timeout_s: float = 30) -> None:
    """Stop a process a test started, and its children when it leads a session of its own
    (`start_new_session=True`): SIGTERM, then SIGKILL after `timeout_s` (a server may ignore SIGTERM, as Superset
    does under load), reaped either way: nothing outlives the test."""
    group = os.getpgid(process.pid) == process.pid if process.poll() is None else False

    def send(sig: signal.Signals) -> None:
        with suppress(ProcessLookupError):  # gone meanwhile
            os.killpg(process.pid, sig) if group else process.send_signal(sig)

    send(signal.SIGTERM)
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        send(signal.SIGKILL)
        process.wait(timeout=timeout_s)
    if group:
        send(signal.SIGKILL)  # children the leader left behind


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def graphql(url: str, query: str, **variables: object) -> dict:
    response = httpx.post(f"{url}/graphql", json={"query": query, "variables": variables}, timeout=30)
    response.raise_for_status()
    return response.json()["data"]


def _wait_until_loaded(url: str, process: subprocess.Popen, log: Path, timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"dagster dev exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            [entry] = graphql(url, LOADED)["workspaceOrError"]["locationEntries"]
            if entry["loadStatus"] == "LOADED":
                assert entry["locationOrLoadError"]["__typename"] == "RepositoryLocation", log.read_text()[-3000:]
                return
        except (httpx.HTTPError, KeyError, TypeError):
            pass
        time.sleep(1)  # polling a server that is starting up; the assertions do not depend on timing
    pytest.fail(f"dagster dev did not load the code location in {timeout_s:.0f} s:\n{log.read_text()[-3000:]}")


@contextmanager
def dagster_dev(tmp_path: Path, simulator: RunningSimulator, **extra_env: str) -> Iterator[tuple[str, Path]]:
    """`make instance` then `dagster dev` with a fresh DAGSTER_HOME; yields (UI URL, warehouse file)."""
    env = instance_env(tmp_path, simulator, **extra_env)
    port, log = free_port(), tmp_path / "dagster_dev.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [str(DAGSTER), "dev", "-h", "127.0.0.1", "-p", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its children (webserver, daemon, code server) go with the group
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_loaded(url, process, log)
        yield url, tmp_path / "reporting.db"
    finally:
        stop(process)


def materialize_command(start: str, end: str, *, in_process: bool = False, days_per_request: int = 0) -> list[str]:
    """The contract's headless ranged backfill: `dagster asset materialize --partition-range`, raw and KPIs;
    `in_process`: one process for the whole run instead of one per step; `days_per_request`: smaller request
    windows (run config of the `paradigm` resource), so a short range still takes several."""
    command = [str(DAGSTER), "asset", "materialize", "-m", "reporting_assets.definitions"]
    command += ["--select", "group:paradigm_raw or group:paradigm_kpis"]
    command += ["--partition-range", f"{start}...{end}"]
    config: dict = {"execution": {"config": {"in_process": {}}}} if in_process else {}
    if days_per_request:
        secrets = {name: {"env": f"PARADIGM_{name.upper()}"} for name in ("base_url", "api_key")}  # run config replaces
        config["resources"] = {"paradigm": {"config": {**secrets, "days_per_request": days_per_request}}}
    return command + (["--config-json", json.dumps(config)] if config else [])
