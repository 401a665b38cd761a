"""Deterministic synthetic usage per (seed, company, day), consistent across the five endpoints.

Each company-day is generated once from its own seeded RNG, so every endpoint reports the same activity:
responses <= queries, likes + dislikes <= responses, document uses <= responses with documents.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from functools import lru_cache
from typing import Any

DEFAULT_TOKEN = "sim-token"  # noqa: S105 (the public token of the demo simulator)

TOOLS = ("document_search", "web_search", "code_interpreter", "translation", "image_generation")
WEEKDAY_FACTOR = (1.0, 1.05, 1.0, 0.95, 0.85, 0.2, 0.1)
SHARED_DOCUMENT = {"document_id": 1, "document_filename": "code_of_conduct.pdf", "document_title": "Code of conduct"}
GROWTH_ORIGIN = date(2024, 1, 1)


@dataclass(frozen=True)
class Company:
    id: int
    name: str
    users: int  # size of the user pool
    documents: int  # size of the document catalogue
    agent_mode: bool = False
    weekend_off: bool = False  # no activity at all on weekends (the API then omits the day)
    incident_every: int = 0  # every N days (by ordinal), satisfaction collapses for two days
    incident_days: tuple[date, ...] = ()  # and on these days (tests inject a satisfaction drop this way)
    tools: tuple[str, ...] = TOOLS  # the tool names it uses
    titles: tuple[str, ...] = ()  # its documents' titles and file names (cycled), else "<name> document k"


DEFAULT_COMPANIES = (
    Company(101, "ACME Corp", users=120, documents=60, agent_mode=True),
    Company(102, "Globex", users=60, documents=30, incident_every=37),
    Company(103, "Initech", users=12, documents=8, weekend_off=True),
)


# The demo organisation's departments and their sizes per company (user ids in pool order), some below the
# default minimum group size of 10, and each department's site.
DEPARTMENTS = {
    101: (("Sales", 40, "Paris"), ("Engineering", 36, "Lyon"), ("Support", 24, "Lyon"), ("Legal", 12, "Paris"),
          ("Finance", 6, "Paris"), ("Board", 2, "Paris")),
    102: (("Operations", 30, "Berlin"), ("Sales", 22, "Berlin"), ("People", 8, "Munich")),
    103: (("Engineering", 9, "Austin"), ("Management", 3, "Austin")),
}  # fmt: skip


def org_csv(companies: tuple[Company, ...] = DEFAULT_COMPANIES) -> str:
    """The demo org file (REPORTING_ORG_DATA) of `companies`' users: `user_id;company_id;department;site`."""
    lines = ["user_id;company_id;department;site"]
    for company in companies:
        uid = company.id * 1000
        for department, size, site in DEPARTMENTS.get(company.id, ()):
            lines += [f"{uid + k};{company.id};{department};{site}" for k in range(1, size + 1)]
            uid += size
    return "\n".join(lines) + "\n"


def _split(rng: random.Random, total: int, bins: int) -> list[int]:
    """`total` spread over `bins` with random weights (sums exactly to `total`)."""
    if bins <= 0 or total <= 0:
        return [0] * max(bins, 0)
    weights = [rng.random() ** 2 + 0.01 for _ in range(bins)]
    scale = total / sum(weights)
    parts = [int(w * scale) for w in weights]
    for i in rng.sample(range(bins), total - sum(parts)):
        parts[i] += 1
    return parts


@lru_cache(maxsize=8192)  # the five endpoints ask for the same days; callers must not modify the result
def company_day(seed: int, company: Company, day: date) -> dict[str, Any] | None:
    """Everything that happened at `company` on `day`, or None when nothing did."""
    rng = random.Random(f"{seed}:{company.id}:{day.isoformat()}")  # noqa: S311 (synthetic data)
    weekday = day.weekday()
    if company.weekend_off and weekday >= 5:
        return None
    growth = max(0.3, 1 + 0.0015 * (day - GROWTH_ORIGIN).days)
    expected = company.users * 0.3 * growth * WEEKDAY_FACTOR[weekday] * rng.uniform(0.85, 1.15)
    active = min(company.users, round(expected))
    if active == 0:
        return None

    user_ids = sorted(rng.sample(range(company.id * 1000 + 1, company.id * 1000 + company.users + 1), active))
    users = []
    for uid in user_ids:
        sessions = rng.randint(1, 4)
        queries = sessions * rng.randint(1, 6)
        last = datetime.combine(day, time(rng.randint(7, 20), rng.randint(0, 59), rng.randint(0, 59)), UTC)
        users.append({"user_id": uid, "sessions_count": sessions, "queries_count": queries, "last_activity": last})

    queries = sum(u["queries_count"] for u in users)
    responses = queries - rng.randint(0, max(1, queries // 50))
    with_docs = round(responses * rng.uniform(0.45, 0.7))
    periodic = company.incident_every and day.toordinal() % company.incident_every in (0, 1)
    incident = periodic or day in company.incident_days
    satisfaction = rng.uniform(0.15, 0.35) if incident else rng.uniform(0.75, 0.95)
    rated = round(responses * rng.uniform(0.1, 0.25))
    likes = round(rated * satisfaction)

    titles = company.titles
    catalogue = [
        {
            "document_id": company.id * 10_000 + k,
            "document_filename": titles[(k - 1) % len(titles)] if titles else f"doc_{company.id}_{k}.pdf",
            "document_title": titles[(k - 1) % len(titles)] if titles else f"{company.name} document {k}",
        }
        for k in range(1, company.documents + 1)
    ] + [SHARED_DOCUMENT]
    used = rng.sample(catalogue, min(len(catalogue), max(1, with_docs // 3)))
    doc_uses = _split(rng, with_docs, len(used))
    tool_uses = _split(rng, round(queries * rng.uniform(0.3, 0.8)), len(company.tools))
    agent_threads = round(sum(u["sessions_count"] for u in users) * 0.2) if company.agent_mode else 0

    return {
        "sessions_count": sum(u["sessions_count"] for u in users),
        "unique_models_count": rng.randint(1, 4),
        "average_session_length": round(rng.uniform(60, 900), 1),
        "user_queries_count": queries,
        "model_responses_count": responses,
        "model_responses_with_docs_count": with_docs,
        "last_model_response_date": max(u["last_activity"] for u in users),
        "likes_count": likes,
        "dislikes_count": rated - likes,
        "copies_count": round(responses * rng.uniform(0.02, 0.08)),
        "tools": [{"tool_name": t, "usage_count": n} for t, n in zip(company.tools, tool_uses, strict=True) if n > 0],
        "documents": [{**d, "usage_count": n} for d, n in zip(used, doc_uses, strict=True) if n > 0],
        "users": users,
        "agent": {
            "threads_count": agent_threads,
            "unique_models_count": 1,
            "average_thread_length": round(rng.uniform(100, 1200), 1),
            "user_queries_count": agent_threads * 3,
            "model_responses_count": agent_threads * 3,
            "model_responses_with_docs_count": agent_threads,
        }
        if agent_threads
        else None,
    }


def members(company: Company, day: date) -> dict[str, int]:
    """The company's members as of `day`: every user of its pool is a current member (so members >= the users
    any endpoint reports), plus one departed member per ten, and a few more every 30 days since the origin."""
    joined = max(0, (day - GROWTH_ORIGIN).days // 30)
    return {
        "total_historical_members": company.users + company.users // 10 + joined,
        "current_active_members": company.users + joined,
    }
