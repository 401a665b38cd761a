"""Writes a BI tool's kit over the contract (`python -m reporting_assets.bi kit`): Superset's bundle, Looker's
LookML, Power BI's DAX measures."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import URL, make_url

from reporting_assets.bi import lookml, powerbi, superset
from reporting_assets.clock import utc_now
from reporting_assets.custom_kpis.definition import KpiFile


def superset_uri(url: str | URL, role: str) -> str:
    """The warehouse as Superset reaches it: psycopg2 for PostgreSQL, as the reader `role`, and never a password
    (set it in Superset)."""
    parsed = make_url(url)
    driver = "postgresql+psycopg2" if parsed.get_backend_name() == "postgresql" else parsed.drivername
    return URL.create(driver, role, None, parsed.host, parsed.port, parsed.database, parsed.query).render_as_string(
        hide_password=False
    )


def write(
    tool: str,
    out: Path,
    schema: str | None,
    database: str | URL,
    user_lists: bool,
    comments: superset.Comments | None,
    role: str | None,
    kpis: KpiFile,
) -> list[Path]:
    """The kit's files for `tool`, over the contract's views in `schema` (None: SQLite's main database), each
    column described by its installed comment (`views.comments`) or the registry; Superset's connects as the
    reader `role`; each has a measure per KPI of `kpis` (REPORTING_KPIS)."""
    if tool == "superset":
        if not role:
            raise ValueError("the Superset kit connects as a reader of the contract: give its role")
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(superset.bundle(superset_uri(database, role), schema, utc_now(), user_lists, comments, kpis))
        return [out]
    if tool == "looker":
        files = lookml.files(schema or "main", comments, kpis)
    else:
        files = {"measures.dax": powerbi.measures(kpis)}
    written = []
    for name, text in files.items():
        path = out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
