"""The executor of every job: Dagster's default (multiprocess unless run config says in_process), with steps
forked from a server that has already imported the code; or, with `REPORTING_EXECUTOR=celery`, dagster-celery's,
whose steps run on Celery workers (`python -m reporting_assets.worker`, `make worker`).

Dagster starts each step with `spawn` by default: a fresh interpreter importing Dagster and this project, about
3 s a step. With `forkserver` that import happens once per run (the code location's module is preloaded) and
each step is forked from it. Run config can still pick `in_process`, or another start method.
"""

from typing import TYPE_CHECKING, Any

from dagster import ExecutorDefinition, multi_or_in_process_executor

if TYPE_CHECKING:
    from reporting_assets.settings import Settings


def _forkserver_by_default(config: dict[str, Any]) -> dict[str, Any]:
    if "multiprocess" not in config:
        return config
    return {"multiprocess": {"start_method": {"forkserver": {}}, **config["multiprocess"]}}


executor: ExecutorDefinition = multi_or_in_process_executor.configured(
    _forkserver_by_default, config_schema=multi_or_in_process_executor.config_schema.as_field()
)


def build_executor(settings: "Settings") -> ExecutorDefinition:
    """The executor `REPORTING_EXECUTOR` names. Celery's broker and result backend are given as environment
    variables when they are set (they may carry passwords: never in run config or the UI), else the defaults.

    The `paradigm_api` pool still caps API calls at 2: the run claims a pool slot in the instance's storage
    (PostgreSQL, shared by every run) before it hands a step to the broker, whichever worker then runs it."""
    if settings.reporting_executor != "celery":
        return executor
    from dagster_celery import celery_executor

    fields = set(settings.model_fields_set)
    config = {
        key: {"env": variable} if variable.lower() in fields else getattr(settings, variable.lower()).get_secret_value()
        for key, variable in (("broker", "REPORTING_CELERY_BROKER_URL"), ("backend", "REPORTING_CELERY_BACKEND_URL"))
    }
    return celery_executor.configured(config, name="celery")
