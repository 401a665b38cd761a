"""pandas imported on first use, not when Dagster loads the code location: loading only defines assets, and
pandas would add 0.3 s to the start of every process that loads it (CLI, webserver, daemon, run workers)."""

from importlib import import_module
from types import ModuleType
from typing import Any


class LazyModule(ModuleType):
    """Stands for the module `name`, imported on first attribute access (thread-safe: Python's import lock)."""

    def __getattr__(self, attr: str) -> Any:
        return getattr(import_module(self.__name__), attr)


pandas = LazyModule("pandas")
