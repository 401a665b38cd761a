"""Storage limitation and erasure of per-user rows (`user_activities`, `user_engagement`); aggregates stay.

`purge` deletes the rows older than the retention and marks their days **purged** in the ledger (still loaded:
the KPI figures computed from them stand, and are never recomputed from what is left). Fetching such a day again
restores it. `forget` deletes one user's rows everywhere. Each runs in one transaction.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Engine, and_, delete, update

from reporting_assets.users import pseudonyms
from reporting_assets.warehouse.engines import begin_write
from reporting_assets.warehouse.store import lock_table
from reporting_assets.warehouse.tables import PER_USER_TABLES, load_log, user_activities, user_engagement


def purge(engine: Engine, before: date, now: datetime) -> dict[str, int]:
    """Delete per-user rows dated before `before` (engagement rows of users last active before it) and mark those
    days of `user_activities` purged. Returns the rows deleted per table and the days newly purged."""
    with engine.begin() as conn:
        lock_table(conn, user_activities)  # beside a load of the same table
        out = {
            user_activities.name: conn.execute(delete(user_activities).where(user_activities.c.date < before)).rowcount,
            user_engagement.name: conn.execute(
                delete(user_engagement).where(user_engagement.c.last_active_date < before)
            ).rowcount,
        }
        days = and_(load_log.c.asset == user_activities.name, load_log.c.date < before, load_log.c.purged_at.is_(None))
        out["days_purged"] = conn.execute(update(load_log).where(days).values(purged_at=now)).rowcount
    return out


def forget(engine: Engine, company_id: int, user_id: int, key: str | None) -> tuple[int, dict[str, int]]:
    """Delete every row of one user (`user_id` as the API gives it; pseudonymised with `key` when set).
    Returns the id looked for and the rows deleted per table."""
    with begin_write(engine) as conn:
        stored = pseudonyms.stored_since(conn)
        if bool(stored) != bool(key) or (stored and stored[0] != pseudonyms.key_check(key or "")):
            raise pseudonyms.KeyMismatch(
                "REPORTING_USER_ID_KEY must be the key the warehouse's user ids were made with "
                f"({'pseudonyms since ' + f'{stored[1]:%Y-%m-%d}' if stored else 'they are raw ids'}): "
                "the user could not be found otherwise"
            )
        stored_id = pseudonyms.pseudonym(key, company_id, user_id) if key else user_id
        deleted = {
            table.name: conn.execute(
                delete(table).where(table.c.company_id == company_id, table.c.user_id == stored_id)
            ).rowcount
            for table in PER_USER_TABLES
        }
    return stored_id, deleted
