"""Shared fixtures: a real simulator on 127.0.0.1, real SQLite files, a real PostgreSQL schema per test."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from reporting_assets.paradigm.resource import ParadigmResource
from reporting_assets.simulator.app import Simulator, serve
from reporting_assets.warehouse.store import Warehouse, engine_for
from reporting_assets_tests.receiver import Receiver

PG_ROOT_URL = os.environ.get("REPORTING_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
TOKEN = "test-token-5f1c9e0b7d"  # distinctive, so leak scans cannot miss it


@dataclass
class RunningSimulator:
    sim: Simulator
    url: str

    def requests(self, endpoint: str) -> int:
        return self.sim.requests[endpoint]

    def resource(self, **overrides: object) -> ParadigmResource:
        config = {"base_url": self.url, "api_key": TOKEN, "retry_backoff_s": 0.01, "timeout_s": 10.0}
        return ParadigmResource(**{**config, **overrides})


@contextmanager
def serving_simulator(sim: Simulator | None = None) -> Iterator[RunningSimulator]:
    """`sim` (else the simulator of seed 7 and the test token) served on 127.0.0.1 for the duration of the block."""
    sim = sim or Simulator(seed=7, token=TOKEN)
    server = serve(sim)
    host, port = server.server_address[:2]
    try:
        yield RunningSimulator(sim, f"http://{host}:{port}")
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def simulator() -> Iterator[RunningSimulator]:
    with serving_simulator() as running:
        yield running


def _postgres_reachable() -> str | None:
    try:
        with sa.create_engine(PG_ROOT_URL).connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        return None
    except Exception as exc:
        return f"{type(exc).__name__}: {str(exc).splitlines()[0]}"


@pytest.fixture(scope="session")
def postgres_root() -> str:
    problem = _postgres_reachable()
    if problem:
        message = f"PostgreSQL at {PG_ROOT_URL} is not reachable ({problem})"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message}; under CI the PostgreSQL tests must run", pytrace=False)
        pytest.skip(f"{message}; start it or set REPORTING_TEST_PG_URL to run these tests")
    return PG_ROOT_URL


@contextmanager
def fresh_schema(root: str) -> Iterator[str]:
    """A fresh schema of the test database, first on the search_path of the URL given, dropped afterwards (with
    the BI contract's schema beside it)."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(root)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = f"{root}?options=-csearch_path%3D{schema}"
    yield url
    engine_for(url).dispose()  # close pooled connections before the schema goes
    engine_for.cache_clear()
    with engine.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}_bi" CASCADE'))
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


@pytest.fixture
def postgres_url(postgres_root: str) -> Iterator[str]:
    """A fresh schema of the test database, first on the search_path, dropped afterwards."""
    with fresh_schema(postgres_root) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
def warehouse(request: pytest.FixtureRequest, tmp_path) -> Warehouse:
    """The warehouse on each supported database."""
    if request.param == "sqlite":
        return Warehouse(url=f"sqlite:///{tmp_path / 'reporting.db'}")
    return Warehouse(url=request.getfixturevalue("postgres_url"))


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's chromium (`make browser`; `.ci/run` installs it): skipped when missing, except under CI."""
    path = shutil.which("chromium")
    if not path:
        message = "chromium is not installed (`make browser` installs Debian's package)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message}; under CI, .ci/run installs it and the browser test must run", pytrace=False)
        pytest.skip(message)
    return path


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A JSON receiver for apprise's `json://` on a free port, started by the test (`receiver.start()`)."""
    r = Receiver()
    yield r
    r.stop()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked `slow(minutes=...)` first, longest first, so the workers start them while the quick ones
    fill the gaps: the suite then ends about when its longest chain (the shared `dagster dev`) does."""

    def minutes(item: pytest.Item) -> float:
        marker = item.get_closest_marker("slow")
        return marker.kwargs.get("minutes", 1) if marker else 0

    items.sort(key=minutes, reverse=True)


S3_SECRET_KEY = "moto-secret-access-key-3f9a"  # distinctive, so a leak scan cannot miss it


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """moto's S3 on a free port, a bucket of this test's own, and the AWS variables pointing at it; yields the
    bucket's name. (moto keeps its buckets in the process, whichever server: each test gets a new bucket.) fsspec
    keeps one S3 file system per set of options, whose endpoint came from the environment when it was made: the
    cache is emptied, so that this test's is made for this test's server."""
    import boto3
    from moto.server import ThreadedMotoServer
    from s3fs import S3FileSystem

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    for name, value in {
        "AWS_ENDPOINT_URL": url,
        "AWS_ACCESS_KEY_ID": "moto-access-key",
        "AWS_SECRET_ACCESS_KEY": S3_SECRET_KEY,
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    bucket = f"reports-{uuid.uuid4().hex[:12]}"
    boto3.client("s3").create_bucket(Bucket=bucket)
    S3FileSystem.clear_instance_cache()
    yield bucket
    S3FileSystem.clear_instance_cache()
    server.stop()


@contextmanager
def dagster_database(postgres_root: str) -> Iterator[str]:
    """A fresh PostgreSQL database for a Dagster instance (a psycopg2 URL, what Dagster's storage takes), dropped
    afterwards."""
    name = f"dagster_e2e_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(postgres_root, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(postgres_root)
    try:
        yield url.set(drivername="postgresql+psycopg2", database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def dagster_postgres(postgres_root: str) -> Iterator[str]:
    with dagster_database(postgres_root) as url:
        yield url


@pytest.fixture(scope="session")
def bi_warehouses(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str, str | None], Warehouse]]:
    """Per database, the BI tests' warehouse (`bi_warehouse.py`), built on first use and shared by the tests of the
    `bi` xdist group (which leave it as they found it). Called with "sqlite", or "postgres" and its root URL."""
    from reporting_assets_tests.bi_warehouse import load

    built: dict[str, Warehouse] = {}
    with ExitStack() as stack:

        def get(kind: str, pg_root: str | None = None) -> Warehouse:
            if kind not in built:
                if kind == "sqlite":
                    url = f"sqlite:///{tmp_path_factory.mktemp('bi') / 'reporting.db'}"
                else:
                    url = stack.enter_context(fresh_schema(pg_root))
                built[kind] = Warehouse(url=url)
                load(built[kind], TOKEN)
            return built[kind]

        yield get
