"""Erasure beyond the warehouse (`python -m reporting_assets.users forget`): the dashboard and the BI extracts,
wherever they are stored, are written again without the erased user; what no command of ours can reach is said."""

from __future__ import annotations

from sqlalchemy import Engine

from reporting_assets.clock import Clock, utc_now
from reporting_assets.settings import Settings

NOT_REACHED = (
    "not reached: Dagster's run history. Run metadata never holds user ids (previews and check samples leave "
    "them out), but runs made by earlier versions may, with raw ids for runs before REPORTING_USER_ID_KEY was set: "
    "delete those runs in the Dagster UI (Runs) if they exist. Copies made outside this project (downloaded CSVs, "
    "backups) are yours to erase."
)


def dashboard_again(settings: Settings, engine: Engine, now: Clock = utc_now) -> str:
    """Render the dashboard again from the warehouse as it is now (`now`: its clock), where it is stored; removed
    if that fails."""
    from reporting_assets.custom_kpis import definition as kpi_file
    from reporting_assets.i18n import Language
    from reporting_assets.reports import store
    from reporting_assets.reports.dashboard import FILE_NAME, render

    where = f"{store.shown(settings.reports_dir).rstrip('/')}/{FILE_NAME}"
    if not store.exists(settings.reports_dir, FILE_NAME):
        return f"dashboard: none at {where}"
    try:
        lang = Language(settings.reporting_language)
        kpis = kpi_file.of(settings.reporting_kpis)
        dashboard = render(engine, now(), settings.reporting_user_lists == "on", lang, kpis)
        store.write(settings.reports_dir, FILE_NAME, dashboard.html)
        return f"dashboard: rendered again at {where} without the user"
    except Exception as exc:
        store.remove(settings.reports_dir, FILE_NAME)
        return (
            f"dashboard: removed from {where} (it could not be rendered again: {type(exc).__name__}); "
            "materialize usage_dashboard to bring it back"
        )


def extracts_again(settings: Settings, engine: Engine) -> str:
    """Write the BI extracts again (their per-user view holds user ids) where they are stored, with the settings'
    REPORTING_USER_LISTS (off: the per-user ones removed); the per-user ones removed if that fails."""
    from reporting_assets.bi import extracts
    from reporting_assets.reports import store

    user_lists = settings.reporting_user_lists == "on"
    per_user = extracts.per_user_files()
    where = store.where(settings.reports_dir, extracts.folder())
    if not any(store.exists(settings.reports_dir, name) for name in per_user):
        return f"BI extracts: none with user ids at {where}"
    try:
        extracts.write_extracts(engine, settings.reports_dir, user_lists)
        return f"BI extracts: written again at {where} without the user"
    except Exception as exc:
        for name in per_user:
            if store.exists(settings.reports_dir, name):
                store.remove(settings.reports_dir, name)
        return (
            f"BI extracts: the per-user ones removed from {where} (they could not be written again: "
            f"{type(exc).__name__}); materialize bi_extracts to bring them back"
        )
