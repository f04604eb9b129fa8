"""An iCalendar feed server on 127.0.0.1 for the busy_from tests: ETags, Last-Modified, hostile modes.

``FeedServer.routes[path]`` says what each path serves (a :class:`Route`); every request is counted
in ``hits`` (path -> [status, ...]).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Route:
    body: bytes = b""
    content_type: str = "text/calendar; charset=utf-8"
    etag: bool = True
    last_modified: str | None = None  # an HTTP date; conditional on If-Modified-Since when set
    status: int = 200
    delay: float = 0.0  # seconds before the body is sent
    length: bool = True  # send Content-Length
    location: str | None = None  # redirect there (status 302)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def tag(self) -> str:
        return '"' + hashlib.sha256(self.body).hexdigest()[:16] + '"'


class FeedServer:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: dict[str, list[int]] = defaultdict(list)
        self.headers: dict[str, list[dict[str, str]]] = defaultdict(list)
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                route = server.routes.get(self.path.split("?")[0])
                server.headers[self.path].append({k.lower(): v for k, v in self.headers.items()})
                if route is None:
                    return self._send(404, b"no such feed", "text/plain")
                if route.location is not None:
                    server.hits[self.path].append(302)
                    self.send_response(302)
                    self.send_header("Location", route.location)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return None
                if route.status != 200:
                    return self._send(route.status, b"nope", "text/plain")
                inm, ims = self.headers.get("If-None-Match"), self.headers.get("If-Modified-Since")
                if (route.etag and inm == route.tag) or (not route.etag and route.last_modified and ims == route.last_modified):
                    server.hits[self.path].append(304)
                    self.send_response(304)
                    self.end_headers()
                    return None
                if route.delay:
                    time.sleep(route.delay)
                return self._send(200, route.body, route.content_type, route)

            def _send(self, status: int, body: bytes, ctype: str, route: Route | None = None) -> None:
                server.hits[self.path].append(status)
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", ctype)
                    if route is not None and route.etag:
                        self.send_header("ETag", route.tag)
                    if route is not None and route.last_modified:
                        self.send_header("Last-Modified", route.last_modified)
                    if route is None or route.length:
                        self.send_header("Content-Length", str(len(body)))
                    else:
                        self.send_header("Connection", "close")
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> FeedServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"
