"""TWSClient against a scripted engine over real HTTP: paging, auth, errors, retries, breaker.

The behaviours here (a second page on another host, a 503 burst, a body that is not
JSON) are hard to provoke precisely on the simulator, so a small aiohttp server plays the
engine. The client's behaviour against the simulator is covered in test_client_simulator.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest
from aiohttp import web

from integrations.tws.client import TWSClient
from integrations.tws.errors import (
    CircuitOpenError,
    TWSActionRejectedError,
    TWSAuthError,
    TWSNotFoundError,
    TWSProtocolError,
    TWSRequestError,
    TWSUnavailableError,
)
from integrations.tws.models import JobAction, JobStatus, JobStreamAction

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
ENGINE_NOW = datetime(2026, 11, 23, 23, 15, 0, tzinfo=UTC)


def job_json(name: str, status: str = "SUCC", **extra: object) -> dict[str, object]:
    return {
        "id": f"id-{name}",
        "name": name,
        "jobStreamInPlan": {
            "id": "js-1",
            "name": "PAYROLL_DAILY",
            "startTime": "2026-11-23T21:00:00Z",
            "workstationKey": {"name": "MASTER"},
        },
        "workstationKey": {"name": "AGT_LNX01"},
        "status": {"internalStatus": status, "commonStatus": "SUCCESSFUL"},
        **extra,
    }


class Engine:
    """A scripted engine: routes plus a log of what it received."""

    def __init__(self) -> None:
        self.requests: list[web.Request] = []
        self.routes: dict[tuple[str, str], Handler] = {}
        self.url = ""

    def on(self, method: str, path: str, handler: Handler) -> None:
        self.routes[(method, path)] = handler

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(request)
        handler = self.routes.get((request.method, request.path))
        if handler is None:
            return web.json_response({"messages": ["AWSJCO005E not found"]}, status=404)
        response = await handler(request)
        response.headers["Date"] = format_datetime(ENGINE_NOW, usegmt=True)
        return response


@pytest.fixture
async def engine() -> AsyncIterator[Engine]:
    fake = Engine()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", fake.dispatch)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    fake.url = f"http://127.0.0.1:{port}"
    yield fake
    await runner.cleanup()


async def _no_sleep(_: float) -> None:
    return None


def client_for(engine: Engine, **kwargs: object) -> TWSClient:
    options: dict[str, object] = {"user": "twsuser", "password": "twspass", "sleep": _no_sleep}
    options.update(kwargs)
    return TWSClient(base_url=engine.url, **options)  # type: ignore[arg-type]


async def test_query_sends_oql_auth_and_request_id_and_reads_date(engine: Engine) -> None:
    async def jobs(request: web.Request) -> web.Response:
        return web.json_response({"count": 1, "results": [job_json("PAYROLL_EXTRACT", "ABEND")]})

    engine.on("GET", "/twsd/api/v2/plan/job", jobs)
    async with client_for(engine) as client:
        snap = await client.query_jobs(name="payroll_extract", statuses=[JobStatus.ABEND])
    request = engine.requests[0]
    assert request.query["oql"] == (
        "name = 'PAYROLL_EXTRACT' AND status IN ('ABEND') ORDER BY name ASC"
    )
    assert request.headers["Authorization"].startswith("Basic ")
    assert len(request.headers["Request-Id"]) == 36
    assert [job.name for job in snap.value] == ["PAYROLL_EXTRACT"]
    assert snap.value[0].status is JobStatus.ABEND
    assert snap.as_of == ENGINE_NOW
    assert snap.source == f"TWS {engine.url.removeprefix('http://')}"
    assert client.calls_made == 1


async def test_wildcard_becomes_like_and_results_are_rechecked(engine: Engine) -> None:
    async def jobs(request: web.Request) -> web.Response:
        # LIKE treats `_` as any character: PAYROLLXEXTRACT is what a real engine may add.
        results = [job_json("PAY_EXTRACT"), job_json("PAYXEXTRACT")]
        return web.json_response({"count": 2, "results": results})

    engine.on("GET", "/twsd/api/v2/plan/job", jobs)
    async with client_for(engine) as client:
        snap = await client.query_jobs(name="PAY_*")
    assert engine.requests[0].query["oql"] == "name LIKE 'PAY_%' ORDER BY name ASC"
    assert [job.name for job in snap.value] == ["PAY_EXTRACT"]


async def test_quotes_in_names_are_escaped(engine: Engine) -> None:
    async def jobs(request: web.Request) -> web.Response:
        return web.json_response({"count": 0, "results": []})

    engine.on("GET", "/twsd/api/v2/plan/job", jobs)
    async with client_for(engine) as client:
        await client.query_jobs(name="X' OR name LIKE '%")
    # The quote is doubled, so the whole text stays one literal (no OQL injection).
    assert engine.requests[0].query["oql"] == "name = 'X'' OR NAME LIKE ''%' ORDER BY name ASC"


async def test_follows_next_pages_and_stops_at_limit(engine: Engine) -> None:
    async def jobs(request: web.Request) -> web.Response:
        offset = int(request.query.get("offset", "0"))
        rows = [job_json(f"JOB{offset + i:03d}") for i in range(2)]
        body: dict[str, object] = {"count": 6, "results": rows}
        if offset + 2 < 6:
            body["next"] = f"/twsd/api/v2/plan/job?limit=2&offset={offset + 2}"
        return web.json_response(body)

    engine.on("GET", "/twsd/api/v2/plan/job", jobs)
    async with client_for(engine, page_size=2) as client:
        every = await client.query_jobs()
        assert [job.name for job in every.value] == [f"JOB{i:03d}" for i in range(6)]
        assert client.calls_made == 3
        first_three = await client.query_jobs(limit=3)
        assert len(first_three.value) == 3
        assert client.calls_made == 5


async def test_next_on_another_host_is_refused(engine: Engine) -> None:
    async def jobs(request: web.Request) -> web.Response:
        body = {"count": 2, "results": [job_json("A")], "next": "http://evil.example/steal"}
        return web.json_response(body)

    engine.on("GET", "/twsd/api/v2/plan/job", jobs)
    async with client_for(engine) as client:
        with pytest.raises(TWSProtocolError, match="another host"):
            await client.query_jobs()
    assert len(engine.requests) == 1


async def test_bearer_key_takes_precedence(engine: Engine) -> None:
    async def info(request: web.Request) -> web.Response:
        return web.json_response({"engineVersion": "10.2.8", "timeZone": "UTC"})

    engine.on("GET", "/twsd/api/v2/engine/info", info)
    async with client_for(engine, api_key="eyJ.key.sig") as client:
        snap = await client.engine_info()
    assert engine.requests[0].headers["Authorization"] == "Bearer eyJ.key.sig"
    assert snap.value.version == "10.2.8"


@pytest.mark.parametrize(
    ("status", "body", "error", "code"),
    [
        (401, {"messages": ["AWSBEH021E The user is not authorized."]}, TWSAuthError, "AWSBEH021E"),
        (
            404,
            {"messages": ["AWSJCO005E The object was not found."]},
            TWSNotFoundError,
            "AWSJCO005E",
        ),
        (400, {"messages": ["AWSBIO006E Composite key."]}, TWSRequestError, "AWSBIO006E"),
    ],
)
async def test_errors_are_typed_and_name_the_call(
    engine: Engine, status: int, body: dict[str, object], error: type[Exception], code: str
) -> None:
    async def answer(request: web.Request) -> web.Response:
        return web.json_response(body, status=status)

    engine.on("GET", "/twsd/api/v2/plan/job/abc", answer)
    async with client_for(engine) as client:
        with pytest.raises(error) as caught:
            await client.get_job("abc")
    assert caught.value.codes == [code]  # type: ignore[attr-defined]
    assert "GET /twsd/api/v2/plan/job/abc" in str(caught.value)
    assert len(engine.requests) == 1  # a 4xx is never retried


async def test_action_rejection_is_not_retried_and_sends_json_body(engine: Engine) -> None:
    async def action(request: web.Request) -> web.Response:
        assert request.content_type == "application/json"
        assert await request.json() == {}
        return web.json_response(
            {"messages": ['AWSBIN076E The action "rerun" is not valid in state EXEC.']}, status=400
        )

    engine.on("PUT", "/twsd/api/v2/plan/job/abc/action/rerun", action)
    async with client_for(engine) as client:
        with pytest.raises(TWSActionRejectedError) as caught:
            await client.job_action("abc", JobAction.RERUN)
    assert caught.value.codes == ["AWSBIN076E"]
    assert len(engine.requests) == 1


async def test_actions_are_never_retried_on_5xx(engine: Engine) -> None:
    async def action(request: web.Request) -> web.Response:
        return web.json_response({"messages": ["busy"]}, status=503)

    engine.on("PUT", "/twsd/api/v2/plan/job/abc/action/kill", action)
    async with client_for(engine, retries=3) as client:
        with pytest.raises(TWSUnavailableError):
            await client.job_action("abc", JobAction.KILL)
    assert len(engine.requests) == 1


async def test_reads_retry_through_a_5xx_burst(engine: Engine) -> None:
    calls = 0

    async def info(request: web.Request) -> web.Response:
        nonlocal calls
        calls += 1
        if calls <= 2:
            return web.json_response({"messages": ["temporarily unavailable"]}, status=503)
        return web.json_response({"engineVersion": "10.2.8"})

    engine.on("GET", "/twsd/api/v2/engine/info", info)
    async with client_for(engine, retries=2) as client:
        snap = await client.engine_info()
    assert snap.value.version == "10.2.8"
    assert calls == 3


async def test_malformed_json_is_a_protocol_error(engine: Engine) -> None:
    async def broken(request: web.Request) -> web.Response:
        return web.Response(text='{"count": 1, "results": [', content_type="application/json")

    engine.on("GET", "/twsd/api/v2/plan/job", broken)
    async with client_for(engine) as client:
        with pytest.raises(TWSProtocolError, match="not JSON"):
            await client.query_jobs()


async def test_missing_fields_are_a_protocol_error(engine: Engine) -> None:
    async def jobs(request: web.Request) -> web.Response:
        return web.json_response({"count": 1, "results": [{"id": "x"}]})

    engine.on("GET", "/twsd/api/v2/plan/job", jobs)
    async with client_for(engine) as client:
        with pytest.raises(TWSProtocolError, match="unreadable job"):
            await client.query_jobs()


async def test_timeout_is_unavailable_and_names_the_limit(engine: Engine) -> None:
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(2)
        return web.json_response({})

    engine.on("GET", "/twsd/api/v2/engine/info", slow)
    async with client_for(engine, timeout_seconds=0.2, retries=0) as client:
        with pytest.raises(TWSUnavailableError, match=r"no answer within 0.2 s"):
            await client.engine_info()


async def test_unreachable_engine_then_breaker_opens() -> None:
    # Nothing listens on this port: connection refused.
    client = TWSClient(
        base_url="http://127.0.0.1:9",
        retries=0,
        breaker_threshold=2,
        breaker_reset_seconds=60,
        sleep=_no_sleep,
    )
    async with client:
        for _ in range(2):
            with pytest.raises(TWSUnavailableError, match="cannot reach the engine"):
                await client.engine_info()
        sent = client.calls_made
        with pytest.raises(CircuitOpenError):
            await client.engine_info()
        assert client.calls_made == sent  # not even tried
        assert client.breaker_state == "open"


def test_bad_url_is_refused() -> None:
    with pytest.raises(ValueError, match="https://host:31116"):
        TWSClient(base_url="twsmaster:31116")


async def test_job_log_is_text(engine: Engine) -> None:
    async def joblog(request: web.Request) -> web.Response:
        return web.Response(text="line 1\n= Exit Status : 12\n", content_type="text/plain")

    engine.on("GET", "/twsd/api/v2/plan/job/run/r1/joblog", joblog)
    async with client_for(engine) as client:
        snap = await client.job_log("r1")
    assert "Exit Status : 12" in snap.value
    assert snap.as_of == ENGINE_NOW


async def test_job_stream_action_puts_once_then_reads_the_stream(engine: Engine) -> None:
    async def hold(request: web.Request) -> web.Response:
        assert await request.json() == {}
        return web.json_response({})

    async def stream(request: web.Request) -> web.Response:
        return web.json_response(
            {
                "id": "js-1",
                "name": "PAYROLL_DAILY",
                "workstation": "MASTER",
                "status": {"internalStatus": "HOLD"},
            }
        )

    engine.on("PUT", "/twsd/api/v2/plan/jobstream/js-1/action/hold", hold)
    engine.on("GET", "/twsd/api/v2/plan/jobstream/js-1", stream)
    async with client_for(engine) as client:
        snap = await client.job_stream_action("js-1", JobStreamAction.HOLD)
    assert snap.value.status.value == "HOLD"
    assert [(r.method, r.path) for r in engine.requests] == [
        ("PUT", "/twsd/api/v2/plan/jobstream/js-1/action/hold"),
        ("GET", "/twsd/api/v2/plan/jobstream/js-1"),
    ]


async def test_a_row_seen_on_two_pages_counts_once(engine: Engine) -> None:
    async def jobs(request: web.Request) -> web.Response:
        offset = int(request.query.get("offset", "0"))
        if offset == 0:
            body = {
                "count": 3,
                "results": [job_json("A"), job_json("B")],
                "next": "/twsd/api/v2/plan/job?offset=2",
            }
        else:  # B moved while paging and shows up again on the next page
            body = {"count": 3, "results": [job_json("B"), job_json("C")]}
        return web.json_response(body)

    engine.on("GET", "/twsd/api/v2/plan/job", jobs)
    async with client_for(engine, page_size=2) as client:
        snap = await client.query_jobs()
    assert [job.name for job in snap.value] == ["A", "B", "C"]


async def test_a_garbled_read_is_read_again(engine: Engine) -> None:
    calls = 0

    async def jobs(request: web.Request) -> web.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            return web.Response(text='{"count": 1, "resu', content_type="application/json")
        return web.json_response({"count": 1, "results": [job_json("A")]})

    engine.on("GET", "/twsd/api/v2/plan/job", jobs)
    async with client_for(engine, retries=1) as client:
        snap = await client.query_jobs()
    assert [job.name for job in snap.value] == ["A"]
    assert calls == 2


async def test_retry_after_is_honoured(engine: Engine) -> None:
    waits: list[float] = []

    async def record_sleep(seconds: float) -> None:
        waits.append(seconds)

    calls = 0

    async def info(request: web.Request) -> web.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            return web.json_response(
                {"messages": ["busy"]}, status=503, headers={"Retry-After": "3"}
            )
        return web.json_response({"engineVersion": "10.2.8"})

    engine.on("GET", "/twsd/api/v2/engine/info", info)
    async with client_for(engine, sleep=record_sleep) as client:
        await client.engine_info()
    assert waits == [3.0]


async def test_a_cancelled_trial_call_does_not_wedge_the_breaker(engine: Engine) -> None:
    mode = "fail"

    async def info(request: web.Request) -> web.Response:
        if mode == "fail":
            return web.json_response({"messages": ["down"]}, status=503)
        if mode == "slow":
            await asyncio.sleep(5)
        return web.json_response({"engineVersion": "10.2.8"})

    engine.on("GET", "/twsd/api/v2/engine/info", info)
    async with client_for(
        engine, retries=0, breaker_threshold=1, breaker_reset_seconds=0.05
    ) as client:
        with pytest.raises(TWSUnavailableError):
            await client.engine_info()  # the outage opens the breaker
        assert client.breaker_state == "open"
        await asyncio.sleep(0.1)  # half-open: the next call is the one trial
        mode = "slow"
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.2):
                await client.engine_info()  # the trial is cancelled by a time limit above
        mode = "up"
        snap = await client.engine_info()  # another trial is allowed, and succeeds
    assert snap.value.version == "10.2.8"
    assert client.breaker_state == "closed"
