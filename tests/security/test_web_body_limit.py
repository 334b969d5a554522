"""Issue 9, finding 5: the body cap counted Content-Length only, so a chunked upload of any size was read whole.

The cap (bot.web.limits.BodyLimit) counts the bytes as they stream in and answers 413 once they pass it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import select
import socket
import time
from typing import Any, Dict, Iterator, List, Tuple
from urllib.parse import urlsplit

import pytest
import requests

from bot.web import limits
from tests.web.server import running_app, signed_in_session

os.environ.setdefault("WEB_SECRET", "test-web-secret-" + "x" * 16)

UPLOAD = 30 * 1024 * 1024
CHUNK = 64 * 1024


@pytest.fixture(scope="module")
def web() -> Iterator[str]:
    with running_app() as base:
        yield base


def chunked_upload(
    base: str,
    path: str,
    total: int = UPLOAD,
    chunk: int = CHUNK,
    content_type: str = "application/x-www-form-urlencoded",
    extra_headers: str = "",
) -> Tuple[bytes, int, bool]:
    """POST `total` bytes with Transfer-Encoding: chunked over a raw socket, watching for an answer between
    chunks. Returns (the answer's first bytes, bytes of body sent when it came, whether the whole body went)."""
    parts = urlsplit(base)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=20)
    sock.sendall(
        (
            f"POST {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: {content_type}\r\n"
            f"Transfer-Encoding: chunked\r\n{extra_headers}\r\n"
        ).encode()
    )
    piece = b"%x\r\n" % chunk + b"a" * chunk + b"\r\n"
    sent = 0
    answer = b""
    pending = b""
    sock.setblocking(False)  # never blocked in a send: an answer is read as soon as it comes, before any reset
    try:
        while sent < total or pending:
            readable, writable, _ = select.select([sock], [sock], [], 10)
            if readable:
                answer = sock.recv(65536)
                break
            if writable:
                if not pending:
                    pending = piece
                    sent += chunk
                with contextlib.suppress(BlockingIOError):
                    pending = pending[sock.send(pending) :]
        else:
            sock.setblocking(True)
            sock.sendall(b"0\r\n\r\n")
        sock.setblocking(True)
        deadline = time.monotonic() + 20
        while not answer and time.monotonic() < deadline:
            if select.select([sock], [], [], 1)[0]:
                answer = sock.recv(65536)
    except (BrokenPipeError, ConnectionResetError):
        pass
    finally:
        sock.close()
    return answer, sent, sent >= total


def test_a_30_mb_chunked_login_post_is_refused_early(web, database_url, caplog) -> None:
    answer, sent, finished = chunked_upload(web, "/staff/login")

    assert "failed" not in caplog.text  # refused, not a crash of the route that was reading it

    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert not finished
    # the server stopped reading just past the cap; what else went out sat in the sockets' buffers
    assert sent < UPLOAD / 3, sent


def test_a_chunked_post_from_a_signed_in_member_of_staff_is_refused_too(web, database_url) -> None:
    staff = signed_in_session(web, "reception")
    cookie = f"staff_session={staff.cookies.get('staff_session')}"

    answer, sent, finished = chunked_upload(web, "/staff/logout", extra_headers=f"Cookie: {cookie}\r\n")

    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert not finished and sent < UPLOAD / 3
    assert staff.page("/staff/consultations").status_code == 200  # not logged out: the form was never read


def test_a_declared_length_over_the_cap_is_refused_unread(web, database_url) -> None:
    assert (
        requests.post(
            web + "/staff/login",
            data=b"a" * (limits.MAX_FORM_BYTES + 1),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        ).status_code
        == 413
    )
    # chat messages have their smaller cap, wherever the route lives
    assert (
        requests.post(
            web + "/chat/message",
            data=b"{" + b" " * limits.MAX_CHAT_BYTES + b"}",
            headers={"Content-Type": "application/json"},
        ).status_code
        == 413
    )
    assert requests.post(web + "/webhooks/rest/webhook", data=b"x" * (limits.MAX_CHAT_BYTES + 1)).status_code == 413


def test_a_small_form_still_goes_through(web, database_url) -> None:
    # under the cap, chunked: read whole and answered by the route (no login token: 400, not 413)
    answer, _sent, finished = chunked_upload(web, "/staff/login", total=8 * 1024, chunk=1024)

    assert finished and answer.startswith(b"HTTP/1.1 400"), answer[:200]


def test_the_caps_by_path() -> None:
    assert limits.cap_for("/staff/login") == limits.MAX_FORM_BYTES == 64 * 1024
    assert limits.cap_for("/api/consultations") == limits.MAX_FORM_BYTES
    assert limits.cap_for("/chat") == limits.cap_for("/chat/send") == limits.MAX_CHAT_BYTES == 16 * 1024
    assert limits.cap_for("/webhooks/rest/webhook") == limits.MAX_CHAT_BYTES
    assert limits.cap_for("/") == limits.MAX_FORM_BYTES  # any other path: a cap still


def run_middleware(
    app: Any, body_chunks: int, chunk: int, path: str = "/staff/login", headers: List[Tuple[bytes, bytes]] = ()
) -> Tuple[List[Dict[str, Any]], int]:
    """Drive BodyLimit(app) with a body of `body_chunks` x `chunk` bytes; returns (messages sent, receive calls)."""
    calls = 0

    async def receive() -> Dict[str, Any]:
        nonlocal calls
        calls += 1
        if calls > body_chunks:
            return {"type": "http.disconnect"}
        return {"type": "http.request", "body": b"a" * chunk, "more_body": calls < body_chunks}

    sent: List[Dict[str, Any]] = []

    async def send(message: Dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": path, "headers": list(headers)}
    asyncio.run(limits.BodyLimit(app)(scope, receive, send))
    return sent, calls


async def greedy_app(scope: Dict[str, Any], receive: Any, send: Any) -> None:
    """An app that reads the whole body before answering (as request.form() does)."""
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def test_the_middleware_stops_reading_at_the_cap() -> None:
    chunk = 1024
    sent, calls = run_middleware(greedy_app, UPLOAD // chunk, chunk)

    assert sent[0]["type"] == "http.response.start" and sent[0]["status"] == 413
    assert b"".join(m.get("body", b"") for m in sent[1:]) == limits.TOO_LARGE
    # one chunk past the cap, then at most the bounded drain that lets the client read the 413: never the 30 MB
    assert calls <= (limits.MAX_FORM_BYTES + limits.DRAIN_BYTES) // chunk + 2


def test_the_middleware_replaces_an_answer_the_app_made_of_the_error() -> None:
    async def swallowing_app(scope: Dict[str, Any], receive: Any, send: Any) -> None:
        try:
            while (await receive()).get("more_body"):
                pass
        except limits.BodyTooLarge:
            pass
        await send({"type": "http.response.start", "status": 500, "headers": []})
        await send({"type": "http.response.body", "body": b"crashed"})

    sent, _calls = run_middleware(swallowing_app, 100, 1024, path="/chat")

    assert [m.get("status") for m in sent if m["type"] == "http.response.start"] == [413]
    assert b"crashed" not in b"".join(m.get("body", b"") for m in sent)


def test_the_middleware_lets_a_body_under_the_cap_through() -> None:
    sent, calls = run_middleware(greedy_app, 10, 1024)

    assert sent[0]["status"] == 200 and calls == 10


def test_a_declared_length_is_refused_before_the_app_reads() -> None:
    sent, calls = run_middleware(greedy_app, 1000, 1024, headers=[(b"content-length", b"1024000")])

    assert sent[0]["status"] == 413
    assert calls <= limits.DRAIN_BYTES // 1024 + 1  # only the bounded drain after the 413's headers, never the app


def test_a_chunked_chat_message_over_its_cap_is_refused(web, database_url) -> None:
    # the chat proxy (bot.web.clinic) reads JSON messages: 16 KiB at most, however they arrive
    answer, sent, finished = chunked_upload(web, "/webhooks/rest/webhook", content_type="application/json")

    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert not finished and sent < UPLOAD / 3
