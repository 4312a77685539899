"""`LLMClient`: one JSON-answering chat completion through litellm.

litellm is imported only when an LLM is configured, and never on the event loop: importing
it takes seconds, during which every conversation of the process would stall. `preload`
imports it in a worker thread at start-up; a call before that imports it the same way.
``LITELLM_LOCAL_MODEL_COST_MAP`` is set first so importing it never reaches the network
(DESIGN.md, verified pitfall).

Errors::

    LLMError    the call failed, timed out, or the answer was not a JSON object
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from config.settings import Settings

__all__ = ["LLMClient", "LLMError"]


class LLMError(Exception):
    """The LLM could not give a usable answer."""


def _import_litellm() -> ModuleType:
    """Import litellm (blocking, seconds): call it in a worker thread, never on the loop."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    return importlib.import_module("litellm")


class LLMClient:
    """Asks an LLM for a JSON object."""

    def __init__(
        self,
        *,
        model: str,
        api_base: str | None = None,
        api_key: str | None = None,
        timeout_seconds: float = 30.0,
    ) -> None:
        """Configure the client; nothing is imported or called yet.

        Args:
            model: litellm model name, e.g. ``openai/gpt-4o-mini``.
            api_base: OpenAI-compatible base URL (``http://host/v1``).
            api_key: The endpoint's key.
            timeout_seconds: Limit for one call.
        """
        self._model = model
        self._api_base = api_base
        self._api_key = api_key
        self._timeout = timeout_seconds
        self._litellm: ModuleType | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> LLMClient | None:
        """The configured LLM, or None when ``RESYNC_LLM_MODEL`` is unset."""
        if not settings.llm_model:
            return None
        return cls(
            model=settings.llm_model,
            api_base=settings.llm_api_base,
            api_key=settings.llm_api_key.get_secret_value() if settings.llm_api_key else None,
            timeout_seconds=settings.llm_timeout_seconds,
        )

    @property
    def model(self) -> str:
        """The model name."""
        return self._model

    async def preload(self) -> None:
        """Import litellm in a worker thread, so no question waits for it on the event loop.

        Call it at start-up; calling it again costs nothing.
        """
        await self._module()

    async def _module(self) -> ModuleType:
        if self._litellm is None:
            # A thread, not the loop; the import lock makes a second thread wait for the
            # first one's import instead of seeing a half-imported module.
            self._litellm = await asyncio.to_thread(_import_litellm)
        return self._litellm

    async def complete_json(self, *, system: str, user: str) -> dict[str, Any]:
        """Ask once and parse the answer as a JSON object.

        Args:
            system: Instructions.
            user: The user's message.

        Returns:
            The parsed object.

        Raises:
            LLMError: The call failed or the answer is not a JSON object.
        """
        litellm = await self._module()
        try:
            response: Any = await litellm.acompletion(
                model=self._model,
                api_base=self._api_base,
                api_key=self._api_key,
                timeout=self._timeout,
                temperature=0,
                response_format={"type": "json_object"},
                messages=[{"role": "system", "content": system}, {"role": "user", "content": user}],
                num_retries=0,
            )
            content = response.choices[0].message.content or ""
        except Exception as exc:  # litellm raises many types; all mean "no answer"
            raise LLMError(f"{self._model}: {type(exc).__name__}: {exc}") from exc
        try:
            parsed = json.loads(_strip_fences(content))
        except ValueError as exc:
            raise LLMError(f"{self._model}: the answer is not JSON: {content[:200]!r}") from exc
        if not isinstance(parsed, dict):
            raise LLMError(f"{self._model}: the answer is not a JSON object")
        return parsed


def _strip_fences(text: str) -> str:
    """Models sometimes wrap JSON in a Markdown code fence."""
    text = text.strip()
    if text.startswith("```"):
        text = text.split("\n", 1)[1] if "\n" in text else ""
        text = text.rsplit("```", 1)[0]
    return text.strip()
