"""What may be printed or logged: URLs without their passwords, client-supplied strings without control characters.

mask_url("postgresql://clinic:s3cret@db/clinic") -> "postgresql://clinic:***@db/clinic"
escape_control("abc\\nFORGED") -> "abc\\\\nFORGED"
install_log_escaping()   every log record's arguments escaped, in the process that calls it (idempotent)
"""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import urlsplit

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# a query parameter whose name holds one of these words (token, access_token, api_key, sslpassword, ...)
_QUERY_SECRET = re.compile(r"(?i)([?&][^=&#]*(?:token|password|passwd|pwd|secret|key|auth|sig)[^=&#]*=)[^&#]*")
# scheme://user:PASSWORD@host...: the password runs to the last "@" (an unencoded "#", "/" or "?" in it, which
# urlsplit would read as the start of a fragment, path or query, must not leave it half shown)
_CREDENTIALS = re.compile(
    r"^(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://(?P<user>[^:/@?#]*)):(?P<password>.*)@(?P<rest>[^@]*)$", re.DOTALL
)


def mask_url(url: str) -> str:
    """The URL with any password (user:PASSWORD@) and secret-looking query values replaced by ***."""
    if not url:
        return url
    try:
        urlsplit(url)
    except ValueError:
        return "***"
    masked = url
    found = _CREDENTIALS.match(url)
    if found and not re.match(r"\d*[/?#]", found.group("password")):  # host:8000/path/a@b: a port, no password
        masked = f"{found.group('head')}:***@{found.group('rest')}"
    return _QUERY_SECRET.sub(r"\1***", masked)


def escape_control(value: Any) -> Any:
    """A string with its control characters written as escapes (\\n, \\x1b, ...); other values unchanged."""
    if not isinstance(value, str) or not _CONTROL.search(value):
        return value
    return _CONTROL.sub(lambda m: m.group(0).encode("unicode_escape").decode("ascii"), value)


_installed = False
_PLAIN = (int, float, bool, type(None), bytes)


def _text(value: Any) -> Any:
    try:
        return str(value)
    except Exception:  # a broken __str__ is the formatter's problem, as before
        return None


def _escaped_arg(value: Any) -> Any:
    """A str argument escaped; any other object (an exception quoting client text) as its escaped text if that
    text holds control characters; numbers and the rest unchanged, so %d and %r keep working."""
    if isinstance(value, str):
        return escape_control(value)
    if isinstance(value, _PLAIN):
        return value
    text = _text(value)
    if text is not None and _CONTROL.search(text):
        return escape_control(text)
    return value


def install_log_escaping() -> None:
    """Escape control characters in every log record's message arguments, so no client text can forge a line."""
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        if isinstance(record.args, tuple):
            record.args = tuple(_escaped_arg(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: _escaped_arg(v) for k, v in record.args.items()}
        if not record.args:
            if isinstance(record.msg, str):
                record.msg = escape_control(record.msg)
            elif not isinstance(record.msg, _PLAIN):  # logger.error(exc): its text may quote a client
                text = _text(record.msg)
                if text is not None and _CONTROL.search(text):
                    record.msg = escape_control(text)
        return record

    logging.setLogRecordFactory(factory)
    _installed = True
