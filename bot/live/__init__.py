"""A practitioner joins the client's chat live and hands it back (issue 10): the service (bot/live/service.py),
its table (bot/live/models.py), the client's stream (bot/live/stream.py), opening hours (bot/live/hours.py) and the
calls into Rasa (bot/live/assistant.py)."""
