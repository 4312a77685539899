"""The terminal chat of ``resync chat`` and ``resync demo``.

``input()`` blocks, so it runs in a daemon thread that feeds an asyncio queue: the event
loop stays free while a question is answered. The thread asks for the next line only when
the chat hands it the turn, after the answer is printed: the prompt never comes before the
answer, so an answer never starts on the prompt line and nobody types on a line without one.

A question that takes more than a second says "working…"; Ctrl-C while it is answered
cancels that question only (the chat goes on); Ctrl-C at the prompt, Ctrl-D (end of input)
or ``exit`` end the chat. Long answers show one screenful; ``more`` shows the next. Line
editing and history come from ``readline`` when the platform has it.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import getpass
import io
import shutil
import signal
import sys
import textwrap
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, TextIO

from agents.formatting import format_clock
from agents.messages import Actions, Actor, ChatEvent, Platform, Reply
from bot.core.dispatcher import Dispatcher
from bot.core.paging import split_pages
from bot.render_text import render_text

if TYPE_CHECKING:
    from bot.app import Runtime

__all__ = ["banner", "run_console", "terminal_style", "tolerant_output"]

_QUIT = frozenset({"exit", "quit", "bye", ":q"})
_MORE = frozenset({"more", "m", "next"})
_BUTTONS_HINT = (
    "(The buttons work in Slack and Teams, where colleagues approve; "
    "the terminal shows the card only.)"
)
_HISTORY_LINES = 1000
_WORKING_AFTER_SECONDS = 1.0
_PAGE_MARGIN = 10  # lines of a screen kept for the headline, small print and the prompt
_MIN_PAGE_ROWS = 8


_BANNER = (
    "Resync — ask about the TWS plan. Try: what failed tonight? · status of PAYROLL* · "
    "why did PAYROLL_EXTRACT abend? · what is late? · help\n"
    "Source: {source}. {clock}\n"
    "Type more to see more of a long answer; Ctrl-C cancels a slow question; "
    "type exit or press Ctrl-D to leave."
)


def banner(parts: Runtime) -> str:
    """The first lines of a chat: what to ask, the source, the zone and (demo) the clock.

    Args:
        parts: The running process.

    Returns:
        The banner.
    """
    zone = parts.settings.zone
    if parts.simulator is None:
        return _BANNER.format(source=parts.scheduler.source, clock=f"Times are in {zone.key}.")
    speed = parts.settings.sim_speed
    now = format_clock(parts.simulator.state.clock.now(), zone=zone)
    # In the demo every time is the simulated clock's; say how fast it runs.
    pace = f"running at {speed:g}x (a simulated minute per real second)" if speed else "frozen"
    return _BANNER.format(
        source=f"bundled TWS simulator, scenario {parts.settings.sim_scenario}",
        clock=f"Times are in {zone.key}; simulated clock {now}, {pace}.",
    )


def tolerant_output(out: TextIO) -> None:
    """A terminal that is not UTF-8 shows ``?`` for a character it lacks, never a crash.

    Args:
        out: The output stream (reconfigured when it is a text wrapper).
    """
    if isinstance(out, io.TextIOWrapper):
        out.reconfigure(errors="replace")


def terminal_style(out: TextIO) -> tuple[int | None, bool]:
    """How to render for ``out``: its width (None when it is not a terminal) and UTF-8.

    Args:
        out: Where answers go.

    Returns:
        (width, unicode).
    """
    encoding = (getattr(out, "encoding", None) or "").lower().replace("-", "").replace("_", "")
    width = shutil.get_terminal_size().columns if out.isatty() else None
    return width, encoding == "utf8"


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


def _reader(
    loop: asyncio.AbstractEventLoop,
    queue: asyncio.Queue[str | None],
    prompt: str,
    turn: threading.Event,
) -> None:
    """Read one line each time the chat hands over the turn; None marks end of input."""
    while True:
        turn.wait()
        turn.clear()
        try:
            line: str | None = input(prompt)
        except (EOFError, KeyboardInterrupt, OSError):
            line = None
        loop.call_soon_threadsafe(queue.put_nowait, line)
        if line is None:
            return


@contextlib.contextmanager
def _terminal_restored(interactive: bool) -> Iterator[None]:
    """Give the terminal back as it was, even when the chat ends inside ``readline``."""
    try:
        import termios
    except ImportError:  # not POSIX
        yield
        return
    saved = None
    if interactive:
        with contextlib.suppress(termios.error, OSError, ValueError):
            saved = termios.tcgetattr(sys.stdin.fileno())
    try:
        yield
    finally:
        if saved is not None:
            with contextlib.suppress(termios.error, OSError, ValueError):
                termios.tcsetattr(sys.stdin.fileno(), termios.TCSADRAIN, saved)


@contextlib.contextmanager
def _on_interrupt(callback: Callable[[], None]) -> Iterator[None]:
    """Route Ctrl-C (SIGINT) to ``callback`` for as long as the chat runs."""
    loop = asyncio.get_running_loop()
    try:
        loop.add_signal_handler(signal.SIGINT, callback)
    except (NotImplementedError, RuntimeError, ValueError):  # no Unix signals here
        yield
        return
    try:
        yield
    finally:
        loop.remove_signal_handler(signal.SIGINT)


class _Chat:
    """One terminal session: the conversation, the question in progress, pages left."""

    def __init__(self, *, dispatcher: Dispatcher, out: TextIO, interactive: bool) -> None:
        self.dispatcher = dispatcher
        self.out = out
        self.interactive = interactive
        name = getpass.getuser()
        self.actor = Actor(platform=Platform.CONSOLE, user_id=name, display_name=name)
        self.channel = f"tty-{uuid.uuid4().hex[:8]}"  # a fresh conversation per session
        self.asking: asyncio.Task[Reply] | None = None
        self.leaving = asyncio.Event()
        self.pages: list[Reply] = []

    def say(self, text: str, end: str = "\n") -> None:
        print(text, file=self.out, end=end, flush=True)

    def interrupted(self) -> None:
        """Ctrl-C: cancel the question in progress; at the prompt, leave."""
        if self.asking is not None and not self.asking.done():
            self.asking.cancel()
        else:
            self.leaving.set()

    def show(self, reply: Reply) -> None:
        width, unicode = terminal_style(self.out)
        self.say(render_text(reply, width=width, unicode=unicode), end="\n\n")

    def show_next_page(self) -> None:
        if not self.pages:
            self.say("(nothing more to show)", end="\n\n")
            return
        self.show(self.pages.pop(0))
        self._say_more_left()

    def _say_more_left(self) -> None:
        if self.pages:
            left = len(self.pages)
            self.say(f"(type more for the next page: {left} more page{'s' if left > 1 else ''})")
            self.say("")

    def answer(self, reply: Reply) -> None:
        pages = [reply]
        if self.interactive:
            rows = max(_MIN_PAGE_ROWS, shutil.get_terminal_size().lines - _PAGE_MARGIN)
            pages = split_pages(reply, rows=rows)
        self.show(pages[0])
        self.pages = pages[1:]
        self._say_more_left()
        if any(isinstance(block, Actions) for block in reply.blocks):
            # Approvals are four-eyes decisions by colleagues; a terminal has one person.
            width = terminal_style(self.out)[0]
            self.say(textwrap.fill(_BUTTONS_HINT, width) if width else _BUTTONS_HINT, end="\n\n")

    async def ask(self, text: str) -> None:
        event = ChatEvent(
            event_id=uuid.uuid4().hex, actor=self.actor, channel_id=self.channel, text=text
        )
        self.asking = asyncio.create_task(self.dispatcher.handle(event))
        try:
            done, _ = await asyncio.wait({self.asking}, timeout=_WORKING_AFTER_SECONDS)
            if not done and self.interactive:
                dots = "…" if terminal_style(self.out)[1] else "..."
                self.say(f"working{dots} (Ctrl-C cancels this question)")
            reply = await self.asking
        except asyncio.CancelledError:
            if not self.asking.cancelled():
                self.asking.cancel()
                raise  # the chat itself is being stopped: the question goes with it
            # "\r": the terminal echoed ^C at the start of this line.
            self.say("\rcancelled", end="\n\n")
            return
        finally:
            self.asking = None
        self.answer(reply)


async def run_console(
    *,
    dispatcher: Dispatcher,
    banner: str,
    out: TextIO,
    interactive: bool,
    history_file: Path | None = None,
) -> int:
    """Chat in the terminal until end of input, ``exit``, or Ctrl-C at the prompt.

    Args:
        dispatcher: Answers each message.
        banner: Printed once at the start.
        out: Where answers go.
        interactive: Show a prompt, keep history, say "working…" and page long answers
            (stdin is a terminal).
        history_file: Where readline history is kept between sessions.

    Returns:
        The process exit code (0).
    """
    if interactive:
        _enable_history(history_file)
    chat = _Chat(dispatcher=dispatcher, out=out, interactive=interactive)
    if not terminal_style(out)[1]:  # not UTF-8: plain punctuation rather than "?"
        banner = banner.replace("—", "-").replace("·", "|")
    chat.say(banner)
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[str | None] = asyncio.Queue()
    turn = threading.Event()
    threading.Thread(
        target=_reader, args=(loop, queue, "you> " if interactive else "", turn), daemon=True
    ).start()
    ended_on_prompt = False  # Ctrl-D or Ctrl-C left the cursor after the prompt
    with _terminal_restored(interactive), _on_interrupt(chat.interrupted):
        while True:
            turn.set()  # the prompt comes only now, after the previous answer
            line = await _next_line(queue, chat.leaving)
            if line is None:
                ended_on_prompt = True
                break
            text = line.strip()
            if not text:
                continue
            if text.lower() in _QUIT:
                break
            if text.lower() in _MORE:
                chat.show_next_page()
                continue
            await chat.ask(text)
    if interactive:
        chat.say("\nbye" if ended_on_prompt else "bye")
    return 0


async def _next_line(queue: asyncio.Queue[str | None], leaving: asyncio.Event) -> str | None:
    """The next line typed, or None at end of input or when Ctrl-C asked to leave."""
    if leaving.is_set():
        return None
    line = asyncio.ensure_future(queue.get())
    leave = asyncio.ensure_future(leaving.wait())
    done, pending = await asyncio.wait({line, leave}, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    return line.result() if line in done else None
