"""The executor of every job: Dagster's default (multiprocess unless run config says in_process), with steps
forked from a server that has already imported the code.

Dagster starts each step with `spawn` by default: a fresh interpreter importing Dagster and this project, about
3 s a step. With `forkserver` that import happens once per run (the code location's module is preloaded) and
each step is forked from it. Run config can still pick `in_process`, or another start method.
"""

from typing import Any

from dagster import ExecutorDefinition, multi_or_in_process_executor


def _forkserver_by_default(config: dict[str, Any]) -> dict[str, Any]:
    if "multiprocess" not in config:
        return config
    return {"multiprocess": {"start_method": {"forkserver": {}}, **config["multiprocess"]}}


executor: ExecutorDefinition = multi_or_in_process_executor.configured(
    _forkserver_by_default, config_schema=multi_or_in_process_executor.config_schema.as_field()
)
