"""`python -m reporting_assets.bi`: the BI contract on the warehouse of the settings (`REPORTING_DATABASE_URL`).

python -m reporting_assets.bi install                       # (re)create the views (bi_contract does it daily)
python -m reporting_assets.bi grant ROLE [--company ID]     # PostgreSQL: a read-only login role (one company)
python -m reporting_assets.bi revoke ROLE [--drop]          # undo it (and drop the role)
python -m reporting_assets.bi check                         # the contract's state, its readers and scopes
python -m reporting_assets.bi kit superset --role ROLE --out FILE   # Superset's bundle, connecting as a reader
python -m reporting_assets.bi kit looker|powerbi --out DIR
python -m reporting_assets.bi extracts [--company ID] --out DIR     # Parquet (and Tableau) files of the contract
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reporting_assets.bi", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("install", help="(re)create the contract's views")
    grant = commands.add_parser("grant", help="a login role that can only read the contract (PostgreSQL)")
    grant.add_argument("role")
    grant.add_argument("--company", type=int, help="only this company's rows (row-level security)")
    revoke = commands.add_parser("revoke", help="take the contract back from a role (PostgreSQL)")
    revoke.add_argument("role")
    revoke.add_argument("--drop", action="store_true", help="drop the role too")
    commands.add_parser("check", help="is the contract installed and current; its readers and their scopes")
    kit = commands.add_parser("kit", help="write a BI tool's kit over the contract")
    kit.add_argument("tool", choices=["superset", "looker", "powerbi"])
    kit.add_argument("--out", required=True, help="superset: the ZIP file; looker, powerbi: a directory")
    kit.add_argument("--role", help="superset: the reader it connects as (`grant ROLE [--company ID]` first)")
    kit.add_argument(
        "--database-uri",
        help="superset: the warehouse as Superset reaches it (default: REPORTING_DATABASE_URL's, psycopg2 "
        "driver, no password: set it in Superset)",
    )
    extract = commands.add_parser("extracts", help="write the contract's Parquet (and Tableau) files")
    extract.add_argument("--company", type=int, help="only this company's rows: for its admin, without database access")
    extract.add_argument("--out", required=True, help="a directory, or an object store URL")
    args = parser.parse_args(argv)

    from sqlalchemy.exc import SQLAlchemyError

    from reporting_assets.bi import access, extracts, kits, views
    from reporting_assets.bi.contract import VERSION
    from reporting_assets.bi.publish import publish
    from reporting_assets.custom_kpis import definition as kpi_file
    from reporting_assets.i18n import ENGLISH
    from reporting_assets.settings import Settings, SettingsError
    from reporting_assets.warehouse import engines
    from reporting_assets.warehouse.store import engine_for

    try:
        settings = Settings.load()
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2
    engine = engine_for(settings.database_url)
    user_lists = settings.reporting_user_lists == "on"
    try:
        if args.command == "kit":
            with engine.connect() as conn:
                schema, described = views.schema_of(conn), views.comments(conn)
                if args.tool == "superset":
                    _check_reader(conn, args.role)
            uri = args.database_uri or engine.url
            kpis = kpi_file.of(settings.reporting_kpis)
            for path in kits.write(args.tool, Path(args.out), schema, uri, user_lists, described, args.role, kpis):
                print(f"wrote {path}")
        elif args.command == "extracts":
            if args.company is not None:
                _check_company(engine, args.company)
            for done in extracts.write_extracts(engine, args.out, user_lists, company_id=args.company):
                print(f"wrote {done.path} ({done.rows} rows)")
        elif args.command == "install":
            done = publish(engine, user_lists, settings.paradigm_start_date, _api_docs())
            where = f"schema {done.schema}" if done.schema else "the main database"
            print(f"BI contract v{VERSION}: {len(done.views)} views in {where} ({', '.join(done.views)})")
        elif args.command == "grant":
            with engine.begin() as conn:
                print(f"granted {access.grant(conn, args.role, args.company, user_lists)}")
        elif args.command == "revoke":
            with engine.begin() as conn:
                access.revoke(conn, args.role, args.drop)
            print(f"revoked {args.role}" + (" and dropped the role" if args.drop else ""))
        else:
            with engine.connect() as conn:
                state = views.status(conn, user_lists)
                print(f"BI contract {state.summary(ENGLISH)}")  # an operator's tool: English
                found = access.readers(conn) if views.schema_of(conn) and not state.missing else []
                for reader in found:
                    print(f"reader {reader}")
            return 0 if state.current and not any(r.bypass for r in found) else 1
    except access.AccessError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except SQLAlchemyError as exc:  # one line saying what the database refused, never a traceback or a row
        print(f"error: the warehouse refused {args.command}: {engines.reduced(exc)}", file=sys.stderr)
        return 1
    return 0


def _check_reader(conn, role: str | None) -> None:
    """Superset connects as a reader of the contract that row security holds, never as the warehouse's owner."""
    from reporting_assets.bi import access

    if not role:
        raise access.AccessError("kit superset needs --role: the reader it connects as (`grant ROLE` first)")
    reader = next((r for r in access.readers(conn) if r.role == role), None)
    if reader is None:
        raise access.AccessError(f"role {role} is not a reader of the contract: run `grant {role}` first")
    if reader.bypass:
        raise access.AccessError(f"role {role} {reader.bypass}: Superset would see every company")


def _check_company(engine, company_id: int) -> None:
    from sqlalchemy import text

    from reporting_assets.bi import access, views
    from reporting_assets.bi.contract import VIEWS

    with engine.connect() as conn:
        name = views.qualified(conn, VIEWS["dim_company"], views.schema_of(conn))
        found = conn.execute(text(f"SELECT 1 FROM {name} WHERE company_id = :c"), {"c": company_id}).first()
    if not found:
        raise access.AccessError(f"company {company_id} is not in dim_company: no extracts written")


def _api_docs() -> dict[str, str]:
    """The API's field descriptions the raw assets recorded in the Dagster instance (`DAGSTER_HOME`), if any."""
    import os

    if not os.environ.get("DAGSTER_HOME"):
        return {}
    from dagster import DagsterInstance

    from reporting_assets.bi.defs import api_docs

    with DagsterInstance.get() as instance:
        return api_docs(instance)


if __name__ == "__main__":
    sys.exit(main())
