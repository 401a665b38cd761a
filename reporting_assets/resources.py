"""The Paradigm resource of a `Settings`: the real API, or the embedded simulator (`PARADIGM_BASE_URL=demo`),
with its secrets as `EnvVar` for Dagster or as values for code that calls the API outside a run (the doctor).
`definitions.py` assembles the code location with it; the doctor checks the same choice."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dagster import EnvVar

from reporting_assets.paradigm.resource import ParadigmResource
from reporting_assets.settings import Settings

if TYPE_CHECKING:
    import httpx


class DemoParadigmResource(ParadigmResource):
    """The Paradigm resource answered in-process by the simulator: `PARADIGM_BASE_URL=demo`."""

    def transport(self) -> httpx.BaseTransport:
        from reporting_assets.simulator.app import Simulator

        return Simulator(token=self.api_key).transport()


def secret(name: str, value: object) -> EnvVar | str:
    """An EnvVar when set (its value never appears in the UI or run config, and is read in the run worker)."""
    return EnvVar(name) if value else ""


def paradigm_resource(settings: Settings, *, resolved: bool = False, **options: Any) -> ParadigmResource:
    """The Paradigm resource of `settings`: secrets as `EnvVar` for Dagster, or their values (`resolved`) for
    code that calls the API outside a run (the doctor)."""
    key, user_key = settings.paradigm_api_key, settings.reporting_user_id_key
    api_key = (key.get_secret_value() if key else "") if resolved else secret("PARADIGM_API_KEY", key)
    user = (user_key.get_secret_value() if user_key else "") if resolved else secret("REPORTING_USER_ID_KEY", user_key)
    options = {"user_id_key": user, "memory_budget_mb": settings.reporting_memory_budget_mb, **options}
    if settings.demo:
        from reporting_assets.simulator.data import DEFAULT_TOKEN

        api_key = api_key or DEFAULT_TOKEN
        return DemoParadigmResource(
            base_url="http://simulator.invalid", api_key=api_key, company_id=settings.paradigm_company_id, **options
        )
    base_url = settings.paradigm_base_url if resolved else secret("PARADIGM_BASE_URL", settings.paradigm_base_url)
    return ParadigmResource(base_url=base_url, api_key=api_key, company_id=settings.paradigm_company_id, **options)
