"""`python -m reporting_assets.worker [celery worker options]`: a Celery worker for `REPORTING_EXECUTOR=celery`
(`make worker`). It runs the steps the runs send to the broker, on this machine, with this environment: give it
the same variables as the webserver and daemon (API, warehouse, DAGSTER_HOME with PostgreSQL storage).

    python -m reporting_assets.worker -n worker1@%h --concurrency 2

The broker and result backend come from `REPORTING_CELERY_BROKER_URL` and `REPORTING_CELERY_BACKEND_URL`,
held in memory only (dagster-celery's own `worker start` writes them to a file under DAGSTER_HOME); Celery's
start banner masks the password.
"""

from __future__ import annotations

import sys


def app():
    """dagster-celery's app (its queue, routes and step task) on the broker of the settings."""
    from dagster_celery.make_app import make_app
    from dagster_celery.tasks import create_task

    from reporting_assets.settings import Settings

    settings = Settings.load()
    celery = make_app(
        {
            "broker": settings.reporting_celery_broker_url.get_secret_value(),
            "backend": settings.reporting_celery_backend_url.get_secret_value(),
        }
    )
    create_task(celery)
    return celery


def main(argv: list[str] | None = None) -> None:
    from reporting_assets.settings import SettingsError

    try:
        celery = app()
    except SettingsError as exc:
        sys.exit(str(exc))
    # one step at a time per process, from the queue dagster-celery submits to
    celery.worker_main(["worker", "--prefetch-multiplier=1", "--queues", "dagster", *(argv or sys.argv[1:])])


if __name__ == "__main__":
    main()
