"""`python -m reporting_assets.users`: erase one user, or reset the per-user rows (to change the key).

    python -m reporting_assets.users forget --company-id C --user-id U          # U as the API gives it
    python -m reporting_assets.users forget --company-id C --user-id U --undo   # a mistaken erasure
    python -m reporting_assets.users reset                                      # every per-user row, to load again

Each runs in one transaction on the warehouse of the settings (`REPORTING_DATABASE_URL`) and says what it did.
`forget` records the erasure, so that no later load brings the user back, then renders the dashboard and writes
the BI extracts again where they are stored (`REPORTING_REPORTS_DIR`), with the instance's settings, so that no user
list or extract names the user, and says what it cannot reach.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from reporting_assets.settings import Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reporting_assets.users", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    forget = commands.add_parser("forget", help="delete one user's rows everywhere (the GDPR's right to erasure)")
    forget.add_argument("--company-id", type=int, required=True)
    forget.add_argument("--user-id", type=int, required=True, help="the user id as the Paradigm API gives it")
    forget.add_argument("--undo", action="store_true", help="remove the erasure record: later loads keep the user")
    commands.add_parser("reset", help="delete every per-user row and the key check (to change or remove the key)")
    args = parser.parse_args(argv)

    from sqlalchemy.exc import SQLAlchemyError

    from reporting_assets.settings import Settings, SettingsError
    from reporting_assets.warehouse import engines
    from reporting_assets.warehouse.store import engine_for

    try:
        settings = Settings.load()
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2
    try:
        return _run(args, settings, engine_for(settings.database_url))
    except SQLAlchemyError as exc:  # one line saying what the database refused, never a traceback or a row
        print(f"error: the warehouse refused {args.command}: {engines.reduced(exc)}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace, settings: Settings, engine: Engine) -> int:
    from reporting_assets import erasure
    from reporting_assets.clock import utc_now
    from reporting_assets.users import privacy, pseudonyms

    if args.command == "reset":
        deleted = pseudonyms.reset(engine)
        print(f"deleted {_counts(deleted)}; fetch user_activities again to reload them")
        return 0
    if args.undo:
        if not privacy.unforget(engine, args.company_id, args.user_id):
            print(f"company {args.company_id}, user {args.user_id}: not erased, nothing to undo")
            return 1
        print(
            f"company {args.company_id}, user {args.user_id}: erasure undone. Their history is back only after a "
            "refetch of the days they were active: backfill user_activities over them"
        )
        return 0
    key = settings.reporting_user_id_key.get_secret_value() if settings.reporting_user_id_key else None
    try:
        stored_id, deleted = privacy.forget(engine, args.company_id, args.user_id, key, utc_now())
    except pseudonyms.KeyMismatch as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    who = f"company {args.company_id}, user {args.user_id}" + (f" (pseudonym {stored_id})" if key else "")
    print(f"{who}: deleted {_counts(deleted)}; erasure recorded: later loads leave the user out")
    print(erasure.dashboard_again(settings, engine))
    print(erasure.extracts_again(settings, engine))
    print(erasure.NOT_REACHED)
    return 0


def _counts(deleted: dict[str, int]) -> str:
    return ", ".join(f"{rows} row(s) from {table}" for table, rows in deleted.items())


if __name__ == "__main__":
    sys.exit(main())
