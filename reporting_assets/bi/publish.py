"""Publish the BI contract: its views (re)created and granted again to every reader, in one transaction."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Engine

from reporting_assets.bi import access, views


@dataclass(frozen=True)
class Published:
    views: list[str]
    schema: str | None  # PostgreSQL's contract schema; None on SQLite (the main database)
    readers: list[access.Reader]


def publish(
    engine: Engine, user_lists: bool, first_day: date | None, api_docs: Mapping[str, str] | None = None
) -> Published:
    """The contract's views as the registry says, the per-user one only with `user_lists`, the calendar from
    `first_day` (the first partition, PARADIGM_START_DATE; None: the first day loaded), the API's own field
    descriptions (`api_docs`) in the comments; readers keep access."""
    with engine.begin() as conn:
        names = views.install(conn, user_lists, first_day, api_docs)
        schema = views.schema_of(conn)
        readers = access.refresh(conn, user_lists) if schema else []
    return Published(names, schema, readers)
