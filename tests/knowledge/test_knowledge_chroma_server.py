"""RESYNC_CHROMA_URL: two knowledge bases (two replicas) share one real chromadb server."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from knowledge.embedding import MiniLM
from knowledge.retrieval import KnowledgeBase


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def chroma_url(tmp_path: Path) -> Iterator[str]:
    port = _free_port()
    binary = Path(sys.executable).parent / "chroma"
    server = subprocess.Popen(
        [
            str(binary),
            "run",
            "--path",
            str(tmp_path / "srv"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    pytest.fail("the chromadb server did not start")
                time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.mark.slow
def test_replicas_share_documents_through_the_server(
    minilm: MiniLM, chroma_url: str, tmp_path: Path
) -> None:
    first = KnowledgeBase.open(directory=None, url=chroma_url)
    doc = tmp_path / "gateway.md"
    doc.write_text("# Gateway\n\n## Weekly reboot\n\nThe mainframe gateway reboots on Sundays.\n")
    first.add_document(doc)
    second = KnowledgeBase.open(directory=None, url=chroma_url)
    hit = second.search("when does the mainframe gateway reboot", kinds=["document"]).hits[0]
    assert hit.passage.section == "Gateway > Weekly reboot"
    assert hit.similarity is not None
    assert hit.similarity > 0.5
    second.remove(str(doc))
    first.refresh()  # the other replica sees the removal once it refreshes
    assert first.search("mainframe gateway reboot", kinds=["document"]).hits == ()
