"""Every environment variable of the contract, read and validated once (pydantic-settings).

Builders take a `Settings`; nothing else reads the environment. An invalid value stops the code location with
one message naming the variable, never quoting a secret's value. Secrets (every `SecretStr` field: the token, the
database URL, channel URLs, the user id key, Celery's URLs) are only checked here: resources receive them as
`dagster.EnvVar`, read in the run worker. Errors and `repr` go through the one redactor (`redact.py`).
"""

from __future__ import annotations

import os
import re
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from reporting_assets.redact import MaskedRepr, Redactor

DEMO = "demo"
DEFAULT_RULES_PATH = Path(__file__).parent / "alerts" / "alerts.yaml"
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://\S+$")

MIN_KEY_LENGTH = 16  # REPORTING_USER_ID_KEY
DEFAULT_BROKER = "amqp://guest:guest@127.0.0.1:5672//"  # RabbitMQ on this machine
DEFAULT_BACKEND = "rpc://"  # step results back through the broker
Hour = Annotated[int, Field(ge=0, le=23)]


class SettingsError(ValueError):
    """One or more environment variables are invalid; the message names each of them."""


class Settings(MaskedRepr, BaseSettings):
    """The contract's environment variables (field name = variable name, lower case); `repr` masks secrets
    (`SecretStr`) and any URL's password."""

    model_config = SettingsConfigDict(frozen=True, env_ignore_empty=True, extra="ignore")

    paradigm_base_url: str = ""
    paradigm_api_key: SecretStr | None = None
    paradigm_company_id: int | None = Field(None, ge=1)
    paradigm_start_date: date = date(2025, 1, 1)
    reporting_database_url: SecretStr | None = None  # a DSN holds its password
    reporting_alert_rules: Path = DEFAULT_RULES_PATH
    reporting_alert_urls: SecretStr | None = None
    reporting_ui_url: str = "http://127.0.0.1:3000"
    reporting_refresh_hour_utc: Hour = 6
    reporting_refetch_days: int = Field(3, ge=0, le=366)
    reporting_freshness_hour_utc: Hour = 9
    reporting_alert_interval_s: int = Field(60, ge=5, le=3600)
    reporting_reports_dir: str | None = None  # a directory, or an fsspec URL (s3://bucket/prefix)
    reporting_reports_url: str | None = Field(None, pattern=r"^https?://\S+$")
    reporting_digest_hour_utc: Hour = 7
    reporting_digest_urls: SecretStr | None = None
    reporting_executor: Literal["multiprocess", "celery"] = "multiprocess"
    reporting_celery_broker_url: SecretStr = SecretStr(DEFAULT_BROKER)
    reporting_celery_backend_url: SecretStr = SecretStr(DEFAULT_BACKEND)
    reporting_user_id_key: SecretStr | None = None
    # the 30-day windows of the days the daily refresh recomputes must still hold their per-user rows
    reporting_user_retention_days: int | None = Field(None, ge=31)
    reporting_user_lists: Literal["on", "off"] = "on"  # off: aggregates only, no per-user list in any report
    reporting_language: Literal["en", "fr", "de"] = "en"  # of what people read: digest, alert messages (i18n.py)
    # a raw step's request windows are sized to stay within it; a run worker itself takes about 200 MB
    reporting_memory_budget_mb: int = Field(500, ge=256)
    reporting_kpis: Path | None = None  # your own KPIs: a YAML file (custom_kpis/definition.py); unset: none
    reporting_org_data: str | None = None  # who is in which group: a CSV path or object store URL (org/); unset: none
    reporting_min_group_size: int = Field(10, ge=2)  # a smaller group is never named (org/suppress.py)
    dagster_home: Path | None = None

    @field_validator("reporting_alert_urls", "reporting_digest_urls")
    @classmethod
    def _urls(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return value
        for position, url in enumerate(u.strip() for u in value.get_secret_value().split(",")):
            if url and not _URL.match(url):
                raise ValueError(f"entry #{position + 1} is not a URL (scheme://...)")
        return value

    @field_validator("reporting_database_url")
    @classmethod
    def _dsn(cls, value: SecretStr | None) -> SecretStr | None:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            if value is not None:
                make_url(value.get_secret_value())
        except ArgumentError:
            raise ValueError("is not a SQLAlchemy URL (dialect+driver://user:password@host/database)") from None
        return value

    @field_validator("reporting_reports_dir", "reporting_org_data")
    @classmethod
    def _reports_store(cls, value: str | None) -> str | None:
        if value and "://" in value and not value.startswith("file://"):
            protocol = value.split("://", 1)[0]
            from fsspec import get_filesystem_class  # only for an object store

            try:
                get_filesystem_class(protocol)
            except (ImportError, ValueError) as exc:
                extra = ' (pip install -e ".[s3]")' if protocol in ("s3", "s3a") else ""
                raise ValueError(f"no fsspec store for {protocol}://{extra}: {str(exc).splitlines()[0]}") from None
        return value

    @field_validator("reporting_user_id_key")
    @classmethod
    def _key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < MIN_KEY_LENGTH:
            raise ValueError(f"must be at least {MIN_KEY_LENGTH} characters long")
        return value

    @model_validator(mode="after")
    def _celery_needs_shared_storage(self) -> Settings:
        """Steps on other machines share nothing but the databases: both must be servers, not SQLite files."""
        if self.reporting_executor != "celery":
            return self
        problems = []
        try:
            import dagster_celery  # noqa: F401
        except ImportError:
            problems.append('dagster-celery is not installed: pip install -e ".[celery]"')
        if self.database_url.startswith("sqlite"):
            problems.append("the warehouse is a SQLite file: set REPORTING_DATABASE_URL to PostgreSQL")
        if not _instance_storage_is_shared(self.dagster_home):
            problems.append(
                "Dagster's instance storage is SQLite (or DAGSTER_HOME is unset): set DAGSTER_POSTGRES_URL and run "
                "`make instance` (deploy/storage-postgres.yaml)"
            )
        if problems:
            raise ValueError("REPORTING_EXECUTOR=celery: " + "; ".join(problems))
        return self

    @model_validator(mode="after")
    def _retention_covers_the_refresh(self) -> Settings:
        from reporting_assets.metrics import ACTIVE_WINDOW_DAYS

        days, needed = self.reporting_user_retention_days, ACTIVE_WINDOW_DAYS + self.reporting_refetch_days
        if days is not None and days < needed:
            raise ValueError(
                f"REPORTING_USER_RETENTION_DAYS: must be at least {needed}: the daily refresh recomputes yesterday and "
                f"the {self.reporting_refetch_days} days before (REPORTING_REFETCH_DAYS), each from the "
                f"{ACTIVE_WINDOW_DAYS} days of per-user rows behind it"
            )
        return self

    @field_validator("reporting_kpis")
    @classmethod
    def _kpis_file(cls, value: Path | None) -> Path | None:
        """The whole file validated now: a mistake stops the code location, naming the KPI and the field."""
        from reporting_assets.custom_kpis.definition import KpiFileError, load

        if value is not None:
            try:
                load(value)
            except KpiFileError as exc:
                raise ValueError(str(exc)) from None
        return value

    @field_validator("reporting_alert_rules")
    @classmethod
    def _rules_file(cls, value: Path) -> Path:
        if not value.is_file():
            raise ValueError(f"no such file: {value}")
        return value

    @property
    def demo(self) -> bool:
        return self.paradigm_base_url.strip() == DEMO

    @property
    def database_url(self) -> str:
        """The warehouse: `REPORTING_DATABASE_URL`, else `reporting.db` under `DAGSTER_HOME` (else `./data/`)."""
        if self.reporting_database_url:
            return self.reporting_database_url.get_secret_value()
        return f"sqlite:///{((self.dagster_home or Path('data')) / 'reporting.db').resolve()}"

    @property
    def reports_dir(self) -> str:
        """Where reports are written: `REPORTING_REPORTS_DIR` (a directory, or an object store URL such as
        `s3://bucket/prefix`), else `reports/` under `DAGSTER_HOME` (else `./data/`)."""
        location = self.reporting_reports_dir
        if location and "://" in location:
            return location
        return str(Path(location or (self.dagster_home or Path("data")) / "reports").resolve())

    def redactor(self) -> Redactor:
        """The redactor of these settings' secrets (and of any URL's credentials)."""
        return Redactor.of(getattr(self, name).get_secret_value() for name in _secret_fields() if getattr(self, name))

    @classmethod
    def load(cls, **overrides: Any) -> Settings:
        """The settings from the environment (and `overrides`, for tests); one `SettingsError` if invalid, which
        names each variable and why, never a secret's value nor any URL's credentials."""
        try:
            return cls(**overrides)
        except ValidationError as exc:
            secret = _secret_fields()
            redact = Redactor.of(str(overrides[n]) if n in overrides else os.environ.get(n.upper()) for n in secret)
            problems = []
            for error in exc.errors():
                field = str(error["loc"][0]) if error["loc"] else ""
                given = "" if field in secret else _given(error)
                message = str(error["msg"]).removeprefix("Value error, ")
                problems.append(redact(f"{field.upper() or 'settings'}: {message}{given}"))
            raise SettingsError("invalid settings:\n  " + "\n  ".join(problems)) from None


def _secret_fields() -> tuple[str, ...]:
    """The fields whose values are secrets: those typed `SecretStr`."""
    return tuple(n for n, f in Settings.model_fields.items() if "SecretStr" in str(f.annotation))


def _instance_storage_is_shared(home: Path | None) -> bool:
    """Whether `home`'s dagster.yaml keeps runs and events in PostgreSQL (what workers on other machines reach)."""
    import yaml

    config = home / "dagster.yaml" if home else None
    if config is None or not config.is_file():
        return False
    parsed = yaml.safe_load(config.read_text()) or {}
    storage = parsed.get("storage") or parsed.get("run_storage") or {}
    return "postgres" in str(storage)


def _given(error: dict[str, Any]) -> str:
    value = error.get("input")
    return f" (got {value!r})" if isinstance(value, str | int | float) else ""
