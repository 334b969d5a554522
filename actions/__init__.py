"""Rasa SDK actions: thin adapters between the tracker and bot.screening / bot.store / bot.language."""

from bot.redact import install_log_escaping

install_log_escaping()  # client text (sender ids, messages) in log arguments cannot forge a log line
# E402: the escaping must be installed before the actions' modules make their loggers
from actions import (  # noqa: E402,F401  (importing registers the actions with the SDK)
    consultation_form,
    digressions,
    finish,
    person_request,
    questions,
    session,
)


def _warm_up() -> None:
    """Load the language pipeline, the rules and the database engine now, not on the first client's message."""
    from bot import language, store
    from bot.screening import load_rules

    language.volunteered("I take Eliquis")
    load_rules()
    store.get_engine()


_warm_up()
