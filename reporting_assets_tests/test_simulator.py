"""The simulator behaves like the documented API: auth, parameters, shapes, deterministic consistent data."""

from __future__ import annotations

from datetime import date

import httpx
import pytest

from reporting_assets.paradigm.endpoints import ENDPOINTS
from reporting_assets.paradigm.flatten import flatten
from reporting_assets.simulator.app import Simulator
from reporting_assets.simulator.data import DEFAULT_COMPANIES
from reporting_assets_tests.conftest import TOKEN


@pytest.fixture
def http(simulator) -> httpx.Client:
    with httpx.Client(base_url=simulator.url, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        yield client


def report(http: httpx.Client, path: str, **params) -> httpx.Response:
    return http.get(f"/api/v2/reporting/{path}/", params=params)


def test_requests_without_the_right_bearer_token_are_rejected(simulator):
    url = f"{simulator.url}/api/v2/reporting/tools/"
    assert httpx.get(url, params={"start_date": "2025-01-01"}).status_code == 401
    wrong = httpx.get(url, params={"start_date": "2025-01-01"}, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and wrong.json() == {"detail": "Invalid token."}


def test_bad_parameters_and_unknown_paths(http):
    assert report(http, "tools").status_code == 400  # start_date is required
    assert report(http, "tools", start_date="2025-13-01").status_code == 400
    assert report(http, "tools", start_date="2025-02-01", end_date="2025-01-01").status_code == 400
    assert report(http, "nope", start_date="2025-01-01").status_code == 404
    assert report(http, "tools", start_date="2025-01-01", company_id=999).status_code == 403


def test_end_date_is_inclusive_and_company_id_filters(http):
    body = report(http, "chat-sessions", start_date="2025-03-03", end_date="2025-03-09", company_id=101).json()
    assert [c["company"]["id"] for c in body["reporting"]] == [101]
    assert [d["date"] for d in body["reporting"][0]["dates"]][-1] == "2025-03-09"
    assert set(body["metadata"]) >= {"sessions_count", "average_session_length"}


def test_the_same_seed_gives_the_same_data_and_another_seed_does_not():
    a = Simulator(seed=1).report("used-documents", date(2025, 1, 1), date(2025, 1, 31), list(DEFAULT_COMPANIES))
    b = Simulator(seed=1).report("used-documents", date(2025, 1, 1), date(2025, 1, 31), list(DEFAULT_COMPANIES))
    c = Simulator(seed=2).report("used-documents", date(2025, 1, 1), date(2025, 1, 31), list(DEFAULT_COMPANIES))
    assert a == b and a != c


def test_counts_are_consistent_across_endpoints():
    sim, start, end = Simulator(seed=3), date(2025, 1, 1), date(2025, 4, 30)
    frames = {
        name: flatten(e, sim.report(e.slug, start, end, list(DEFAULT_COMPANIES))).frame for name, e in ENDPOINTS.items()
    }
    sessions = frames["chat_sessions"].set_index(["date", "company_id"])
    feedbacks = frames["chat_feedbacks"].set_index(["date", "company_id"])
    assert (sessions["model_responses_count"] <= sessions["user_queries_count"]).all()
    assert (feedbacks["likes_count"] + feedbacks["dislikes_count"] <= feedbacks["model_responses_count"]).all()
    assert (feedbacks["model_responses_count"] == sessions["model_responses_count"]).all()
    doc_uses = frames["used_documents"].groupby(["date", "company_id"])["usage_count"].sum()
    assert (doc_uses <= sessions["model_responses_with_docs_count"].reindex(doc_uses.index)).all()
    users = frames["user_activities"].groupby(["date", "company_id"])
    assert users["sessions_count"].sum().sort_index().equals(sessions["sessions_count"].sort_index())
    assert (users.size() == users["active_users_count"].first()).all()


def test_weekday_seasonality_growth_incidents_and_days_without_activity():
    sim = Simulator(seed=7)
    year = (date(2025, 1, 1), date(2025, 12, 31), list(DEFAULT_COMPANIES))
    frame = flatten(ENDPOINTS["chat_sessions"], sim.report("chat-sessions", *year)).frame
    acme = frame[frame.company_id == 101].assign(weekday=lambda f: f["date"].map(lambda d: d.weekday()))
    assert acme[acme.weekday < 5].sessions_count.mean() > 3 * acme[acme.weekday >= 5].sessions_count.mean()
    assert acme.head(60).sessions_count.mean() < acme.tail(60).sessions_count.mean()
    initech_days = set(frame[frame.company_id == 103]["date"])
    assert not any(d.weekday() >= 5 for d in initech_days)  # weekends omitted: no activity
    fb = flatten(ENDPOINTS["chat_feedbacks"], sim.report("chats-feedback", *year)).frame
    globex = fb[fb.company_id == 102]
    rate = globex.likes_count / (globex.likes_count + globex.dislikes_count)
    assert (rate < 0.5).sum() >= 10 and (rate > 0.7).sum() > 300  # a few incident days, mostly happy


def test_faults_can_be_switched_on_over_http(simulator, http):
    assert http.post("/_sim/faults", json={"kind": "status", "status": 502, "endpoint": "tools"}).status_code == 200
    assert report(http, "tools", start_date="2025-01-01").status_code == 502
    assert report(http, "tools", start_date="2025-01-01").status_code == 200  # times=1 by default
    assert http.post("/_sim/faults", json={"kind": "bogus_arg", "nope": 1}).status_code == 400
    assert http.get("/_sim/stats").json()["requests"]["tools"] == 2
