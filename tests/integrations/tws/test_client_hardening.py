"""TWSClient hardening: bounded job logs, no credentials in its name, exact names with ``[``.

A small aiohttp server plays the engine where the behaviour needs a precise body (a log
streamed in chunks); the rest needs no engine at all.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from integrations.tws.client import TWSClient
from integrations.tws.oql import name_matches
from integrations.tws.scheduler import JOB_LOG_WINDOW_BYTES

LOG_PATH = "/twsd/api/v2/plan/job/run/r1/joblog"
CHUNK = (b"INFO  [main] batch processed, 2000 records written" + b" " * 13 + b"\n") * 1024
TRAILER = b"ORA-01555: snapshot too old\n= Exit Status           : 12\n= END\n"
CHUNKS = 128  # 8 MB


@pytest.fixture
async def engine() -> AsyncIterator[str]:
    async def joblog(request: web.Request) -> web.StreamResponse:
        # Streamed chunk by chunk, as a master sends a big stdlist: the engine side holds
        # one chunk at a time, so what the test measures is the client's memory.
        response = web.StreamResponse(headers={"Content-Type": "text/plain"})
        await response.prepare(request)
        for _ in range(CHUNKS):
            await response.write(CHUNK)
        await response.write(TRAILER)
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_get(LOG_PATH, joblog)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


async def test_a_long_log_is_read_as_a_stream_and_only_its_end_is_kept(engine: str) -> None:
    size = CHUNKS * len(CHUNK) + len(TRAILER)
    async with TWSClient(base_url=engine, user="u", password="p") as client:
        tracemalloc.start()
        try:
            tail = (await client.job_log_tail("r1")).value
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()

    assert tail.truncated
    assert tail.size_bytes == size
    assert len(tail.text.encode()) <= JOB_LOG_WINDOW_BYTES
    assert tail.text.endswith(TRAILER.decode())
    assert tail.text.startswith("INFO  [main] batch processed")  # the cut line is dropped
    # Reading the whole 8 MB log would hold it (and its text) at once. Here the peak is
    # the window plus the fixed cost of a request (both ends of it run in this process:
    # about 0.7 MB with a 1 KB window), far below the log.
    assert peak < size // 4, peak


async def test_job_log_text_is_bounded_by_the_same_window(engine: str) -> None:
    async with TWSClient(base_url=engine, user="u", password="p") as client:
        text = (await client.job_log("r1")).value
        small = (await client.job_log_tail("r1", max_bytes=1000)).value

    assert len(text.encode()) <= JOB_LOG_WINDOW_BYTES
    assert "= Exit Status           : 12" in text
    assert len(small.text.encode()) <= 1000
    assert small.text.endswith("= END\n")


@pytest.mark.parametrize(
    "url",
    [
        "https://ops:s3cret@twsmaster:31116",
        "https://ops@twsmaster:31116",
        "https://ops:p%40ss@twsmaster:31116/",
    ],
)
def test_the_source_never_shows_credentials_of_the_url(url: str) -> None:
    client = TWSClient(base_url=url)
    assert client.source == "TWS twsmaster:31116"


def test_a_refused_url_is_not_echoed_with_its_credentials() -> None:
    with pytest.raises(ValueError, match="https://host:31116") as refused:
        TWSClient(base_url="ftp://ops:s3cret@twsmaster:31116")
    assert "s3cret" not in str(refused.value)
    assert "twsmaster:31116" in str(refused.value)


def test_a_bracket_in_a_name_is_a_character_not_a_set() -> None:
    # The engine answers an exact query for `JOB[1]` with that job; the client's re-check
    # must keep it (fnmatch alone would read `[1]` as "the character 1").
    assert name_matches("JOB[1]", "JOB[1]")
    assert not name_matches("JOB[1]", "JOB1")
    assert name_matches("JOB*", "JOB[1]")
    assert name_matches("PAY?", "PAYX")
