"""A local HTTPS server for the API stand-ins (127.0.0.1 only), its certificate from a test CA."""

from __future__ import annotations

import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


def serve_https(handler: type[BaseHTTPRequestHandler], ca: Any, cert: Any, ca_file: Path) -> ThreadingHTTPServer:
    """Serve ``handler`` over TLS on a free port in a daemon thread; ``ca_file`` gets the CA to trust."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(ctx)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    ca.cert_pem.write_to_path(str(ca_file))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def stop_server(server: ThreadingHTTPServer | None) -> None:
    if server is not None:
        server.shutdown()
        server.server_close()
