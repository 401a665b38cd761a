"""The client against the real simulator over HTTP: retries what is transient, fails fast and clearly otherwise."""

from __future__ import annotations

import io
import json
from datetime import date

import httpx
import pytest

from reporting_assets.paradigm.client import NUL, Answer, ParadigmClient, _spool, normalise_base_url
from reporting_assets.paradigm.errors import (
    ParadigmAuthError,
    ParadigmConfigError,
    ParadigmRequestError,
    ParadigmResponseError,
    ParadigmUnavailable,
)
from reporting_assets.paradigm.resource import ParadigmResource, date_chunks
from reporting_assets.simulator.faults import Fault
from reporting_assets_tests.conftest import TOKEN

TOOLS = "/api/v2/reporting/tools/"
DAY = date(2025, 1, 6)


def client_for(simulator, **kwargs) -> ParadigmClient:
    return ParadigmClient(simulator.url, TOKEN, **{"backoff_s": 0.01, "timeout_s": 5.0, **kwargs})


@pytest.mark.parametrize(
    ("given", "root"),
    [
        ("https://paradigm.lighton.ai", "https://paradigm.lighton.ai"),
        ("https://paradigm.lighton.ai/", "https://paradigm.lighton.ai"),
        ("https://paradigm.lighton.ai/api/v2", "https://paradigm.lighton.ai"),
        ("https://p.example.com/api/v3/ ", "https://p.example.com"),
    ],
)
def test_base_url_accepts_root_v2_and_v3(given, root):
    assert normalise_base_url(given) == root


def test_date_chunks_cover_the_range_without_gaps_or_overlap():
    chunks = date_chunks(date(2025, 1, 1), date(2025, 3, 31), 31)
    assert chunks == [
        (date(2025, 1, 1), date(2025, 1, 31)),
        (date(2025, 2, 1), date(2025, 3, 3)),
        (date(2025, 3, 4), date(2025, 3, 31)),
    ]


def test_429_with_retry_after_is_honoured_then_succeeds(simulator):
    simulator.sim.faults.add(Fault("status", status=429, retry_after=1))
    waits: list[float] = []  # the client's sleep: what it waited, without waiting a real second
    with client_for(simulator, sleep=waits.append) as client:
        payload = client.get_report(TOOLS, DAY, DAY)
    assert waits == [1.0]
    assert payload["reporting"] and simulator.requests("tools") == 2


@pytest.mark.parametrize(
    ("fault", "requests"),
    [(Fault("status", status=503), 2), (Fault("status", status=500, times=2), 3), (Fault("drop"), 2)],
)
def test_server_errors_and_dropped_connections_are_retried(simulator, fault, requests):
    simulator.sim.faults.add(fault)
    with client_for(simulator) as client:
        assert client.get_report(TOOLS, DAY, DAY)["reporting"]
    assert simulator.requests("tools") == requests


def test_a_read_timeout_is_retried(simulator):
    simulator.sim.faults.add(Fault("delay", delay_s=1.5))
    with client_for(simulator, timeout_s=0.5) as client:
        assert client.get_report(TOOLS, DAY, DAY)["reporting"]
    assert simulator.requests("tools") == 2


def test_persistent_failure_gives_up_with_endpoint_range_and_cause(simulator):
    simulator.sim.faults.add(Fault("status", status=502, times=None))
    with client_for(simulator, max_retries=2) as client, pytest.raises(ParadigmUnavailable) as err:
        client.get_report(TOOLS, DAY, date(2025, 1, 7))
    assert str(err.value).startswith(f"Paradigm {TOOLS} for 2025-01-06..2025-01-07: HTTP 502")
    assert "gave up after 3 attempts" in str(err.value)
    assert simulator.requests("tools") == 3


def test_unreachable_api_is_reported_as_unavailable():
    client = ParadigmClient("http://127.0.0.1:9", TOKEN, max_retries=1, backoff_s=0.01)
    with client, pytest.raises(ParadigmUnavailable, match="ConnectError"):
        client.get_report(TOOLS, DAY, DAY)


def test_401_fails_at_once_naming_endpoint_and_rejected_token(simulator):
    client = ParadigmClient(simulator.url, "wrong-token", backoff_s=0.01)
    with client, pytest.raises(ParadigmAuthError) as err:
        client.get_report(TOOLS, DAY, DAY)
    assert simulator.requests("tools") == 1
    assert TOOLS in str(err.value) and "token was rejected" in str(err.value)
    assert "wrong-token" not in str(err.value)


def test_403_and_404_are_not_retried(simulator):
    with client_for(simulator) as client:
        with pytest.raises(ParadigmAuthError, match="lacks admin rights"):
            client.get_report(TOOLS, DAY, DAY, company_id=999)
        with pytest.raises(ParadigmRequestError, match="HTTP 404"):
            client.get_report("/api/v2/reporting/nope/", DAY, DAY)
    assert simulator.requests("tools") == 1


def test_malformed_json_is_a_response_error(simulator):
    simulator.sim.faults.add(Fault("malformed"))
    with client_for(simulator) as client, pytest.raises(ParadigmResponseError, match="not valid JSON"):
        client.get_report(TOOLS, DAY, DAY)


def test_missing_token_or_url_is_a_config_error():
    with pytest.raises(ParadigmConfigError, match="PARADIGM_API_KEY is not set"):
        ParadigmResource(base_url="https://paradigm.example.com").client()
    with pytest.raises(ParadigmConfigError, match="PARADIGM_BASE_URL is not set"):
        ParadigmResource(base_url="", api_key="x").client()


def test_retry_after_in_http_date_form_is_understood():
    """Unit test of one retry rule (mocked transport): an HTTP-date Retry-After sets the wait."""
    answers = iter(
        [
            httpx.Response(429, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}),  # in the past: wait 0
            httpx.Response(200, json={"reporting": []}),
        ]
    )
    waits: list[float] = []
    transport = httpx.MockTransport(lambda request: next(answers))
    with ParadigmClient("http://x", TOKEN, transport=transport, sleep=waits.append) as client:
        assert client.get_report(TOOLS, DAY, DAY) == {"reporting": []}
    assert waits == [0.0]


def _answer(body: bytes) -> Answer:
    return Answer(io.BytesIO(body), NUL in body, TOOLS, DAY, DAY)


def test_an_answer_is_parsed_as_it_is_read_and_says_what_it_is_not():
    """`Answer` reads the spooled body with an incremental parser: company blocks one at a time, small fields on
    their own; a body that is not an object or not JSON fails with one line."""
    blocks = [{"company": {"id": i, "name": f"C{i}"}, "dates": []} for i in range(3)]
    answer = _answer(json.dumps({"reporting": blocks, "metadata": {"usage_count": {"unit": "integer"}}}).encode())
    reporting = answer.get("reporting")
    assert not isinstance(reporting, list) and next(reporting) == blocks[0]  # a generator: one block at a time
    assert answer.get("metadata") == {"usage_count": {"unit": "integer"}}  # after `reporting`: still found
    assert list(answer.get("reporting")) == blocks and answer.get("absent", "none") == "none"
    assert _answer(b"[1, 2]").kind() == "start_array" and _answer(b'{"a": 1}').kind() == "start_map"
    with pytest.raises(ParadigmResponseError, match=r"not valid JSON \(.*\)$") as error:
        list(_answer(b'{"reporting": [{"company": {"id": 1}}, {"comp').get("reporting"))
    assert "\n" not in str(error.value)


def test_a_nul_is_read_as_a_replacement_character_even_across_two_chunks():
    text = b'{"reporting": [{"company": {"id": 1, "name": "A\\u0000B"}, "dates": []}]}'
    cut = text.index(b"\\u0000") + 3  # the escape split between two chunks of the body
    body, nul = _spool(httpx.Response(200, content=iter([text[:cut], text[cut:]])))
    assert nul and NUL not in text[:cut] and NUL not in text[cut:]
    with body:
        [block] = Answer(body, nul, TOOLS, DAY, DAY).get("reporting")
        assert block["company"]["name"] == "A\ufffdB"
        assert Answer(body, nul, TOOLS, DAY, DAY).whole()["reporting"][0]["company"]["name"] == "A\ufffdB"
    escaped = b'{"reporting": [{"company": {"id": 1, "name": "A\\\\u0000B"}, "dates": []}]}'  # a backslash, no NUL
    assert _answer(escaped).whole()["reporting"][0]["company"]["name"] == "A\\u0000B"
