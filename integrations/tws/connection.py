"""The connection details of the engine transport: auth header, TLS context, streamed tails.

Kept apart from `integrations.tws.transport` (the retry, breaker and metrics policy) because
they are plain functions of their inputs and are tested on their own terms.
"""

from __future__ import annotations

import ssl
from collections import deque
from pathlib import Path
from typing import Final

import aiohttp

__all__ = ["auth_header", "host_port", "read_tail", "ssl_context"]

_CHUNK_BYTES: Final = 64 * 1024


def host_port(netloc: str) -> str:
    """``host:port`` of a URL's network location, without ``user:password@``."""
    return netloc.rpartition("@")[2]


async def read_tail(content: aiohttp.StreamReader, *, limit: int) -> tuple[bytes, int]:
    """The last ``limit`` bytes of a streamed body, and its full size.

    Chunks are dropped from the front as soon as the rest still holds ``limit`` bytes, so at
    most ``limit`` plus one chunk is ever held, however long the body.
    """
    kept: deque[bytes] = deque()
    held = 0
    size = 0
    async for chunk in content.iter_chunked(_CHUNK_BYTES):
        size += len(chunk)
        kept.append(chunk)
        held += len(chunk)
        while held - len(kept[0]) >= limit:
            held -= len(kept.popleft())
    if held > limit:
        kept[0] = kept[0][held - limit :]
    return b"".join(kept), size


def auth_header(*, user: str | None, password: str | None, api_key: str | None) -> str | None:
    """The ``Authorization`` header: a bearer API key, else HTTP Basic, else none."""
    if api_key:
        return f"Bearer {api_key}"
    if user is not None:
        return aiohttp.BasicAuth(user, password or "").encode()
    return None


def ssl_context(*, verify_tls: bool, ca_bundle: Path | None) -> ssl.SSLContext | bool:
    """What aiohttp takes as ``ssl=``: off, a context trusting ``ca_bundle``, or the default."""
    if not verify_tls:
        return False
    if ca_bundle is not None:
        return ssl.create_default_context(cafile=str(ca_bundle))
    return True
