"""Properties of the answer store: whatever the order of updates, it holds the last value of each key."""

from __future__ import annotations

import itertools
from typing import Any, Dict, List

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot import store

KEYS = st.sampled_from(["name", "contact_email", "contact_phone", "pregnancy", "concerns", "notes"])
VALUES = (
    st.none()
    | st.sampled_from(["yes", "no", "unsure"])
    | st.text(max_size=12)
    | st.lists(st.sampled_from(["acne_scarring", "pigmentation"]), max_size=2)
    | st.booleans()
    | st.integers(-5, 5)
)
UPDATES = st.lists(st.dictionaries(KEYS, VALUES, max_size=4), max_size=6)

_chats = itertools.count()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(updates=UPDATES)
def test_stored_answers_are_the_last_value_of_each_key(database_url: str, updates: List[Dict[str, Any]]) -> None:
    chat = f"chat-{next(_chats)}"  # one database for all examples: a fresh conversation each
    expected: Dict[str, Any] = {}
    for update in updates:
        store.record_answers(chat, update)
        store.record_answers(chat, update)  # a retried action changes nothing
        for key, value in update.items():
            if value is None:
                expected.pop(key, None)
            else:
                expected[key] = value

    shown = store.show(chat)
    if shown is None:
        assert updates == []
    else:
        assert shown["answers"] == expected
