"""Settings of the LLM agent for open questions (a part of `config.settings.Settings`).

Kept apart so the one `Settings` object stays readable; `Settings` inherits these fields.
They matter only with ``RESYNC_LLM_MODEL`` set (see docs/llm.md).
"""

from __future__ import annotations

from pydantic import BaseModel, Field

__all__ = ["LLMAgentSettings"]


class LLMAgentSettings(BaseModel):
    """The ``RESYNC_LLM_AGENT*`` settings."""

    llm_agent: bool = Field(
        default=True,
        description="With RESYNC_LLM_MODEL set, answer questions the parser cannot read "
        "(and those the LLM router files as unknown) with the read-only LLM agent; false: the "
        "LLM only routes.",
    )
    llm_agent_max_steps: int = Field(
        default=5,
        ge=1,
        le=20,
        description="LLM calls one open question may take; the last offers no tools.",
    )
    llm_agent_result_chars: int = Field(
        default=2000,
        ge=200,
        le=50_000,
        description="Characters of one tool result (job log, document...) the LLM is sent.",
    )
    llm_agent_token_budget: int = Field(
        default=12_000,
        ge=1_000,
        description="Tokens (prompt and completion, all steps) one open question may spend.",
    )
