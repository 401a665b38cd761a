"""The answers' shapes, as `paradigm_api.md` documents them: each endpoint's `metadata` block and one
company-day's entry."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any


def _metadata(fields: dict[str, tuple[str, str]]) -> dict[str, dict[str, str]]:
    return {name: {"description": d, "unit": u} for name, (d, u) in fields.items()}


COUNT = "integer"
METADATA = {
    "chat-sessions": _metadata(
        {
            "sessions_count": ("Total number of sessions", COUNT),
            "unique_models_count": ("Number of distinct models used", COUNT),
            "average_session_length": ("Average session length", "seconds"),
            "user_queries_count": ("Number of user queries", COUNT),
            "model_responses_count": ("Number of model responses", COUNT),
            "model_responses_with_docs_count": ("Number of model responses using documents", COUNT),
            "last_model_response_date": ("Date of the last model response", "datetime"),
        }
    ),
    "chats-feedback": _metadata(
        {
            "likes_count": ("Number of likes", COUNT),
            "dislikes_count": ("Number of dislikes", COUNT),
            "copies_count": ("Number of copied responses", COUNT),
            "model_responses_count": ("Number of model responses", COUNT),
        }
    ),
    "tools": _metadata({"usage_count": ("Number of times the tool was used", COUNT)}),
    "used-documents": _metadata({"usage_count": ("Number of times the document was used", COUNT)}),
    "user-activities": _metadata(
        {
            "queries_count": ("Number of queries of the user", COUNT),
            "sessions_count": ("Number of sessions of the user", COUNT),
            "last_activity_date": ("Date of the user's last activity", "datetime"),
        }
    ),
    "users": _metadata(
        {
            "total_historical_members": ("Number of members the company ever had", COUNT),
            "current_active_members": ("Number of current members of the company", COUNT),
        }
    ),
}
METADATA_AGENT = _metadata(
    {
        "threads_count": ("Total number of agent threads", COUNT),
        "unique_models_count": ("Number of distinct models used by agents", COUNT),
        "average_thread_length": ("Average thread length", "seconds"),
        "user_queries_count": ("Number of user queries in agent mode", COUNT),
        "model_responses_count": ("Number of agent responses", COUNT),
        "model_responses_with_docs_count": ("Number of agent responses using documents", COUNT),
    }
)


def iso(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def day_entry(endpoint: str, day: date, act: dict[str, Any]) -> dict[str, Any]:
    """The per-date object of one endpoint, exactly as documented."""
    entry: dict[str, Any] = {"date": day.isoformat()}
    if endpoint == "chat-sessions":
        entry["sessions"] = {k: act[k] for k in ("sessions_count", "unique_models_count", "average_session_length")}
        entry["chats"] = {
            "user_queries_count": act["user_queries_count"],
            "model_responses_with_docs_count": act["model_responses_with_docs_count"],
            "model_responses_count": act["model_responses_count"],
            "last_model_response_date": iso(act["last_model_response_date"]),
        }
        if act["agent"]:
            entry["agent"] = act["agent"]
    elif endpoint == "chats-feedback":
        entry["model_responses_count"] = act["model_responses_count"]
        entry["feedbacks"] = {k: act[k] for k in ("likes_count", "dislikes_count", "copies_count")}
    elif endpoint == "tools":
        entry["tools"] = act["tools"]
    elif endpoint == "used-documents":
        entry["documents"] = act["documents"]
    else:  # user-activities
        entry["active_users_count"] = len(act["users"])
        entry["users"] = [
            {
                "user_id": u["user_id"],
                "sessions_count": u["sessions_count"],
                "queries_count": u["queries_count"],
                "last_activity_date": iso(u["last_activity"]),
            }
            for u in act["users"]
        ]
    return entry
