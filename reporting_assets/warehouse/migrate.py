"""Warehouse schema migrations: Alembic revisions shipped in `warehouse/migrations/versions`, applied to the
warehouse on first use by every process (`engine_for`), or by hand:

    python -m reporting_assets.warehouse.migrate            # the warehouse of the settings, to the latest revision
    python -m reporting_assets.warehouse.migrate --url URL  # another one

A warehouse from the release before migrations (its tables, no `alembic_version`) goes through revision 0001,
which creates only the tables it lacks, then on: users upgrade in place, they never drop their warehouse.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from sqlalchemy import Connection, Engine

MIGRATIONS = Path(__file__).with_name("migrations")


def _config(connection: Connection):
    from alembic.config import Config  # on use: Alembic costs every process that loads the code location

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def current(connection: Connection) -> str | None:
    from alembic.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, to: str = "head") -> str | None:
    """Bring the warehouse to revision `to` in one transaction (with `engines.create`'s engines, SQLite included),
    so a failure leaves the schema as it was; on PostgreSQL, one upgrader at a time (an advisory lock).
    Returns the revision it is at."""
    from alembic import command

    from reporting_assets.warehouse.engines import serialise

    with engine.begin() as conn:
        serialise(conn, "reporting_assets.migrations")
        if current(conn) != (head() if to == "head" else to):
            command.upgrade(_config(conn), to)
        return current(conn)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Upgrade the warehouse schema to the latest migration.")
    parser.add_argument("--url", help="SQLAlchemy URL of the warehouse (default: REPORTING_DATABASE_URL's)")
    args = parser.parse_args(argv)
    if args.url:
        url = args.url
    else:
        from reporting_assets.settings import Settings

        url = Settings.load().database_url
    from reporting_assets.warehouse import engines

    engine = engines.create(url)
    revision = upgrade(engine)
    engine.dispose()
    print(f"warehouse {engine.url.render_as_string(hide_password=True)}: schema at revision {revision} (latest)")


if __name__ == "__main__":
    main()
