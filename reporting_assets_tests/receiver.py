"""A JSON receiver on 127.0.0.1 for apprise's `json://`: what the alert and digest channels really get."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SECRET = "hook-secret-93ad"  # in the URL's credentials: leak scans look for it


class Receiver:
    """An HTTP endpoint collecting the JSON bodies posted to it; `start()` may come after a failed tick."""

    def __init__(self, refuse: int = 0) -> None:
        """`refuse`: how many posts are answered 500 (and not kept) before it accepts. The port is bound at once
        (nobody else can take it) and refuses connections until `start()` listens on it."""
        self.refuse = refuse
        self.messages: list[dict] = []
        messages, receiver = self.messages, self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if receiver.refuse > 0:
                    receiver.refuse -= 1
                    self.send_response(500)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                messages.append(body)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler, bind_and_activate=False)
        self.server.server_bind()
        self.port = self.server.server_address[1]
        self.serving = False

    def start(self) -> None:
        self.server.server_activate()
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.serving = True

    def stop(self) -> None:
        if self.serving:
            self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        return f"json://user:{SECRET}@127.0.0.1:{self.port}/alerts"

    def titles(self) -> list[str]:
        return [m["title"] for m in self.messages]

    def alerts(self) -> list[dict[str, str]]:
        """Every alert received, one {title, message} each: a grouped message ("[ALERTS] ...") counts one per line."""
        out = []
        for m in self.messages:
            if not m["title"].startswith("[ALERTS]"):
                out.append({"title": m["title"], "message": m["message"]})
                continue
            for line in m["message"].splitlines():
                if line.startswith("["):
                    title, message = line.split(": ", 1)
                    out.append({"title": title, "message": message})
        return out
