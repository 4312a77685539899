"""The terminal chat of ``resync chat`` and ``resync demo``.

``input()`` blocks, so it runs in a daemon thread that feeds an asyncio queue: the event
loop stays free, Ctrl-C cancels cleanly, and Ctrl-D (end of input) ends the chat. Line
editing and history come from ``readline`` when the platform has it.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import getpass
import threading
import uuid
from pathlib import Path
from types import ModuleType
from typing import TextIO

from agents.messages import Actions, Actor, ChatEvent, Platform
from bot.core.dispatcher import Dispatcher
from bot.render_text import render_text

__all__ = ["run_console"]

_QUIT = frozenset({"exit", "quit", "bye", ":q"})
_BUTTONS_HINT = (
    "(The buttons work in Slack and Teams, where colleagues approve; "
    "the terminal shows the card only.)"
)
_HISTORY_LINES = 1000


def _enable_history(path: Path | None) -> None:
    try:
        import readline  # optional: absent on some platforms
    except ImportError:
        return
    if path is None:
        return
    with contextlib.suppress(OSError):
        readline.read_history_file(path)
    readline.set_history_length(_HISTORY_LINES)

    atexit.register(lambda: _save_history(readline, path))


def _save_history(readline: ModuleType, path: Path) -> None:
    with contextlib.suppress(OSError):
        readline.write_history_file(str(path))


def _reader(loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[str | None], prompt: str) -> None:
    """Read lines in a thread; None marks end of input."""
    while True:
        try:
            line: str | None = input(prompt)
        except (EOFError, KeyboardInterrupt, OSError):
            line = None
        loop.call_soon_threadsafe(queue.put_nowait, line)
        if line is None:
            return


async def run_console(
    *,
    dispatcher: Dispatcher,
    banner: str,
    out: TextIO,
    interactive: bool,
    history_file: Path | None = None,
) -> int:
    """Chat in the terminal until end of input, ``exit``, or Ctrl-C.

    Args:
        dispatcher: Answers each message.
        banner: Printed once at the start.
        out: Where answers go.
        interactive: Show a prompt and keep history (stdin is a terminal).
        history_file: Where readline history is kept between sessions.

    Returns:
        The process exit code (0).
    """
    if interactive:
        _enable_history(history_file)
    actor = Actor(
        platform=Platform.CONSOLE, user_id=getpass.getuser(), display_name=getpass.getuser()
    )
    channel = f"tty-{uuid.uuid4().hex[:8]}"  # a fresh conversation per session
    print(banner, file=out, flush=True)
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[str | None] = asyncio.Queue()
    threading.Thread(
        target=_reader, args=(loop, queue, "you> " if interactive else ""), daemon=True
    ).start()
    while True:
        line = await queue.get()
        if line is None:
            break
        text = line.strip()
        if not text:
            continue
        if text.lower() in _QUIT:
            break
        event = ChatEvent(event_id=uuid.uuid4().hex, actor=actor, channel_id=channel, text=text)
        reply = await dispatcher.handle(event)
        print(render_text(reply), file=out, end="\n\n", flush=True)
        if any(isinstance(block, Actions) for block in reply.blocks):
            # Approvals are four-eyes decisions by colleagues; a terminal has one person.
            print(_BUTTONS_HINT, file=out, end="\n\n", flush=True)
    if interactive:
        print("bye", file=out, flush=True)
    return 0
