"""The chat's writes: consultations, their answers, reasons and referral, as the actions record them (and the idle
sweeper that abandons them). Staff reads are in bot.store.consultation_reads, access and erasure in bot.store.erasure,
the long purge in bot.store.retention.

Every function opens its own short transaction and is safe to call again with the same arguments (Rasa retries
actions). `now` is an aware UTC datetime, for tests; it defaults to the current time.

Which consultation is the chat's *current* one: the latest of the conversation, until a restart ends it
(`abandon_current`). So a retried `complete()` or `record_answers()` lands on the same row, a request for a person
after completion attaches to the completed consultation, and an answer corrected after completion amends it (call
`complete()` again to re-judge). `expire_idle` marks an idle in_progress consultation abandoned but leaves it current:
Rasa carries the answers over when the client comes back, and so does the store (the next answer or touch resumes
it, in_progress again). After a restart the next answer starts the conversation's next consultation.

A client who leaves part-way must not take a flag with them: when a consultation is abandoned (idle expiry or a
restart), or a hand-off is left unfinished, the answers given so far are judged (`_judge_unfinished`). A flag, or a
request for a person, gets the one referral, marked `incomplete`; a clean half-finished one stays unjudged. If the
client comes back and finishes, `complete()` judges it whole and clears the mark.
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import datetime, timedelta
from typing import Any, Dict, List, Mapping, NamedTuple, Optional, Protocol, Sequence, Set, Tuple

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.screening import judge, load_rules
from bot.screening.answers import OUTCOMES

# re-exported for callers that read through this module (the live chat's code): their home is consultation_reads
from bot.store.consultation_reads import NOTE, show, shown, stored_answers, transcript  # noqa: F401
from bot.store.consultation_reads import latest as _latest
from bot.store.db import as_utc, session_scope
from bot.store.models import SEVERITIES, Answer, Consultation, Reason, Referral

logger = logging.getLogger(__name__)

HUMAN_REQUEST_CODE = "client_requested_human"
# used until a judgement brings the rules file's own wording for this code
HUMAN_REQUEST_RULE = "Client asked for a person"
HUMAN_REQUEST_DETAIL = "asked to speak to a person during the chat"
HUMAN_REQUEST_RATIONALE = "The client asked to speak to a person; every client can reach a person at any step."

_EXPIRE_BATCH = 200  # consultations judged per transaction by expire_idle (it runs every minute)
# expire_idle looks this far back for hand-offs left unfinished: the rounds of a running sweeper see each one within
# minutes, and a first start on old data leaves older ones (and their retention clock) alone
_HANDOFF_LOOKBACK = timedelta(days=30)


class FindingLike(Protocol):
    """What is stored of one of the Judgement's findings (read-only, as bot.screening's frozen Finding)."""

    @property
    def code(self) -> str: ...
    @property
    def outcome(self) -> str: ...
    @property
    def rule(self) -> str: ...
    @property
    def rationale(self) -> str: ...
    @property
    def detail(self) -> Any: ...


class JudgementLike(Protocol):
    """What `complete()` needs from bot.screening's Judgement (read-only: it is a frozen dataclass)."""

    @property
    def outcome(self) -> str: ...
    @property
    def rules_version(self) -> str: ...
    @property
    def flagged(self) -> bool: ...
    @property
    def findings(self) -> Sequence[FindingLike]: ...

    def reasons(self) -> List[Dict[str, Any]]: ...


# ---------------------------------------------------------------------------------------------------------- helpers


def _severity(outcome: Optional[str]) -> int:
    return OUTCOMES.index(outcome) if outcome in OUTCOMES else -1


def _most_severe(*outcomes: Optional[str]) -> Optional[str]:
    known = [o for o in outcomes if o in OUTCOMES]
    return max(known, key=_severity) if known else None


def _current(session: Session, conversation_id: str) -> Optional[Consultation]:
    latest = _latest(session, conversation_id, lock=True)
    return latest if latest is not None and latest.ended_at is None else None


def _resume(consultation: Consultation, now: datetime) -> Consultation:
    """The client is back after idle expiry: the abandoned consultation carries on."""
    if consultation.status == "abandoned":
        consultation.status = "in_progress"
        consultation.updated_at = now
        logger.info(
            "consultation resumed conversation_id=%s consultation_id=%s", consultation.conversation_id, consultation.id
        )
    return consultation


def _current_or_create(session: Session, conversation_id: str, now: datetime) -> Consultation:
    """The current consultation (resumed if idle expiry abandoned it), or a new in_progress one.

    Two processes may both find none and insert the same (conversation_id, sequence): the unique key lets one win,
    and the loser reads the winner's row on its next round.
    """
    for _attempt in range(5):
        latest = _latest(session, conversation_id, lock=True)
        if latest is not None and latest.ended_at is None:
            return _resume(latest, now)
        consultation = Consultation(
            id=uuid.uuid4().hex,
            conversation_id=conversation_id,
            sequence=(latest.sequence + 1) if latest is not None else 1,
            status="in_progress",
            requested_human=False,
            created_at=now,
            updated_at=now,
            last_activity_at=now,
        )
        try:
            with session.begin_nested():
                session.add(consultation)
        except IntegrityError:
            continue
        logger.info("consultation started conversation_id=%s consultation_id=%s", conversation_id, consultation.id)
        return consultation
    raise RuntimeError(f"could not start a consultation for conversation_id={conversation_id}")


def _encode(key: str, value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    except (TypeError, ValueError):
        # the value is personal data: name the key only
        raise TypeError(f"answer {key!r} is not JSON-serialisable ({type(value).__name__})") from None


def _denormalised(key: str, value: Any) -> Optional[str]:
    if not isinstance(value, str) or not value.strip():
        return None
    value = value.strip()
    if key == "contact_email":
        value = value.lower()
    limit = Consultation.__table__.c[key].type.length
    return value[:limit]


_DENORMALISED_KEYS = ("name", "contact_email", "contact_phone")


def _store_answers(session: Session, consultation: Consultation, answers: Mapping[str, Any], now: datetime) -> bool:
    """Upsert answers (None deletes the key); returns whether anything changed."""
    if not answers:
        return False
    for key in answers:
        if not isinstance(key, str) or not key or len(key) > 64:
            raise ValueError(f"answer keys must be non-empty strings of at most 64 characters, got {key!r}")
    stored = {
        a.key: a
        for a in session.execute(
            sa.select(Answer).where(Answer.consultation_id == consultation.id, Answer.key.in_(list(answers)))
        ).scalars()
    }
    changed = False
    for key, value in answers.items():
        row = stored.get(key)
        if value is None:
            if row is not None:
                session.delete(row)
                changed = True
        else:
            encoded = _encode(key, value)
            if row is None:
                session.add(Answer(consultation_id=consultation.id, key=key, value=encoded, updated_at=now))
                changed = True
            elif row.value != encoded:
                row.value = encoded
                row.updated_at = now
                changed = True
        if key in _DENORMALISED_KEYS:
            setattr(consultation, key, _denormalised(key, value))
    if changed:
        consultation.updated_at = now
    session.flush()
    return changed


def _touch(consultation: Consultation, now: datetime) -> None:
    if consultation.last_activity_at is None or consultation.last_activity_at < now:
        consultation.last_activity_at = now


def _ensure_referral(
    session: Session, consultation: Consultation, severity: str, rules_version: Optional[str], now: datetime
) -> Referral:
    """The consultation's one referral, created if missing; the unique key settles races between processes."""
    if severity not in SEVERITIES:
        severity = "review"
    referral = session.execute(sa.select(Referral).where(Referral.consultation_id == consultation.id)).scalars().first()
    if referral is None:
        candidate = Referral(
            consultation_id=consultation.id,
            status="new",
            severity=severity,
            rules_version=rules_version,
            incomplete=False,
            created_at=now,
            updated_at=now,
        )
        try:
            with session.begin_nested():
                session.add(candidate)
            logger.info(
                "referral created conversation_id=%s consultation_id=%s severity=%s",
                consultation.conversation_id,
                consultation.id,
                severity,
            )
            return candidate
        except IntegrityError:
            referral = (
                session.execute(sa.select(Referral).where(Referral.consultation_id == consultation.id)).scalars().one()
            )
    changed = False
    if referral.severity != severity:
        referral.severity = severity
        changed = True
    if rules_version is not None and referral.rules_version != rules_version:
        referral.rules_version = rules_version
        changed = True
    if changed:
        referral.updated_at = now
    return referral


def _referral_of(session: Session, consultation_id: str) -> Optional[Referral]:
    return session.execute(sa.select(Referral).where(Referral.consultation_id == consultation_id)).scalars().first()


def _mark_incomplete(referral: Referral, incomplete: bool, now: datetime) -> None:
    if bool(referral.incomplete) != incomplete:
        referral.incomplete = incomplete
        referral.updated_at = now


def _human_request_reason(consultation_id: str) -> Reason:
    return Reason(
        consultation_id=consultation_id,
        code=HUMAN_REQUEST_CODE,
        outcome="review",
        rule=HUMAN_REQUEST_RULE,
        detail=HUMAN_REQUEST_DETAIL,
        rationale=HUMAN_REQUEST_RATIONALE,
    )


def _reason_rows(consultation_id: str, judgement: JudgementLike) -> List[Reason]:
    """Rows for the judgement's flags (its reasons(), with outcome and rationale from the matching finding),
    then its notes (findings with outcome clear: things the practitioner should know that flag nothing)."""
    findings = list(getattr(judgement, "findings", None) or [])
    by_code_rule = {(f.code, f.rule): f for f in findings}
    by_code: Dict[str, Any] = {}
    for finding in findings:
        by_code.setdefault(finding.code, finding)
    rows = []
    for reason in judgement.reasons():
        code = str(reason["code"])
        rule = str(reason.get("rule") or code)
        finding = by_code_rule.get((code, rule)) or by_code.get(code)
        outcome = getattr(finding, "outcome", None)
        if outcome not in SEVERITIES:
            outcome = judgement.outcome if judgement.outcome in SEVERITIES else "review"
        detail = reason.get("detail")
        rows.append(
            Reason(
                consultation_id=consultation_id,
                code=code,
                outcome=outcome,
                rule=rule,
                detail=None if detail is None else str(detail),
                rationale=getattr(finding, "rationale", None),
            )
        )
    for finding in findings:
        if finding.outcome == NOTE:
            rows.append(
                Reason(
                    consultation_id=consultation_id,
                    code=finding.code,
                    outcome=NOTE,
                    rule=finding.rule,
                    detail=None if finding.detail is None else str(finding.detail),
                    rationale=finding.rationale,
                )
            )
    return rows


def _apply_judgement(
    session: Session, consultation: Consultation, judgement: JudgementLike, requested_human: bool
) -> Tuple[Optional[str], bool]:
    """Replace the consultation's reasons and outcome with this judgement's (a request for a person is a review
    reason of its own); returns the outcome and whether it calls for a referral."""
    reasons = _reason_rows(consultation.id, judgement)
    if requested_human and not any(r.code == HUMAN_REQUEST_CODE for r in reasons):
        flags = sum(1 for r in reasons if r.outcome != NOTE)
        reasons.insert(flags, _human_request_reason(consultation.id))
    outcome = _most_severe(judgement.outcome, "review" if requested_human else None)
    flagged = bool(judgement.flagged) or requested_human

    session.execute(
        sa.delete(Reason)
        .where(Reason.consultation_id == consultation.id)
        .execution_options(synchronize_session="fetch")
    )
    session.add_all(reasons)

    consultation.outcome = outcome
    consultation.rules_version = judgement.rules_version
    consultation.requested_human = requested_human
    return outcome, flagged


def _judge_unfinished(session: Session, consultation: Consultation, now: datetime) -> Optional[Referral]:
    """The client left before the end: judge what they answered, so that a flag they gave is not lost.

    Only answers given are judged. A question never reached has no stored answer, and the engine never matches a
    missing key (bot.screening.conditions), so it is neither a flag nor a "not sure". A flag, or a request for a
    person, gets the one referral (`_ensure_referral`: one that exists is kept), marked incomplete. A clean
    half-finished consultation stores nothing: its outcome stays null and it gets no referral, unless an earlier
    part-way judgement already made one (the client came back and changed an answer), which then follows the answers
    as they are now. Returns the referral, if any. Judging the same answers again gives the same reasons and outcome
    and keeps the one referral.
    """
    if consultation.completed_at is not None:
        return None  # judged whole by complete(); a restart after that changes nothing
    answers = {key: value for key, value in stored_answers(session, consultation.id).items() if value is not None}
    requested_human = bool(consultation.requested_human) or answers.get("requested_human") is True
    if not answers and not requested_human:
        return None  # nothing answered (a declined consent stores nothing)
    judgement = judge(answers, load_rules())
    referral = _referral_of(session, consultation.id)
    if not (judgement.flagged or requested_human) and referral is None:
        return None
    outcome, flagged = _apply_judgement(session, consultation, judgement, requested_human)
    consultation.updated_at = now
    if flagged:
        referral = _ensure_referral(session, consultation, outcome or "review", judgement.rules_version, now)
    if referral is not None:
        _mark_incomplete(referral, True, now)
    session.flush()
    logger.info(
        "consultation judged part-way conversation_id=%s consultation_id=%s outcome=%s rules_version=%s referral_id=%s",
        consultation.conversation_id,
        consultation.id,
        outcome,
        judgement.rules_version,
        referral.id if referral is not None else None,
    )
    return referral


# -------------------------------------------------------------------------------------------------------- the chat


def current_consultation_id(
    conversation_id: str, *, create: bool = True, now: Optional[datetime] = None
) -> Optional[str]:
    """The chat's current consultation (see the module notes). With `create`, starts an in_progress one if there is
    none and resumes one abandoned by idle expiry; without, only looks."""
    now = as_utc(now)
    with session_scope(write=create) as session:
        if create:
            return _current_or_create(session, conversation_id, now).id
        consultation = _current(session, conversation_id)
        return consultation.id if consultation is not None else None


def record_answers(conversation_id: str, answers: Mapping[str, Any], *, now: Optional[datetime] = None) -> str:
    """Upsert these answers into the current consultation (a None value deletes the key); returns its id.

    A consultation judged part-way (the client left, then came back) is judged again on what it has now, so its
    referral's reasons and severity follow the answers until `complete()` judges it whole: a hand-off has no status
    to flip back, so this is the only way a flag given after the client's return reaches it if they leave again.
    """
    now = as_utc(now)
    with session_scope() as session:
        consultation = _current_or_create(session, conversation_id, now)
        changed = _store_answers(session, consultation, answers, now)
        _touch(consultation, now)
        if changed and consultation.completed_at is None and consultation.outcome is not None:
            _judge_unfinished(session, consultation, now)
        return consultation.id


def touch(conversation_id: str, *, now: Optional[datetime] = None) -> Optional[str]:
    """Note activity on the current consultation (keeps it from expiring, resumes an expired one); never starts
    one."""
    now = as_utc(now)
    with session_scope() as session:
        consultation = _current(session, conversation_id)
        if consultation is None:
            return None
        _touch(_resume(consultation, now), now)
        return consultation.id


class PersonRequest(NamedTuple):
    """What `record_person_request` did: the decision (bot.store.person_requests) and the consultation it went to."""

    action: str  # person_requests.REFER, person_requests.UPDATE, person_requests.ASK_CONTACT (nothing stored)
    reason: str
    consultation_id: Optional[str]
    referral_id: Optional[int]
    consented: bool = False  # whether the conversation has consented (so hand-off messages are kept)

    @property
    def stored(self) -> bool:
        return self.consultation_id is not None


def _open_person_referral(session: Session, conversation_id: str) -> Optional[Tuple[Consultation, Referral]]:
    """The conversation's open referral (on any of its consultations, the latest first), if it has one."""
    row = session.execute(
        sa.select(Consultation, Referral)
        .join(Referral, Referral.consultation_id == Consultation.id)
        .where(Consultation.conversation_id == conversation_id, Referral.status != "closed")
        .order_by(Consultation.sequence.desc())
        .limit(1)
    ).first()
    return (row[0], row[1]) if row is not None else None


def _contact_values(contact: Any) -> Dict[str, str]:
    """{"contact_email": ..., "contact_phone": ...} from a bot.intake.Contact, a mapping or None."""
    if contact is None:
        return {}
    if isinstance(contact, Mapping):
        email, phone = (
            contact.get("email") or contact.get("contact_email"),
            contact.get("phone") or contact.get("contact_phone"),
        )
    else:
        email, phone = getattr(contact, "email", None), getattr(contact, "phone", None)
    values = {}
    if isinstance(email, str) and email.strip():
        values["contact_email"] = email.strip()
    if isinstance(phone, str) and phone.strip():
        values["contact_phone"] = phone.strip()
    return values


def record_person_request(
    conversation_id: str, *, consent: Optional[bool] = None, contact: Any = None, now: Optional[datetime] = None
) -> PersonRequest:
    """The client asked for a person: apply `bot.store.person_requests.decide_person_request`.

    `consent` is the tracker's consent slot when the caller knows it (None: the store's record decides, see
    bot.store.consent.given); `contact` a phone number or email the client gave with the request (bot.intake.Contact
    or {"email", "phone"}). With consent or a contact (given now or stored), the consultation is handed off and gets
    its referral; a conversation with an open referral keeps that one (updated, never a second); with neither,
    nothing at all is stored and the result says ASK_CONTACT.
    """
    from bot.store import consent as consent_record
    from bot.store import person_requests

    now = as_utc(now)
    given_contact = _contact_values(contact)
    with session_scope() as session:
        existing = _open_person_referral(session, conversation_id)
        current = _current(session, conversation_id)
        stored_contact = current is not None and bool(current.contact_email or current.contact_phone)
        consented = consent_record.given(session, conversation_id, stated=consent)
        decision = person_requests.decide_person_request(
            consented=consented,
            has_contact=bool(given_contact) or stored_contact,
            referral_open=existing is not None,
        )
        if decision.action == person_requests.ASK_CONTACT:
            logger.info("human requested, nothing stored (no consent, no contact) conversation_id=%s", conversation_id)
            return PersonRequest(decision.action, decision.reason, None, None)
        if existing is not None and (current is None or existing[0].id != current.id):
            # the open referral is on an earlier consultation of this chat (a restart since): it stays the one
            consultation, referral = existing
            changes: Dict[str, Any] = {"requested_human": True, **given_contact}
            _store_answers(session, consultation, changes, now)
            if not consultation.requested_human:
                consultation.requested_human = True
            if (
                session.execute(
                    sa.select(Reason.id).where(
                        Reason.consultation_id == consultation.id, Reason.code == HUMAN_REQUEST_CODE
                    )
                ).first()
                is None
            ):
                session.add(_human_request_reason(consultation.id))
            referral.updated_at = now
            _touch(consultation, now)
            logger.info(
                "human requested again conversation_id=%s consultation_id=%s referral_id=%s",
                conversation_id,
                consultation.id,
                referral.id,
            )
            return PersonRequest(decision.action, decision.reason, consultation.id, referral.id, consented)
        consultation = _current_or_create(session, conversation_id, now)
        _store_answers(session, consultation, {"requested_human": True, **given_contact}, now)
        if not consultation.requested_human or consultation.status != "handed_off":
            consultation.requested_human = True
            consultation.status = "handed_off"
            consultation.updated_at = now
        has_reason = session.execute(
            sa.select(Reason.id).where(Reason.consultation_id == consultation.id, Reason.code == HUMAN_REQUEST_CODE)
        ).first()
        if has_reason is None:
            session.add(_human_request_reason(consultation.id))
        severity = "defer" if consultation.outcome == "defer" else "review"
        referral = _ensure_referral(session, consultation, severity, consultation.rules_version, now)
        if decision.action == person_requests.UPDATE:
            referral.updated_at = now
        _touch(consultation, now)
        session.flush()
        logger.info(
            "human requested conversation_id=%s consultation_id=%s decision=%s",
            conversation_id,
            consultation.id,
            decision.reason,
        )
        return PersonRequest(decision.action, decision.reason, consultation.id, referral.id, consented)


def person_requested(conversation_id: str) -> bool:
    """Whether a request for a person of this conversation was stored (its latest consultation, or an open
    referral): False means the assistant is still waiting for a contact, or nothing was asked."""
    with session_scope(write=False) as session:
        latest = _latest(session, conversation_id)
        if latest is not None and latest.requested_human:
            return True
        return _open_person_referral(session, conversation_id) is not None


def flag_human_request(
    conversation_id: str, *, consent: Optional[bool] = None, contact: Any = None, now: Optional[datetime] = None
) -> Optional[str]:
    """The client asked for a person: hand the consultation off and make sure practitioners get one referral (one
    per conversation). Returns the consultation id, or None when nothing was stored: no consent and no contact (see
    `record_person_request`; the caller then asks for a phone number or email, or gives the clinic's phone)."""
    return record_person_request(conversation_id, consent=consent, contact=contact, now=now).consultation_id


def complete(
    conversation_id: str,
    answers: Mapping[str, Any],
    judgement: JudgementLike,
    *,
    now: Optional[datetime] = None,
) -> Dict[str, Any]:
    """Store the final answers and the judgement; a flagged one (or a human request) gets exactly one referral.

    Returns `consultation_reads.shown()` of the consultation. Calling it again (a retry, or a re-judgement after a
    correction) updates the same consultation: reasons are replaced, the referral's severity follows the latest
    judgement. A referral made while the client was away (marked incomplete) is the same referral, no longer
    incomplete.
    """
    now = as_utc(now)
    if judgement.outcome not in OUTCOMES:
        raise ValueError(f"judgement outcome must be one of {OUTCOMES}, got {judgement.outcome!r}")
    with session_scope() as session:
        consultation = _current_or_create(session, conversation_id, now)
        _store_answers(session, consultation, answers, now)
        requested_human = bool(consultation.requested_human) or answers.get("requested_human") is True

        outcome, flagged = _apply_judgement(session, consultation, judgement, requested_human)
        consultation.status = "handed_off" if requested_human else "complete"
        if consultation.completed_at is None:
            consultation.completed_at = now
        consultation.updated_at = now
        _touch(consultation, now)
        if flagged:
            referral: Optional[Referral] = _ensure_referral(
                session, consultation, outcome or "review", judgement.rules_version, now
            )
        else:
            referral = _referral_of(session, consultation.id)
        if referral is not None:
            _mark_incomplete(referral, False, now)  # the client came back and finished after all
        session.flush()
        logger.info(
            "consultation judged conversation_id=%s consultation_id=%s outcome=%s rules_version=%s",
            conversation_id,
            consultation.id,
            outcome,
            judgement.rules_version,
        )
        return shown(session, consultation)


def abandon_current(conversation_id: str, *, now: Optional[datetime] = None) -> Optional[str]:
    """For a restart: the current consultation stops being current (in_progress becomes abandoned, answers kept;
    a complete or handed-off one keeps its status). Returns its id, or None if there was none.

    Unless it was completed, the answers given so far are judged (`_judge_unfinished`): a flag or a request for a
    person gets its referral, marked incomplete."""
    now = as_utc(now)
    with session_scope() as session:
        consultation = _current(session, conversation_id)
        if consultation is None:
            return None
        if consultation.status == "in_progress":
            consultation.status = "abandoned"
        consultation.ended_at = now
        consultation.updated_at = now
        logger.info("consultation ended conversation_id=%s consultation_id=%s", conversation_id, consultation.id)
        _judge_unfinished(session, consultation, now)
        return consultation.id


def _sweep(query: sa.sql.Select, now: datetime) -> int:
    """Abandon (if in_progress) and judge the consultations `query` selects, _EXPIRE_BATCH per short transaction,
    until it selects no more; returns how many were handled.

    Handling a row takes it out of `query` (abandoned, or its referral marked incomplete), so a retried or a
    concurrent sweep finds nothing twice. On PostgreSQL the rows are locked and the ones a chat or another instance's
    sweeper holds are skipped (the next round takes them if they are still idle: a chat that was answering made them
    active); SQLite writers queue anyway. The unique key on referrals.consultation_id settles any other race. If
    judging fails (say the rules file cannot be read) the batch rolls back and the next round tries again: nothing
    is abandoned unjudged.
    """
    handled: Set[str] = set()
    while True:
        with session_scope() as session:
            batch = query.limit(_EXPIRE_BATCH)
            if session.bind is not None and session.bind.dialect.name == "postgresql":
                batch = batch.with_for_update(skip_locked=True, of=Consultation)
            rows = session.execute(batch).scalars().all()
            fresh = [c for c in rows if c.id not in handled]  # a guard: a handled row is never selected again
            for consultation in fresh:
                if consultation.status == "in_progress":
                    consultation.status = "abandoned"
                    consultation.updated_at = now
                _judge_unfinished(session, consultation, now)
                handled.add(consultation.id)
        if not fresh or len(rows) < _EXPIRE_BATCH:
            return len(handled)


def expire_idle(idle_minutes: int, *, now: Optional[datetime] = None) -> int:
    """Mark in_progress consultations idle for more than `idle_minutes` abandoned, judging the answers given so far
    (`_judge_unfinished`); returns how many were abandoned.

    They stay their chat's current consultation: if the client comes back, the next answer resumes them. A hand-off
    left unfinished as long keeps its status (a person has it) but is judged the same way, once: its referral is
    marked incomplete.
    """
    now = as_utc(now)
    if idle_minutes <= 0:
        raise ValueError("idle_minutes must be positive")
    cutoff = now - timedelta(minutes=idle_minutes)
    abandoned = _sweep(
        sa.select(Consultation)
        .where(Consultation.status == "in_progress", Consultation.last_activity_at < cutoff)
        .order_by(Consultation.last_activity_at),
        now,
    )
    marked = sa.exists().where(Referral.consultation_id == Consultation.id, Referral.incomplete == sa.true())
    handoffs = _sweep(
        sa.select(Consultation)
        .where(
            Consultation.status == "handed_off",
            Consultation.last_activity_at < cutoff,
            Consultation.last_activity_at >= cutoff - _HANDOFF_LOOKBACK,
            Consultation.completed_at.is_(None),
            ~marked,
        )
        .order_by(Consultation.last_activity_at),
        now,
    )
    if abandoned or handoffs:
        logger.info("idle consultations abandoned count=%d unfinished_handoffs=%d", abandoned, handoffs)
    return abandoned
