"""The optional LLM, reached through litellm (any OpenAI-compatible endpoint)."""

from integrations.llm.client import LLMClient, LLMError, LLMUsage, ToolCall, ToolTurn

__all__ = ["LLMClient", "LLMError", "LLMUsage", "ToolCall", "ToolTurn"]
