"""A scripted OpenAI-compatible model server: the agent's tests and CI evaluation talk to it.

It serves ``POST /v1/chat/completions`` over real HTTP (litellm reaches it as it would a
vLLM or Ollama endpoint) and records every request. Two kinds of request:

- the router's (``response_format`` json_object): answered with `router_answer`
  (default ``{"kind": "unknown"}``, so the question goes on to the agent);
- the agent's: the step is the number of assistant turns in the conversation so far, and
  the script of the question (matched by its words) says what to do at that step:

  ``{"tools": [{"name": ..., "args": {...}}]}``  call tools;
  ``{"say": "text"}``                             answer in words;
  ``{"say_from_tools": N}``                       answer by quoting the first N lines of every
                                                  tool result received (a naive model that
                                                  repeats what it read, planted orders too).

A question with no script gets ``{"say": "I do not know."}``. `mode` breaks the model on
purpose: ``down`` (HTTP 503), ``slow`` (answers after `delay` seconds), ``garbage``, and
``agent_down`` (the router answers, the agent's requests get 503).
Usage is reported as about four characters a token, like the agent's own estimate.
"""

from __future__ import annotations

import asyncio
import html
import json
import re
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web

Step = dict[str, Any]

_BLOCK = re.compile(r"<tool_result[^>]*>\n?(.*?)\n?</tool_result>", re.DOTALL)


class ScriptedModel:
    """The fake model: scripts per question, every request recorded."""

    def __init__(self) -> None:
        self.scripts: dict[str, list[Step]] = {}
        self.router_answer: dict[str, Any] = {"kind": "unknown"}
        self.requests: list[dict[str, Any]] = []
        self.mode = "ok"
        self.delay = 0.0
        self.url = ""

    def script(self, question: str, steps: Sequence[Step]) -> None:
        """What to do, step by step, for a question holding ``question``."""
        self.scripts[question] = list(steps)

    def agent_requests(self) -> list[dict[str, Any]]:
        """The requests of the agent (not the router's), in order."""
        return [body for body in self.requests if "response_format" not in body]

    def prompts_text(self) -> str:
        """Everything sent to the model, as one text (to look for what must never be sent)."""
        return "\n".join(json.dumps(body) for body in self.requests)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests.append(body)
        if self.mode == "down":
            return web.json_response({"error": {"message": "overloaded"}}, status=503)
        if self.mode == "slow":
            await asyncio.sleep(self.delay)
        if self.mode == "garbage":
            return web.Response(text="<html>oops</html>", content_type="text/html")
        if "response_format" in body:
            return self._reply(body, content=json.dumps(self.router_answer))
        if self.mode == "agent_down":
            return web.json_response({"error": {"message": "overloaded"}}, status=503)
        return self._reply(body, **self._step(body))

    def _step(self, body: dict[str, Any]) -> dict[str, Any]:
        messages = body["messages"]
        question = next((m["content"] for m in messages if m["role"] == "user"), "")
        steps = next(
            (steps for words, steps in self.scripts.items() if words in question),
            [{"say": "I do not know."}],
        )
        index = sum(1 for m in messages if m["role"] == "assistant")
        step = steps[min(index, len(steps) - 1)]
        if "tools" in step and body.get("tools"):
            return {"calls": step["tools"]}
        if "tools" in step:  # no tools offered (the last step): the script's fallback words
            return {"content": step.get("else", "I ran out of steps.")}
        if "say_from_tools" in step:
            return {"content": _quote(messages, int(step["say_from_tools"]))}
        return {"content": str(step.get("say", ""))}

    def _reply(
        self,
        body: dict[str, Any],
        *,
        content: str | None = None,
        calls: Sequence[dict[str, Any]] = (),
    ) -> web.Response:
        tool_calls = [
            {
                "id": f"call_{len(self.requests)}_{i}",
                "type": "function",
                "function": {"name": call["name"], "arguments": json.dumps(call.get("args", {}))},
            }
            for i, call in enumerate(calls)
        ]
        message: dict[str, Any] = {"role": "assistant", "content": content}
        if tool_calls:
            message["tool_calls"] = tool_calls
        sent = len(json.dumps(body.get("messages", []))) + len(json.dumps(body.get("tools", [])))
        said = len(content or "") + len(json.dumps(tool_calls))
        return web.json_response(
            {
                "id": f"chatcmpl-{len(self.requests)}",
                "object": "chat.completion",
                "created": 1_700_000_000,
                "model": body.get("model", "fake"),
                "choices": [
                    {
                        "index": 0,
                        "message": message,
                        "finish_reason": "tool_calls" if tool_calls else "stop",
                    }
                ],
                "usage": {
                    "prompt_tokens": sent // 4,
                    "completion_tokens": said // 4,
                    "total_tokens": sent // 4 + said // 4,
                },
            }
        )


def _quote(messages: Sequence[dict[str, Any]], lines: int) -> str:
    """The first lines of every tool result received, unescaped (what a naive model says)."""
    out: list[str] = []
    for message in messages:
        if message["role"] != "tool":
            continue
        for block in _BLOCK.findall(str(message["content"])):
            out.extend(html.unescape(block).splitlines()[:lines])
    return "\n".join(out) or "I found nothing."


@asynccontextmanager
async def scripted_model() -> AsyncIterator[ScriptedModel]:
    """Run the fake model on a free loopback port for the duration of the block."""
    model = ScriptedModel()
    app = web.Application()
    app.router.add_post("/v1/chat/completions", model.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    model.url = f"http://127.0.0.1:{runner.addresses[0][1]}/v1"
    try:
        yield model
    finally:
        await runner.cleanup()
