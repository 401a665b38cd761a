"""Readers of the BI contract (PostgreSQL): login roles that can only SELECT the contract's views, optionally
scoped to one company by row-level security on the tables under the views.

A reader gets USAGE on the contract's schema, SELECT on its views, and SELECT on the tables the company views read
(their `security_invoker` makes PostgreSQL check the reader's own rights, and apply the reader's row policies):
never on the load ledger, the alert tables or the pseudonymisation check. Each of those tables has row-level
security on, with one policy letting every role see every row, and, for a company-scoped reader, a restrictive
policy `bi_scope_<role>` keeping only its company's rows. `dim_date` reads the ledger with its owner's rights.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import Connection, text

from reporting_assets.bi.contract import VIEWS
from reporting_assets.bi.views import qualified, schema_of
from reporting_assets.warehouse.engines import serialise

EVERYONE = "bi_every_row"  # the permissive policy: row-level security on must not hide rows from anyone else


class AccessError(ValueError):
    """A request the database cannot serve as asked (not PostgreSQL, no contract installed, bad role name)."""


@dataclass(frozen=True)
class Reader:
    role: str
    company_id: int | None  # None: every company

    def __str__(self) -> str:
        return f"{self.role}: {'every company' if self.company_id is None else f'company {self.company_id}'}"


def _tables() -> list[str]:
    """The tables the company views read: a reader's SELECT, and row-level security, apply to them."""
    return sorted({t.name for v in VIEWS.values() if v.per_company for t in v.sources})


def _schema(conn: Connection) -> str:
    if conn.dialect.name != "postgresql":
        raise AccessError("BI roles need PostgreSQL: a SQLite warehouse is one file, readable by whoever opens it")
    schema = schema_of(conn)
    if not conn.execute(text("SELECT 1 FROM pg_namespace WHERE nspname = :s"), {"s": schema}).first():
        raise AccessError(
            f"the BI contract is not installed (no schema {schema}): materialize bi_contract, or run "
            "`python -m reporting_assets.bi install`"
        )
    return schema


def _tables_schema(conn: Connection) -> str:
    """The warehouse tables' schema: a security_invoker view needs its reader to reach them."""
    return conn.execute(text("SELECT current_schema()")).scalar_one()


def _policy(role: str) -> str:
    return f"bi_scope_{role}"[:63]


def grant(conn: Connection, role: str, company_id: int | None = None) -> Reader:
    """Make `role` (created as a login role when missing) a reader of the contract; of `company_id`'s rows only
    when given (a scope given before is replaced)."""
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", role):
        raise AccessError(f"role {role!r}: use lower-case letters, digits and underscores (at most 63)")
    serialise(conn, "reporting_assets.bi")
    schema = _schema(conn)
    q = conn.dialect.identifier_preparer.quote
    if not conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first():
        conn.execute(text(f"CREATE ROLE {q(role)} LOGIN"))
    conn.execute(text(f"GRANT USAGE ON SCHEMA {q(schema)}, {q(_tables_schema(conn))} TO {q(role)}"))
    _grant_views(conn, schema, role)
    for table in _tables():
        conn.execute(text(f"GRANT SELECT ON {q(table)} TO {q(role)}"))
        _row_security(conn, table)
        conn.execute(text(f"DROP POLICY IF EXISTS {q(_policy(role))} ON {q(table)}"))
        if company_id is not None:
            conn.execute(
                text(
                    f"CREATE POLICY {q(_policy(role))} ON {q(table)} AS RESTRICTIVE FOR SELECT TO {q(role)} "
                    f"USING (company_id = {int(company_id)})"
                )
            )
    return Reader(role, company_id)


def _grant_views(conn: Connection, schema: str, role: str) -> None:
    q = conn.dialect.identifier_preparer.quote
    present = set(conn.execute(text("SELECT viewname FROM pg_views WHERE schemaname = :s"), {"s": schema}).scalars())
    for view in VIEWS.values():
        if view.name in present:
            conn.execute(text(f"GRANT SELECT ON {qualified(conn, view, schema)} TO {q(role)}"))


def _row_security(conn: Connection, table: str) -> None:
    q = conn.dialect.identifier_preparer.quote
    conn.execute(text(f"ALTER TABLE {q(table)} ENABLE ROW LEVEL SECURITY"))
    exists = text(
        "SELECT 1 FROM pg_policies WHERE schemaname = current_schema() AND tablename = :t AND policyname = :p"
    )
    if not conn.execute(exists, {"t": table, "p": EVERYONE}).first():
        conn.execute(text(f"CREATE POLICY {EVERYONE} ON {q(table)} USING (true)"))


def readers(conn: Connection) -> list[Reader]:
    """The contract's readers (the roles granted its schema) and their scopes."""
    schema = _schema(conn)
    roles = conn.execute(
        text(
            "SELECT DISTINCT a.grantee::regrole::text FROM pg_namespace n, aclexplode(n.nspacl) a "
            "WHERE n.nspname = :s AND a.privilege_type = 'USAGE' AND a.grantee <> n.nspowner ORDER BY 1"
        ),
        {"s": schema},
    ).scalars()
    scopes = dict(
        conn.execute(
            text(
                "SELECT policyname, qual FROM pg_policies WHERE schemaname = current_schema() AND tablename = :t "
                "AND policyname LIKE 'bi\\_scope\\_%'"
            ),
            {"t": _tables()[0]},
        ).all()
    )
    out = []
    for role in roles:
        match = re.search(r"company_id = (\d+)", scopes.get(_policy(role), ""))
        out.append(Reader(role, int(match.group(1)) if match else None))
    return out


def refresh(conn: Connection) -> list[Reader]:
    """Grant the (re)created views to every reader again: a view dropped and created anew loses its grants."""
    found = readers(conn)
    for reader in found:
        _grant_views(conn, schema_of(conn), reader.role)
    return found


def revoke(conn: Connection, role: str, drop: bool = False) -> None:
    """Undo `grant`: no more access to the contract, its tables or its scope policy; the role itself is dropped
    with `drop` (it must own nothing and hold no other privilege)."""
    serialise(conn, "reporting_assets.bi")
    schema = _schema(conn)
    q = conn.dialect.identifier_preparer.quote
    if not conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first():
        raise AccessError(f"role {role} does not exist")
    conn.execute(text(f"REVOKE ALL ON ALL TABLES IN SCHEMA {q(schema)} FROM {q(role)}"))
    conn.execute(text(f"REVOKE USAGE ON SCHEMA {q(schema)}, {q(_tables_schema(conn))} FROM {q(role)}"))
    for table in _tables():
        conn.execute(text(f"REVOKE SELECT ON {q(table)} FROM {q(role)}"))
        conn.execute(text(f"DROP POLICY IF EXISTS {q(_policy(role))} ON {q(table)}"))
    if drop:
        conn.execute(text(f"DROP ROLE {q(role)}"))
