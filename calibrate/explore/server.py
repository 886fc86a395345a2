"""The explorer's local web server: the standard library's ``http.server`` on 127.0.0.1 only.

Routes: ``GET /`` the page (plain HTML + JS, no external resource), ``GET /api/state`` where the page
starts, ``POST /api/evaluate`` the figures of a candidate (:meth:`~calibrate.explore.session.Explorer.evaluate`),
``POST /api/draft`` writes the candidate as a draft config. A bad body is answered 400 with
``{"error": message}``; a request whose ``Host`` is not this server (DNS rebinding) 403; anything else 404.
"""

from __future__ import annotations

import json
import math
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.resources import files
from pathlib import Path
from typing import Any

from calibrate.explore.session import ExploreError, Explorer

__all__ = ["HOST", "MAX_BODY", "make_server"]

HOST = "127.0.0.1"
"""The only interface the explorer listens on."""

MAX_BODY = 65536
"""Largest request body accepted, in bytes."""


def _page() -> bytes:
    return files("calibrate.explore").joinpath("page.html").read_bytes()


def _clean(value: Any) -> Any:
    """NaN/inf (an empty band's rate) as JSON null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def make_server(explorer: Explorer, *, port: int = 0, draft_path: str | Path) -> ThreadingHTTPServer:
    """A server for ``explorer`` on 127.0.0.1:``port`` (0: a free port; read it from ``server.server_address``).

    ``draft_path`` is where the page's "write draft" button writes the draft config. Call
    ``serve_forever()`` to run it, ``shutdown()`` (from another thread) to stop it.
    """
    page = _page()

    class Handler(BaseHTTPRequestHandler):
        server_version = "calibrate-explore"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet: no access log on stderr
            return

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("Content-Security-Policy", "default-src 'self'; script-src 'self' 'unsafe-inline'; "
                             "style-src 'self' 'unsafe-inline'")
            self.end_headers()
            self.wfile.write(body)

        def _json(self, status: int, payload: Any) -> None:
            self._send(status, json.dumps(_clean(payload), allow_nan=False).encode(), "application/json")

        def _local(self) -> bool:
            host = (self.headers.get("Host") or "").rsplit(":", 1)[0].strip("[]")
            if host in (HOST, "localhost"):
                return True
            self._json(HTTPStatus.FORBIDDEN, {"error": f"host {host!r} refused: open http://{HOST}:{port_of()}/"})
            return False

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            if not self._local():
                return
            if self.path in ("/", "/index.html"):
                self._send(HTTPStatus.OK, page, "text/html; charset=utf-8")
            elif self.path == "/favicon.ico":
                self._send(HTTPStatus.NO_CONTENT, b"", "image/x-icon")
            elif self.path == "/api/state":
                self._json(HTTPStatus.OK, explorer.state() | {"draft_path": str(draft_path)})
            else:
                self._json(HTTPStatus.NOT_FOUND, {"error": f"no such page {self.path!r}"})

        def do_POST(self) -> None:  # noqa: N802
            if not self._local():
                return
            if self.path not in ("/api/evaluate", "/api/draft"):
                self._json(HTTPStatus.NOT_FOUND, {"error": f"no such endpoint {self.path!r}"})
                return
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = -1
            if not 0 < length <= MAX_BODY:
                self._json(HTTPStatus.BAD_REQUEST, {"error": f"send a JSON body of 1 to {MAX_BODY} bytes "
                                                             "with its Content-Length"})
                return
            try:
                body = json.loads(self.rfile.read(length), parse_constant=lambda c: float("nan"))
            except ValueError as exc:
                self._json(HTTPStatus.BAD_REQUEST, {"error": f"the body is not JSON ({exc})"})
                return
            try:
                if self.path == "/api/evaluate":
                    self._json(HTTPStatus.OK, explorer.evaluate(body))
                else:
                    target = explorer.write_draft(body, draft_path)
                    self._json(HTTPStatus.OK, {"path": str(target),
                                               "next": f"calibrate config publish {target}"})
            except ExploreError as exc:
                self._json(HTTPStatus.BAD_REQUEST, {"error": str(exc)})

    server = ThreadingHTTPServer((HOST, port), Handler)
    server.daemon_threads = True

    def port_of() -> int:
        return server.server_address[1]

    return server
