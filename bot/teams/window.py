"""`ClickWindow`: the time an ``Action.Execute`` invoke waits for its answer.

Teams shows the invoke response to the clicker only, so it is Teams' private note: the
first note the core whispers to the clicker becomes the response (the card as it is now,
with the note under it), and a card replaced meanwhile is shown replaced. Once the window
is answered (or its wait is over), later notes go into the thread, addressed to the clicker
(`bot.teams.port.TeamsPort.whisper`).
"""

from __future__ import annotations

import asyncio
from typing import Any

from agents.messages import Reply
from bot.teams.card_records import CardRecord
from bot.teams.cards import CARD_BUDGET_BYTES, render_card

__all__ = ["ClickWindow"]


class ClickWindow:
    """The clicker's view of a card while an ``Action.Execute`` invoke waits for its answer."""

    def __init__(self, record: CardRecord, *, budget_bytes: int = CARD_BUDGET_BYTES) -> None:
        """Open the window on a card.

        Args:
            record: The clicked card, as stored.
            budget_bytes: Most bytes the card may take.
        """
        self.record = record
        self._shown = record.reply
        self._budget = budget_bytes
        self._view: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()

    @property
    def open(self) -> bool:
        """Whether the invoke still waits for its answer."""
        return not self._view.done()

    def _card(self, note: Reply | None) -> dict[str, Any]:
        return render_card(
            self._shown, card_id=self.record.card_id, note=note, budget_bytes=self._budget
        ).card

    def replaced(self, reply: Reply) -> None:
        """The card was replaced for everyone: the clicker sees the new one too."""
        self._shown = reply

    def answer(self, note: Reply) -> bool:
        """Answer the invoke with the card and this note under it.

        Args:
            note: For the clicker only.

        Returns:
            True when this answered the invoke; False when it was answered already.
        """
        if not self.open:
            return False
        self._view.set_result(self._card(note))
        return True

    def finish(self) -> None:
        """The click's work is done (or dropped): answer with the card as it is now."""
        if self.open:
            self._view.set_result(self._card(None))

    async def view(self, wait_seconds: float) -> dict[str, Any]:
        """The invoke response: the first note, or the card when done, at most after a wait.

        Args:
            wait_seconds: Longest wait; then the card as it is now (notes go to the thread).

        Returns:
            The card for the invoke response.
        """
        try:
            return await asyncio.wait_for(asyncio.shield(self._view), max(wait_seconds, 0.0))
        except TimeoutError:
            self.finish()
            return self._view.result()
