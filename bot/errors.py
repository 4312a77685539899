"""Turn exceptions into words for a person (house rule 7: only `bot/` does this).

Every message says what happened and what to do; the details go to the log. A failure to
talk to the engine names the engine (its URL, never its credentials) and what happened:
connection refused, a TLS problem, a timeout, HTTP 401/403, a server error.

The TWS errors name the call, not the engine, so `EngineNamingAsker` (between the
dispatcher and the assistant) notes the engine's URL on them; it also keeps the last
failure, which ``resync ask`` turns into its exit code.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Final, Protocol
from urllib.parse import urlsplit

import aiohttp

from agents.messages import ChatEvent, Paragraph, Reply, Tone
from integrations.tws.errors import (
    CircuitOpenError,
    TWSActionRejectedError,
    TWSAuthError,
    TWSError,
    TWSNotFoundError,
    TWSProtocolError,
    TWSRequestError,
    TWSUnavailableError,
)

__all__ = [
    "EngineNamingAsker",
    "engine_failure",
    "engine_of",
    "name_engine",
    "public_url",
    "reply_for_error",
]

_ENGINE_NOTE: Final = "engine: "


def public_url(url: str) -> str:
    """A URL as it may be shown: scheme, host and port, without ``user:password@``.

    Args:
        url: E.g. ``https://svc:secret@twsmaster:31116/``.

    Returns:
        E.g. ``https://twsmaster:31116``.
    """
    split = urlsplit(url)
    host = split.netloc.rpartition("@")[2]
    return f"{split.scheme}://{host}" if split.scheme else host


def name_engine(error: BaseException, url: str) -> None:
    """Note on an error which engine it came from (shown in words and in tracebacks).

    Args:
        error: The error on its way up.
        url: The engine's URL (credentials are removed).
    """
    if engine_of(error) is None:
        error.add_note(_ENGINE_NOTE + public_url(url))


def engine_of(error: BaseException) -> str | None:
    """The engine URL `name_engine` noted on an error, if any.

    Args:
        error: The error.

    Returns:
        The URL, or None.
    """
    for note in getattr(error, "__notes__", ()):
        if isinstance(note, str) and note.startswith(_ENGINE_NOTE):
            return note[len(_ENGINE_NOTE) :]
    return None


def engine_failure(error: TWSError) -> str:
    """What happened on the way to the engine, in a few words.

    Args:
        error: The error the TWS client raised (its cause says what the network did).

    Returns:
        E.g. ``connection refused``, ``TLS error: certificate verify failed``,
        ``timeout: no answer within 15 s``, ``HTTP 401 (credentials refused)``.
    """
    cause = error.__cause__
    if isinstance(error, CircuitOpenError):
        return "calls paused after repeated failures (circuit breaker open)"
    if isinstance(error, TWSAuthError):
        if error.status == 403:
            return "HTTP 403 (the engine user is not authorized)"
        return f"HTTP {error.status or 401} (credentials refused)"
    if isinstance(cause, aiohttp.ClientConnectorCertificateError):
        reason = getattr(cause.certificate_error, "verify_message", None) or "not trusted"
        return f"TLS error: the engine's certificate is not trusted ({reason})"
    if isinstance(cause, aiohttp.ClientSSLError):
        inner = cause.os_error if isinstance(cause, aiohttp.ClientConnectorError) else None
        reason = inner.reason if isinstance(inner, ssl.SSLError) and inner.reason else "handshake"
        return f"TLS error ({reason}; is it an https:// URL on a plain-HTTP port?)"
    if isinstance(cause, aiohttp.ClientConnectorDNSError):
        return "host name not found (DNS)"
    if isinstance(cause, aiohttp.ClientConnectorError):
        if isinstance(cause.os_error, ConnectionRefusedError):
            return "connection refused"
        return f"cannot connect ({cause.os_error.strerror or type(cause.os_error).__name__})"
    if isinstance(cause, TimeoutError):
        return f"timeout: {error.summary}"
    if isinstance(cause, aiohttp.ServerDisconnectedError):
        return "the connection was dropped before an answer"
    if error.status is not None and error.status >= 500:
        return f"it answered with a server error (HTTP {error.status})"
    if error.status is not None:
        return f"HTTP {error.status}"
    return error.summary


_TOO_BIG: Final = "pages"  # TWSProtocolError "more than N pages": the one "too big" signal


def _too_big(error: TWSProtocolError) -> bool:
    return error.summary.startswith("more than") and error.summary.endswith(_TOO_BIG)


def reply_for_error(error: BaseException) -> Reply:
    """The reply a person sees when answering failed.

    Args:
        error: What went wrong (with the engine noted by `name_engine`, when known).

    Returns:
        One clear sentence (and a hint) that never includes a traceback or a secret.
    """
    engine = engine_of(error)
    at = f" at {engine}" if engine else ""
    if isinstance(error, CircuitOpenError):
        headline = f"TWS{at} is not answering, so I paused calls to it for a moment."
        hint = "It failed several times in a row; I will try again shortly. Ask again in a minute."
    elif isinstance(error, TWSUnavailableError):
        what = engine_failure(error)
        timeout = what.startswith("timeout")
        headline = f"I could not reach TWS{at}: " + (
            f"it did not answer in time ({what.removeprefix('timeout: ')})."
            if timeout
            else f"{what}."
        )
        if what.startswith("TLS"):
            hint = "Check the engine URL's scheme and port, and RESYNC_TWS_CA_BUNDLE (the CA that signed the master's certificate)."
        elif timeout or error.status is not None:
            hint = "Try again in a minute; if it persists, check the master (its WebSphere Liberty server) and the network."
        else:
            hint = "Check that the master (its WebSphere Liberty server) is running and that RESYNC_TWS_URL names its host and port."
    elif isinstance(error, TWSAuthError):
        if error.status == 403:
            headline = f"TWS{at} accepted my credentials but refused the request (HTTP 403)."
            hint = "An administrator should give the engine user the rights it needs (the security file or role of RESYNC_TWS_USER)."
        else:
            headline = f"TWS{at} refused my credentials."
            hint = f"It answered {engine_failure(error)}. An administrator should check RESYNC_TWS_USER / RESYNC_TWS_PASSWORD or RESYNC_TWS_API_KEY."
    elif isinstance(error, TWSNotFoundError):
        headline = "TWS says that object no longer exists in the plan."
        hint = "The plan may have been extended or the job cancelled; ask again to see the current plan."
    elif isinstance(error, TWSActionRejectedError):
        codes = f" ({', '.join(error.codes)})" if error.codes else ""
        headline = f"TWS rejected the action{codes}."
        hint = "Check the job's current state first: the action may not be valid in it."
    elif isinstance(error, TWSProtocolError) and _too_big(error):
        headline = "That question matches more than I can read from TWS at once."
        hint = "Try a narrower question: one job stream, a workstation, or a name pattern such as PAY*."
    elif isinstance(error, TWSProtocolError):
        headline = "TWS answered something I could not read."
        hint = (
            "This is logged for the Resync administrators; try again, and report it if it repeats."
        )
    elif isinstance(error, TWSRequestError | TWSError):
        headline = "TWS rejected my request."
        hint = "This is logged for the Resync administrators; rephrase the question or report it."
    elif isinstance(error, TimeoutError):
        # Our own time limit: the engine was slow. Nothing says the question was too big.
        headline = "That took too long, so I stopped."
        hint = "TWS was slow to answer; try again in a minute, and tell the Resync administrators if it keeps happening."
    else:
        headline = "Something went wrong on my side while answering."
        hint = "It is logged for the Resync administrators; try again, and report it if it repeats."
    return Reply(headline=headline, tone=Tone.ERROR, blocks=(Paragraph(text=hint),))


class _Asks(Protocol):
    async def ask(self, event: ChatEvent) -> Reply: ...


class EngineNamingAsker:
    """Passes questions on; notes the engine on the TWS errors they raise.

    Attributes:
        last_failure: Why the most recent question got no answer (None when it got one):
            the error, or `TimeoutError` when the dispatcher's time limit stopped it.
            Meaningful when questions come one at a time (``resync ask``).
    """

    def __init__(self, inner: _Asks, *, engine_url: str) -> None:
        """Wrap an assistant.

        Args:
            inner: What answers (the agent graph).
            engine_url: The engine's URL (credentials are removed).
        """
        self._inner = inner
        self._engine = public_url(engine_url)
        self.last_failure: BaseException | None = None

    @property
    def engine(self) -> str:
        """The engine's URL, without credentials."""
        return self._engine

    async def ask(self, event: ChatEvent) -> Reply:
        """Answer one message.

        Args:
            event: The message.

        Returns:
            The answer.
        """
        self.last_failure = None
        try:
            return await self._inner.ask(event)
        except TWSError as exc:
            name_engine(exc, self._engine)
            self.last_failure = exc
            raise
        except asyncio.CancelledError:
            # The dispatcher's time limit cancels the answer from outside.
            self.last_failure = TimeoutError("the answer's time limit was reached")
            raise
        except Exception as exc:
            self.last_failure = exc
            raise
