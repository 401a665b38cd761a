"""The documented example payloads (docs/paradigm_api.md) flatten to the expected rows; bad payloads fail clearly;
the registry is consistent with the tables."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime

import pandas as pd
import pytest

from reporting_assets.paradigm.endpoints import ENDPOINTS
from reporting_assets.paradigm.flatten import PayloadError, flatten
from reporting_assets.simulator.app import Simulator
from reporting_assets.simulator.data import DEFAULT_COMPANIES

ACME = {"name": "ACME Corp", "id": 123}

SESSIONS = {
    "metadata": {
        "sessions_count": {"description": "Total number of sessions", "unit": "integer"},
        "average_session_length": {"description": "Average session length", "unit": "seconds"},
    },
    "reporting": [
        {
            "company": ACME,
            "dates": [
                {
                    "date": "2023-12-25",
                    "sessions": {"sessions_count": 45, "unique_models_count": 3, "average_session_length": 120},
                    "chats": {
                        "user_queries_count": 200,
                        "model_responses_with_docs_count": 120,
                        "model_responses_count": 190,
                        "last_model_response_date": "2023-12-25T22:30:00Z",
                    },
                }
            ],
        }
    ],
    "metadata_agent": {"threads_count": {"description": "Agent threads", "unit": "integer"}},
}
FEEDBACKS = {
    "metadata": {"likes_count": {}, "dislikes_count": {}, "copies_count": {}, "model_responses_count": {}},
    "reporting": [
        {
            "company": ACME,
            "dates": [
                {
                    "date": "2023-12-25",
                    "model_responses_count": 190,
                    "feedbacks": {"likes_count": 31, "dislikes_count": 4, "copies_count": 12},
                }
            ],
        }
    ],
}
DOCUMENTS = {
    "metadata": {"usage_count": {"description": "...", "unit": "integer"}},
    "reporting": [
        {
            "company": ACME,
            "dates": [
                {
                    "date": "2023-12-25",
                    "documents": [
                        {
                            "document_filename": "policy.pdf",
                            "document_title": "Travel policy",
                            "document_id": 881,
                            "usage_count": 7,
                        }
                    ],
                }
            ],
        }
    ],
}
TOOLS = {
    "metadata": {"usage_count": {"description": "Number of times the tool was used", "unit": "integer"}},
    "reporting": [
        {
            "company": ACME,
            "dates": [
                {
                    "date": "2023-12-25",
                    "tools": [
                        {"tool_name": "document_search", "usage_count": 54},
                        {"tool_name": "web_search", "usage_count": 12},
                    ],
                }
            ],
        }
    ],
}
USERS = {
    "metadata": {"queries_count": {}, "sessions_count": {}, "last_activity_date": {}},
    "reporting": [
        {
            "company": ACME,
            "dates": [
                {
                    "date": "2023-12-25",
                    "active_users_count": 2,
                    "users": [
                        {
                            "user_id": 4501,
                            "sessions_count": 3,
                            "queries_count": 11,
                            "last_activity_date": "2023-12-25T17:02:11Z",
                        },
                        {
                            "user_id": 4502,
                            "sessions_count": 1,
                            "queries_count": 2,
                            "last_activity_date": "2023-12-25T09:40:00Z",
                        },
                    ],
                }
            ],
        }
    ],
}
DAY = date(2023, 12, 25)


def rows(name: str, payload: dict) -> list[dict]:
    frame = flatten(ENDPOINTS[name], payload).frame
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


def test_chat_sessions_example_becomes_one_row_with_renamed_fields():
    [row] = rows("chat_sessions", SESSIONS)
    assert row == {
        "date": DAY,
        "company_id": 123,
        "company_name": "ACME Corp",
        "sessions_count": 45,
        "unique_models_count": 3,
        "average_session_length_s": 120.0,
        "user_queries_count": 200,
        "model_responses_count": 190,
        "model_responses_with_docs_count": 120,
        "last_model_response_at": pd.Timestamp(datetime(2023, 12, 25, 22, 30, tzinfo=UTC)),
        "agent_threads_count": None,
        "agent_unique_models_count": None,
        "agent_average_thread_length_s": None,
        "agent_user_queries_count": None,
        "agent_model_responses_count": None,
        "agent_model_responses_with_docs_count": None,
    }


def test_chat_sessions_optional_docs_count_and_agent_block():
    payload = copy.deepcopy(SESSIONS)
    day = payload["reporting"][0]["dates"][0]
    del day["chats"]["model_responses_with_docs_count"]
    day["agent"] = {"threads_count": 5, "average_thread_length": 300}
    [row] = rows("chat_sessions", payload)
    assert row["model_responses_with_docs_count"] is None
    assert row["agent_threads_count"] == 5
    assert row["agent_average_thread_length_s"] == 300.0
    assert flatten(ENDPOINTS["chat_sessions"], payload).docs["agent_threads_count"] == "Agent threads (integer)"


def test_chat_feedbacks_example():
    assert rows("chat_feedbacks", FEEDBACKS) == [
        {
            "date": DAY,
            "company_id": 123,
            "company_name": "ACME Corp",
            "model_responses_count": 190,
            "likes_count": 31,
            "dislikes_count": 4,
            "copies_count": 12,
        }
    ]


def test_used_documents_example():
    assert rows("used_documents", DOCUMENTS) == [
        {
            "date": DAY,
            "company_id": 123,
            "company_name": "ACME Corp",
            "document_id": 881,
            "document_filename": "policy.pdf",
            "document_title": "Travel policy",
            "usage_count": 7,
        }
    ]


def test_tools_example_gives_one_row_per_tool():
    assert rows("tools_usage", TOOLS) == [
        {
            "date": DAY,
            "company_id": 123,
            "company_name": "ACME Corp",
            "tool_name": "document_search",
            "usage_count": 54,
        },
        {"date": DAY, "company_id": 123, "company_name": "ACME Corp", "tool_name": "web_search", "usage_count": 12},
    ]


def test_user_activities_example_gives_one_row_per_user():
    got = rows("user_activities", USERS)
    assert [r["user_id"] for r in got] == [4501, 4502]
    assert got[0] == {
        "date": DAY,
        "company_id": 123,
        "company_name": "ACME Corp",
        "user_id": 4501,
        "sessions_count": 3,
        "queries_count": 11,
        "last_activity_at": pd.Timestamp("2023-12-25T17:02:11Z"),
        "active_users_count": 2,
    }


def test_every_company_of_an_instance_admin_payload_is_kept():
    payload = copy.deepcopy(TOOLS)
    payload["reporting"].append(
        {
            "company": {"name": "Globex", "id": 9},
            "dates": [{"date": "2023-12-25", "tools": [{"tool_name": "web_search", "usage_count": 1}]}],
        }
    )
    assert sorted({r["company_id"] for r in rows("tools_usage", payload)}) == [9, 123]


def test_day_without_activity_and_empty_payload_give_no_rows():
    payload = {"metadata": {}, "reporting": [{"company": ACME, "dates": [{"date": "2023-12-25", "tools": []}]}]}
    frame = flatten(ENDPOINTS["tools_usage"], payload).frame
    assert frame.empty and "tool_name" in frame.columns
    assert flatten(ENDPOINTS["chat_sessions"], {"reporting": []}).frame.empty


def test_unknown_fields_are_dropped_and_reported_as_drift():
    payload = copy.deepcopy(USERS)
    payload["reporting"][0]["dates"][0]["users"][0]["email"] = "someone@example.com"
    payload["reporting"][0]["dates"][0]["new_daily_figure"] = 3
    flat = flatten(ENDPOINTS["user_activities"], payload)
    assert flat.drift == ["email", "new_daily_figure"]
    assert "email" not in flat.frame.columns  # personal data is never stored by default


def test_numeric_strings_are_accepted_as_counts():
    payload = copy.deepcopy(TOOLS)
    payload["reporting"][0]["dates"][0]["tools"][0]["usage_count"] = "54"
    assert rows("tools_usage", payload)[0]["usage_count"] == 54


@pytest.mark.parametrize("value", ["many", 3.5, [1]])
def test_a_count_of_the_wrong_type_fails_naming_field_and_place(value):
    payload = copy.deepcopy(TOOLS)
    payload["reporting"][0]["dates"][0]["tools"][0]["usage_count"] = value
    with pytest.raises(PayloadError, match=r"'usage_count'.*wrong type.*company 123, date 2023-12-25"):
        flatten(ENDPOINTS["tools_usage"], payload)


@pytest.mark.parametrize(
    ("name", "payload", "path", "field"),
    [
        ("used_documents", DOCUMENTS, ("documents", 0), "document_id"),
        ("tools_usage", TOOLS, ("tools", 0), "tool_name"),
        ("user_activities", USERS, ("users", 0), "user_id"),
    ],
)
def test_a_missing_key_field_fails_clearly(name, payload, path, field):
    payload = copy.deepcopy(payload)
    item = payload["reporting"][0]["dates"][0][path[0]][path[1]]
    del item[field]
    with pytest.raises(PayloadError, match=f"required field '{field}' is missing"):
        flatten(ENDPOINTS[name], payload)


def test_a_missing_date_or_company_fails_clearly():
    payload = copy.deepcopy(FEEDBACKS)
    del payload["reporting"][0]["dates"][0]["date"]
    with pytest.raises(PayloadError, match="no 'date'"):
        flatten(ENDPOINTS["chat_feedbacks"], payload)
    with pytest.raises(PayloadError, match="'company'"):
        flatten(ENDPOINTS["chat_feedbacks"], {"reporting": [{"dates": []}]})
    with pytest.raises(PayloadError, match="'reporting'"):
        flatten(ENDPOINTS["chat_feedbacks"], {"detail": "oops"})


def test_repeated_rows_are_merged_but_conflicting_rows_for_one_key_fail():
    payload = copy.deepcopy(TOOLS)
    tools = payload["reporting"][0]["dates"][0]["tools"]
    tools.append(dict(tools[0]))
    assert len(rows("tools_usage", payload)) == 2
    tools.append({"tool_name": "document_search", "usage_count": 1})
    with pytest.raises(PayloadError, match="conflicting rows share one key"):
        flatten(ENDPOINTS["tools_usage"], payload)


@pytest.mark.parametrize("endpoint", ENDPOINTS.values(), ids=list(ENDPOINTS))
def test_the_registry_names_only_columns_of_its_table(endpoint) -> None:
    columns = set(endpoint.table.c.keys())
    assert set(endpoint.renames.values()) <= columns, "every rename target is a column"
    assert {"date", "company_id"} <= set(endpoint.key) <= columns
    assert set(endpoint.prefixed).isdisjoint(endpoint.merged), "a per-date object is merged or prefixed, not both"
    # A table keyed beyond (date, company) holds one row per item of each day: the registry says which list.
    assert (endpoint.items is not None) == (len(endpoint.key) > 2)
    assert endpoint.path == f"/api/v2/reporting/{endpoint.slug}/" and endpoint.name == endpoint.table.name


def test_the_simulator_serves_every_registered_slug() -> None:
    sim = Simulator(seed=7)
    for endpoint in ENDPOINTS.values():
        payload = sim.report(endpoint.slug, date(2025, 3, 3), date(2025, 3, 3), list(DEFAULT_COMPANIES))
        assert len(flatten(endpoint, payload, [date(2025, 3, 3)]).frame) > 0, endpoint.slug
