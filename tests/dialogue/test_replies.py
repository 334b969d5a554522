"""Every reply has one to four messages, none twice (bot/dialogue/replies.py)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.dialogue.replies import FALLBACK_TEXT, MAX_MESSAGES, shape

texts = st.sampled_from(["a", "b", "c", "d", "e", "Do you consent?"])
message = st.builds(
    lambda text, buttons: {
        "recipient_id": "r",
        "text": text,
        **({"buttons": [{"title": "Yes", "payload": "/affirm"}]} if buttons else {}),
    },
    texts,
    st.booleans(),
)


def test_an_empty_reply_gets_a_message():
    assert shape([], "r") == [{"recipient_id": "r", "text": FALLBACK_TEXT}]


def test_duplicates_are_dropped_in_order():
    a, b = {"recipient_id": "r", "text": "a"}, {"recipient_id": "r", "text": "b"}
    assert shape([a, b, a, b, a], "r") == [a, b]


def test_plain_texts_are_merged_to_keep_four():
    said = [{"recipient_id": "r", "text": t} for t in "abcdef"]
    shaped = shape(said, "r")
    assert len(shaped) == MAX_MESSAGES
    assert "".join(m["text"] for m in shaped).replace("\n", "") == "abcdef"


@given(st.lists(message, max_size=12))
def test_any_reply_has_one_to_four_distinct_messages_and_keeps_every_text(messages):
    shaped = shape(messages, "r")
    assert 1 <= len(shaped) <= MAX_MESSAGES or all("buttons" in m for m in shaped[:-1])
    keys = [repr(sorted(m.items())) for m in shaped]
    assert len(keys) == len(set(keys))
    joined = "\n".join(m.get("text", "") for m in shaped)
    for m in messages:
        assert m["text"] in joined
