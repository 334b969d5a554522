"""The clinic's public side: the demo page with the chat widget, the privacy notice, and the chat itself.

The chat: browsers reach only this web app, never Rasa (which listens on loopback). It proxies the REST channel:

    POST /chat/session            a new conversation: {"sender": ID, "secret": SECRET} (issued, bot/chat/ownership.py)
    POST /webhooks/rest/webhook   {"sender": ID, "secret": SECRET, "message": TEXT, "message_id": ID?} -> Rasa's replies
    POST /chat/stream             {"sender", "secret", "after": EVENT_ID} -> server-sent events of a live chat with a
                                  practitioner (bot/live/stream.py); the secret in the body, never in the URL
    GET  /chat/health             whether Rasa and the action server answer (the widget's reconnect loop)

While a live chat is waiting, taken or timed out (bot/live/service.py) a client's message does not go to Rasa's NLU:
it is stored in the tracker as a user event for the practitioner (`service.client_message`), so it fills no answer.
Replies while live carry `X-Chat-Live` (the state) and `X-Chat-Last-Event` (where the widget's stream starts).
    GET  /health                  the web app itself answers (the supervisor's health check, bot/supervisor.py)

Only JSON; CORS for the web app's own origin and CHAT_ORIGINS (a request from any other origin is refused, 403).
Rate limits (token buckets, CHAT_RATE_ADDRESS per client address, CHAT_RATE_CONVERSATION per conversation) answer 429
with a friendly JSON message. The client address is the TCP peer, or X-Forwarded-For only from TRUSTED_PROXIES.
The REST channel inside Rasa checks the id and secret again (bot/chat/rest.py), so skipping this proxy gains nothing.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from typing import Dict, Optional, Set, Tuple
from urllib.error import URLError
from urllib.parse import urlsplit
from urllib.request import urlopen

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from fastapi.templating import Jinja2Templates

from bot import rasa_api
from bot import settings as settings_module
from bot.chat import ownership
from bot.live import service as live
from bot.live import stream as live_stream
from bot.web.app import TEMPLATES_DIR

router = APIRouter()
logger = logging.getLogger(__name__)
templates = Jinja2Templates(directory=str(TEMPLATES_DIR))

# The widget asks this while the assistant is unreachable; one second is plenty on one machine.
HEALTH_TIMEOUT_SECONDS = 1.0
# A chat turn: the widget gives up after 45 s; Rasa's own limit on an action call is longer.
CHAT_TIMEOUT_SECONDS = 60.0


def _page(request: Request, template: str) -> HTMLResponse:
    settings = settings_module.get()
    return templates.TemplateResponse(
        request,
        template,
        {"clinic": settings.clinic},
        headers={"Cache-Control": "no-cache"},
    )


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def clinic_page(request: Request) -> HTMLResponse:
    return _page(request, "clinic/index.html")


@router.get("/privacy", response_class=HTMLResponse, include_in_schema=False)
def privacy_notice(request: Request) -> HTMLResponse:
    return _page(request, "clinic/privacy.html")


def _answers(url: str) -> bool:
    try:
        with urlopen(url, timeout=HEALTH_TIMEOUT_SECONDS) as response:  # noqa: S310 (our own local servers)
            return 200 <= response.status < 300
    except (URLError, OSError, ValueError):
        return False


@router.get("/health", include_in_schema=False)
def health() -> JSONResponse:
    """The web app answers: the supervisor's check (bot/supervisor.py). Says nothing about Rasa (see /chat/health)."""
    return JSONResponse({"status": "ok"}, headers={"Cache-Control": "no-store"})


@router.get("/chat/health", include_in_schema=False)
def chat_health() -> JSONResponse:
    """Whether the Rasa server and the action server answer, for the widget's reconnect loop.

    Neither is reachable from a browser, so the browser cannot ask them; this says nothing about anyone's data,
    so any site embedding the widget may read it."""
    settings = settings_module.get()
    body: Dict[str, str] = {
        "rasa": "up" if _answers(f"{rasa_api.base_url(settings)}/webhooks/rest/") else "down",
        "actions": "up" if _answers(f"http://127.0.0.1:{settings.actions_port}/health") else "down",
    }
    return JSONResponse(body, headers={"Access-Control-Allow-Origin": "*", "Cache-Control": "no-store"})


# ------------------------------------------------------------------------------------------------ the chat proxy


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def allowed_origins(settings: settings_module.Settings) -> Set[str]:
    own = {
        _origin(settings.public_base_url),
        f"http://localhost:{settings.web_port}",
        f"http://127.0.0.1:{settings.web_port}",
    }
    return own | {o.lower() for o in settings.chat_origins}


def origin_allowed(request: Request, settings: settings_module.Settings) -> bool:
    """No Origin (not a browser's cross-site request), the page's own origin (same Host), or an allowed one."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    origin = origin.rstrip("/").lower()
    host = (request.headers.get("host") or "").lower()
    return origin in allowed_origins(settings) or (bool(host) and origin in (f"http://{host}", f"https://{host}"))


LIVE_HEADERS = "X-Chat-Live, X-Chat-Last-Event"


def _cors(origin: Optional[str]) -> Dict[str, str]:
    return (
        {"Access-Control-Allow-Origin": origin, "Vary": "Origin", "Access-Control-Expose-Headers": LIVE_HEADERS}
        if origin
        else {}
    )


_limiters: Dict[Tuple[str, Tuple[int, float]], ownership.RateLimiter] = {}


def _limiter(kind: str, rate: Tuple[int, float]) -> ownership.RateLimiter:
    key = (kind, (int(rate[0]), float(rate[1])))
    if key not in _limiters:
        _limiters[key] = ownership.RateLimiter(rate)
    return _limiters[key]


def _json(body: object, status: int, origin: Optional[str], **headers: str) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers={"Cache-Control": "no-store", **_cors(origin), **headers})


def _limited(wait: float, origin: Optional[str]) -> JSONResponse:
    seconds = max(1, math.ceil(wait))
    return _json({**ownership.RATE_LIMITED, "retry_after": seconds}, 429, origin, **{"Retry-After": str(seconds)})


def _guard(request: Request, settings: settings_module.Settings) -> Tuple[Optional[str], Optional[JSONResponse]]:
    """The request's allowed origin (None without an Origin header), or the refusal to send: origin, then address."""
    origin = request.headers.get("origin")
    if not origin_allowed(request, settings):
        return None, _json(
            {"error": "origin_refused", "message": "This website may not use the clinic's chat."}, 403, None
        )
    address = ownership.client_address(
        request.client.host if request.client else None,
        request.headers.get("x-forwarded-for"),
        getattr(settings, "trusted_proxies", ()),
    )
    ok, wait = _limiter("address", settings.chat_rate_address).allow(address)
    if not ok:
        return origin, _limited(wait, origin)
    return origin, None


@router.options("/chat/session", include_in_schema=False)
@router.options("/chat/stream", include_in_schema=False)
@router.options("/webhooks/rest/webhook", include_in_schema=False)
def chat_preflight(request: Request) -> Response:
    origin = request.headers.get("origin")
    if origin is None or not origin_allowed(request, settings_module.get()):
        return Response(status_code=403)
    return Response(
        status_code=204,
        headers={
            **_cors(origin),
            "Access-Control-Allow-Methods": "POST",
            "Access-Control-Allow-Headers": "Content-Type",
            "Access-Control-Max-Age": "600",
        },
    )


@router.post("/chat/session", include_in_schema=False)
def chat_session(request: Request) -> JSONResponse:
    """A new conversation for this browser: its id and the secret that goes with every message."""
    settings = settings_module.get()
    origin, refused = _guard(request, settings)
    if refused is not None:
        return refused
    issued = ownership.issue(settings.chat_key)
    return _json({"sender": issued.conversation_id, "secret": issued.secret}, 200, origin)


@router.post("/webhooks/rest/webhook", include_in_schema=False)
async def chat_message(request: Request) -> JSONResponse:
    """One client message, to Rasa's REST channel on loopback; Rasa's replies back as they are."""
    settings = settings_module.get()
    origin, refused = _guard(request, settings)
    if refused is not None:
        return refused
    kind = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if kind != "application/json":
        return _json({"error": "json_required", "message": "Send the message as application/json."}, 415, origin)
    try:
        body = json.loads(await request.body())
    except ValueError:
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("message"), str):
        return _json({"error": 'send {"sender": ID, "secret": SECRET, "message": TEXT}'}, 400, origin)
    sender = body.get("sender")
    if not isinstance(sender, str) or not ownership.verify(settings.chat_key, sender, body.get("secret")):
        return _json(ownership.REFUSED, 403, origin)
    ok, wait = _limiter("conversation", settings.chat_rate_conversation).allow(sender)
    if not ok:
        return _limited(wait, origin)
    payload = {"sender": sender, "secret": body["secret"], "message": body["message"]}
    if isinstance(body.get("message_id"), str):  # the widget's id for this message: a re-send is not a new one
        payload["message_id"] = body["message_id"][:64]
    try:
        chat = await asyncio.to_thread(live.status, sender)
        if chat is not None and chat.paused:  # with a person: kept for them, never read by Rasa's NLU
            replies = await asyncio.to_thread(live.client_message, sender, payload.get("message_id"), body["message"])
            return _json(replies, 200, origin, **await asyncio.to_thread(_live_headers, sender))
    except live.NotLive:  # handed back between the two reads: the assistant answers
        pass
    except live.AssistantUnavailable:
        return _json({"error": "unavailable", "message": "The assistant isn't available at the moment."}, 503, origin)
    except Exception:  # the database briefly unavailable: say "one moment"; the widget sends the same id again
        logger.exception("live chat state unreadable conversation_id=%s", sender)
        return _json({"error": "unavailable", "message": "The assistant isn't available at the moment."}, 503, origin)
    response = await _forward(settings, payload, origin)
    if response.status_code == 200:
        try:
            response.headers.update(await asyncio.to_thread(_live_headers, sender))
        except Exception:  # the reply stands; the widget learns of the live chat with the next one
            logger.exception("live chat state unreadable conversation_id=%s", sender)
    return response


def _live_headers(conversation_id: str) -> Dict[str, str]:
    chat = live.status(conversation_id)
    if chat is None or not chat.paused:
        return {}
    return {"X-Chat-Live": chat.state, "X-Chat-Last-Event": str(live.last_event_id(conversation_id))}


@router.post("/chat/stream", include_in_schema=False)
async def chat_stream(request: Request) -> Response:
    """The live chat's messages and status as server-sent events (bot/live/stream.py), for the conversation's owner."""
    settings = settings_module.get()
    origin, refused = _guard(request, settings)
    if refused is not None:
        return refused
    if (request.headers.get("content-type") or "").split(";")[0].strip().lower() != "application/json":
        return _json({"error": "json_required", "message": "Send the request as application/json."}, 415, origin)
    try:
        body = json.loads(await request.body())
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return _json({"error": 'send {"sender": ID, "secret": SECRET, "after": EVENT_ID}'}, 400, origin)
    sender = body.get("sender")
    if not ownership.verify(settings.chat_key, sender, body.get("secret")):
        return _json(ownership.REFUSED, 403, origin)
    after = body.get("after", 0)
    if isinstance(after, str) and after.isdigit():
        after = int(after)
    if not isinstance(after, int) or isinstance(after, bool) or after < 0:
        after = 0
    return StreamingResponse(
        live_stream.stream(str(sender), after),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no", **_cors(origin)},
    )


async def _forward(settings: settings_module.Settings, payload: Dict[str, str], origin: Optional[str]) -> JSONResponse:
    import aiohttp

    unavailable = {"error": "unavailable", "message": "The assistant isn't available at the moment."}
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=CHAT_TIMEOUT_SECONDS)) as session,
            session.post(f"{rasa_api.base_url(settings)}/webhooks/rest/webhook", json=payload) as upstream,
        ):
            status = upstream.status
            try:
                replies = await upstream.json(content_type=None)
            except ValueError:
                return _json(unavailable, 502, origin)
    except (aiohttp.ClientError, OSError, TimeoutError):
        return _json(unavailable, 502, origin)
    except Exception as exc:  # asyncio.TimeoutError is TimeoutError on 3.11, not 3.10
        if type(exc).__name__ == "TimeoutError":
            return _json(unavailable, 504, origin)
        raise
    return _json(replies, status, origin)
