"""Delivery through apprise: Slack, Teams, e-mail, JSON webhooks... all by URL, none of it hand-written."""

from __future__ import annotations

import hashlib
import logging
from typing import TYPE_CHECKING, ClassVar

from dagster import ConfigurableResource

from reporting_assets.neutralise import plain
from reporting_assets.redact import MaskedRepr

if TYPE_CHECKING:
    import apprise


def channel_key(url: str) -> str:
    """How the warehouse names a channel (`alert_deliveries`, `alert_channels`): a SHA-256 of its
    URL, never the URL (it holds secrets)."""
    return hashlib.sha256(url.encode()).hexdigest()


MAX_LINE = 2000  # characters of one line of a message: each name in it is already cut to `neutralise.LONGEST`
NOTIFY_TYPES = {"info": "INFO", "warning": "WARNING", "critical": "FAILURE", "resolved": "SUCCESS"}  # apprise names


class NotifierConfigError(ValueError):
    """`REPORTING_ALERT_URLS` holds something apprise cannot use."""


class Notifier(MaskedRepr, ConfigurableResource):
    """Sends alert notifications to every apprise URL of `urls` (comma-separated; empty: log only).

    URLs carry secrets (webhook tokens, passwords): they are set through `EnvVar` and only ever shown
    masked, the way apprise prints them with `privacy=True`.
    """

    SECRET_FIELDS: ClassVar[tuple[str, ...]] = ("urls",)
    urls: str = ""
    ui_url: str = "http://127.0.0.1:3000"
    variable: str = "REPORTING_ALERT_URLS"  # where `urls` come from, to name it in errors

    def _urls(self) -> list[str]:
        return [u.strip() for u in self.urls.split(",") if u.strip()]

    def _apprise(self) -> apprise.Apprise:
        import apprise  # imported on use: it adds 0.1 s to every process that loads the code location

        # Apprise's warnings can quote a URL's token verbatim ("invalid Slack token (...)"): errors only.
        logging.getLogger("apprise").setLevel(logging.ERROR)
        channels = apprise.Apprise()
        for position, url in enumerate(self._urls()):
            if not channels.add(url):
                scheme = url.split("://", 1)[0] if "://" in url else "?"
                raise NotifierConfigError(
                    f"{self.variable} entry #{position + 1} (scheme {scheme!r}) is not a valid apprise URL"
                )
        return channels

    def targets(self) -> list[str]:
        """The configured channels, secrets masked (safe to log)."""
        return [server.url(privacy=True) for server in self._apprise()]

    def channels(self) -> list[Notifier]:
        """One notifier per URL, to deliver and record each channel on its own."""
        self._apprise()  # every URL valid, or one clear error
        return [Notifier(urls=url, ui_url=self.ui_url, variable=self.variable) for url in self._urls()]

    @property
    def key(self) -> str:
        """The `channel_key` of a one-URL notifier (see `channels`)."""
        return channel_key(self.urls.strip())

    def send(self, title: str, body: str, kind: str) -> bool:
        """True once every channel accepted the message (or when none is configured: the log is the channel).

        `title` and `body` are plain text, and sent as such: apprise escapes them for each channel's own format
        (HTML e-mail escaped, Slack and Teams markdown inert), JSON channels get the text as it is. No line holds
        a control character or a bidirectional override (`neutralise.plain`)."""
        import apprise

        channels = self._apprise()
        if not len(channels):
            return True
        notify_type = apprise.NotifyType[NOTIFY_TYPES.get(kind, "INFO")]
        # our own line breaks only: API text in a line is `plain` already, and U+2028 and the like are not breaks here
        lines = "\n".join(plain(line, longest=MAX_LINE) for line in body.split("\n"))
        return bool(
            channels.notify(
                body=lines, title=plain(title), notify_type=notify_type, body_format=apprise.NotifyFormat.TEXT
            )
        )

    def asset_link(self, asset: str, day: object = None) -> str:
        """The asset's page in the Dagster UI, at partition `day` when given."""
        page = f"{self.ui_url.rstrip('/')}/assets/{asset}"
        return page if day is None else f"{page}?view=partitions&partition={day}"

    def run_link(self, run_id: str) -> str:
        return f"{self.ui_url.rstrip('/')}/runs/{run_id}"
