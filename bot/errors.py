"""Turn exceptions into words for a person (house rule 7: only `bot/` does this).

Every message says what happened and what to do; the details go to the log.
"""

from __future__ import annotations

from agents.messages import Paragraph, Reply, Tone
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

__all__ = ["reply_for_error"]


def reply_for_error(error: BaseException) -> Reply:
    """The reply a person sees when answering failed.

    Args:
        error: What went wrong.

    Returns:
        One clear sentence (and a hint) that never includes a traceback or a secret.
    """
    if isinstance(error, CircuitOpenError):
        headline = "TWS is not answering, so I paused calls to it for a moment."
        hint = "It failed several times in a row; I will try again shortly. Ask again in a minute."
    elif isinstance(error, TWSUnavailableError):
        headline = "I could not reach TWS: it did not answer in time or answered with an error."
        hint = "Try again in a minute; if it persists, check the master (its WebSphere Liberty server) and the network."
    elif isinstance(error, TWSAuthError):
        headline = "TWS refused my credentials."
        hint = "An administrator should check RESYNC_TWS_USER / RESYNC_TWS_PASSWORD or RESYNC_TWS_API_KEY and the engine user's rights."
    elif isinstance(error, TWSNotFoundError):
        headline = "TWS says that object no longer exists in the plan."
        hint = "The plan may have been extended or the job cancelled; ask again to see the current plan."
    elif isinstance(error, TWSActionRejectedError):
        codes = f" ({', '.join(error.codes)})" if error.codes else ""
        headline = f"TWS rejected the action{codes}."
        hint = "Check the job's current state first: the action may not be valid in it."
    elif isinstance(error, TWSProtocolError):
        headline = "TWS answered something I could not read."
        hint = (
            "This is logged for the Resync administrators; try again, and report it if it repeats."
        )
    elif isinstance(error, TWSRequestError | TWSError):
        headline = "TWS rejected my request."
        hint = "This is logged for the Resync administrators; rephrase the question or report it."
    elif isinstance(error, TimeoutError):
        headline = "That took too long, so I stopped."
        hint = "Try a narrower question, or again in a minute."
    else:
        headline = "Something went wrong on my side while answering."
        hint = "It is logged for the Resync administrators; try again, and report it if it repeats."
    return Reply(headline=headline, tone=Tone.ERROR, blocks=(Paragraph(text=hint),))
