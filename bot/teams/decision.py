"""Teams re-export of the platform-neutral click model (`bot.decisions`).

A Teams decision is only built from a button the bot itself rendered: the surface checks
the clicked ``action_id`` against the stored reply, so a forged payload cannot invent a
button (and takes the value from the stored button, not from the click).
"""

from __future__ import annotations

from bot.decisions import Decision, DecisionHandler, DecisionOutcome

__all__ = ["Decision", "DecisionHandler", "DecisionOutcome"]
