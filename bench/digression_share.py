"""How often a real answer is taken for a digression: every corpus answer, sent at its own question.

The held-out answers are tests/simulator's corpus (external.yaml + ours.yaml, minus sentences in data/nlu): for each
question, every labelled answer to it (consent "why" and summary corrections left out; not_urgent answers to it
added). Starts its own stack, walks one conversation through the questions with plain answers (buttons where there
are any), keeps the tracker's events as each question is asked, and for each answer starts a fresh conversation from
that point (PUT /conversations/{id}/tracker/events), sends the answer, and reads the tracker back.

Printed per question and overall:
  digression share   the latest user event's intent is a digression intent AND the requested slot did not change
                     (the preferred measure)
  not taken          the requested slot did not change and the question's slot is still empty, whatever the intent
                     (for volunteer_confirm, whose slot is always emptied, only that the read-back is asked again)
  moved on           the requested slot changed (the answer was taken, rightly or wrongly)

    .venv/bin/python bench/digression_share.py
    .venv/bin/python bench/digression_share.py --questions consent,name --examples 5
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Dict, List, Tuple

import requests
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.e2e.stack import Stack  # noqa: E402
from tests.simulator import corpus as corpus_module  # noqa: E402

FORM_QUESTIONS = (
    "consent",
    "name",
    "contact",
    "concerns",
    "area",
    "medications",
    "blood_thinners",
    "bleeding_disorder",
    "herpes_history",
    "herpes_active",
    "keloid",
    "active_acne",
    "isotretinoin",
    "pregnancy",
    "skin_infection",
    "further_checks",
    "notes",
    "confirmed",
    "volunteer_confirm",
)
# The walk's plain answers; herpes_history is "yes" so that "a cold sore now?" is asked too.
WALK = {
    "consent": "/affirm",
    "name": "Jane Doe",
    "contact": "jane.doe@example.com",
    "concerns": "acne scars",
    "area": "cheeks",
    "medications": "none",
    "herpes_history": "/affirm",
    "further_checks": "/deny",
    "notes": "/deny",
    "volunteer_confirm": "/deny",
}
# A second walk that should produce a read-back: a blood thinner among the medicines, then "no" to blood thinners.
READBACK_WALK = {**WALK, "medications": "warfarin", "blood_thinners": "/deny"}
# The digressions (docs/architecture.md, "Digressions"): why, a person, urgent, start again, stop, goodbye, correct,
# "are you a bot", the FAQ.
DIGRESSION_INTENTS = {
    "ask_why",
    "request_human",
    "urgent",
    "start_over",
    "stop",
    "goodbye",
    "correct_answer",
    "bot_challenge",
}


def digression_intents() -> set:
    """That list, plus the domain's x-digressions and every faq_ intent, whatever the domain holds today."""
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8")) or {}
    intents = {i if isinstance(i, str) else next(iter(i)) for i in domain.get("intents") or []}
    listed = set(domain.get("x-digressions") or [])
    return DIGRESSION_INTENTS | listed | {i for i in intents if i.startswith("faq_")}


def answers_for(corpus: corpus_module.Corpus, question: str) -> List[str]:
    key = "confirm" if question == "confirmed" else question
    out = []
    for entry in corpus.entries(key):
        if entry.means in ("why", "change"):
            continue  # not answers: a question about the question, a correction
        out.append(entry.text)
    out += [e.text for e in corpus.entries("not_urgent") if e.get("question") == key]
    return out


def _valid(event: Dict[str, Any]) -> Dict[str, Any]:
    """An event as Rasa's PUT accepts it: entities from the lexicon carry `confidence_entity: null`, which the
    server's own event schema refuses, so None values are left out of entities."""
    parse = event.get("parse_data")
    if not isinstance(parse, dict) or not parse.get("entities"):
        return event
    entities = [{k: v for k, v in e.items() if v is not None} for e in parse["entities"]]
    return {**event, "parse_data": {**parse, "entities": entities}}


class Bot:
    """Chat through the stack (issued conversations, their secrets); Rasa's HTTP API with the stack's JWT."""

    def __init__(self, stack: Stack):
        self.stack = stack
        self.url = stack.rasa_url
        self.session = requests.Session()

    def say(self, sender: str, text: str) -> List[Dict[str, Any]]:
        return self.stack.say(sender, text)

    def tracker(self, sender: str, events: str = "NONE") -> Dict[str, Any]:
        return self.stack.tracker(sender, include_events=events, session=self.session)

    def replace(self, sender: str, events: List[Dict[str, Any]]) -> None:
        events = [_valid(e) for e in events]
        conversation_id, _ = self.stack.chat(sender)  # issued first, so the chat accepts its next message
        r = self.session.put(
            f"{self.url}/conversations/{conversation_id}/tracker/events",
            params={"include_events": "NONE"},
            json=events,
            headers=self.stack.api_headers(),
            timeout=60,
        )
        r.raise_for_status()


def walk(bot: Bot, answers: Dict[str, str], max_turns: int = 60) -> Dict[str, List[Dict[str, Any]]]:
    """One conversation through the questions; the tracker's events each time a question is first asked."""
    sender = "walk-" + uuid.uuid4().hex[:10]
    snapshots: Dict[str, List[Dict[str, Any]]] = {}
    bot.say(sender, "hi")
    for _ in range(max_turns):
        tracker = bot.tracker(sender, "ALL")
        question = (tracker.get("slots") or {}).get("requested_slot")
        if not (tracker.get("active_loop") or {}).get("name") or not question:
            break
        snapshots.setdefault(question, tracker["events"])
        if question == "confirmed":
            break
        bot.say(sender, answers.get(question, "/deny"))
    return snapshots


def probe(bot: Bot, question: str, events: List[Dict[str, Any]], text: str, digressions: set) -> Dict[str, Any]:
    sender = "share-" + uuid.uuid4().hex[:12]
    bot.replace(sender, events)
    bot.say(sender, text)
    tracker = bot.tracker(sender)
    slots = tracker.get("slots") or {}
    intent = ((tracker.get("latest_message") or {}).get("intent") or {}).get("name")
    stayed = slots.get("requested_slot") == question and bool((tracker.get("active_loop") or {}).get("name"))
    slot_empty = slots.get(question) is None
    return {
        "question": question,
        "text": text,
        "intent": intent,
        "stayed": stayed,
        "digression": stayed and intent in digressions,
        "not_taken": stayed and slot_empty,
        "moved_to": slots.get("requested_slot"),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="share of real answers taken for digressions, per question")
    parser.add_argument("--questions", default=",".join(FORM_QUESTIONS))
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--examples", type=int, default=3, help="answers taken for digressions to show per question")
    args = parser.parse_args(argv)
    questions = [q for q in args.questions.split(",") if q]
    corpus = corpus_module.load()
    digressions = digression_intents()

    with tempfile.TemporaryDirectory(prefix="bench-digression-") as tmp:
        t0 = time.monotonic()
        stack = Stack(Path(tmp)).start()
        print(f"stack started in {time.monotonic() - t0:.0f} s", flush=True)
        try:
            bot = Bot(stack)
            snapshots = walk(bot, WALK)
            if "volunteer_confirm" in questions and "volunteer_confirm" not in snapshots:
                snapshots.update({k: v for k, v in walk(bot, READBACK_WALK).items() if k == "volunteer_confirm"})
            jobs: List[Tuple[str, str]] = []
            unreachable = []
            for question in questions:
                if question not in snapshots:
                    unreachable.append(question)
                    continue
                jobs += [(question, text) for text in answers_for(corpus, question)]
            t1 = time.monotonic()
            local = threading.local()

            def one(job: Tuple[str, str]) -> Dict[str, Any]:
                if not hasattr(local, "bot"):
                    local.bot = Bot(stack)
                return probe(local.bot, job[0], snapshots[job[0]], job[1], digressions)

            with ThreadPoolExecutor(max_workers=args.workers) as pool:
                results = list(pool.map(one, jobs))
            wall = time.monotonic() - t1
        finally:
            stack.stop()

    by_question: Dict[str, List[Dict[str, Any]]] = defaultdict(list)
    for r in results:
        by_question[r["question"]].append(r)
    print()
    print(f"== Digression share: corpus answers sent at their own question ({len(results)} answers, {wall:.0f} s) ==")
    print(
        f"{'question':<20}{'answers':>8}{'digression share':>18}{'not taken':>11}{'moved on':>10}  top intents when "
        f"taken for a digression"
    )
    total = Counter()
    for question in questions:
        rows = by_question.get(question)
        if not rows:
            continue
        n = len(rows)
        d = sum(r["digression"] for r in rows)
        nt = sum(r["not_taken"] for r in rows)
        mv = sum(not r["stayed"] for r in rows)
        total.update({"n": n, "d": d, "nt": nt, "mv": mv})
        top = Counter(r["intent"] for r in rows if r["digression"]).most_common(3)
        print(
            f"{question:<20}{n:>8}{d / n:>17.1%}{nt / n:>11.1%}{mv / n:>10.1%}  "
            + ", ".join(f"{i} {c}" for i, c in top)
        )
    n = total["n"] or 1
    print(f"{'overall':<20}{total['n']:>8}{total['d'] / n:>17.1%}{total['nt'] / n:>11.1%}{total['mv'] / n:>10.1%}")
    if unreachable:
        print(f"not reached by the walk (not measured): {', '.join(unreachable)}")
    if args.examples:
        print()
        print("examples of answers taken for digressions:")
        for question in questions:
            for r in [r for r in by_question.get(question, []) if r["digression"]][: args.examples]:
                print(f"  {question:<18} {r['intent']:<16} {r['text'][:100]!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
