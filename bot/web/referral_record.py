"""What staff read about referrals, shared by the practitioners' pages (bot.web.referrals) and the JSON API
(bot.web.api): the queue's views and everything about one referral. Plain data, no HTML."""

from __future__ import annotations

from typing import Any, Dict, Optional

from bot.store import outbox, person_requests, referrals
from bot.web import staff_urls

# the queue's views by name (`?show=` on the page, `show=` in the API) and the statuses each lists
VIEWS = {
    "open": referrals.OPEN,
    "new": ("new",),
    "claimed": ("claimed",),
    "contacted": ("contacted",),
    "closed": ("closed",),
}


def referral_view(referral_id: int) -> Optional[Dict[str, Any]]:
    """Everything a practitioner reads about one referral (also the API's shape)."""
    consultation_id = referrals.consultation_of(referral_id)
    if consultation_id is None:
        return None
    shown = staff_urls.show(consultation_id)
    if shown is None or shown["referral"] is None:
        return None
    return {
        "referral": shown["referral"],
        "consultation": shown,
        "history": referrals.history(referral_id),
        "messages": person_requests.messages(consultation_id),
        "notices": outbox.by_referral(referral_id),
    }
