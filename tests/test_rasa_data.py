"""`rasa data validate` is clean: no errors, and no warning but the ones Rasa gives for responses used by forms
and actions (it only looks for responses in stories and rules)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RASA = str(Path(sys.executable).parent / "rasa")


def responses_used_by_code() -> set:
    used = set()
    for path in (ROOT / "actions").glob("*.py"):
        used.update(re.findall(r'"(utter_[a-z_]+)"', path.read_text()))
    return used


def test_rasa_data_validate_is_clean():
    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run(
        [RASA, "data", "validate", "--data", "data/nlu", "data/rules", "--domain", "domain.yml"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    assert "completed with errors" not in output

    from rasa.shared.core.domain import Domain

    domain = Domain.load(str(ROOT / "domain.yml"))
    # the form asks its questions with utter_ask_<slot> (generated from data/questions.yml), which no rule names
    form_slots = domain.required_slots_for_form("consultation_form")
    expected_unused = {f"utter_ask_{slot}" for slot in form_slots} | responses_used_by_code()
    unexpected = []
    for line in output.splitlines():
        if "UserWarning" not in line:
            continue
        unused = re.search(r"The utterance '(utter_[a-z_]+)' is not used in any story or rule", line)
        if unused and unused.group(1) in expected_unused:
            continue
        if "Slot auto-fill has been removed" in line:  # Rasa 3.6 prints this for every domain with mappings
            continue
        unexpected.append(line)
    assert unexpected == [], "\n".join(unexpected)
