"""``resync audit forward [--once]``: progress output, exit codes, the persisted cursor."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import socketserver
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot import cli_audit
from config.settings import Settings
from config.siem_settings import SiemSettings
from integrations.audit import open_audit_log


class _Settings(Settings, SiemSettings):
    """`Settings` with the SIEM part (as once `Settings` inherits `SiemSettings`)."""


class _Receiver(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Frames)
        self.frames: list[str] = []
        self.lock = threading.Lock()


class _Frames(socketserver.StreamRequestHandler):
    server: _Receiver

    def handle(self) -> None:
        while True:
            head = b""
            while not head.endswith(b" "):
                byte = self.rfile.read(1)
                if not byte:
                    return
                head += byte
            body = self.rfile.read(int(head))
            with self.server.lock:
                self.server.frames.append(body.decode())


@pytest.fixture
def receiver() -> Iterator[_Receiver]:
    server = _Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _fill(settings: Settings, count: int) -> None:
    async def fill() -> None:
        log = await open_audit_log(settings)
        for n in range(count):
            await log.record(
                action="question", outcome="answered", actor_id=f"U{n}", actor_identity=None
            )
        await log.close()

    asyncio.run(fill())


def _run(settings: Settings, *argv: str) -> int:
    parser = argparse.ArgumentParser(prog="resync")
    cli_audit.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["audit", *argv])
    result: int = args.handler(args, settings)
    return result


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_forward_once_sends_everything_then_nothing_new(
    tmp_path: Path, receiver: _Receiver, capsys: pytest.CaptureFixture[str]
) -> None:
    port = receiver.server_address[1]
    settings = _Settings(
        data_dir=tmp_path, siem_syslog_address=f"127.0.0.1:{port}", siem_batch_size=4
    )
    _fill(settings, 10)
    assert _run(settings, "forward", "--once") == 0
    out = capsys.readouterr().out
    assert "syslog: sent 4 records, backlog 6" in out
    assert "syslog: sent 2 records, backlog 0" in out
    assert f"syslog tcp://127.0.0.1:{port}: 10 records sent, backlog 0" in out
    _wait(lambda: len(receiver.frames) >= 10)
    assert [f"externalId={n} " in frame for n, frame in enumerate(receiver.frames, 1)] == [
        True
    ] * 10
    assert (tmp_path / "siem-syslog.cursor").stat().st_mode & 0o777 == 0o600
    # The cursor persisted: a second run has nothing to send.
    assert _run(settings, "forward", "--once") == 0
    assert ": 0 records sent, backlog 0" in capsys.readouterr().out
    assert len(receiver.frames) == 10


def test_forward_once_with_the_receiver_down_exits_1_keeping_the_backlog(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = _Settings(data_dir=tmp_path, siem_syslog_address=f"127.0.0.1:{_closed_port()}")
    _fill(settings, 3)
    assert _run(settings, "forward", "--once") == 1
    out = capsys.readouterr().out
    assert "syslog: FAILED: syslog tcp://127.0.0.1:" in out
    assert "0 records sent, backlog 3" in out


def test_forward_without_a_destination_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = _Settings(data_dir=tmp_path)
    _fill(settings, 1)
    assert _run(settings, "forward", "--once") == 2
    assert "no SIEM destination" in capsys.readouterr().err
    # A half-configured destination is refused when the settings load (exit 2 from the CLI).
    with pytest.raises(ValidationError, match="RESYNC_SIEM_HEC_TOKEN"):
        _Settings(data_dir=tmp_path, siem_hec_url="https://splunk:8088")


def test_forward_without_a_log_creates_nothing(tmp_path: Path) -> None:
    settings = _Settings(data_dir=tmp_path / "missing", siem_syslog_address="127.0.0.1:1")
    assert _run(settings, "forward", "--once") == 1
    assert not (tmp_path / "missing").exists()


def test_forward_runs_until_sigterm(
    tmp_path: Path, receiver: _Receiver, capsys: pytest.CaptureFixture[str]
) -> None:
    port = receiver.server_address[1]
    settings = _Settings(
        data_dir=tmp_path, siem_syslog_address=f"127.0.0.1:{port}", siem_poll_seconds=0.05
    )
    _fill(settings, 5)

    def stop_when_delivered() -> None:
        _wait(lambda: len(receiver.frames) >= 5)
        os.kill(os.getpid(), signal.SIGTERM)

    stopper = threading.Thread(target=stop_when_delivered, daemon=True)
    stopper.start()
    assert _run(settings, "forward") == 0
    stopper.join(5)
    assert f"syslog tcp://127.0.0.1:{port}: 5 records sent, backlog 0" in capsys.readouterr().out


def _wait(condition: object, timeout: float = 10.0) -> None:
    assert callable(condition)
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail("timed out waiting for the receiver")
        time.sleep(0.01)
