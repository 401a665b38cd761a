"""Engines for the warehouse URL, all made by `create`: SQLite with WAL and transactions the driver does not manage
itself (so DDL, a migration included, is all or nothing), PostgreSQL with pre-ping; no engine puts a statement's
parameters (a row's values) in its errors, and `reduced` tells a database error's cause without quoting a row.
Used by the store, the migration command, the doctor and the commands alike."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url


def create(url: str) -> Engine:
    """An engine for `url` (a SQLite file's directory is created)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, hide_parameters=True)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 60}, hide_parameters=True)
    event.listen(engine, "connect", _sqlite_pragmas)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


QUOTING_CLASSES = ("22", "23")  # PostgreSQL's data exceptions and integrity violations quote values, rows


def reduced(exc: BaseException) -> str:
    """A database error as its kind and cause, never a row's values: PostgreSQL's names of table, column and
    constraint for an error that may quote them (its DETAIL and CONTEXT lines quote the row), else the driver's
    first line (SQLite's messages and connection errors quote no row)."""
    orig = getattr(exc, "orig", None) or exc
    diag = getattr(orig, "diag", None)
    sqlstate = getattr(diag, "sqlstate", None)
    if sqlstate and sqlstate[:2] in QUOTING_CLASSES:
        names = (("table", diag.table_name), ("column", diag.column_name), ("constraint", diag.constraint_name))
        where = ", ".join(f"{label} {value}" for label, value in names if value)
        return f"{type(orig).__name__} (SQLSTATE {sqlstate})" + (f" on {where}" if where else "")
    lines = str(orig).strip().splitlines()
    return f"{type(orig).__name__}: {lines[0]}" if lines else type(orig).__name__


TRANSIENT_CLASSES = ("08", "40", "53", "57")  # connection, rollback (deadlock...), resources, operator intervention


def transient(exc: BaseException) -> bool:
    """Whether a database error may pass on a later try (as opposed to a refused value or a broken schema)."""
    orig = getattr(exc, "orig", None) or exc
    sqlstate = getattr(getattr(orig, "diag", None), "sqlstate", None)
    if sqlstate:
        return sqlstate[:2] in TRANSIENT_CLASSES
    return "database is locked" in str(orig) or bool(getattr(exc, "connection_invalidated", False))


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """WAL lets BI tools read while a run writes; NORMAL sync is durable enough with WAL. The driver's own
    transaction handling is off (it never begins one before DDL): `_sqlite_begin` does it, so a migration is
    all or nothing on SQLite too (SQLAlchemy's recipe for pysqlite)."""
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    immediate = connection.get_execution_options().get(WRITES_FIRST)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


WRITES_FIRST = "reporting_writes_first"


@contextmanager
def begin_write(engine: Engine) -> Iterator[Connection]:
    """A transaction that reads, then writes. On SQLite it takes the write lock as it begins (BEGIN IMMEDIATE): a
    read transaction that later writes fails at once ("database is locked") when another writer committed in
    between, whereas waiting for the lock first is bounded by the busy timeout."""
    with engine.connect() as conn:
        conn.execution_options(**{WRITES_FIRST: True})
        with conn.begin():
            yield conn


def serialise(conn: Connection, name: str) -> None:
    """PostgreSQL: one transaction at a time holds `name` (a transaction-level advisory lock, released at its end):
    the writers of one table, the upgraders, the key converters. SQLite has one writer at a time anyway."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:name))"), {"name": name})
