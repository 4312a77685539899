"""Logging: structlog, JSON when not a terminal, key=value on one; secrets redacted.

The redaction processor masks values whose key names a secret (password, token, key,
secret, authorization, cookie) and, in every string value, the shapes of common secrets
(Slack tokens, Bearer/Basic credentials, JWTs, passwords in URLs), wherever they appear.
Both sets of patterns live in `integrations.redaction`, shared with the SIEM forwarder.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping, MutableMapping
from pathlib import Path
from typing import IO, Any, Final

import structlog

from integrations.redaction import is_secret_key, mask_secret_shapes

__all__ = ["configure_logging", "open_log_file", "redact", "redact_text"]

MASK: Final = "***"


def redact_text(text: str) -> str:
    """Mask secret-shaped substrings of a text.

    Args:
        text: Any text.

    Returns:
        The text with secrets replaced by ``***``.
    """
    return mask_secret_shapes(text, MASK)


def redact(value: Any, *, key: str | None = None) -> Any:
    """Redact a log value: mask it whole when its key names a secret, else mask shapes.

    Args:
        value: The value (nested mappings and sequences are walked).
        key: The key it was logged under.

    Returns:
        The redacted value.
    """
    if key is not None and is_secret_key(key):
        return MASK if value not in (None, "") else value
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {k: redact(v, key=str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(redact(item) for item in value)
    if hasattr(value, "get_secret_value"):
        return MASK
    return value


def _redact_processor(
    _: Any, __: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key in list(event_dict):
        event_dict[key] = redact(event_dict[key], key=None if key == "event" else key)
    return event_dict


def open_log_file(path: Path) -> IO[str]:
    """Open a log file for appending, readable by its owner only (0600).

    Log lines name people, channels and questions: the file is created 0600 whatever the
    umask, and an existing one is tightened to 0600.

    Args:
        path: The file (its directory must exist).

    Returns:
        A line-buffered text stream.
    """
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    if os.fstat(descriptor).st_mode & 0o077:
        os.fchmod(descriptor, 0o600)
    return os.fdopen(descriptor, "a", encoding="utf-8", buffering=1)


def configure_logging(*, level: str = "INFO", fmt: str = "auto", stream: Any = None) -> None:
    """Set up structlog and the standard library's logging for the process.

    Args:
        level: Lowest level written.
        fmt: ``json``, ``console`` or ``auto`` (console on a terminal, JSON otherwise).
        stream: Where to write (default standard error).
    """
    out = stream or sys.stderr
    use_console = fmt == "console" or (fmt == "auto" and hasattr(out, "isatty") and out.isatty())
    renderer: Any = (
        structlog.dev.ConsoleRenderer(colors=False, pad_event_to=0)
        if use_console
        else structlog.processors.JSONRenderer()
    )
    numeric = logging.getLevelNamesMapping()[level]
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            _redact_processor,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=out),
        cache_logger_on_first_use=False,
    )
    # Libraries log through the standard library: keep them quiet unless asked, and pass
    # their lines through the same redaction (a library may log a URL with a password).
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    handler.addFilter(_RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(max(numeric, logging.WARNING))


class _RedactingFilter(logging.Filter):
    """Masks secret shapes in standard-library log records (message and arguments)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact_text(record.getMessage())
        record.args = None
        return True
