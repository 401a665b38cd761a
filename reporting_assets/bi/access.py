"""Readers of the BI contract (PostgreSQL): login roles that can only SELECT the contract's views, optionally
scoped to one company by row-level security on the tables under the views.

A reader gets USAGE on the contract's schema, SELECT on its views, and SELECT on the tables the company views read
(their `security_invoker` makes PostgreSQL check the reader's own rights, and apply the reader's row policies):
never on the load ledger, the alert tables or the pseudonymisation check, and, with `REPORTING_USER_LISTS=off`,
never on a per-user view or table. Each of those tables has row-level security on and forced (its owner is held
to it too), with one policy letting every role see every row, and, for a company-scoped reader, a restrictive
policy `bi_scope_<hash of the role>` keeping only its company's rows. `dim_date` reads the ledger with its
owner's rights.

Row security cannot hold a superuser, a role with BYPASSRLS, or a member of such a role or of the tables' owner
(who can `SET ROLE` to it): such a role is refused a company scope, and `check` reports one as not scoped.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from sqlalchemy import Connection, text

from reporting_assets import personal
from reporting_assets.bi.contract import VIEWS
from reporting_assets.bi.views import qualified, schema_of
from reporting_assets.warehouse.engines import serialise

EVERYONE = "bi_every_row"  # the permissive policy: row-level security on must not hide rows from anyone else


class AccessError(ValueError):
    """A request the database cannot serve as asked (not PostgreSQL, no contract installed, bad role name, a role
    row security cannot hold)."""


@dataclass(frozen=True)
class Reader:
    role: str
    company_id: int | None  # None: every company
    bypass: str | None = None  # why row security cannot hold this role (superuser, BYPASSRLS, owner)

    def __str__(self) -> str:
        if self.company_id is None:
            return f"{self.role}: every company"
        if self.bypass:
            return f"{self.role}: NOT scoped to company {self.company_id} ({self.bypass})"
        return f"{self.role}: company {self.company_id}"


def _tables(user_lists: bool) -> list[str]:
    """The tables the company views read (the per-user ones only with `user_lists`): a reader's SELECT, and row
    level security, apply to them."""
    views = [v for v in VIEWS.values() if v.per_company and (user_lists or not v.per_user)]
    return sorted({t.name for v in views for t in v.sources})


def _per_user() -> tuple[list[str], list[str]]:
    """The per-user views and tables (`personal`): what no reader holds with REPORTING_USER_LISTS=off."""
    return list(personal.VIEWS), personal.table_names()


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
    """The scope policy's name: a digest of the whole role name, so that no two roles share one (names are cut at
    63 characters)."""
    return "bi_scope_" + hashlib.sha256(role.encode()).hexdigest()[:32]


_BYPASS = text(
    """
SELECT r.rolname, r.rolsuper, r.rolbypassrls
FROM pg_roles r
WHERE (r.rolsuper OR r.rolbypassrls OR r.rolname = ANY(:owners)) AND pg_has_role(:role, r.oid, 'MEMBER')
ORDER BY r.rolname <> :role, r.rolname
LIMIT 1"""
)


def bypass(conn: Connection, role: str) -> str | None:
    """Why row security cannot hold `role`, or None: it is a superuser, has BYPASSRLS or owns a table under the
    contract, or is a member of a role that does (it can SET ROLE to it)."""
    owners = list(
        conn.execute(
            text(
                "SELECT DISTINCT pg_get_userbyid(c.relowner) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() "
                "AND c.relname = ANY(:tables)"
            ),
            {"tables": _tables(user_lists=True)},
        ).scalars()
    )
    found = conn.execute(_BYPASS, {"owners": owners, "role": role}).first()
    if not found:
        return None
    name, superuser, bypassrls = found
    what = "a superuser" if superuser else "has BYPASSRLS" if bypassrls else "owns the warehouse's tables"
    return f"can bypass row security: {what}" if name == role else f"can bypass row security: member of {name}, {what}"


def _exists(conn: Connection, role: str) -> bool:
    return bool(conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first())


def grant(conn: Connection, role: str, company_id: int | None, user_lists: bool) -> Reader:
    """Make `role` (created as a login role when missing) a reader of the contract; of `company_id`'s rows only
    when given (a scope given before is replaced); the per-user view only with `user_lists`. A company scope is
    refused to a role that row security cannot hold."""
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", role):
        raise AccessError(f"role {role!r}: use lower-case letters, digits and underscores (at most 63)")
    serialise(conn, "reporting_assets.bi")
    schema = _schema(conn)
    q = conn.dialect.identifier_preparer.quote
    if not _exists(conn, role):
        conn.execute(text(f"CREATE ROLE {q(role)} LOGIN"))
    elif company_id is not None and (reason := bypass(conn, role)):
        raise AccessError(
            f"role {role} {reason}: it would see every company. Grant --company to a plain login role "
            f"(CREATE ROLE name LOGIN), or grant {role} without --company"
        )
    conn.execute(text(f"GRANT USAGE ON SCHEMA {q(schema)}, {q(_tables_schema(conn))} TO {q(role)}"))
    _grant_views(conn, schema, role, user_lists)
    for table in _tables(user_lists):
        conn.execute(text(f"GRANT SELECT ON {q(table)} TO {q(role)}"))
    _drop_scope(conn, role)
    for table in _tables(user_lists=True):
        _row_security(conn, table)
        if company_id is not None:
            conn.execute(
                text(
                    f"CREATE POLICY {q(_policy(role))} ON {q(table)} AS RESTRICTIVE FOR SELECT TO {q(role)} "
                    f"USING (company_id = {int(company_id)})"
                )
            )
    if not user_lists:
        _take_per_user(conn, schema, role)
    return Reader(role, company_id)


def _grant_views(conn: Connection, schema: str, role: str, user_lists: bool) -> None:
    q = conn.dialect.identifier_preparer.quote
    present = set(conn.execute(text("SELECT viewname FROM pg_views WHERE schemaname = :s"), {"s": schema}).scalars())
    for view in VIEWS.values():
        if view.name in present and (user_lists or not view.per_user):
            conn.execute(text(f"GRANT SELECT ON {qualified(conn, view, schema)} TO {q(role)}"))


def _take_per_user(conn: Connection, schema: str, role: str) -> None:
    """REPORTING_USER_LISTS=off: the role holds no per-user view or table."""
    q = conn.dialect.identifier_preparer.quote
    per_user_views, per_user_tables = _per_user()
    present = set(conn.execute(text("SELECT viewname FROM pg_views WHERE schemaname = :s"), {"s": schema}).scalars())
    for name in per_user_views:
        if name in present:
            conn.execute(text(f"REVOKE ALL ON {q(schema)}.{q(name)} FROM {q(role)}"))
    for table in per_user_tables:
        conn.execute(text(f"REVOKE ALL ON {q(table)} FROM {q(role)}"))


def _row_security(conn: Connection, table: str) -> None:
    q = conn.dialect.identifier_preparer.quote
    conn.execute(text(f"ALTER TABLE {q(table)} ENABLE ROW LEVEL SECURITY"))
    conn.execute(text(f"ALTER TABLE {q(table)} FORCE ROW LEVEL SECURITY"))
    exists = text(
        "SELECT 1 FROM pg_policies WHERE schemaname = current_schema() AND tablename = :t AND policyname = :p"
    )
    if not conn.execute(exists, {"t": table, "p": EVERYONE}).first():
        conn.execute(text(f"CREATE POLICY {EVERYONE} ON {q(table)} USING (true)"))


def readers(conn: Connection) -> list[Reader]:
    """The contract's readers (the roles granted its schema), their scopes, and whether row security holds them."""
    schema = _schema(conn)
    roles = conn.execute(
        text(
            "SELECT DISTINCT a.grantee::regrole::text FROM pg_namespace n, aclexplode(n.nspacl) a "
            "WHERE n.nspname = :s AND a.privilege_type = 'USAGE' AND a.grantee <> n.nspowner ORDER BY 1"
        ),
        {"s": schema},
    ).scalars()
    scopes = {role: qual for _, _, role, qual in _scopes(conn)}
    out = []
    for role in roles:
        match = re.search(r"company_id = (\d+)", scopes.get(role, ""))
        company = int(match.group(1)) if match else None
        out.append(Reader(role, company, bypass(conn, role) if company is not None else None))
    return out


def _scopes(conn: Connection) -> list[tuple[str, str, str, str]]:
    """Every scope policy: (table, policy, role, its condition)."""
    query = text(
        "SELECT tablename, policyname, unnest(roles)::text, qual FROM pg_policies "
        "WHERE schemaname = current_schema() AND policyname LIKE 'bi\\_scope\\_%'"
    )
    return [tuple(row) for row in conn.execute(query)]


def _drop_scope(conn: Connection, role: str) -> None:
    """Drop the role's scope policies, whatever their names (before v1's digests, the role's own name)."""
    q = conn.dialect.identifier_preparer.quote
    for table, name, holder, _ in _scopes(conn):
        if holder == role:
            conn.execute(text(f"DROP POLICY {q(name)} ON {q(table)}"))


def refresh(conn: Connection, user_lists: bool) -> list[Reader]:
    """Grant the views to every reader again (a view created anew has no grants), and with `user_lists` off take
    the per-user view and tables back from them."""
    schema = schema_of(conn)
    found = readers(conn)
    for reader in found:
        _grant_views(conn, schema, reader.role, user_lists)
        if not user_lists:
            _take_per_user(conn, schema, reader.role)
    return found


def revoke(conn: Connection, role: str, drop: bool = False) -> None:
    """Undo `grant`: no privilege left on any table, view or schema of the warehouse and its contract, no scope
    policy; the role itself is dropped with `drop` (it must own nothing)."""
    serialise(conn, "reporting_assets.bi")
    schema = _schema(conn)
    q = conn.dialect.identifier_preparer.quote
    if not _exists(conn, role):
        raise AccessError(f"role {role} does not exist")
    for where in (schema, _tables_schema(conn)):
        conn.execute(text(f"REVOKE ALL ON ALL TABLES IN SCHEMA {q(where)} FROM {q(role)}"))
        conn.execute(text(f"REVOKE ALL ON SCHEMA {q(where)} FROM {q(role)}"))
    _drop_scope(conn, role)
    if drop:
        conn.execute(text(f"DROP ROLE {q(role)}"))
