"""Nothing that must survive a restart lives in process memory: a conversation goes on after every process restarts."""

from __future__ import annotations

from tests.e2e.script import STANDARD, Turn, run, standard_turns


def test_a_conversation_goes_on_after_the_servers_restart(stack):
    sender = run(stack, standard_turns(stop_before="blood_thinners"))
    before = stack.show(sender)
    assert before["status"] == "in_progress" and before["answers"]["name"] == "Jane Doe"

    stack.restart()

    keys = [key for key, _, _ in STANDARD]
    rest = [Turn(message, expect) for _, message, expect in STANDARD[keys.index("blood_thinners") :]]
    run(stack, rest, sender=sender)
    after = stack.show(sender)
    assert after["status"] == "complete" and after["outcome"] == "clear"
    assert after["answers"]["contact_email"] == "jane.doe@example.com"
