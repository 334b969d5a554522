"""Two messages of one conversation at the same moment on two replicas: one turn after the other, nothing lost.

Against the real 2-replica cluster (tests/cluster/conftest.py: PostgreSQL, two Rasa servers, two action servers, two
web apps, HAProxy): one message goes straight to web app 0 and one to web app 1 at the same instant (a barrier);
each web app forwards to its own Rasa server. Both must be answered, and the events table must show, for every
conversation: each message's user event exactly once (by its message_id), and each turn's events contiguous: after
a user event comes that turn's actions, bot messages and slots, ending with `action_listen`, before the next user
event.

Why this fails without the cluster's lock store: Rasa takes `lock_store.lock(sender_id)` around each turn
(rasa/core/agent.py `handle_message`). With Rasa's default InMemoryLockStore the lock is per process, so both
replicas run their turn at once, each on the tracker as it read it. SQLTrackerStore.save then appends the events
of its tracker after as many events as are already stored for the session: the replica that saves second skips as
many of its own events as the first one wrote, so its user event (the first new one) is lost, or only part of its
turn lands after the other's (a turn cut in two, another's `action_listen` in the middle). RedisLockStore narrows
the window but does not close it: its ticket queue is read, changed and written back without atomicity, so two
replicas can be issued the same ticket (rasa#9213). `bench/cluster_lock.py` runs this test's rounds against the
cluster with our lock store and with Rasa's per-process one (`Cluster(lock_store="in_memory")`): measured on
2026-12-01, 0 of 10 conversations broken with ours, 10 of 10 with Rasa's (each lost user events), and each of the
60 simultaneous messages answered 200 in both runs: the loss is silent.
"""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, Dict, List, Tuple

import pytest

from tests.cluster.conftest import open_chat, say, stored_events

CONVERSATIONS = 4
# Each round: two messages sent at the same moment, the first to web app 0, the second to web app 1. Whatever order
# they are taken in, each is something the assistant answers at that point (an answer, or a question about it).
ROUNDS: List[Tuple[str, str]] = [
    ("/affirm", "why do you ask?"),
    ("Jane Doe", "does it hurt?"),
    ("jane.doe@example.com", "why do you ask?"),
]


@pytest.fixture(autouse=True)
def every_process_answers(cluster: Any) -> None:
    """The shared cluster is whole before each test (a fault test before may have killed a process)."""
    cluster.wait_healthy(timeout=300)


def at_once(calls: List[Any]) -> List[Any]:
    """Run the calls in threads released together by a barrier; their results in order."""
    barrier = threading.Barrier(len(calls))

    def run(call: Any) -> Any:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def turns_problems(events: List[Dict[str, Any]], sent_ids: List[str]) -> List[str]:
    """What is wrong with a conversation's stored events: lost or doubled user events, interleaved turns."""
    problems = []
    user_ids = [e["data"].get("message_id") for e in events if e["type"] == "user"]
    for message_id in sent_ids:
        count = user_ids.count(message_id)
        if count != 1:
            problems.append(f"message {message_id} stored {count} times")
    if len(user_ids) != len(sent_ids):
        problems.append(f"{len(user_ids)} user events for {len(sent_ids)} messages")
    # each turn: from its user event to the next user event, ending with action_listen, with none before its end
    starts = [i for i, e in enumerate(events) if e["type"] == "user"]
    for n, start in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else len(events)
        actions = [e["data"].get("name") for e in events[start + 1 : end] if e["type"] == "action"]
        if not actions or actions[-1] != "action_listen":
            problems.append(
                f"turn {n} ({events[start]['data'].get('message_id')}) does not end with action_listen "
                f"before the next user event: {actions}"
            )
        elif "action_listen" in actions[:-1]:
            problems.append(f"turn {n} holds another turn's end (action_listen in the middle): {actions}")
    return problems


def test_two_messages_of_one_conversation_on_two_replicas_run_one_after_the_other(cluster: Any) -> None:
    web = [cluster.web_url(0), cluster.web_url(1)]
    chats = []
    sent: Dict[str, List[str]] = {}
    for _ in range(CONVERSATIONS):
        chat = open_chat(web[0])  # issued by replica 0, accepted by replica 1: one CHAT_KEY for the cluster
        first = uuid.uuid4().hex
        status, replies = say(web[1], chat, "hi", first)
        assert status == 200 and replies, (status, replies)
        chats.append(chat)
        sent[chat[0]] = [first]
    for left, right in ROUNDS:
        for chat in chats:
            ids = [uuid.uuid4().hex, uuid.uuid4().hex]
            results = at_once([partial(say, web[0], chat, left, ids[0]), partial(say, web[1], chat, right, ids[1])])
            for replica, (status, replies) in enumerate(results):
                assert status == 200, f"replica {replica}: {status} {replies}"
                assert isinstance(replies, list) and replies and all(r.get("text") for r in replies), replies
            sent[chat[0]] += ids
    problems = {
        sender: turns_problems(stored_events(cluster.database_url, sender), ids) for sender, ids in sent.items()
    }
    assert not any(problems.values()), problems


def test_every_rasa_replica_waits_for_the_conversation_lock(cluster: Any) -> None:
    """The Rasa servers really use the advisory lock: while this test holds a conversation's lock (as another
    replica's turn would), a message of that conversation to either replica is not taken; once released, it is."""
    import asyncio

    from bot.store.lock_store import PostgresLockStore

    store = PostgresLockStore(url=cluster.database_url)

    async def hold(conversation: str, entered: threading.Event, release: threading.Event) -> None:
        async with store.lock(conversation):
            entered.set()
            while not release.is_set():
                await asyncio.sleep(0.05)

    def send(url: str, chat: Tuple[str, str], message_id: str, result: Dict[str, Any], done: threading.Event) -> None:
        result["answer"] = say(url, chat, "hi", message_id)
        done.set()

    for replica in (0, 1):
        chat = open_chat(cluster.web_url(replica))
        message_id = uuid.uuid4().hex
        done, entered, release = threading.Event(), threading.Event(), threading.Event()
        result: Dict[str, Any] = {}
        holder = threading.Thread(target=asyncio.run, args=(hold(chat[0], entered, release),))
        holder.start()
        assert entered.wait(30)
        sender = threading.Thread(target=send, args=(cluster.web_url(replica), chat, message_id, result, done))
        sender.start()
        try:
            assert not done.wait(3.0), f"replica {replica} answered while another session held the lock"
            assert not [e for e in stored_events(cluster.database_url, chat[0]) if e["type"] == "user"]
        finally:
            release.set()
            holder.join(30)
        assert done.wait(90), f"replica {replica} did not answer after the lock was released"
        sender.join(5)
        status, replies = result["answer"]
        assert status == 200 and replies, (status, replies)
        users = [e for e in stored_events(cluster.database_url, chat[0]) if e["type"] == "user"]
        assert [e["data"].get("message_id") for e in users] == [message_id]
    store.engine.dispose()


@pytest.mark.parametrize("replica", [0, 1])
def test_a_conversation_moves_between_replicas_and_through_the_load_balancer(cluster: Any, replica: int) -> None:
    """Turns of one conversation alternating between a replica and the load balancer: every reply continues the
    same conversation (the tracker cache of each Rasa server sees the other's writes)."""
    chat = open_chat(cluster.url)
    ids = []
    for n, (text, url) in enumerate(
        [
            ("hi", cluster.web_url(replica)),
            ("/affirm", cluster.url),
            ("Jane Doe", cluster.web_url(1 - replica)),
            ("jane@example.com", cluster.url),
        ]
    ):
        ids.append(uuid.uuid4().hex)
        status, replies = say(url, chat, text, ids[-1])
        assert status == 200 and replies, (n, status, replies)
    events = stored_events(cluster.database_url, chat[0])
    assert not turns_problems(events, ids)
    slots = {e["data"].get("name"): e["data"].get("value") for e in events if e["type"] == "slot"}
    assert slots.get("name") == "Jane Doe", slots  # the answer given on the other replica counted


def test_the_same_message_on_two_replicas_at_once_is_taken_once(cluster: Any) -> None:
    """A message sent again with its message_id (a retry through the load balancer, the widget's re-send) that
    reaches the other replica while the first is still in its turn: one user event, and both get the replies."""
    for _ in range(3):
        chat = open_chat(cluster.web_url(0))
        first = uuid.uuid4().hex
        assert say(cluster.web_url(0), chat, "hi", first)[0] == 200
        again = uuid.uuid4().hex
        results = at_once(
            [
                partial(say, cluster.web_url(0), chat, "/affirm", again),
                partial(say, cluster.web_url(1), chat, "/affirm", again),
            ]
        )
        assert [status for status, _ in results] == [200, 200], results
        assert results[0][1] == results[1][1] and results[0][1], results
        assert not turns_problems(stored_events(cluster.database_url, chat[0]), [first, again])
