"""The dashboard's addresses (from PUBLIC_BASE_URL), and the consultation JSON with them filled in: the one place
that knows where the staff pages are. Plain functions, no FastAPI, so the CLI and the notifier use them too."""

from __future__ import annotations

import copy
from typing import Any, Dict, Optional

from bot import settings as settings_module
from bot.store import consultation_reads, erasure


def base_url() -> str:
    return settings_module.get().public_base_url.rstrip("/")


def consultation_url(consultation_id: str) -> str:
    """One consultation's page (its transcript)."""
    return f"{base_url()}/staff/consultations/{consultation_id}"


def referral_url(referral_id: int) -> str:
    return f"{base_url()}/staff/referrals/{referral_id}"


def queue_url() -> str:
    return f"{base_url()}/staff/referrals"


def with_urls(record: Dict[str, Any]) -> Dict[str, Any]:
    """A copy of a consultation record (bot.store.consultation_reads.shown) with `referral.transcript_url`: the
    whole consultation JSON (docs/architecture.md)."""
    record = copy.copy(record)
    if record.get("referral") is not None:
        record["referral"] = {**record["referral"], "transcript_url": consultation_url(record["id"])}
    return record


def show(id_or_conversation_id: str) -> Optional[Dict[str, Any]]:
    """The consultation JSON of a consultation id, or of a conversation's latest consultation; None if none."""
    record = consultation_reads.show(id_or_conversation_id)
    return with_urls(record) if record is not None else None


def export(conversation_id: str) -> Dict[str, Any]:
    """Right of access (bot.store.erasure.export) with the consultations as the consultation JSON."""
    exported = erasure.export(conversation_id)
    return {**exported, "consultations": [with_urls(c) for c in exported["consultations"]]}
