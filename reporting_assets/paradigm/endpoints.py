"""The registry of reporting endpoints: where each lives, which table it fills and how its per-date objects
nest. Data only; `paradigm/flatten.py` is the engine that reads payloads with it (`docs/paradigm_api.md`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import Table

from reporting_assets.warehouse import tables


@dataclass(frozen=True)
class Endpoint:
    """One reporting endpoint: URL path, target table, and how its per-date objects nest."""

    table: Table
    path: str
    description: str
    items: str | None = None  # per-date list holding one row each (tools, documents, users)
    merged: tuple[str, ...] = ()  # per-date objects whose fields are columns as they are
    prefixed: Mapping[str, str] = field(default_factory=dict)  # per-date objects -> column prefix
    renames: Mapping[str, str] = field(default_factory=dict)  # API field -> column
    snapshot: bool = False  # one object per company, no `dates`: the figures as of the request

    @property
    def name(self) -> str:
        return self.table.name

    @property
    def key(self) -> list[str]:
        return [c.name for c in self.table.primary_key.columns]

    @property
    def slug(self) -> str:
        """The path's last segment, e.g. `used-documents`: how the simulator and its request counts name it."""
        return self.path.rstrip("/").rsplit("/", 1)[1]


ENDPOINTS: dict[str, Endpoint] = {
    e.name: e
    for e in (
        Endpoint(
            tables.chat_sessions,
            "/api/v2/reporting/chat-sessions/",
            "Daily chat sessions per company: sessions, queries, responses (agent-mode figures when present).",
            merged=("sessions", "chats"),
            prefixed={"agent": "agent_", "threads": "agent_"},
            renames={
                "average_session_length": "average_session_length_s",
                "last_model_response_date": "last_model_response_at",
                "agent_average_thread_length": "agent_average_thread_length_s",
            },
        ),
        Endpoint(
            tables.chat_feedbacks,
            "/api/v2/reporting/chats-feedback/",
            "Daily feedback on model responses per company: likes, dislikes, copies.",
            merged=("feedbacks",),
        ),
        Endpoint(
            tables.tools_usage,
            "/api/v2/reporting/tools/",
            "Daily usage count of each tool per company.",
            items="tools",
        ),
        Endpoint(
            tables.used_documents,
            "/api/v2/reporting/used-documents/",
            "Daily usage count of each document cited in answers, per company.",
            items="documents",
        ),
        Endpoint(
            tables.user_activities,
            "/api/v2/reporting/user-activities/",
            "Daily activity of each active user per company (user ids only, no personal data).",
            items="users",
            renames={"last_activity_date": "last_activity_at"},
        ),
        Endpoint(
            tables.company_members,
            "/api/v2/reporting/users/",
            "Company members per company, a daily snapshot: the figures observed when the day was fetched "
            "(the denominator of adoption). History before the first fetch cannot be rebuilt.",
            snapshot=True,
        ),
    )
}
