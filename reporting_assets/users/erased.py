"""Erasure that holds: who `forget` erased (`erased_users`), and every load dropping their rows before writing.

A user is recorded by a keyed hash of "company_id:user_id" under a random secret of the warehouse's own
(`erasure_key`), independent of `REPORTING_USER_ID_KEY`: the record matches the API's raw ids as a payload is
parsed, before any pseudonym is made, and still holds after the key changes. Beside it, `user_id` is the id the
per-user tables stored (the pseudonym with the key, else that hash): never the raw id.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, delete, func, select

from reporting_assets.lazy import pandas as pd
from reporting_assets.users.pseudonyms import pseudonym, pseudonymise
from reporting_assets.warehouse.engines import serialise
from reporting_assets.warehouse.tables import erased_users, erasure_key


def _secret(conn: Connection, now: datetime | None = None) -> str | None:
    """The warehouse's erasure secret; drawn and stored on first use when `now` is given (a writing transaction)."""
    found = conn.execute(select(erasure_key.c.secret)).scalar()
    if found or now is None:
        return found
    serialise(conn, erasure_key.name)  # one secret, whoever draws first
    found = conn.execute(select(erasure_key.c.secret)).scalar()
    if not found:
        found = secrets.token_hex(32)
        conn.execute(erasure_key.insert().values(secret=found, created_at=now))
    return found


def record(conn: Connection, company_id: int, user_id: int, stored_id: int | None, now: datetime) -> None:
    """Record the user (`user_id` as the API gives it; `stored_id`: its pseudonym, None when ids are raw) as
    erased."""
    user_hash = pseudonym(_secret(conn, now) or "", company_id, user_id)
    stored_id = user_hash if stored_id is None else stored_id
    where = (erased_users.c.company_id == company_id) & (erased_users.c.user_hash == user_hash)
    conn.execute(delete(erased_users).where(where))
    conn.execute(
        erased_users.insert().values(company_id=company_id, user_hash=user_hash, user_id=stored_id, erased_at=now)
    )


class ErasedMeanwhile(RuntimeError):
    """A user was erased (or restored) while a load was under way: its rows were filtered by the list before."""


def undo(conn: Connection, company_id: int, user_id: int) -> int:
    """Remove the user's erasure record (a mistaken erasure): later loads keep their rows again. Returns the
    records removed (0: the user was not erased)."""
    secret = _secret(conn)
    if secret is None:
        return 0
    where = (erased_users.c.company_id == company_id) & (
        erased_users.c.user_hash == pseudonym(secret, company_id, user_id)
    )
    return conn.execute(delete(erased_users).where(where)).rowcount


@dataclass(frozen=True)
class Erased:
    """The erased users of a warehouse, as a load drops them (read once per run: erasures are few)."""

    secret: str | None
    hashes: pd.MultiIndex | None  # (company_id, user_hash); None: nobody

    @classmethod
    def read(cls, engine: Engine) -> Erased:
        with engine.connect() as conn:
            secret = _secret(conn)
            found = pd.read_sql(select(erased_users.c.company_id, erased_users.c.user_hash), conn)
        return cls(secret, pd.MultiIndex.from_frame(found))

    def still(self, conn: Connection) -> None:
        """Raise `ErasedMeanwhile` unless the records are those read (called where the load writes, under the lock
        `forget` takes too: a later erasure waits, and deletes what this load writes)."""
        now = conn.execute(select(func.count()).select_from(erased_users)).scalar_one()
        if now != (0 if self.hashes is None else len(self.hashes)):
            raise ErasedMeanwhile("a user was erased while this run loaded: run it again to leave them out")

    def drop(self, frame: pd.DataFrame, user_column: str = "user_id") -> tuple[pd.DataFrame, int]:
        """`frame` (raw user ids in `user_column`, not yet pseudonymised) without the erased users' rows, and how
        many rows went. One hash per distinct user of the erased users' companies, none elsewhere."""
        if self.secret is None or self.hashes is None or not len(self.hashes) or not len(frame):
            return frame, 0
        theirs = frame["company_id"].isin(self.hashes.get_level_values(0)) & frame[user_column].notna()
        if not theirs.any():
            return frame, 0
        hashed = pseudonymise(frame.loc[theirs, "company_id"], frame.loc[theirs, user_column], self.secret)
        erased = pd.MultiIndex.from_arrays([frame.loc[theirs, "company_id"], hashed]).isin(self.hashes)
        if not erased.any():
            return frame, 0
        gone = frame.index[theirs][erased]
        return frame.drop(index=gone), len(gone)


NONE = Erased(None, None)  # a load with nobody erased (a table without users)
