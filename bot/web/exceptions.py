"""What a staff route raises when it cannot answer (no HTML here): bot.web.errors turns these into a page for people
or JSON for the API."""

from __future__ import annotations


class NotFound(Exception):
    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


class BadRequest(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
