"""What must hold for every simulated conversation. Each invariant is a small function: result -> violations.

They read a `ConversationResult`: the turns (what the client sent, meant, and what came back), the segments (one per
consultation, each with the truth answers the assistant was given, `expected`, and the reason codes the project's
own engine finds in them, `expected_codes`), and what the store holds afterwards (`stored`). `prepare` fills the
expected answers from the client's profile; `check` runs every invariant.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

from bot.screening import judge, load_rules, severity
from bot.screening.answers import NO, UNSURE, YES, YES_NO_KEYS
from tests.e2e.script import FORBIDDEN
from tests.simulator.transcript import ANSWER_KINDS, DIGRESSION, RESUME, ConversationResult, Segment, Turn, Violation

HUMAN = "client_requested_human"
QUESTIONS_ASKED = 16  # consent .. notes, without "a cold sore now?" (asked only after cold sores ever)

Invariant = Callable[[ConversationResult], List[Violation]]


# ------------------------------------------------------------------------------------------------------ helpers


def prepare(result: ConversationResult, rules: Any = None) -> None:
    """Each consented segment's expected answers (what the client told, true) and the engine's codes on them."""
    profile = result.profile
    if profile is None:
        return
    rules = rules if rules is not None else load_rules()
    for seg in result.segments:
        if not seg.consent_given:
            continue
        keys = None if seg.completed else list(dict.fromkeys(seg.answered))
        expected = profile.truth(keys)
        if seg.person_requested:
            expected["requested_human"] = True
        for key in seg.excluded:
            expected.pop(key, None)
        seg.expected = expected
        judgement = judge(expected, rules)
        seg.expected_codes = {f.code: f.outcome for f in judgement.findings if not f.is_note}


def pairs(result: ConversationResult) -> List[Tuple[int, Segment, Optional[Dict[str, Any]]]]:
    """(segment index, segment, stored consultation or None) for each segment that gave consent.

    Consultations are matched from the latest backwards: a restart ends one and the next answer starts another."""
    consented = [(i, s) for i, s in enumerate(result.segments) if s.consent_given]
    stored = list(result.stored)
    out = []
    for offset, (i, seg) in enumerate(reversed(consented)):
        item = stored[len(stored) - 1 - offset] if offset < len(stored) else None
        out.append((i, seg, item))
    return list(reversed(out))


def _answered_turn(result: ConversationResult, key: str) -> Optional[int]:
    """The last answer the client gave to this question, else the last message sent while it was asked."""
    for turn in reversed(result.turns):
        if turn.asked == key and turn.is_answer:
            return turn.index
    return next((t.index for t in reversed(result.turns) if t.asked == key), None)


def _words(text: str) -> List[str]:
    return re.findall(r"[\w'’-]+", str(text or "").casefold())


def _phone_key(text: Any) -> str:
    """A phone number's digits, written nationally or internationally alike: "+44 (0)7700 900 315", "+447700900315"
    and "07700 900315" are one number."""
    digits = re.sub(r"\D", "", str(text or "").replace("(0)", "")).lstrip("0")
    return digits[2:].lstrip("0") if digits.startswith("44") else digits


def _codes(show: Dict[str, Any]) -> set:
    return {r.get("code") for r in show.get("reasons") or []}


def _yes_no_findings(result: ConversationResult) -> List[Tuple[str, str, Any, Any, int]]:
    """(kind, key, truth, stored, segment index) for each expected yes/no answer; kind is one of
    match, noted_unsure, flag_lost, mismatch, missing."""
    found = []
    for i, seg, item in pairs(result):
        if item is None:
            continue
        answers = (item.get("show") or {}).get("answers") or {}
        for key in YES_NO_KEYS:
            if key not in seg.expected:
                continue
            truth, stored = seg.expected[key], answers.get(key)
            if key == "herpes_active" and stored is None and answers.get("herpes_history") == NO:
                continue  # not asked after a lost "yes" to cold sores ever: reported there, as flag_lost
            if stored == truth:
                kind = "match"
            elif stored is None:
                kind = "missing"
            elif stored == UNSURE and truth in (YES, NO):
                kind = "noted_unsure"
            elif stored == NO and truth in (YES, UNSURE):
                kind = "flag_lost"
            else:
                kind = "mismatch"
            found.append((kind, key, truth, stored, i))
    return found


# ---------------------------------------------------------------------------------------------------- invariants


def replies_per_message(result: ConversationResult) -> List[Violation]:
    """Every client message gets 1 to 4 replies, and no reply holds the same message text twice."""
    out = []
    for turn in result.turns:
        if turn.error:
            continue
        if not 1 <= len(turn.replies) <= 4:
            out.append(Violation("replies_per_message", turn.index, f"{len(turn.replies)} replies to {turn.text!r}"))
        twice = [text for text, n in Counter(t for t in turn.replies if t.strip()).items() if n > 1]
        for text in twice:
            out.append(Violation("replies_per_message", turn.index, f"the same message twice: {text[:80]!r}"))
    return out


def no_question_thrice(result: ConversationResult) -> List[Violation]:
    """No question asked three times in a row: two re-asks after answer attempts (digressions neither count nor
    reset the streak)."""
    out = []
    streak: Tuple[Optional[Tuple[str, str]], int] = (None, 0)
    answers = [t for t in result.turns if t.kind in ANSWER_KINDS]
    for i, turn in enumerate(answers):
        question = (turn.asked or "", _fact(turn))
        again = bool(turn.asked) and bool(turn.active) and turn.requested == turn.asked
        if again and turn.kind == "readback":
            # one read-back after another is a new question when it names another fact
            following = next((t for t in answers[i + 1 :] if t.asked == turn.asked), None)
            again = following is None or _fact(following) == question[1]
        if again:
            count = streak[1] + 1 if streak[0] == question else 1
            streak = (question, count)
            if count == 2:
                out.append(
                    Violation(
                        "no_question_thrice",
                        turn.index,
                        f"{turn.asked} asked a third time after two answers ({turn.text!r})",
                    )
                )
        else:
            streak = (None, 0)
    return out


def _fact(turn: Turn) -> str:
    """The fact a read-back answer was about (the client notes it as "code/name=value")."""
    return turn.detail.split("=")[0] if turn.kind == "readback" else ""


def summary_bound(result: ConversationResult) -> Optional[int]:
    """Client messages allowed before the summary: (questions + read-backs) x 3 + digressions x 2, + the greeting."""
    profile = result.profile
    questions = QUESTIONS_ASKED + (1 if profile is not None and "herpes_active" in profile.yes_no else 0)
    readbacks, last_code = 0, None
    for turn in result.turns:
        if turn.requested == "volunteer_confirm":
            code = turn.detail.split("=")[0] if turn.kind == "readback" else None
            if turn.asked != "volunteer_confirm" or (turn.kind == "readback" and code != last_code):
                readbacks += 1
            last_code = code if turn.kind == "readback" else last_code
    digressions = sum(1 for t in result.turns if t.kind in (DIGRESSION, RESUME))
    return (questions + readbacks) * 3 + digressions * 2 + 1


def summary_within_bound(result: ConversationResult) -> List[Violation]:
    """A client who consents and neither leaves, stops nor restarts reaches the summary within the bound."""
    profile = result.profile
    if profile is None or profile.consent != YES or result.abandoned or result.stopped or result.restarted:
        return []
    if result.failed:
        return []  # assistant_errors reports it
    bound = summary_bound(result)
    reached = next((t.index + 1 for t in result.turns if t.requested == "confirmed"), None)
    if reached is None:
        last = result.turns[-1].index if result.turns else None
        return [
            Violation(
                "summary_within_bound",
                last,
                f"summary never reached in {len(result.turns)} messages (bound {bound}; {result.ending()})",
            )
        ]
    if reached > bound:
        return [Violation("summary_within_bound", reached - 1, f"summary reached after {reached} messages > {bound}")]
    return []


HEALTH_QUESTIONS = ("medications", *YES_NO_KEYS, "further_checks")


def consent_first(result: ConversationResult) -> List[Violation]:
    """No health question before a clear yes to consent (docs/architecture.md, "Privacy": consent first)."""
    consented = False  # a consent given stays given after "start again"
    for turn in result.turns:
        if turn.asked == "consent" and turn.detail == "consent=yes":
            consented = True
        if turn.requested in HEALTH_QUESTIONS and turn.active and not consented:
            said = next((t.text for t in reversed(result.turns[: turn.index + 1]) if t.asked == "consent"), None)
            return [
                Violation(
                    "consent_first",
                    turn.index,
                    f"asked {turn.requested} without a clear yes to consent (last said: {said!r})",
                )
            ]
    return []


def stored_answers(result: ConversationResult) -> List[Violation]:
    """The stored answers match the truth: name, email/phone, each yes/no answer (flag_lost and noted_unsure are
    reported on their own)."""
    out = []
    for i, seg, item in pairs(result):
        if item is None:
            if seg.expected:
                out.append(Violation("stored_answers", None, f"consultation {i + 1}: nothing stored"))
            continue
        answers = (item.get("show") or {}).get("answers") or {}
        if "name" in seg.expected:
            want = _words(seg.expected["name"])
            have = set(_words(answers.get("name")))
            if not set(want) <= have:
                out.append(
                    Violation(
                        "stored_answers",
                        _answered_turn(result, "name"),
                        f"name {answers.get('name')!r}, the client is {seg.expected['name']!r}",
                    )
                )
        email = seg.expected.get("contact_email")
        if email and str(answers.get("contact_email") or "").lower() != email.lower():
            out.append(
                Violation(
                    "stored_answers",
                    _answered_turn(result, "contact"),
                    f"email {answers.get('contact_email')!r}, the client's is {email!r}",
                )
            )
        phone = seg.expected.get("contact_phone")
        if phone and _phone_key(answers.get("contact_phone")) != _phone_key(phone):
            out.append(
                Violation(
                    "stored_answers",
                    _answered_turn(result, "contact"),
                    f"phone {answers.get('contact_phone')!r}, the client's is {phone!r}",
                )
            )
    for kind, key, truth, stored, _i in _yes_no_findings(result):
        if kind in ("mismatch", "missing"):
            what = "not stored" if kind == "missing" else f"stored {stored!r}"
            out.append(
                Violation("stored_answers", _answered_turn(result, key), f"{key}: {what}, the truth is {truth!r}")
            )
    return out


def flag_lost(result: ConversationResult) -> List[Violation]:
    """A stored "no" where the truth is "yes" or "unsure": always a violation."""
    return [
        Violation("flag_lost", _answered_turn(result, key), f"{key}: stored 'no', the truth is {truth!r}")
        for kind, key, truth, stored, _ in _yes_no_findings(result)
        if kind == "flag_lost"
    ]


def noted_unsure(result: ConversationResult) -> List[str]:
    """Soft: a clear yes or no stored as "unsure" (the client's answer was not understood; a person will ask)."""
    return [
        f"{key}: stored 'unsure', the truth is {truth!r}"
        for kind, key, truth, stored, _ in _yes_no_findings(result)
        if kind == "noted_unsure"
    ]


def medicines_kept(result: ConversationResult) -> List[Violation]:
    """Every labelled anticoagulant, antiplatelet or isotretinoin of the truth is in medication_facts or flagged."""
    out = []
    for _i, seg, item in pairs(result):
        if item is None or "medication_facts" not in seg.expected:
            continue
        show = item.get("show") or {}
        facts = (show.get("answers") or {}).get("medication_facts") or []
        names = set()
        for fact in facts:
            if isinstance(fact, dict):
                names.update(str(fact.get(k) or "").casefold() for k in ("name", "generic"))
        codes = _codes(show)
        for medicine in seg.expected["medication_facts"]:
            klass, name = medicine.get("drug_class"), str(medicine.get("generic") or medicine.get("name"))
            if klass not in ("anticoagulant", "antiplatelet") and name != "isotretinoin":
                continue
            code = "isotretinoin_recent" if name == "isotretinoin" else "anticoagulant"
            if name.casefold() not in names and code not in codes:
                out.append(
                    Violation(
                        "medicines_kept",
                        _answered_turn(result, "medications"),
                        f"{name} ({klass}) neither in medication_facts {sorted(names - {''})} nor flagged",
                    )
                )
    return out


def flagged_not_cleared(result: ConversationResult) -> List[Violation]:
    """A client whose true answers trigger a rule is never stored clear, and the stored outcome is at least as
    severe as every expected code's outcome."""
    out = []
    for i, seg, item in pairs(result):
        if not seg.expected_codes:
            continue
        expected = ", ".join(f"{c} ({o})" for c, o in seg.expected_codes.items())
        if item is None:
            out.append(
                Violation("flagged_not_cleared", None, f"consultation {i + 1}: nothing stored; expected {expected}")
            )
            continue
        show = item.get("show") or {}
        outcome = show.get("outcome")
        if outcome is None:
            out.append(
                Violation(
                    "flagged_not_cleared",
                    None,
                    f"consultation {i + 1} ({show.get('status')}) not judged; expected {expected}",
                )
            )
            continue
        if outcome == "clear":
            out.append(Violation("flagged_not_cleared", None, f"stored clear; expected {expected}"))
            continue
        weaker = [c for c, o in seg.expected_codes.items() if severity(outcome) < severity(o)]
        if weaker:
            out.append(
                Violation(
                    "flagged_not_cleared",
                    None,
                    f"stored {outcome}, less severe than "
                    f"{', '.join(f'{c} ({seg.expected_codes[c]})' for c in weaker)}"
                    f"; stored reasons {sorted(_codes(show))}",
                )
            )
    return out


def person_request_referred(result: ConversationResult) -> List[Violation]:
    """A request for a person always ends with client_requested_human in the stored reasons and a referral."""
    out = []
    for _i, seg, item in pairs(result):
        if not seg.person_requested:
            continue
        turn = next((t.index for t in result.turns if t.detail == "person"), None)
        if item is None:
            out.append(Violation("person_request_referred", turn, "asked for a person: nothing stored"))
            continue
        show = item.get("show") or {}
        missing = []
        if HUMAN not in _codes(show):
            missing.append(f"no {HUMAN} reason (reasons {sorted(_codes(show))})")
        if show.get("referral") is None:
            missing.append("no referral")
        if missing:
            out.append(Violation("person_request_referred", turn, "asked for a person: " + "; ".join(missing)))
    return out


def person_only_when_asked(result: ConversationResult) -> List[Violation]:
    """A client who never asked for a person is not stored as one who did (a name like "Pat Human" is a name)."""
    out = []
    for _i, seg, item in pairs(result):
        if seg.person_requested or item is None:
            continue
        show = item.get("show") or {}
        if HUMAN in _codes(show) or (show.get("answers") or {}).get("requested_human") is True:
            turn = next((t.index for t in result.turns if t.intent == "request_human"), None)
            out.append(
                Violation(
                    "person_only_when_asked",
                    turn,
                    "stored as asking for a person; the client never did"
                    + (f" (taken as one: {result.turns[turn].text!r})" if turn is not None else ""),
                )
            )
    return out


def one_referral_per_flagged(result: ConversationResult) -> List[Violation]:
    """Exactly one referral per flagged consultation, abandoned ones included (after idle expiry)."""
    out = []
    for i, seg, item in pairs(result):
        if not (seg.expected_codes or seg.person_requested):
            continue
        if item is None:
            out.append(Violation("one_referral_per_flagged", None, f"consultation {i + 1}: nothing stored"))
            continue
        count = item.get("referrals")
        if count is None:
            count = 0 if (item.get("show") or {}).get("referral") is None else 1
        if count != 1:
            status = (item.get("show") or {}).get("status")
            out.append(
                Violation(
                    "one_referral_per_flagged",
                    None,
                    f"{count} referrals for a flagged {status} consultation ({', '.join(seg.expected_codes) or HUMAN})",
                )
            )
    return out


def declined_stores_nothing(result: ConversationResult) -> List[Violation]:
    """A consultation whose client declined consent stores no health data (a request for a person, with the phone or
    email to reach them, is kept: it must reach the clinic; docs/architecture.md)."""
    if result.consented or not any(s.consent_declined for s in result.segments):
        return []
    out = []
    for item in result.stored:
        answers = {
            k: v
            for k, v in ((item.get("show") or {}).get("answers") or {}).items()
            if k not in ("requested_human", "contact_phone", "contact_email")
        }
        if answers:
            out.append(Violation("declined_stores_nothing", None, f"answers stored after a no: {sorted(answers)}"))
    return out


def nothing_forbidden(result: ConversationResult) -> List[Violation]:
    """Nothing forbidden is said (tests/e2e/script.py FORBIDDEN: "you are safe", "stop your ...", "diagnos...")."""
    out = []
    for turn in result.turns:
        for text in list(turn.replies) + list(turn.buttons):
            match = FORBIDDEN.search(text or "")
            if match:
                out.append(Violation("nothing_forbidden", turn.index, f"said {match.group(0)!r}: {text[:100]!r}"))
    return out


def assistant_errors(result: ConversationResult) -> List[Violation]:
    """Every request to the assistant succeeds."""
    return [Violation("assistant_errors", t.index, t.error or "") for t in result.turns if t.error]


def simulator_errors(result: ConversationResult) -> List[Violation]:
    """The simulator itself ran without a fault (a violation here is a bug in tests/simulator)."""
    if not result.simulator_error:
        return []
    return [
        Violation(
            "simulator_errors",
            len(result.turns) - 1 if result.turns else None,
            result.simulator_error.strip().splitlines()[-1],
        )
    ]


INVARIANTS: Tuple[Invariant, ...] = (
    replies_per_message,
    no_question_thrice,
    summary_within_bound,
    consent_first,
    stored_answers,
    flag_lost,
    medicines_kept,
    flagged_not_cleared,
    person_request_referred,
    person_only_when_asked,
    one_referral_per_flagged,
    declined_stores_nothing,
    nothing_forbidden,
    assistant_errors,
    simulator_errors,
)
NAMES: Tuple[str, ...] = tuple(f.__name__ for f in INVARIANTS)
SOFT: Tuple[str, ...] = ("noted_unsure",)


def check(
    result: ConversationResult, rules: Any = None, invariants: Iterable[Invariant] = INVARIANTS
) -> ConversationResult:
    """Fill the expected answers and run every invariant; the result carries its violations and soft counts."""
    prepare(result, rules)
    result.violations = [v for invariant in invariants for v in invariant(result)]
    notes = noted_unsure(result)
    result.soft = {"noted_unsure": len(notes)}
    result.soft_notes = notes
    return result


def counts(results: Sequence[ConversationResult]) -> Dict[str, Tuple[int, int]]:
    """invariant -> (conversations violating it, violations)."""
    table: Dict[str, Tuple[int, int]] = {}
    for name in NAMES:
        hits = [sum(1 for v in r.violations if v.invariant == name) for r in results]
        table[name] = (sum(1 for h in hits if h), sum(hits))
    return table
