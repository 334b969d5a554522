"""What may be printed or logged: URLs without their passwords, client-supplied strings without control characters.

    mask_url("postgresql://clinic:s3cret@db/clinic") -> "postgresql://clinic:***@db/clinic"
    escape_control("abc\\nFORGED") -> "abc\\\\nFORGED"
    install_log_escaping()   every log record's arguments escaped, in the process that calls it (idempotent)
"""
from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import urlsplit, urlunsplit

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_QUERY_SECRET = re.compile(r"(?i)([?&](?:token|password|secret|key|auth|sig)[^=&]*=)[^&#]*")


def mask_url(url: str) -> str:
    """The URL with any password (user:PASSWORD@) and secret-looking query values replaced by ***."""
    if not url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return "***"
    masked = url
    if "@" in parts.netloc:
        credentials, host = parts.netloc.rsplit("@", 1)
        if ":" in credentials:
            user = credentials.split(":", 1)[0]
            masked = urlunsplit((parts.scheme, f"{user}:***@{host}", parts.path, parts.query, parts.fragment))
    return _QUERY_SECRET.sub(r"\1***", masked)


def escape_control(value: Any) -> Any:
    """A string with its control characters written as escapes (\\n, \\x1b, ...); other values unchanged."""
    if not isinstance(value, str) or not _CONTROL.search(value):
        return value
    return _CONTROL.sub(lambda m: m.group(0).encode("unicode_escape").decode("ascii"), value)


_installed = False


def install_log_escaping() -> None:
    """Escape control characters in every log record's message arguments, so no client text can forge a line."""
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        if isinstance(record.args, tuple):
            record.args = tuple(escape_control(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: escape_control(v) for k, v in record.args.items()}
        if isinstance(record.msg, str) and not record.args:
            record.msg = escape_control(record.msg)
        return record

    logging.setLogRecordFactory(factory)
    _installed = True
