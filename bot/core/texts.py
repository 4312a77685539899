"""Every sentence the chat core says to a person, in one place (the same on every surface).

Adapters never word a refusal, a crash or a wait themselves: they show these, so Slack and
Teams say exactly the same thing in the same situation.
"""

from __future__ import annotations

from typing import Final

from agents.messages import Paragraph, Reply, Tone

__all__ = [
    "APPROVALS_DISABLED",
    "APPROVALS_NEED_AUTH",
    "BUTTON_NOT_HERE",
    "CLICK_FAILED",
    "PAGES_EXPIRED",
    "looking_up",
    "rate_limited",
    "working",
]

CLICK_FAILED: Final = Reply(
    headline="I could not act on that click; nothing else was done.",
    tone=Tone.ERROR,
    blocks=(Paragraph(text="The error is in the log; try again or ask an administrator."),),
)
"""The one crash text of a click, on every surface."""

APPROVALS_DISABLED: Final = Reply(
    headline="Approvals are not enabled on this Resync; nothing was done.", tone=Tone.WARNING
)

APPROVALS_NEED_AUTH: Final = Reply(
    headline="Approvals and other buttons need an authenticated Teams app (RESYNC_TEAMS_APP_ID); "
    "this Resync runs Teams unauthenticated, so nothing was done.",
    tone=Tone.WARNING,
)

BUTTON_NOT_HERE: Final = Reply(
    headline="That button is not one of mine; nothing was done.", tone=Tone.WARNING
)

PAGES_EXPIRED: Final = Reply(
    headline="Those results have expired (they are kept for a day): ask again.", tone=Tone.INFO
)


def rate_limited(*, limit: int, wait_seconds: float) -> Reply:
    """The note for a person who asked too often.

    Args:
        limit: Requests allowed per minute.
        wait_seconds: When they may ask again.

    Returns:
        A private note.
    """
    return Reply(
        headline=f"You asked more than {limit} questions in a minute, so I am pausing for you: "
        f"try again in {max(1, round(wait_seconds))} s.",
        tone=Tone.WARNING,
    )


def looking_up(question: str, *, name: str | None = None) -> Reply:
    """The placeholder shown while an answer is worked on (Slack replaces it in place).

    Args:
        question: What was asked.
        name: Who asked, for a channel where several people talk.

    Returns:
        A one-line reply.
    """
    who = f" for {name}" if name else ""
    return Reply(headline=f"Looking up “{question}”{who} …")


def working(*, label: str, name: str) -> Reply:
    """What the clicker sees while a slow click is still being acted on.

    Args:
        label: The button's label.
        name: The clicker's display name.

    Returns:
        A one-line note.
    """
    return Reply(headline=f"⏳ {label} by {name}: working…")
