"""The simulated Paradigm reporting API: same paths, parameters, auth and JSON shapes as `paradigm_api.md`.

`Simulator.respond` is the whole API as a function of one request. `serve` puts it on a real HTTP server on
127.0.0.1; `Simulator.transport` plugs it into an `httpx.Client` in-process (the embedded demo). Faults are
switched on per test, in-process (`sim.faults.add`) or over HTTP (`POST /_sim/faults`).
"""

from __future__ import annotations

import copy
import json
import socket
import struct
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from reporting_assets.clock import utc_now
from reporting_assets.simulator.data import DEFAULT_COMPANIES, DEFAULT_TOKEN, Company, company_day, members
from reporting_assets.simulator.faults import PAYLOAD_FAULTS, Fault, Faults, rewrite
from reporting_assets.simulator.payloads import METADATA, METADATA_AGENT, day_entry

REPORTING = "/api/v2/reporting/"


@dataclass
class SimResponse:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    drop: bool = False


def _json(status: int, body: Any, **headers: str) -> SimResponse:
    return SimResponse(status, json.dumps(body).encode(), {"Content-Type": "application/json", **headers})


class Simulator:
    """The reporting API of one Paradigm instance with a few companies."""

    def __init__(self, seed: int = 7, token: str = DEFAULT_TOKEN, companies: tuple[Company, ...] = DEFAULT_COMPANIES):
        self.seed, self.token, self.companies = seed, token, companies
        self.faults = Faults()
        self.requests: Counter[str] = Counter()
        self._count_lock = threading.Lock()
        self.in_flight = 0  # reporting requests being answered now over HTTP...
        self.peak_in_flight = 0  # ...and the most at once (what the `paradigm_api` pool must cap)

    @contextmanager
    def answering(self) -> Iterator[None]:
        """Counts one reporting request while the server answers it (delays included)."""
        with self._count_lock:
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            yield
        finally:
            with self._count_lock:
                self.in_flight -= 1

    def respond(self, method: str, path: str, query: dict[str, str], headers: dict[str, str]) -> SimResponse:
        if path.startswith("/_sim/"):
            return self._control(method, path, query)
        if not path.startswith(REPORTING) or path[len(REPORTING) :].rstrip("/") not in METADATA:
            return _json(404, {"detail": "Not found."})
        endpoint = path[len(REPORTING) :].rstrip("/")
        with self._count_lock:
            self.requests[endpoint] += 1
        if method != "GET":
            return _json(405, {"detail": f'Method "{method}" not allowed.'})
        if headers.get("authorization") != f"Bearer {self.token}":
            return _json(401, {"detail": "Invalid token."})
        faults = self.faults.take(endpoint)
        for fault in faults:
            if fault.kind == "status":
                extra = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
                return _json(fault.status, {"detail": f"Simulated HTTP {fault.status}"}, **extra)
            if fault.kind == "drop":
                return SimResponse(0, b"", drop=True)
            if fault.kind == "malformed":
                return SimResponse(
                    200, b'{"metadata": {}, "reporting": [{"company": ', {"Content-Type": "application/json"}
                )
        try:
            start = date.fromisoformat(query["start_date"])
            end = date.fromisoformat(query["end_date"]) if query.get("end_date") else utc_now().date()
            company_id = int(query["company_id"]) if query.get("company_id") else None
        except (KeyError, ValueError):
            return _json(400, {"detail": "start_date (YYYY-MM-DD) is required; end_date and company_id must be valid."})
        if end < start:
            return _json(400, {"detail": "end_date must not be before start_date."})
        companies = [c for c in self.companies if company_id in (None, c.id)]
        if not companies:
            return _json(403, {"detail": "You do not have permission to access this company."})
        body = self.report(endpoint, start, end, companies)
        if faults:  # the report shares objects with the generator's cache: faults edit a copy
            body = copy.deepcopy(body)
        for fault in faults:
            if fault.kind in ("missing_field", "extra_field", "wrong_type"):
                rewrite(body["reporting"], fault)
            elif fault.kind in PAYLOAD_FAULTS:
                PAYLOAD_FAULTS[fault.kind](body["reporting"], fault)
        response = _json(200, body)
        response.delay_s = sum(f.delay_s for f in faults if f.kind == "delay")
        return response

    def report(self, endpoint: str, start: date, end: date, companies: list[Company]) -> dict[str, Any]:
        """The documented envelope for `endpoint` over `start..end` inclusive; days without activity omitted.
        `users` (company members) has no per-date breakdown: each company's members as of `end`."""
        if endpoint == "users":
            reporting = [{"company": {"name": c.name, "id": c.id}, **members(c, end)} for c in companies]
            return {"metadata": METADATA[endpoint], "reporting": reporting}
        days = [date.fromordinal(o) for o in range(start.toordinal(), end.toordinal() + 1)]
        reporting = []
        for company in companies:
            dates = [
                day_entry(endpoint, day, act)
                for day in days
                if (act := company_day(self.seed, company, day)) is not None
            ]
            reporting.append({"company": {"name": company.name, "id": company.id}, "dates": dates})
        body: dict[str, Any] = {"metadata": METADATA[endpoint], "reporting": reporting}
        if endpoint == "chat-sessions":
            body["metadata_agent"] = METADATA_AGENT
        return body

    def _control(self, method: str, path: str, query: dict[str, str]) -> SimResponse:
        if path == "/_sim/stats":
            return _json(200, {"requests": dict(self.requests), "faults": [asdict(f) for f in self.faults.pending]})
        if path == "/_sim/reset" and method == "POST":
            self.faults.clear()
            with self._count_lock:
                self.requests.clear()
            return _json(200, {"ok": True})
        return _json(404, {"detail": "Unknown control path."})

    def transport(self) -> httpx.MockTransport:
        """An in-process httpx transport to this simulator (the embedded demo; no socket involved)."""

        def handle(request: httpx.Request) -> httpx.Response:
            query = {k: v for k, v in request.url.params.items()}
            headers = {k.lower(): v for k, v in request.headers.items()}
            r = self.respond(request.method, request.url.path, query, headers)
            if r.drop:
                raise httpx.RemoteProtocolError("Simulated dropped connection", request=request)
            return httpx.Response(r.status, content=r.body, headers=r.headers)

        return httpx.MockTransport(handle)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    simulator: Simulator

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self._body = self.rfile.read(length) if length else b""
        self._answer()

    def do_DELETE(self) -> None:
        self._answer()

    def _answer(self) -> None:
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        headers = {k.lower(): v for k, v in self.headers.items()}
        if url.path == "/_sim/faults":
            response = self._faults()
        else:
            with self.simulator.answering():
                response = self.simulator.respond(self.command, url.path, query, headers)
                if response.delay_s:
                    time.sleep(response.delay_s)  # the simulated slowness itself
        if response.drop:  # RST instead of FIN: the client sees "connection reset by peer"
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            return
        self.send_response(response.status)
        for name, value in {**response.headers, "Content-Length": str(len(response.body))}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(response.body)

    def _faults(self) -> SimResponse:
        if self.command == "DELETE":
            self.simulator.faults.clear()
            return _json(200, {"ok": True})
        try:
            spec = json.loads(getattr(self, "_body", b"") or b"{}")
            self.simulator.faults.add(Fault(**spec))
        except (TypeError, ValueError) as exc:
            return _json(400, {"detail": f"bad fault: {exc}"})
        return _json(200, {"ok": True})

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass  # quiet: tests and demos print their own summaries


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up mid-answer (a timeout, a killed run) is the client's business: no traceback."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def make_server(simulator: Simulator, host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
    """An HTTP server for `simulator` (port 0: any free port, read it from `server.server_address`)."""
    server = _Server((host, port), type("Handler", (_Handler,), {"simulator": simulator}))
    server.daemon_threads = True
    return server


def serve(simulator: Simulator, host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
    """A server already answering in a daemon thread; `shutdown()` stops it."""
    server = make_server(simulator, host, port)
    threading.Thread(target=server.serve_forever, name="paradigm-simulator", daemon=True).start()
    return server
