"""Real Rasa SDK trackers and dispatchers for the actions, on a real (temporary) database."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def domain() -> Dict[str, Any]:
    from rasa.shared.core.domain import Domain

    return Domain.load(str(ROOT / "domain.yml")).as_dict()


CLINIC_SLOTS = {
    "clinic_name": "Northgate Skin Clinic",
    "clinic_phone": "020 7946 0958",
    "clinic_email": "hello@northgate-skin.example",
    "isotretinoin_window_months": 6,
}


def make_tracker(
    text: str,
    *,
    intent: str = "inform",
    confidence: float = 0.9,
    requested: Optional[str] = None,
    slots: Optional[Dict[str, Any]] = None,
    entities: Optional[List[Dict[str, Any]]] = None,
    sender: Optional[str] = None,
    form_active: bool = True,
) -> Tracker:
    """A tracker as the Rasa server sends it to the action server, after `text` filled the requested slot."""
    all_slots: Dict[str, Any] = {**CLINIC_SLOTS, "consent": True, **(slots or {})}
    all_slots["requested_slot"] = requested
    latest = {
        "text": text,
        "intent": {"name": intent, "confidence": confidence},
        "entities": entities or [],
    }
    events: List[Dict[str, Any]] = [
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": text, "parse_data": latest},
    ]
    if requested:
        all_slots[requested] = text
        events.append({"event": "slot", "name": requested, "value": text})
    return Tracker(
        sender_id=sender or "t-" + uuid.uuid4().hex[:10],
        slots=all_slots,
        latest_message=latest,
        events=events,
        paused=False,
        followup_action=None,
        active_loop={"name": "consultation_form"} if form_active else {},
        latest_action_name="action_listen",
    )


@pytest.fixture
def dispatcher() -> CollectingDispatcher:
    return CollectingDispatcher()
