"""Rasa SDK actions: thin adapters between the tracker and bot.screening / bot.store / bot.language."""
from actions import (  # noqa: F401  (importing registers the actions with the SDK)
    consultation_form,
    digressions,
    finish,
    handoff,
    questions,
    session,
)
