"""Storage limitation and erasure of per-user rows (the tables `personal.TABLES` declares); aggregates stay.

`purge` deletes the rows older than the retention and marks their days **purged** in the ledger (still loaded:
the KPI figures computed from them stand, and are never recomputed from what is left). Fetching such a day again
restores it. `forget` deletes one user's rows everywhere and records the erasure, so that no later load brings
them back (`users.erased`); `unforget` removes that record. Each runs in one transaction.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Connection, Engine, and_, delete, update

from reporting_assets import personal
from reporting_assets.users import erased, pseudonyms
from reporting_assets.warehouse.engines import begin_write
from reporting_assets.warehouse.store import lock_table
from reporting_assets.warehouse.tables import load_log, user_activities


def purge(engine: Engine, before: date, now: datetime) -> dict[str, int]:
    """Delete per-user rows dated before `before` (by each table's `expires_by`: engagement rows of users last
    active before it) and mark those days of `user_activities` purged. Returns the rows deleted per table and the
    days newly purged."""
    with engine.begin() as conn:
        lock_table(conn, user_activities)  # beside a load of the same table
        dated = [h for h in personal.TABLES if h.expiry is not None]
        out = {h.table.name: conn.execute(delete(h.table).where(h.expiry < before)).rowcount for h in dated}
        days = and_(load_log.c.asset == user_activities.name, load_log.c.date < before, load_log.c.purged_at.is_(None))
        out["days_purged"] = conn.execute(update(load_log).where(days).values(purged_at=now)).rowcount
    return out


def _stored_id(conn: Connection, company_id: int, user_id: int, key: str | None) -> int:
    """The id the per-user tables hold for the user: the pseudonym with `key`, else the id itself. Refuses a key
    that is not the one the stored ids were made with (the user could not be found)."""
    stored = pseudonyms.stored_since(conn)
    if bool(stored) != bool(key) or (stored and stored[0] != pseudonyms.key_check(key or "")):
        raise pseudonyms.KeyMismatch(
            "REPORTING_USER_ID_KEY must be the key the warehouse's user ids were made with "
            f"({'pseudonyms since ' + f'{stored[1]:%Y-%m-%d}' if stored else 'they are raw ids'}): "
            "the user could not be found otherwise"
        )
    return pseudonyms.pseudonym(key, company_id, user_id) if key else user_id


def forget(engine: Engine, company_id: int, user_id: int, key: str | None, now: datetime) -> tuple[int, dict[str, int]]:
    """Delete every row of one user (`user_id` as the API gives it; pseudonymised with `key` when set) and record
    the erasure, so that every later load drops the user. Returns the id looked for and the rows deleted per
    table."""
    with begin_write(engine) as conn:
        stored_id = _stored_id(conn, company_id, user_id, key)
        for held in personal.TABLES:
            lock_table(conn, held.table)  # a load running beside waits, then drops the user
        erased.record(conn, company_id, user_id, stored_id if key else None, now)
        deleted = {
            h.table.name: conn.execute(
                delete(h.table).where(h.table.c.company_id == company_id, h.table.c.user_id == stored_id)
            ).rowcount
            for h in personal.TABLES
        }
    return stored_id, deleted


def unforget(engine: Engine, company_id: int, user_id: int) -> int:
    """Remove one user's erasure record (a mistaken `forget`); their history comes back only with a refetch of the
    days they were active. Returns the records removed (0: the user was not erased)."""
    with begin_write(engine) as conn:
        return erased.undo(conn, company_id, user_id)
