"""Records Rasa test stories from real conversations: `.venv/bin/python -m tests.stories.record`.

Holds every conversation of tests/e2e/conversations.yml and every reason-code case of tests/e2e/test_reason_codes.py
with the real running assistant (checking each expected reply), reads each tracker back from Rasa's HTTP API, and
writes them as test stories (user text, intents, entities, actions, slots, active loops) to
tests/stories/conversations.yml. `tests/test_rasa_stories.py` then replays them with `rasa test` and fails on any
prediction that differs: NLU and dialogue regressions show up without a running action server.
Re-record after a deliberate change to the NLU data, rules or actions, and read the diff.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "stories" / "conversations.yml"


def main() -> int:
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker
    from rasa.shared.core.training_data.story_writer.yaml_story_writer import YAMLStoryWriter
    from rasa.shared.core.training_data.structures import Story

    from tests.e2e import test_conversations, test_reason_codes
    from tests.e2e.script import run, standard_turns
    from tests.e2e.stack import Stack

    domain = Domain.load(str(ROOT / "domain.yml"))
    scripts = [(c["name"], test_conversations.turns_of(c)) for c in test_conversations.CONVERSATIONS]
    scripts += [
        (f"reason code {code}", standard_turns(answers, stop_before="notes" if "notes" not in answers else "confirm"))
        for code, (answers, _) in sorted(test_reason_codes.CASES.items())
    ]
    stack = Stack(Path(tempfile.mkdtemp(prefix="record-stories-"))).start()
    chunks = []
    try:
        for name, turns in scripts:
            sender = run(stack, turns)
            # Rasa's HTTP API with the stack's JWT (no token in the URL), by the id the server issued
            events = stack.tracker(sender)["events"]
            tracker = DialogueStateTracker.from_dict(stack.conversation_id(sender), events, domain.slots)
            story = Story.from_events(list(tracker.events), name)
            chunks.append(YAMLStoryWriter().dumps(story.story_steps, is_appendable=bool(chunks), is_test_story=True))
            print(f"recorded: {name}", flush=True)
    finally:
        stack.stop()
    header = "# Recorded by tests/stories/record.py from real conversations; replayed by tests/test_rasa_stories.py.\n"
    OUT.write_text(header + "".join(chunks), encoding="utf-8")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
