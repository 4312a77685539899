"""Secret redaction shared by the logs and the SIEM forwarder: key names and value shapes.

One definition of "what a secret looks like", so that a credential masked in a log line is
also masked in a record sent to Splunk or syslog (a wider audience than the log itself):

- `is_secret_key`: a mapping key that names a secret (password, token, api key, secret,
  authorization, auth, cookie, credential, private, kek, dsn, ``*_key``), minus harmless
  look-alikes (`NOT_SECRET_KEYS`: ``token_count``, ``key_id``, ``author``...).
- `mask_secret_shapes`: in free text, the shapes of common secrets (Slack tokens, Bearer and
  Basic credentials in any case, JWTs, ``user:password@`` in URLs, ``password=``/``token=``
  parameters, OpenAI-style keys).

Each caller picks its own mask (``***`` in logs, ``[redacted]`` in SIEM events).
"""

from __future__ import annotations

import re
from typing import Final

__all__ = [
    "NOT_SECRET_KEYS",
    "SECRET_KEY",
    "SECRET_SHAPES",
    "is_secret_key",
    "mask_secret_shapes",
    "mask_secrets",
]

SECRET_KEY: Final = re.compile(
    r"pass(word|wd)?|secret|token|api[_-]?key|authorization|auth|cookie|credential|private|kek|dsn"
    r"|(^|[_-])key$",  # signing_key, audit_key, key: key material by name
    re.IGNORECASE,
)
"""A key name that says its value is a secret."""

# Harmless keys that merely contain a secret-sounding word.
NOT_SECRET_KEYS: Final = frozenset(
    {"token_count", "tokens_used", "auth_method", "key_id", "kek_id", "author", "cache_key"}
)

SECRET_SHAPES: Final = (
    re.compile(r"xox[abpersc]-[A-Za-z0-9-]{8,}"),  # Slack bot/user/config tokens
    re.compile(r"xapp-[A-Za-z0-9-]{8,}"),  # Slack app-level tokens
    re.compile(r"(?i)\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),  # JWT
    re.compile(r"(?<=://)[^/\s:@]+:[^/\s@]+(?=@)"),  # user:password@ in URLs
    re.compile(r"(?i)\b(password|passwd|pwd|secret|api[_-]?key|token)=([^&\s]+)"),
    re.compile(r"\bsk-[A-Za-z0-9]{16,}"),  # OpenAI-style keys
)
"""Shapes of secrets in free text. A shape with one group keeps the scheme word
(``Bearer ***``), one with two keeps the parameter name (``token=***``)."""


def is_secret_key(key: str) -> bool:
    """Whether a mapping key names a secret.

    Args:
        key: The key (a log field, a parameter name).

    Returns:
        True when its value must be masked whole.
    """
    return key.lower() not in NOT_SECRET_KEYS and SECRET_KEY.search(key) is not None


def mask_secret_shapes(text: str, mask: str) -> str:
    """Mask secret-shaped substrings of a text.

    Args:
        text: Any text.
        mask: What replaces a secret.

    Returns:
        The text with each secret replaced by ``mask`` (the scheme word or parameter name
        before it is kept, so the line still says what was there).
    """
    for shape in SECRET_SHAPES:
        if shape.groups >= 2:
            text = shape.sub(lambda m: f"{m.group(1)}={mask}", text)
        elif shape.groups == 1:
            text = shape.sub(lambda m: f"{m.group(1)} {mask}", text)
        else:
            text = shape.sub(mask, text)
    return text


# Beyond the shared shapes: NAME_PASSWORD=..., "api key: ...", as shell scripts print them
# (the shared pattern needs a word boundary before "password", which DB_PASSWORD lacks).
_NAMED_SECRET = re.compile(
    r"(?i)\b([a-z0-9_]*(?:password|passwd|pwd|secret|token|api[_ -]?key)[a-z0-9_]*)"
    r"(\s*[=:]\s*)(?!\[redacted\])(['\"]?)[^\s'\"&]+\3"
)


def mask_secrets(text: str, mask: str = "[redacted]") -> str:
    """Mask every secret shape (`mask_secret_shapes`) and ``NAME_PASSWORD=…`` assignments.

    For text that leaves Resync's hands: a prompt to an LLM, a passage quoted in chat.

    Args:
        text: Any text.
        mask: What replaces a secret.

    Returns:
        The text with each secret replaced by ``mask``.
    """
    text = mask_secret_shapes(text, mask)
    return _NAMED_SECRET.sub(lambda m: f"{m.group(1)}{m.group(2)}{mask}", text)
