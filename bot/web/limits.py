"""A cap on request bodies that counts the bytes as they stream in, chunked uploads included.

A pure ASGI middleware: it wraps `receive`, adds up the body chunks, and the moment the total passes the cap for
the path it stops reading and answers 413. A declared Content-Length over the cap is refused before any byte is
read. (Checking Content-Length alone let a chunked upload of any size be read whole.)
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable, Dict, MutableMapping, Optional, Tuple

from starlette.exceptions import HTTPException

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_FORM_BYTES = 64 * 1024  # staff forms and the staff API (and any other path): small
MAX_CHAT_BYTES = 16 * 1024  # a chat message as JSON (the /chat proxy, Rasa-style /webhooks): smaller still
# path prefixes with their own cap; any other path gets MAX_FORM_BYTES
PATH_CAPS: Tuple[Tuple[str, int], ...] = (
    ("/webhooks", MAX_CHAT_BYTES),
    ("/chat", MAX_CHAT_BYTES),
    ("/staff", MAX_FORM_BYTES),
    ("/api/", MAX_FORM_BYTES),
)
TOO_LARGE = b"Request too large."


def cap_for(path: str) -> int:
    for prefix, cap in PATH_CAPS:
        if path.startswith(prefix):
            return cap
    return MAX_FORM_BYTES


class BodyTooLarge(HTTPException):
    """Raised from `receive` once the body passes the cap; the middleware turns it into a 413 whoever catches it."""

    def __init__(self, cap: int) -> None:
        super().__init__(status_code=413, detail="Request too large.")
        self.cap = cap


def too_large(exc: BaseException) -> bool:
    """Whether `exc` is BodyTooLarge, or a group (anyio's task groups in BaseHTTPMiddleware wrap it) holding one."""
    if isinstance(exc, BodyTooLarge):
        return True
    return any(too_large(inner) for inner in getattr(exc, "exceptions", ()) or ())


# After the 413's status line and headers are out, a little more of the body is read and dropped before the response
# ends and the connection closes: closing on unread bytes makes the kernel reset the connection, and a client still
# sending may then lose the 413 it was sent (it sees only "connection reset"). Bounded, so a flood costs little.
DRAIN_BYTES = 1024 * 1024
DRAIN_SECONDS = 1.0


async def _send_413(send: Send, receive: Optional[Receive] = None) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(TOO_LARGE)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    if receive is not None:
        await _drain(receive)
    await send({"type": "http.response.body", "body": TOO_LARGE, "more_body": False})


async def _drain(receive: Receive) -> None:
    import asyncio

    loop = asyncio.get_running_loop()
    deadline = loop.time() + DRAIN_SECONDS
    drained = 0
    while drained < DRAIN_BYTES:
        left = deadline - loop.time()
        if left <= 0:
            return
        try:
            message = await asyncio.wait_for(receive(), timeout=left)
        except Exception:  # timed out, or the client went away: stop draining
            return
        if message.get("type") != "http.request":
            return
        drained += len(message.get("body") or b"")
        if not message.get("more_body"):
            return


class BodyLimit:
    """ASGI middleware: 413 as soon as a request body (declared or streamed) passes the cap for its path."""

    def __init__(self, app: ASGIApp, cap: Optional[Callable[[str], int]] = None) -> None:
        self.app = app
        self.cap = cap or cap_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cap = self.cap(scope.get("path") or "/")
        declared = _content_length(scope)
        if declared is not None and declared > cap:
            await _send_413(send, receive)  # nothing read but a bounded drain: then the server closes the connection
            return
        state: Dict[str, Any] = {"seen": 0, "exceeded": False, "started": False, "replaced": False}

        async def counting_receive() -> Message:
            if state["exceeded"]:
                raise BodyTooLarge(cap)
            message = await receive()
            if message["type"] == "http.request":
                state["seen"] += len(message.get("body") or b"")
                if state["seen"] > cap:
                    state["exceeded"] = True
                    raise BodyTooLarge(cap)
            return message

        async def guarded_send(message: Message) -> None:
            if state["replaced"]:
                return  # the app's own answer to the oversized body is dropped: ours went instead
            if message["type"] == "http.response.start":
                if state["exceeded"] and message.get("status") != 413:
                    state["replaced"] = state["started"] = True
                    await _send_413(send, receive)
                    return
                state["started"] = True
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception as exc:
            if not too_large(exc):
                raise
            if not state["started"]:
                state["started"] = True
                await _send_413(send, receive)


def _content_length(scope: Scope) -> Optional[int]:
    for name, value in scope.get("headers") or ():
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return 1 << 62  # unreadable: refused like an oversized one
    return None
