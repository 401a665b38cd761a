"""Extracts of the BI contract next to the reports (`REPORTING_REPORTS_DIR/bi/v<version>/`), with the `.[parquet]`
extra: one Parquet file per view in a folder of its own (`<view>/<view>.parquet`, what Power BI's folder connector
and any Parquet reader take), and, with the `.[tableau]` extra, one Tableau `.hyper` file holding a table per view.

Views are read a chunk at a time (on PostgreSQL through a server-side cursor) and written a row group at a time:
memory is bounded by a chunk, whatever the warehouse's size. Hyper loads the Parquet files itself
(`external(...)`), no row passes through Python. One company's extracts (`python -m reporting_assets.bi extracts
--company ID`) hold every company view filtered to it, for a company admin without database access."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, text

from reporting_assets import personal
from reporting_assets.bi.contract import VERSION, Field, View
from reporting_assets.bi.views import expected, qualified, schema_of
from reporting_assets.lazy import pandas as pd
from reporting_assets.reports import store

if TYPE_CHECKING:
    import pyarrow as pa

CHUNK_ROWS = 25_000
HYPER_FILE = "paradigm_reporting.hyper"
# pyarrow's type of each contract type
ARROW_TYPES = {
    "date": "date32",
    "integer": "int64",
    "bigint": "int64",
    "float": "float64",
    "text": "string",
    "boolean": "bool_",
}


def available() -> bool:
    """Whether pyarrow is installed (the `.[parquet]` or `.[tableau]` extra), without importing it."""
    return find_spec("pyarrow") is not None


def _type(name: str) -> pa.DataType:
    import pyarrow as pa

    return getattr(pa, ARROW_TYPES[name])()


def folder() -> str:
    """Where the extracts go, under the reports' location."""
    return f"bi/v{VERSION}"


def per_user_files() -> list[str]:
    """The extracts that hold user ids (`personal`): erasure writes them again, lists off removes the Parquet."""
    return personal.extract_files(folder(), HYPER_FILE)


def arrow_schema(view: View) -> pa.Schema:
    import pyarrow as pa

    def described(f: Field) -> dict[str, str]:
        return {"description": f.description, **({"aggregation": f.aggregation} if f.aggregation else {})}

    return pa.schema(
        [pa.field(f.name, _type(f.type), metadata=described(f)) for f in view.fields],
        metadata={"description": view.description, "grain": view.grain},
    )


def _arrow(frame: pd.DataFrame, view: View) -> pa.Table:
    """One chunk of the view with the contract's types (SQLite gives dates as text and booleans as 0/1)."""
    import pyarrow as pa

    columns = {}
    for f in view.fields:
        series = frame[f.name]
        if f.type == "date":
            series = pd.to_datetime(series).dt.date
        elif f.type == "boolean":
            series = series.astype("boolean")
        columns[f.name] = pa.array(series, type=_type(f.type), from_pandas=True)
    return pa.table(columns, schema=arrow_schema(view))


@dataclass(frozen=True)
class Extract:
    view: str
    rows: int
    path: str  # printable


def write_parquet(engine: Engine, view: View, path: Path, company_id: int | None = None) -> int:
    """The view as one Parquet file at `path`, a row group per chunk (of `company_id` only, for a company view,
    when given). Returns its rows."""
    import pyarrow.parquet as pq

    rows = 0
    with engine.connect().execution_options(stream_results=True, max_row_buffer=CHUNK_ROWS) as conn:
        query = f"SELECT * FROM {qualified(conn, view, schema_of(conn))}"
        scoped = company_id is not None and view.per_company
        if scoped:
            query += " WHERE company_id = :company"
        with pq.ParquetWriter(path, arrow_schema(view)) as writer:
            chunks = pd.read_sql(text(query), conn, chunksize=CHUNK_ROWS, params={"company": company_id})
            for chunk in chunks:
                writer.write_table(_arrow(chunk, view))
                rows += len(chunk)
            if not rows:
                writer.write_table(arrow_schema(view).empty_table())
    return rows


def write_hyper(files: dict[str, Path], path: Path) -> None:
    """A Tableau Hyper file with one table per view, schema `Extract`, loaded by Hyper from the Parquet files."""
    from tableauhyperapi import Connection, CreateMode, HyperProcess, Telemetry, escape_string_literal

    parameters = {"log_config": ""}  # no hyperd.log next to the reports
    with (
        HyperProcess(Telemetry.DO_NOT_SEND_USAGE_DATA_TO_TABLEAU, parameters=parameters) as hyper,
        Connection(hyper.endpoint, str(path), CreateMode.CREATE_AND_REPLACE) as conn,
    ):
        conn.execute_command('CREATE SCHEMA "Extract"')
        for name, parquet in files.items():
            source = escape_string_literal(str(parquet))
            conn.execute_command(f'CREATE TABLE "Extract"."{name}" AS (SELECT * FROM external({source}))')


def hyper_available() -> bool:
    try:
        import tableauhyperapi  # noqa: F401
    except ImportError:
        return False
    return True


def write_extracts(
    engine: Engine, location: str, user_lists: bool, hyper: bool = True, company_id: int | None = None
) -> list[Extract]:
    """Every view of the contract as Parquet (and a `.hyper` with `hyper` and the extra installed) under
    `location/bi/v<version>/`, of `company_id` only when given: written aside, then put in place file by file."""
    out = []
    with tempfile.TemporaryDirectory(prefix="bi-extracts-") as scratch:
        files = {}
        for view in expected(user_lists):
            files[view.name] = Path(scratch) / f"{view.name}.parquet"
            rows = write_parquet(engine, view, files[view.name], company_id)
            name = f"{folder()}/{view.name}/{view.name}.parquet"
            out.append(Extract(view.name, rows, _put(files[view.name], location, name)))
        if hyper and hyper_available():
            write_hyper(files, Path(scratch) / HYPER_FILE)
            path = _put(Path(scratch) / HYPER_FILE, location, f"{folder()}/{HYPER_FILE}")
            out.append(Extract("*", sum(e.rows for e in out), path))
    if not user_lists:  # a per-user extract written while lists were on goes
        for name in per_user_files():
            if name.endswith(".parquet") and store.exists(location, name):
                store.remove(location, name)
    return out


def _put(local: Path, location: str, name: str) -> str:
    with local.open("rb") as source, store.open_write(location, name) as target:
        shutil.copyfileobj(source, target)
    return store.where(location, name)
