"""The BI contract's views, generated from the registry (`bi/contract.py`): on PostgreSQL in a schema of their own
(`bi`, or `<schema>_bi` beside a warehouse kept in another schema), every column commented, company views
`security_invoker` (so row-level security on their tables scopes a reader); on SQLite in the main database.

Every column is cast to its contract type, and every rate is computed from its parts (`metrics.py`'s formula)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Connection, inspect, text
from sqlalchemy.exc import DBAPIError

from reporting_assets.bi.contract import VERSION, VIEWS, Field, View
from reporting_assets.i18n import N_, Language
from reporting_assets.warehouse.engines import serialise

SQL_TYPES = {
    "postgresql": {
        "date": "DATE",
        "integer": "INTEGER",
        "bigint": "BIGINT",
        "float": "DOUBLE PRECISION",
        "text": "TEXT",
        "boolean": "BOOLEAN",
    },
    # SQLite keeps dates as ISO text and booleans as 0/1, as the tables do
    "sqlite": {
        "date": None,
        "integer": "INTEGER",
        "bigint": "INTEGER",
        "float": "REAL",
        "text": "TEXT",
        "boolean": None,
    },
}
# What PostgreSQL's catalog calls each contract type (information_schema.columns.data_type)
PG_CATALOG_TYPES = {name: sql.lower() for name, sql in SQL_TYPES["postgresql"].items()}


def _sqlite_calendar() -> str:
    d = "days.date"
    back = f"((CAST(strftime('%w', {d}) AS INTEGER) + 6) % 7)"  # days since Monday
    monday = f"date({d}, '-' || {back} || ' days')"
    thursday = f"date({monday}, '+3 days')"  # its ISO week's year is the Thursday's
    return ", ".join(
        (
            f"CAST(strftime('%Y', {d}) AS INTEGER) AS year",
            f"(CAST(strftime('%m', {d}) AS INTEGER) + 2) / 3 AS quarter",
            f"CAST(strftime('%m', {d}) AS INTEGER) AS month",
            f"date({d}, 'start of month') AS month_start",
            f"CAST(strftime('%Y', {thursday}) AS INTEGER) AS iso_year",
            f"CAST(julianday({thursday}) - julianday(strftime('%Y', {thursday}) || '-01-01') AS INTEGER) / 7 + 1"
            " AS iso_week",
            f"{monday} AS week_start",
            f"{back} + 1 AS weekday",
            f"{back} >= 5 AS is_weekend",
        )
    )


_PG_CALENDAR = ", ".join(
    (
        "EXTRACT(YEAR FROM days.date) AS year",
        "EXTRACT(QUARTER FROM days.date) AS quarter",
        "EXTRACT(MONTH FROM days.date) AS month",
        "date_trunc('month', days.date) AS month_start",
        "EXTRACT(ISOYEAR FROM days.date) AS iso_year",
        "EXTRACT(WEEK FROM days.date) AS iso_week",
        "date_trunc('week', days.date) AS week_start",
        "EXTRACT(ISODOW FROM days.date) AS weekday",
        "EXTRACT(ISODOW FROM days.date) >= 6 AS is_weekend",
    )
)
SNIPPETS = {
    "postgresql": {
        "today": "CAST(now() AT TIME ZONE 'UTC' AS DATE)",
        "next_day": "date + 1",
        "calendar": _PG_CALENDAR,
    },
    "sqlite": {"today": "date('now')", "next_day": "date(date, '+1 day')", "calendar": _sqlite_calendar()},
}


def schema_of(conn: Connection) -> str | None:
    """The contract's schema on PostgreSQL (`bi` beside tables in `public`, else `<their schema>_bi`); None on
    SQLite (the main database)."""
    if conn.dialect.name != "postgresql":
        return None
    current = conn.execute(text("SELECT current_schema()")).scalar_one()
    return "bi" if current == "public" else f"{current}_bi"


def _quote(conn: Connection, name: str) -> str:
    return conn.dialect.identifier_preparer.quote(name)


def qualified(conn: Connection, view: View, schema: str | None) -> str:
    return f"{_quote(conn, schema)}.{_quote(conn, view.name)}" if schema else _quote(conn, view.name)


def select_sql(view: View, dialect: str, schema: str | None, first_day: date | None = None) -> str:
    """The view's SELECT: its body, each column cast to its contract type, each rate computed from its parts;
    `first_day`: the calendar's first day (the first partition), else the first day loaded."""
    start = f"CAST('{first_day.isoformat()}' AS DATE)" if first_day else "NULL"
    if first_day and dialect == "sqlite":
        start = f"'{first_day.isoformat()}'"  # SQLite keeps dates as ISO text
    body = view.body.format(bi=f'"{schema}".' if schema else "", first_day=start, **SNIPPETS[dialect])
    columns = []
    for field in view.fields:
        expression = f"v.{field.name}"
        if field.ratio:
            numerator = " + ".join(f"v.{c}" for c in field.ratio.numerator)
            denominator = " + ".join(f"v.{c}" for c in field.ratio.denominator)
            expression = f"CAST({numerator} AS {SQL_TYPES[dialect]['float']}) / NULLIF({denominator}, 0)"
        sql_type = SQL_TYPES[dialect][field.type]
        columns.append(
            f"CAST({expression} AS {sql_type}) AS {field.name}" if sql_type else f"{expression} AS {field.name}"
        )
    return f"SELECT {', '.join(columns)}\nFROM ({body}\n) AS v"


def expected(user_lists: bool) -> list[View]:
    """The views a warehouse publishes: the per-user one only with `REPORTING_USER_LISTS=on`."""
    return [v for v in VIEWS.values() if user_lists or not v.per_user]


def _sql_literal(value: str) -> str:
    """A string literal as `text()` takes it literally: quotes doubled, colons escaped (never a bind parameter)."""
    return "'" + value.replace("'", "''").replace(":", "\\:") + "'"


def comment(field: Field, api_docs: Mapping[str, str] | None = None) -> str:
    """A column's description: the API's own (its `metadata` block's description and unit, `api_docs` by
    "<raw table>.<column>") for an API field the API describes, else the registry's."""
    return (api_docs or {}).get(field.api or "") or field.comment


def install(
    conn: Connection, user_lists: bool, first_day: date | None, api_docs: Mapping[str, str] | None = None
) -> list[str]:
    """(Re)create the contract's views in this transaction, one installer at a time (`first_day`: the first
    partition, where the calendar starts; `api_docs`: the API's field descriptions). Returns their names.

    On PostgreSQL a view is replaced in place, so that a customer's own views over it survive; only a view whose
    columns changed is dropped and created anew (a breaking change: a new contract version)."""
    serialise(conn, "reporting_assets.bi")
    dialect, schema = conn.dialect.name, schema_of(conn)
    if schema:
        conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS {_quote(conn, schema)}"))
    views = expected(user_lists)
    kept = {v.name for v in views} if dialect == "postgresql" else set()
    for view in reversed(VIEWS.values()):  # dependants first (dim_company reads dim_date)
        if view.name not in kept:
            conn.execute(text(f"DROP VIEW IF EXISTS {qualified(conn, view, schema)}"))
    for view in views:
        name = qualified(conn, view, schema)
        sql = select_sql(view, dialect, schema, first_day)
        if dialect != "postgresql":
            conn.execute(text(f"CREATE VIEW {name} AS\n{sql}"))
            continue
        _replace(conn, name, sql, " WITH (security_invoker = true)" if view.per_company else "")
        conn.execute(text(f"COMMENT ON VIEW {name} IS {_sql_literal(f'{view.description} Grain: {view.grain}.')}"))
        for field in view.fields:
            described = _sql_literal(comment(field, api_docs))
            conn.execute(text(f"COMMENT ON COLUMN {name}.{_quote(conn, field.name)} IS {described}"))
    return [v.name for v in views]


def _replace(conn: Connection, name: str, sql: str, options: str) -> None:
    """The view replaced in place; created anew when its columns changed (PostgreSQL cannot replace those), which
    fails while another view reads it."""
    try:
        with conn.begin_nested():
            conn.execute(text(f"CREATE OR REPLACE VIEW {name}{options} AS\n{sql}"))
    except DBAPIError:
        conn.execute(text(f"DROP VIEW IF EXISTS {name}"))
        conn.execute(text(f"CREATE VIEW {name}{options} AS\n{sql}"))


@dataclass(frozen=True)
class Status:
    missing: list[str]  # views the contract has and the warehouse lacks
    stale: list[str]  # views whose columns (or types) differ from the contract's

    @property
    def current(self) -> bool:
        return not self.missing and not self.stale

    def summary(self, lang: Language) -> str:
        """One line on the contract's state in `lang`, with what to do when it is not current (view names stay)."""
        if self.current:
            return lang.gettext("v{version}: every view present and current").format(version=VERSION)
        missing = lang.gettext("missing {views}").format(views=", ".join(self.missing))
        stale = lang.gettext("out of date {views}").format(views=", ".join(self.stale))
        problems = [missing] * bool(self.missing) + [stale] * bool(self.stale)
        todo = N_("v{version}: {problems}: materialize bi_contract (or python -m reporting_assets.bi install)")
        return lang.gettext(todo).format(version=VERSION, problems="; ".join(problems))


def status(conn: Connection, user_lists: bool) -> Status:
    """Whether every view of the contract is there, with the contract's columns in order (and types, PostgreSQL)."""
    schema = schema_of(conn)
    inspector = inspect(conn)
    present = set(inspector.get_view_names(schema=schema))
    missing, stale = [], []
    for view in expected(user_lists):
        if view.name not in present:
            missing.append(view.name)
            continue
        columns = inspector.get_columns(view.name, schema=schema)
        if [c["name"] for c in columns] != view.names or (
            schema and _pg_types(conn, schema, view) != [PG_CATALOG_TYPES[f.type] for f in view.fields]
        ):
            stale.append(view.name)
    return Status(missing, stale)


def _pg_types(conn: Connection, schema: str, view: View) -> list[str]:
    query = text(
        "SELECT data_type FROM information_schema.columns WHERE table_schema = :s AND table_name = :v "
        "ORDER BY ordinal_position"
    )
    return list(conn.execute(query, {"s": schema, "v": view.name}).scalars())


def comments(conn: Connection) -> dict[tuple[str, str], str]:
    """The installed views' column comments by (view, column): what the kits describe (PostgreSQL; none on
    SQLite, where the kits use the registry's)."""
    schema = schema_of(conn)
    if not schema:
        return {}
    query = text(
        "SELECT c.table_name, c.column_name, col_description(format('%I.%I', c.table_schema, c.table_name)::regclass, "
        "c.ordinal_position) FROM information_schema.columns c WHERE c.table_schema = :s"
    )
    return {(v, c): d for v, c, d in conn.execute(query, {"s": schema}) if d}
