"""What a simulated conversation leaves behind: its turns, what the client meant, what was stored, what went wrong."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

# Kinds of client message. Only "answer", "readback" and "confirm" are answer attempts (they count towards a
# re-asked question); the others are digressions of one sort or another, or the client opening the chat.
ANSWER_KINDS = ("answer", "readback", "confirm")
OPEN = "open"
DIGRESSION = "digression"
RESUME = "resume"


@dataclass
class Turn:
    index: int  # 0-based, in the order the client sent its messages
    text: str
    kind: str  # open | answer | readback | confirm | digression | resume
    detail: str = ""  # faq, why, person, urgent, correction, stop, restart, slip, invalid, unsure, ...
    asked: Optional[str] = None  # the requested slot when the client sent this
    replies: List[str] = field(default_factory=list)  # the text of each bot message
    buttons: List[str] = field(default_factory=list)  # button titles, all replies together
    requested: Optional[str] = None  # the requested slot after the bot's turn
    active: Optional[str] = None  # the active loop after the bot's turn
    intent: Optional[str] = None  # the intent the NLU gave this message
    error: Optional[str] = None  # the request failed

    @property
    def is_answer(self) -> bool:
        return self.kind in ANSWER_KINDS


@dataclass
class Segment:
    """One consultation's worth of the conversation: a restart starts the next one."""

    consent_given: bool = False
    consent_declined: bool = False
    answered: List[str] = field(default_factory=list)  # answer keys the bot has been told the truth of
    person_requested: bool = False
    completed: bool = False  # the client confirmed the summary and the bot finished
    excluded: List[str] = field(default_factory=list)  # keys not to check (a slip never corrected)
    expected: Dict[str, Any] = field(default_factory=dict)  # the truth answers for this consultation
    expected_codes: Dict[str, str] = field(default_factory=dict)  # code -> outcome, from the engine on `expected`
    reached_summary_turn: Optional[int] = None  # 1-based count of client messages when the summary was first asked


@dataclass
class Violation:
    invariant: str
    turn: Optional[int]
    message: str

    def __str__(self) -> str:
        where = f" @ turn {self.turn}" if self.turn is not None else ""
        return f"{self.invariant}{where}: {self.message}"


@dataclass
class ConversationResult:
    seed: int
    sender: str
    turns: List[Turn] = field(default_factory=list)
    segments: List[Segment] = field(default_factory=list)
    profile: Any = None  # client.Profile
    plan: Any = None  # client.Plan
    # how it ended
    abandoned: bool = False  # the client stopped writing on purpose
    stopped: bool = False  # the client said stop
    restarted: bool = False
    gave_up: bool = False  # the same question again and again: the client left
    ended_by_bot: bool = False  # the questions ended though the client had not finished, stopped or declined
    capped: bool = False  # turn limit reached
    failed: Optional[str] = None  # a request to the assistant failed
    simulator_error: Optional[str] = None  # the simulator itself failed (a bug here, not in the assistant)
    # what the store holds afterwards: one item per consultation of the conversation, oldest first:
    # {"show": <consultation show JSON>, "referrals": <number of referral rows>}
    stored: List[Dict[str, Any]] = field(default_factory=list)
    violations: List[Violation] = field(default_factory=list)
    soft: Dict[str, int] = field(default_factory=dict)  # counted, not failing (noted_unsure)
    soft_notes: List[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def consented(self) -> bool:
        return any(s.consent_given for s in self.segments)

    @property
    def reached_summary(self) -> bool:
        return any(t.requested == "confirmed" for t in self.turns)

    @property
    def completed(self) -> bool:
        return any(s.completed for s in self.segments)

    @property
    def ok(self) -> bool:
        return not self.violations

    def ending(self) -> str:
        for flag in ("failed", "capped", "gave_up", "restarted", "stopped", "abandoned", "ended_by_bot"):
            if getattr(self, flag):
                return flag
        if self.completed:
            return "completed"
        if any(s.consent_declined for s in self.segments) and not self.consented:
            return "declined"
        return "unfinished"
