"""One real cluster for the cluster tests (session-scoped): PostgreSQL, two replicas (Rasa server, action server,
web app each), HAProxy in front (bot/cluster.py). The fault and load tests use the same fixture: `cluster`.

Chat helpers: `open_chat(url)` asks a web app (a replica directly, or the load balancer) for a conversation id and
its secret; `say(url, chat, text, message_id)` sends one message and returns (status, replies)."""

from __future__ import annotations

import random
import secrets
import shutil
import tempfile
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest
import requests

from bot.cluster import Cluster, port_open

REPLICAS = 2


def free_base_port(replicas: int = REPLICAS) -> int:
    """A base port whose whole block (load balancer, PostgreSQL, ten per replica) is free now."""
    candidates = list(range(20000, 40000, 100))
    random.shuffle(candidates)
    for base in candidates:
        ports = [base, base + 1] + [base + 10 * (i + 1) + k for i in range(replicas) for k in range(3)]
        if not any(port_open(p) for p in ports):
            return base
    raise RuntimeError("no free block of ports for the cluster")


def cluster_env() -> Dict[str, str]:
    return {
        "RASA_TOKEN": secrets.token_urlsafe(32),
        "CHAT_KEY": secrets.token_urlsafe(32),
        "WEB_SECRET": secrets.token_urlsafe(32),
        # the tests drive the chat at machine speed: the chat limits out of the way (tests/security checks them)
        "CHAT_RATE_CONVERSATION": "100000/1s",
        "CHAT_RATE_ADDRESS": "100000/1s",
    }


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    """A started 2-replica cluster on its own PostgreSQL (in a throw-away folder), stopped after the session."""
    workdir = Path(tempfile.mkdtemp(prefix="clinic-cluster-"))
    running = Cluster(REPLICAS, base_port=free_base_port(), workdir=workdir, env=cluster_env())
    try:
        running.start(timeout=600)
        yield running
    finally:
        running.stop()
        shutil.rmtree(workdir, ignore_errors=True)


# ------------------------------------------------------------------------------------------------------ chatting


def open_chat(url: str) -> Tuple[str, str]:
    """(conversation id, secret) issued by the web app at `url`."""
    answer = requests.post(f"{url}/chat/session", timeout=30)
    answer.raise_for_status()
    body = answer.json()
    return body["sender"], body["secret"]


def say(
    url: str, chat: Tuple[str, str], text: str, message_id: Optional[str] = None, timeout: float = 120
) -> Tuple[int, Any]:
    """Send `text` in conversation `chat` to the web app at `url`: (HTTP status, JSON body)."""
    body: Dict[str, Any] = {"sender": chat[0], "secret": chat[1], "message": text}
    if message_id:
        body["message_id"] = message_id
    answer = requests.post(f"{url}/webhooks/rest/webhook", json=body, timeout=timeout)
    try:
        return answer.status_code, answer.json()
    except ValueError:
        return answer.status_code, answer.text


def stored_events(database_url: str, sender_id: str) -> List[Dict[str, Any]]:
    """The conversation's rows in Rasa's events table, in order: {"id", "type", "data"}."""
    import json

    import sqlalchemy as sa

    engine = sa.create_engine(database_url, future=True)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text("SELECT id, type_name, data FROM events WHERE sender_id = :s ORDER BY id"), {"s": sender_id}
            ).all()
    finally:
        engine.dispose()
    return [{"id": row[0], "type": row[1], "data": json.loads(row[2] or "{}")} for row in rows]
