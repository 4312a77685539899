"""`LLMClient`: chat completions through litellm: a JSON answer, or a tool-calling turn.

litellm is imported only when an LLM is configured, and never on the event loop: importing
it takes seconds, during which every conversation of the process would stall. `preload`
imports it in a worker thread at start-up; a call before that imports it the same way.
``LITELLM_LOCAL_MODEL_COST_MAP`` is set first so importing it never reaches the network
(DESIGN.md, verified pitfall).

`complete_json` asks for one JSON object (the router); `complete_tools` runs one turn of a
tool-calling conversation (the open-question agent): the model answers with text or with
calls of the tools offered, and the turn carries the tokens it cost. Every call adds to
`LLMClient.usage`, so a caller can tell what one question cost (calls, tokens).

Errors::

    LLMError    the call failed, timed out, or the answer was not a JSON object / not a turn
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from config.settings import Settings

__all__ = ["LLMClient", "LLMError", "LLMUsage", "ToolCall", "ToolTurn"]


class LLMError(Exception):
    """The LLM could not give a usable answer."""


@dataclass(slots=True)
class LLMUsage:
    """What the calls of one client cost so far (read the difference around a question).

    Attributes:
        calls: Completions asked for (failed ones included: they cost time).
        prompt_tokens: Tokens sent, as the endpoint reported them.
        completion_tokens: Tokens received.
    """

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def tokens(self) -> int:
        """Prompt and completion tokens together."""
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True, slots=True)
class ToolCall:
    """One call of a tool the model asked for.

    Attributes:
        id: The endpoint's id of the call (the tool's result refers to it).
        name: The tool's name.
        arguments: The arguments, parsed; empty when the model sent no valid JSON object.
        raw_arguments: The arguments as sent (for the model's own transcript).
    """

    id: str
    name: str
    arguments: Mapping[str, Any]
    raw_arguments: str


@dataclass(frozen=True, slots=True)
class ToolTurn:
    """The model's answer to one turn of a tool-calling conversation.

    Attributes:
        content: Its text (the final answer when it calls no tool), or None.
        tool_calls: The tools it wants called, in order.
        prompt_tokens: Tokens sent in this turn.
        completion_tokens: Tokens received.
    """

    content: str | None
    tool_calls: tuple[ToolCall, ...] = field(default_factory=tuple)
    prompt_tokens: int = 0
    completion_tokens: int = 0


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
        self.usage = LLMUsage()
        """Calls and tokens spent through this client, all questions together."""

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
        response = await self._complete(
            messages=[{"role": "system", "content": system}, {"role": "user", "content": user}],
            response_format={"type": "json_object"},
        )
        try:
            content = response.choices[0].message.content or ""
        except (AttributeError, IndexError, TypeError) as exc:
            raise LLMError(f"{self._model}: the answer has no message") from exc
        try:
            parsed = json.loads(_strip_fences(content))
        except ValueError as exc:
            raise LLMError(f"{self._model}: the answer is not JSON: {content[:200]!r}") from exc
        if not isinstance(parsed, dict):
            raise LLMError(f"{self._model}: the answer is not a JSON object")
        return parsed

    async def complete_tools(
        self, *, messages: Sequence[Mapping[str, Any]], tools: Sequence[Mapping[str, Any]]
    ) -> ToolTurn:
        """One turn of a tool-calling conversation.

        Args:
            messages: The conversation so far (OpenAI chat format: system, user, assistant
                with ``tool_calls``, tool results).
            tools: The tools offered (OpenAI ``{"type": "function", "function": ...}``);
                empty: none, the model must answer in words.

        Returns:
            The model's text or tool calls, and the tokens the turn cost.

        Raises:
            LLMError: The call failed or the answer is not a chat turn.
        """
        extra: dict[str, Any] = {"tools": list(tools), "tool_choice": "auto"} if tools else {}
        response = await self._complete(messages=list(messages), **extra)
        try:
            message = response.choices[0].message
            calls = tuple(
                _tool_call(call, index) for index, call in enumerate(message.tool_calls or ())
            )
            content = message.content
        except (AttributeError, IndexError, TypeError) as exc:
            raise LLMError(f"{self._model}: the answer is not a chat turn") from exc
        if content is not None and not isinstance(content, str):
            raise LLMError(f"{self._model}: the answer's content is not text")
        prompt, completion = _usage(response)
        return ToolTurn(
            content=content,
            tool_calls=calls,
            prompt_tokens=prompt,
            completion_tokens=completion,
        )

    async def _complete(self, *, messages: list[Any], **extra: Any) -> Any:
        """One completion, counted in `usage`; every failure becomes `LLMError`."""
        litellm = await self._module()
        self.usage.calls += 1
        try:
            response: Any = await litellm.acompletion(
                model=self._model,
                api_base=self._api_base,
                api_key=self._api_key,
                timeout=self._timeout,
                temperature=0,
                messages=messages,
                num_retries=0,
                **extra,
            )
        except Exception as exc:  # litellm raises many types; all mean "no answer"
            raise LLMError(f"{self._model}: {type(exc).__name__}: {exc}") from exc
        prompt, completion = _usage(response)
        self.usage.prompt_tokens += prompt
        self.usage.completion_tokens += completion
        return response


def _usage(response: Any) -> tuple[int, int]:
    """Prompt and completion tokens of a response (0 when the endpoint sent none)."""
    usage = getattr(response, "usage", None)
    prompt = getattr(usage, "prompt_tokens", 0) or 0
    completion = getattr(usage, "completion_tokens", 0) or 0
    return (int(prompt), int(completion))


def _tool_call(call: Any, index: int) -> ToolCall:
    """A tool call of the response; arguments that are not a JSON object become empty."""
    raw = call.function.arguments or ""
    try:
        parsed = json.loads(raw) if raw else {}
    except ValueError:
        parsed = {}
    return ToolCall(
        id=str(call.id or f"call_{index}"),
        name=str(call.function.name or ""),
        arguments=parsed if isinstance(parsed, dict) else {},
        raw_arguments=str(raw),
    )


def _strip_fences(text: str) -> str:
    """Models sometimes wrap JSON in a Markdown code fence."""
    text = text.strip()
    if text.startswith("```"):
        text = text.split("\n", 1)[1] if "\n" in text else ""
        text = text.rsplit("```", 1)[0]
    return text.strip()
