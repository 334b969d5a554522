"""A referral of a consultation the client left part-way says so, in the queue and on its page (escaped like the
rest); a finished one does not."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from bot import store
from tests.web.conftest import consult

MARKER = "Incomplete: the client did not finish the questions"


def left_part_way(conversation_id: str, name: str) -> dict:
    """A client who said yes to blood thinners, then went quiet until idle expiry judged what they had said."""
    start = datetime.now(timezone.utc) - timedelta(hours=3)
    store.record_answers(
        conversation_id, {"name": name, "contact_email": "jane@example.org", "blood_thinners": "yes"}, now=start
    )
    store.expire_idle(60)
    return store.show(conversation_id)


def test_the_queue_and_the_referral_page_mark_an_incomplete_referral(staff_as, database_url) -> None:
    left = left_part_way("c-left", "Left <b>Early</b>")
    finished = consult("c-finished", ("pregnancy", "defer"), name="Finished Client")
    assert left["referral"]["incomplete"] is True and finished["referral"]["incomplete"] is False
    pat = staff_as("practitioner")

    queue = pat.page("/staff/referrals").text
    assert queue.count(MARKER) == 1
    row_left = queue[queue.index("Left &lt;b&gt;Early&lt;/b&gt;") :]
    assert row_left.index(MARKER) < row_left.index("</tr>")  # on the left client's row
    assert "<b>Early</b>" not in queue

    page = pat.page(f"/staff/referrals/{left['referral']['id']}").text
    assert MARKER in page and "Left &lt;b&gt;Early&lt;/b&gt;" in page and "<b>Early</b>" not in page
    assert "anticoagulant" in page  # judged on what the client had answered
    assert MARKER not in pat.page(f"/staff/referrals/{finished['referral']['id']}").text
    assert MARKER in pat.page(f"/staff/referrals/{left['referral']['id']}/print").text


def test_the_marker_goes_once_the_client_comes_back_and_finishes(staff_as, database_url) -> None:
    left = left_part_way("c-left", "Jane Example")
    consult("c-left", ("anticoagulant", "review"))  # back, answered the rest, sent it
    pat = staff_as("practitioner")

    assert MARKER not in pat.page("/staff/referrals").text
    assert MARKER not in pat.page(f"/staff/referrals/{left['referral']['id']}").text
