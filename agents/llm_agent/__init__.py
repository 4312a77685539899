"""The bounded LLM agent for open questions (only with ``RESYNC_LLM_MODEL``).

`OpenQuestionAgent` answers what the parser and the LLM router could not file, through a
LangGraph tool-calling loop (`loop`) over read-only tools (`specs`, `tools`); tool output
enters the prompt as delimited untrusted data (`data`) and the final answer is checked
(`guard`). See docs/llm.md.
"""

from agents.llm_agent.agent import FOCUS, QUESTION, OpenQuestionAgent
from agents.llm_agent.loop import AgentLimits

__all__ = ["FOCUS", "QUESTION", "AgentLimits", "OpenQuestionAgent"]
