"""The REST channel's check of the action server before a turn: down only when it refuses, never when it is slow."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from types import SimpleNamespace

from bot.chat.rest import HEALTH_TIMEOUT_SECONDS, ClinicRestInput


def _agent(port: int) -> SimpleNamespace:
    return SimpleNamespace(action_endpoint=SimpleNamespace(url=f"http://127.0.0.1:{port}/webhook"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Slow(BaseHTTPRequestHandler):
    delay = 0.0

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        time.sleep(self.delay)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: object) -> None:
        pass


def _serve(delay: float) -> HTTPServer:
    handler = type("Handler", (_Slow,), {"delay": delay})
    server = HTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_a_refused_connection_is_down():
    assert asyncio.run(ClinicRestInput._actions_up(_agent(_free_port()))) is False


def test_an_answering_action_server_is_up():
    server = _serve(0.0)
    try:
        assert asyncio.run(ClinicRestInput._actions_up(_agent(server.server_port))) is True
    finally:
        server.shutdown()


def test_a_busy_action_server_slower_than_the_timeout_is_still_up():
    server = _serve(HEALTH_TIMEOUT_SECONDS + 0.5)
    try:
        assert asyncio.run(ClinicRestInput._actions_up(_agent(server.server_port))) is True
    finally:
        server.shutdown()


def test_no_action_server_configured_is_up():
    assert asyncio.run(ClinicRestInput._actions_up(SimpleNamespace(action_endpoint=None))) is True
