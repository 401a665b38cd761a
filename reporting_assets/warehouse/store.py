"""The warehouse resource: replace a date range of a table atomically, read a date range back."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from datetime import date
from functools import lru_cache
from typing import Literal, TypeAlias

from dagster import ConfigurableResource
from sqlalchemy import (
    ColumnElement,
    Connection,
    Date,
    DateTime,
    Dialect,
    Engine,
    Integer,
    Table,
    func,
    select,
)
from sqlalchemy.exc import DBAPIError, IntegrityError
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_random

from reporting_assets.lazy import pandas as pd
from reporting_assets.redact import MaskedRepr
from reporting_assets.warehouse import engines, ledger, migrate
from reporting_assets.warehouse.tables import load_log


@lru_cache(maxsize=8)
def engine_for(url: str) -> Engine:
    """One engine (and pool) per URL per process, with every contract table created if missing."""
    engine = engines.create(url)
    _create_tables(engine)
    return engine


def _create_tables(engine: Engine) -> None:
    """Bring the schema to the latest migration (creating a new warehouse's tables). Steps that start together
    on a new SQLite warehouse race to do so: the loser's CREATE fails ("already exists", or "database is locked"
    while the winner switches it to WAL); a retry then finds the work done (PostgreSQL upgrades under a lock).
    Other errors (unreachable database, bad password) raise at once.
    """
    race = retry_if_exception(_lost_creation_race)
    for attempt in Retrying(retry=race, wait=wait_random(0.05, 0.5), stop=stop_after_attempt(10), reraise=True):
        with attempt:
            migrate.upgrade(engine)


def _lost_creation_race(exc: BaseException) -> bool:
    # PostgreSQL may report a concurrent CREATE TABLE as a duplicate type name: an IntegrityError
    message = str(exc.orig) if isinstance(exc, DBAPIError) else ""
    return isinstance(exc, IntegrityError) or "already exists" in message or "database is locked" in message


def checkpoint(engine: Engine, mode: Literal["FULL", "PASSIVE"] = "FULL") -> None:
    """SQLite: copy every committed page of the WAL into the database file, so that `reporting.db` copied alone
    holds every committed row. FULL waits (busy timeout) for writers still at work, so the run's last write
    leaves the file complete; PASSIVE never waits. A no-op on other databases."""
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            conn.exec_driver_sql(f"PRAGMA wal_checkpoint({mode})")


def db_rows(frame: pd.DataFrame, table: Table, dialect: Dialect | None = None) -> list[tuple]:
    """Rows of `frame` as tuples in the table's column order: plain Python values, None for missing (never NaN)
    and, given a `dialect`, what its bind processors would send the driver (SQLite stores dates as text).

    Whole columns are converted at once; a processor runs once per distinct value (a day, a run's timestamp).
    """
    columns = []
    for column in table.columns:
        series = frame[column.name]
        process = column.type.dialect_impl(dialect).bind_processor(dialect) if dialect else None
        if process or isinstance(column.type, Date | DateTime):
            codes, uniques = pd.factorize(series)
            lookup = pd.array([*(process(v) if process else v for v in uniques.tolist()), None], dtype=object)
            values = lookup[codes]  # code -1 (missing) picks the trailing None
        else:
            if isinstance(column.type, Integer):
                series = series.astype("Int64")  # 3.0 -> 3; 3.5 raises: a bug, not data
            values = series.to_numpy(dtype=object, na_value=None)
        columns.append(values.tolist())
    return list(zip(*columns, strict=True))


class WriteError(RuntimeError):
    """The database refused rows: the table and the cause (`engines.reduced`), never the rows' values. `transient`:
    a later try may pass (a deadlock, a lost connection, a busy SQLite file), unlike a refused value."""

    def __init__(self, message: str, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


def insert_frame(conn: Connection, table: Table, frame: pd.DataFrame) -> None:
    """Insert every row of `frame` in bulk: COPY with psycopg (PostgreSQL), one executemany with SQLite, and
    SQLAlchemy's own batched insert with any other driver. A refusal raises `WriteError`."""
    if not len(frame):
        return
    names = [c.name for c in table.columns]
    dbapi = conn.dialect.loaded_dbapi
    try:
        if conn.dialect.driver == "psycopg":
            preparer = conn.dialect.identifier_preparer
            copy_sql = f"COPY {preparer.format_table(table)} ({', '.join(map(preparer.quote, names))}) FROM STDIN"
            with conn.connection.dbapi_connection.cursor() as cursor, cursor.copy(copy_sql) as copy:
                for row in db_rows(frame, table):
                    copy.write_row(row)
        elif conn.dialect.name == "sqlite":
            insert = str(table.insert().compile(dialect=conn.dialect))
            conn.exec_driver_sql(insert, db_rows(frame, table, conn.dialect))
        else:
            conn.execute(table.insert(), [dict(zip(names, row, strict=True)) for row in db_rows(frame, table)])
    except (DBAPIError, dbapi.Error) as exc:  # its message may quote a row (PostgreSQL's DETAIL, COPY's CONTEXT)
        message = f"the warehouse refused rows of {table.name}: {engines.reduced(exc)}"
        raise WriteError(message, engines.transient(exc)) from None


Rows: TypeAlias = "pd.DataFrame | Iterable[pd.DataFrame]"  # a frame, or frames: a `Spool`


def _replace(conn: Connection, table: Table, rows: Rows, where: ColumnElement[bool] | None = None) -> int:
    """In `conn`'s transaction: `table`'s rows where `where` holds (all without it) deleted, `rows` inserted."""
    lock_table(conn, table)
    conn.execute(table.delete() if where is None else table.delete().where(where))
    written = 0
    for frame in [rows] if isinstance(rows, pd.DataFrame) else rows:
        insert_frame(conn, table, frame)
        written += len(frame)
    return written


def lock_table(conn: Connection, table: Table) -> None:
    """PostgreSQL: serialise the writers of one table (overlapping backfills, a run beside the automation), whose
    delete-then-insert would otherwise collide on keys. SQLite has one writer at a time anyway."""
    engines.serialise(conn, table.name)


class Warehouse(MaskedRepr, ConfigurableResource):  # `repr` masks the URL's password
    """The SQL warehouse (any SQLAlchemy URL: SQLite by default, PostgreSQL in production)."""

    url: str

    @property
    def engine(self) -> Engine:
        return engine_for(self.url)

    def replace(
        self,
        table: Table,
        start: date,
        end: date,
        rows: pd.DataFrame | Iterable[pd.DataFrame],
        company_id: int | None = None,
        loaded: pd.DataFrame | None = None,
        keep: Collection[date] = (),
        check: Callable[[Connection], None] | None = None,
    ) -> int:
        """Make `table` hold exactly `rows` (a frame, or frames inserted one after the other: a `Spool`) for dates
        `start..end` (one company, or all), and the load ledger exactly `loaded` (`ledger.entries`) for those
        days: one transaction. Returns the rows written.

        Re-running any range therefore never duplicates rows, a failure leaves table and ledger as they were,
        and a day is in the ledger if and only if its rows are in the table. Days of `keep` are left as they are,
        rows and ledger (a KPI's days whose inputs were purged). `check` runs first, under the table's lock: it may
        refuse the write by raising.
        """
        frames = [rows] if isinstance(rows, pd.DataFrame) else rows
        written = 0
        with self.engine.begin() as conn:
            lock_table(conn, table)
            if check is not None:
                check(conn)
            where = table.c.date.between(start, end)
            if company_id is not None:
                where &= table.c.company_id == company_id
            if keep:
                where &= table.c.date.not_in(list(keep))
            conn.execute(table.delete().where(where))
            for frame in frames:
                insert_frame(conn, table, frame)
                written += len(frame)
            if loaded is not None:
                scope = ledger.scope_clause(table.name, start, end, company_id)
                if keep:
                    scope &= load_log.c.date.not_in(list(keep))
                conn.execute(load_log.delete().where(scope))
                insert_frame(conn, load_log, loaded)
        checkpoint(self.engine)
        return written

    def replace_where(self, table: Table, rows: Rows, where: ColumnElement[bool] | None = None) -> int:
        """Make `table` hold exactly `rows` (a frame, or frames: a `Spool`) where `where` holds (the whole table
        without it): one transaction. For the tables that are not partitioned by date (the current picture of
        each user, the cohorts). Returns the rows written."""
        with self.engine.begin() as conn:
            written = _replace(conn, table, rows, where)
        checkpoint(self.engine)
        return written

    def replace_tables(self, rows: dict[Table, Rows]) -> dict[str, int]:
        """`replace_where` for several whole tables in one transaction: a reader sees them all old or all new.
        Returns the rows written per table name."""
        with self.engine.begin() as conn:
            written = {table.name: _replace(conn, table, frames) for table, frames in rows.items()}
        checkpoint(self.engine)
        return written

    def loaded(self, assets: list[str], start: date | None = None, end: date | None = None) -> pd.DataFrame:
        """Ledger rows (asset, date, company_scope) of `assets` over `start..end` (all without a range)."""
        return ledger.read(self.engine, assets, start, end)

    def read(
        self,
        table: Table,
        start: date | None = None,
        end: date | None = None,
        columns: list[str] | None = None,
        where: ColumnElement[bool] | None = None,
    ) -> pd.DataFrame:
        """Rows of `table` for `start..end` inclusive (all rows without a range), in key order, one SELECT;
        only `columns` when given, and only rows matching `where` when given.

        Timestamps come back as UTC-aware on every dialect (SQLite itself keeps no time zone).
        """
        selected = [table.c[name] for name in columns] if columns else [table]
        key = list(table.primary_key.columns) or [table.c[name] for name in table.info.get("order_by", ())]
        query = select(*selected).order_by(*key)
        if start is not None and end is not None:
            query = query.where(table.c.date.between(start, end))
        if where is not None:
            query = query.where(where)
        with self.engine.connect() as conn:
            frame = pd.read_sql(query, conn)
        for column in table.columns:
            if isinstance(column.type, DateTime) and column.name in frame.columns:
                frame[column.name] = pd.to_datetime(frame[column.name], utc=True)
        return frame

    def count(self, table: Table) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(table)).scalar_one()
