"""Pseudonymous user ids (`REPORTING_USER_ID_KEY`): HMAC-SHA256(key, "company_id:user_id") truncated to a positive
63-bit integer, applied as a payload is parsed, so that the raw id is never written anywhere.

The warehouse records which key its ids were made with (`pseudonymisation.key_check`, an HMAC of a fixed text:
never the key). `ensure` converts a warehouse of raw ids when a key is first set, in one transaction, and refuses
a changed or removed key: ids made with two keys, or raw next to pseudonyms, could never be told apart.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

from sqlalchemy import BigInteger, Column, Connection, Engine, Integer, MetaData, Table, and_, delete, select

from reporting_assets import personal
from reporting_assets.clock import utc_now
from reporting_assets.lazy import pandas as pd
from reporting_assets.warehouse.engines import begin_write, serialise
from reporting_assets.warehouse.tables import pseudonymisation

MASK = (1 << 63) - 1
RESET = "python -m reporting_assets.users reset"


class KeyMismatch(RuntimeError):
    """REPORTING_USER_ID_KEY is not the key the stored ids were made with (or is unset while they are pseudonyms)."""


def pseudonym(key: str, company_id: int, user_id: int) -> int:
    """One user's pseudonym: the same for the same key and user, in any process."""
    digest = hmac.new(key.encode(), f"{company_id}:{user_id}".encode(), hashlib.sha256).digest()
    return (int.from_bytes(digest[:8], "big") & MASK) or 1


def pseudonymise(company_ids: pd.Series, user_ids: pd.Series, key: str) -> pd.Series:
    """The pseudonym of each (company, user) pair; one HMAC per distinct pair, not per row."""
    codes, pairs = pd.MultiIndex.from_arrays([company_ids, user_ids]).factorize()
    mapped = pd.array([pseudonym(key, int(c), int(u)) for c, u in pairs], dtype="Int64")
    return pd.Series(mapped[codes], index=user_ids.index, name=user_ids.name)


def key_check(key: str) -> str:
    """What the warehouse keeps to recognise its key (an HMAC of a fixed text: the key cannot be read back)."""
    return hmac.new(key.encode(), b"paradigm-reporting/key-check", hashlib.sha256).hexdigest()


def stored_since(conn: Connection) -> tuple[str, datetime] | None:
    """The key check and date of a pseudonymised warehouse; None when its ids are raw."""
    row = conn.execute(select(pseudonymisation.c.key_check, pseudonymisation.c.since)).first()
    return (row[0], row[1]) if row else None


def ensure(engine: Engine, key: str | None, now: datetime | None = None) -> str:
    """Make the warehouse's user ids agree with `key`: convert raw ids when a key is set for the first time
    (every per-user table, one transaction), refuse a changed or removed key. Returns what it found or did."""
    with engine.connect() as conn:  # most runs: nothing to write
        stored = stored_since(conn)
    if stored and key and stored[0] == key_check(key):
        return "on"
    with begin_write(engine) as conn:
        serialise(conn, "reporting_assets.pseudonyms")  # one converter at a time
        stored = stored_since(conn)
        if key is None:
            if stored:
                raise KeyMismatch(
                    f"REPORTING_USER_ID_KEY is unset, but the warehouse's user ids are pseudonyms (since "
                    f"{stored[1]:%Y-%m-%d}): set the key again, or run `{RESET}` to delete the per-user rows and "
                    "load them again"
                )
            return "off"
        if stored:
            if stored[0] != key_check(key):
                raise KeyMismatch(
                    "REPORTING_USER_ID_KEY is not the key the warehouse's user ids were pseudonymised with (since "
                    f"{stored[1]:%Y-%m-%d}): set the previous key again, or run `{RESET}` to delete the per-user rows "
                    "and load them again under the new key"
                )
            return "on"
        converted = sum(_convert(conn, held.table, key) for held in personal.TABLES)
        conn.execute(pseudonymisation.insert().values(key_check=key_check(key), since=now or utc_now()))
        return f"on: {converted} stored rows converted"


def _convert(conn: Connection, table: Table, key: str) -> int:
    """Replace every raw user id of `table` by its pseudonym: a mapping table, then one UPDATE."""
    pairs = pd.read_sql(select(table.c.company_id, table.c.user_id).distinct(), conn)
    if not len(pairs):
        return 0
    mapping = Table(
        "pseudonym_map",
        MetaData(),
        Column("company_id", Integer, primary_key=True),
        Column("user_id", BigInteger, primary_key=True),
        Column("pseudonym", BigInteger, nullable=False),
        prefixes=["TEMPORARY"],
    )
    mapping.create(conn)
    pairs["pseudonym"] = pseudonymise(pairs["company_id"], pairs["user_id"], key)
    conn.execute(mapping.insert(), pairs.to_dict("records"))
    match = and_(mapping.c.company_id == table.c.company_id, mapping.c.user_id == table.c.user_id)
    updated = conn.execute(
        table.update().values(user_id=select(mapping.c.pseudonym).where(match).scalar_subquery())
    ).rowcount
    mapping.drop(conn)
    return updated


def reset(engine: Engine) -> dict[str, int]:
    """Delete every per-user row, the ledger days of `user_activities` and the key check (one transaction): the
    way to change or remove the key. Aggregates (KPI tables, cohorts) stay."""
    from reporting_assets.warehouse.tables import load_log, user_activities

    deleted = {}
    with engine.begin() as conn:
        for held in personal.TABLES:
            deleted[held.table.name] = conn.execute(delete(held.table)).rowcount
        deleted["load_log"] = conn.execute(delete(load_log).where(load_log.c.asset == user_activities.name)).rowcount
        conn.execute(delete(pseudonymisation))
    return deleted
