"""Business words ("payroll", "billing", "gl") resolve to the job streams whose names hold them.

Against the simulator over HTTP; the expected job streams are read from its raw JSON API.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import aiohttp
import pytest

from agents.resolve import NameIndex, resolve
from integrations.tws.client import TWSClient
from integrations.tws.simulator import SimulatorServer

NOW = datetime(2026, 11, 23, 23, 30, tzinfo=UTC)
KEY = "resolve-words-key"


async def no_sleep(_: float) -> None:
    return None


@pytest.fixture
async def engine() -> AsyncIterator[tuple[TWSClient, list[str]]]:
    async with (
        SimulatorServer(scenario="normal", speed=0, now=NOW, api_keys=[KEY]) as sim,
        TWSClient(base_url=sim.url, api_key=KEY, sleep=no_sleep) as client,
        aiohttp.ClientSession(headers={"Authorization": f"Bearer {KEY}"}) as session,
        session.get(f"{sim.url}/twsd/api/v2/plan/jobstream", params={"limit": "500"}) as response,
    ):
        body = await response.json()
        yield client, [row["name"] for row in body["results"]]


def holding(word: str, names: list[str]) -> list[str]:
    return sorted(name for name in names if word in name.split("_"))


@pytest.mark.parametrize("word", ["PAYROLL", "BILLING", "GL", "CRM"])
async def test_a_word_resolves_to_the_streams_that_hold_it(
    engine: tuple[TWSClient, list[str]], word: str
) -> None:
    client, names = engine
    expected = holding(word, names)
    assert expected, word
    before = client.calls_made
    found = await resolve(client, word, index=NameIndex())
    assert found.by_word == word
    assert [stream.name for stream in found.streams] == expected
    assert found.jobs == []
    assert found.suggestions == []
    # The exact job and job stream lookups, then one for the word: no fuzzy name index read.
    assert client.calls_made - before == 3


async def test_a_word_inside_a_name_is_not_a_business_word(
    engine: tuple[TWSClient, list[str]],
) -> None:
    client, names = engine
    assert not holding("ROLL", names)
    assert any("ROLL" in name for name in names)  # PAYROLL_DAILY holds it, not as a word
    found = await resolve(client, "ROLL", index=NameIndex())
    assert found.by_word is None
    assert "PAYROLL_DAILY" not in [stream.name for stream in found.streams]


@pytest.mark.parametrize(
    ("typed", "job"), [("PAYROLL_EXTRACT", "PAYROLL_EXTRACT"), ("PAYRLL_EXTRCT", "PAYROLL_EXTRACT")]
)
async def test_job_names_and_typos_resolve_as_before(
    engine: tuple[TWSClient, list[str]], typed: str, job: str
) -> None:
    client, _ = engine
    found = await resolve(client, typed, index=NameIndex())
    assert found.by_word is None
    assert [item.name for item in found.jobs] == [job]


async def test_an_exact_stream_name_is_not_a_word_search(
    engine: tuple[TWSClient, list[str]],
) -> None:
    client, _ = engine
    found = await resolve(client, "GL_CLOSE", index=NameIndex())
    assert found.by_word is None
    assert [stream.name for stream in found.streams] == ["GL_CLOSE"]


async def test_a_word_no_stream_holds_falls_back_to_did_you_mean(
    engine: tuple[TWSClient, list[str]],
) -> None:
    client, names = engine
    assert not holding("PAYROL", names)
    found = await resolve(client, "PAYROL", index=NameIndex())
    assert found.by_word is None
    assert not found.found
    assert "PAYROLL_DAILY" in found.suggestions
