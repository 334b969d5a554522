"""Playing simulated clients against a running assistant, and reporting what the invariants found.

    play(stack, seed) -> ConversationResult             one conversation, checked
    play_many(stack, seeds, workers=4) -> [results]      threads over one stack, then one store probe, checked

`stack` is a tests.e2e.stack.Stack (or anything with `say`, `state`, `consultations`, like `Assistant` below).
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
import traceback
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, Iterable, List, Optional, Sequence

import requests

from tests.simulator import corpus as corpus_module
from tests.simulator import invariants
from tests.simulator.client import SimulatedClient
from tests.simulator.store_probe import MARKER
from tests.simulator.transcript import ConversationResult, Turn

PAUSED_SLOT = "handed_off"  # set while a live chat with a person is open (actions/person_request.py)


class Assistant:
    """The running assistant as the simulator sees it: REST chat, the tracker's state, the store."""

    def __init__(self, stack: Any):
        self.stack = stack
        self.expired: Optional[str] = None  # what the last idle expiry said
        self._local = threading.local()

    def _session(self) -> requests.Session:
        if not hasattr(self._local, "session"):
            self._local.session = requests.Session()
        return self._local.session

    def say(self, sender: str, text: str) -> List[Dict[str, Any]]:
        return self.stack.say(sender, text)

    def state(self, sender: str) -> Dict[str, Any]:
        # Rasa's HTTP API with the stack's JWT (never a token in the URL), for the conversation the stack was issued
        tracker = self.stack.tracker(sender, include_events="NONE", session=self._session())
        slots = tracker.get("slots") or {}
        return {
            "requested_slot": slots.get("requested_slot"),
            "active_loop": (tracker.get("active_loop") or {}).get("name"),
            "intent": ((tracker.get("latest_message") or {}).get("intent") or {}).get("name"),
            "slots": slots,
        }

    def consultations(self, senders: Sequence[str], expire: bool) -> Dict[str, List[Dict[str, Any]]]:
        """What the store holds for each sender (by the conversation id the server issued it)."""
        issued = {sender: self.stack.conversation_id(sender) for sender in senders}
        done = subprocess.run(
            [self.stack_python(), "-m", "tests.simulator.store_probe"],
            input=json.dumps({"expire": expire, "conversations": list(issued.values())}),
            cwd=str(corpus_module.ROOT),
            env=self.stack.env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        line = next((out for out in done.stdout.splitlines() if out.startswith(MARKER)), None)
        if done.returncode != 0 or line is None:
            raise RuntimeError(f"store probe failed ({done.returncode}):\n{done.stderr[-3000:]}")
        answer = json.loads(line[len(MARKER) :])
        self.expired = answer.get("expired")
        found = answer["consultations"]
        return {sender: found.get(conversation_id, []) for sender, conversation_id in issued.items()}

    def hand_back(self, sender: str) -> Dict[str, Any]:
        """A practitioner takes the client's live chat, writes, and hands it back (tests/simulator/practitioner.py,
        run in the stack's environment as the staff pages would)."""
        from tests.simulator.practitioner import MARKER as JOINED

        done = subprocess.run(
            [self.stack_python(), "-m", "tests.simulator.practitioner"],
            input=json.dumps({"conversation_id": self.stack.conversation_id(sender)}),
            cwd=str(corpus_module.ROOT),
            env=self.stack.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        line = next((out for out in done.stdout.splitlines() if out.startswith(JOINED)), None)
        if done.returncode != 0 or line is None:
            raise RuntimeError(f"the simulated practitioner failed ({done.returncode}):\n{done.stderr[-3000:]}")
        return dict(json.loads(line[len(JOINED) :]))

    @staticmethod
    def stack_python() -> str:
        from tests.e2e.stack import PYTHON

        return PYTHON


def _assistant(stack: Any) -> Any:
    return stack if hasattr(stack, "state") and hasattr(stack, "consultations") else Assistant(stack)


def _texts(replies: List[Dict[str, Any]]) -> List[str]:
    return [str(r.get("text") or "") for r in replies if r.get("text") is not None or r.get("buttons")]


def _hold(assistant: Any, client: SimulatedClient, result: ConversationResult) -> ConversationResult:
    sender = result.sender
    state: Dict[str, Any] = {"requested_slot": None, "active_loop": None, "slots": {}}
    while True:
        move = client.next_move(state)
        if move is None:
            break
        turn = Turn(
            index=len(result.turns),
            text=move.text,
            kind=move.kind,
            detail=move.detail,
            asked=move.question if move.question is not None else state.get("requested_slot"),
        )
        result.turns.append(turn)
        try:
            replies = assistant.say(sender, move.text)
            state = assistant.state(sender)
        except Exception as error:  # recorded as a violation; the conversation cannot go on
            turn.error = f"{type(error).__name__}: {error}"
            result.failed = turn.error
            break
        turn.replies = _texts(replies)
        turn.buttons = [str(b.get("title", "")) for r in replies for b in r.get("buttons") or []]
        if (state.get("slots") or {}).get(PAUSED_SLOT) and hasattr(assistant, "hand_back"):
            # a live chat waits for a person: the questions are paused until a practitioner hands it back
            try:
                joined = assistant.hand_back(sender)
                state = assistant.state(sender)
            except Exception as error:
                turn.error = f"{type(error).__name__}: {error}"
                result.failed = turn.error
                break
            turn.replies.append(
                f"[a practitioner joined the chat ({joined.get('before')}) and handed it back ({joined.get('after')})]"
            )
        turn.requested, turn.active = state.get("requested_slot"), state.get("active_loop")
        turn.intent = state.get("intent")
        client.observe(move, state)
    return result


def converse(
    stack: Any, seed: int, corpus: Optional[corpus_module.Corpus] = None, sender: Optional[str] = None
) -> ConversationResult:
    """Hold one simulated conversation (no checks yet). A fault of the simulator itself is kept, not raised."""
    assistant = _assistant(stack)
    client = SimulatedClient(seed, corpus)
    sender = sender or f"sim{seed}-{uuid.uuid4().hex[:8]}"
    result = ConversationResult(seed=seed, sender=sender, profile=client.profile, plan=client.plan)
    started = time.monotonic()
    try:
        _hold(assistant, client, result)
    except Exception:
        result.simulator_error = traceback.format_exc()
    for flag in ("abandoned", "stopped", "restarted", "gave_up", "ended_by_bot", "capped"):
        setattr(result, flag, getattr(client, flag))
    result.segments = client.segments
    result.seconds = time.monotonic() - started
    return result


def _needs_expiry(result: ConversationResult) -> bool:
    return not result.completed


def play(stack: Any, seed: int, corpus: Optional[corpus_module.Corpus] = None, rules: Any = None) -> ConversationResult:
    """One conversation, its store read (after idle expiry when it was left unfinished), and every invariant."""
    assistant = _assistant(stack)
    result = converse(assistant, seed, corpus)
    stored = assistant.consultations([result.sender], expire=_needs_expiry(result))
    result.stored = stored.get(result.sender, [])
    return invariants.check(result, rules)


def play_many(
    stack: Any, seeds: Iterable[int], workers: int = 4, corpus: Optional[corpus_module.Corpus] = None, rules: Any = None
) -> List[ConversationResult]:
    """Conversations in `workers` threads over one stack; then one idle expiry and one store read for all."""
    assistant = _assistant(stack)
    corpus = corpus or corpus_module.default()
    seeds = list(seeds)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        results = list(pool.map(lambda s: converse(assistant, s, corpus), seeds))
    stored = assistant.consultations([r.sender for r in results], expire=any(map(_needs_expiry, results)))
    if rules is None:
        from bot.screening import load_rules

        rules = load_rules()
    for result in results:
        result.stored = stored.get(result.sender, [])
        invariants.check(result, rules)
    return results


# ------------------------------------------------------------------------------------------------------ reports


def transcript(result: ConversationResult, width: int = 160) -> str:
    """The whole conversation: client and bot lines, the question asked at each turn, and what went wrong."""
    lines = [f"seed {result.seed}  sender {result.sender}  ended: {result.ending()}  ({len(result.turns)} messages)"]
    if result.profile is not None:
        lines.append(f"  truth: {result.profile.describe()}")
    if result.plan is not None:
        lines.append(f"  plan:  {result.plan.describe()}")
    for turn in result.turns:
        kind = turn.kind + (f":{turn.detail}" if turn.detail else "")
        lines.append(
            f"  #{turn.index:<3} [{turn.asked or '-'} -> {turn.requested or '-'}] ({kind}, intent "
            f"{turn.intent or '-'}) > {turn.text[:width]}"
        )
        for reply in turn.replies:
            lines.append(f"         < {reply.replace(chr(10), ' | ')[:width]}")
        if turn.error:
            lines.append(f"         ! {turn.error}")
    for item in result.stored:
        show = item.get("show") or {}
        answers = show.get("answers") or {}
        brief = {k: v for k, v in answers.items() if k not in ("volunteered", "medications", "notes", "concerns_other")}
        lines.append(
            f"  stored: status={show.get('status')} outcome={show.get('outcome')} "
            f"reasons={[r.get('code') for r in show.get('reasons') or []]} referrals={item.get('referrals')}"
        )
        lines.append(f"          answers={json.dumps(brief, ensure_ascii=False)[:600]}")
    for seg in result.segments:
        if seg.expected_codes:
            lines.append(f"  expected codes: {seg.expected_codes}")
    for note in result.soft_notes:
        lines.append(f"  (soft) noted_unsure: {note}")
    if result.simulator_error:
        lines.append("  simulator fault:\n" + result.simulator_error)
    for violation in result.violations:
        lines.append(f"  VIOLATION {violation}")
    return "\n".join(lines)


def figures(results: Sequence[ConversationResult]) -> Dict[str, Any]:
    n = len(results) or 1
    consenting = [r for r in results if r.profile is not None and r.profile.consent == "yes"]
    straight = [r for r in consenting if not (r.abandoned or r.stopped or r.restarted)]
    return {
        "conversations": len(results),
        "failing": sum(1 for r in results if r.violations),
        "reached_summary_all": sum(1 for r in results if r.reached_summary) / n,
        "reached_summary_straight": (sum(1 for r in straight if r.reached_summary) / len(straight))
        if straight
        else 0.0,
        "completed": sum(1 for r in results if r.completed),
        "mean_turns": sum(len(r.turns) for r in results) / n,
        "noted_unsure": sum(r.soft.get("noted_unsure", 0) for r in results),
        "endings": dict(sorted(_count(r.ending() for r in results).items())),
    }


def _count(items: Iterable[str]) -> Dict[str, int]:
    out: Dict[str, int] = {}
    for item in items:
        out[item] = out.get(item, 0) + 1
    return out


def report(results: Sequence[ConversationResult], show_transcripts: int = 3) -> str:
    table = invariants.counts(results)
    f = figures(results)
    lines = [
        f"{len(results)} simulated conversations, {f['failing']} with violations",
        f"{'invariant':<28}{'conversations':>14}{'violations':>12}",
    ]
    for name, (conversations, violations) in table.items():
        lines.append(f"{name:<28}{conversations:>14}{violations:>12}")
    lines.append(
        f"{'(soft) noted_unsure':<28}{sum(1 for r in results if r.soft.get('noted_unsure')):>14}{f['noted_unsure']:>12}"
    )
    lines.append(
        f"reached the summary: {f['reached_summary_all']:.1%} of all, {f['reached_summary_straight']:.1%} of "
        f"consenting clients who did not leave; completed {f['completed']}; mean messages "
        f"{f['mean_turns']:.1f}"
    )
    lines.append(f"endings: {f['endings']}")
    failing = [r for r in results if r.violations]
    for result in failing[:show_transcripts]:
        lines.append("")
        lines.append(transcript(result))
    return "\n".join(lines)
