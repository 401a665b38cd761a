"""The warehouse resource: replace a date range of a table atomically, read a date range back."""

from __future__ import annotations

import os
from datetime import date
from functools import lru_cache
from pathlib import Path

import pandas as pd
from dagster import ConfigurableResource
from sqlalchemy import DateTime, Engine, Integer, Table, create_engine, event, func, select, text
from sqlalchemy.engine import make_url

from reporting_assets.warehouse.tables import metadata


def default_database_url() -> str:
    """SQLite file `reporting.db` under `DAGSTER_HOME`, else under `./data/`."""
    base = Path(os.environ.get("DAGSTER_HOME") or "data")
    return f"sqlite:///{(base / 'reporting.db').resolve()}"


@lru_cache(maxsize=8)
def engine_for(url: str) -> Engine:
    """One engine (and pool) per URL per process, with every contract table created if missing."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 60})
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(url, pool_pre_ping=True)
    metadata.create_all(engine)
    return engine


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """WAL lets BI tools read while a run writes; NORMAL sync is durable enough with WAL."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def records(frame: pd.DataFrame, table: Table) -> list[dict]:
    """Rows in the table's column order and types, as plain Python values (None for missing, never NaN)."""
    frame = frame[[c.name for c in table.columns]].copy()
    for column in table.columns:
        if isinstance(column.type, Integer):
            frame[column.name] = frame[column.name].astype("Int64")  # 3.0 -> 3; 3.5 raises: a bug, not data
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


class Warehouse(ConfigurableResource):
    """The SQL warehouse (any SQLAlchemy URL: SQLite by default, PostgreSQL in production)."""

    url: str

    @property
    def engine(self) -> Engine:
        return engine_for(self.url)

    def replace(self, table: Table, start: date, end: date, frame: pd.DataFrame, company_id: int | None = None) -> int:
        """Make `table` hold exactly `frame` for dates `start..end` (one company, or all): one transaction.

        Re-running any range therefore never duplicates rows, and a failure leaves the table as it was.
        """
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":  # serialise writers of one table (overlapping backfills)
                conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:t))"), {"t": table.name})
            where = table.c.date.between(start, end)
            if company_id is not None:
                where &= table.c.company_id == company_id
            conn.execute(table.delete().where(where))
            if len(frame):
                conn.execute(table.insert(), records(frame, table))
        return len(frame)

    def read(
        self, table: Table, start: date | None = None, end: date | None = None, columns: list[str] | None = None
    ) -> pd.DataFrame:
        """Rows of `table` for `start..end` inclusive (all rows without a range), in key order, one SELECT;
        only `columns` when given.

        Timestamps come back as UTC-aware on every dialect (SQLite itself keeps no time zone).
        """
        selected = [table.c[name] for name in columns] if columns else [table]
        query = select(*selected).order_by(*table.primary_key.columns)
        if start is not None and end is not None:
            query = query.where(table.c.date.between(start, end))
        with self.engine.connect() as conn:
            frame = pd.read_sql(query, conn)
        for column in table.columns:
            if isinstance(column.type, DateTime) and column.name in frame.columns:
                frame[column.name] = pd.to_datetime(frame[column.name], utc=True)
        return frame

    def count(self, table: Table) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(table)).scalar_one()
