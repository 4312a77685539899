"""Operator documents into passages: headings, fences, long sections, HTML, text, PDF."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.documents import DocumentError, chunk_markdown, read_document

GUIDE = """# Restart guide

Intro paragraph.

## Stop the agent

Run stop.

```sh
# not a heading: inside a fence
conman "stop AGT"
```

### On the host

Use ShutDownLwa.

## Start it again

Run start.
"""


def test_markdown_is_split_at_headings_with_their_path() -> None:
    title, chunks = chunk_markdown(GUIDE, default_title="guide")
    assert title == "Restart guide"
    assert [c.section for c in chunks] == [
        "Restart guide",
        "Restart guide > Stop the agent",
        "Restart guide > Stop the agent > On the host",
        "Restart guide > Start it again",
    ]
    assert "# not a heading: inside a fence" in chunks[1].text


def test_long_sections_are_cut_at_paragraphs() -> None:
    paragraph = " ".join(["word"] * 100)
    text = "# Long\n\n" + "\n\n".join([paragraph] * 5)
    _, chunks = chunk_markdown(text, default_title="x")
    assert len(chunks) == 5
    assert all(c.section == "Long" for c in chunks)


def test_html_headings_become_sections(tmp_path: Path) -> None:
    page = tmp_path / "wiki.html"
    page.write_text(
        "<html><head><title>Ops wiki</title><script>var x = 1;</script></head><body>"
        "<h1>Ops wiki</h1><p>About the batch.</p><h2>Disk full on AGT01</h2>"
        "<p>Clean /var/tmp first.</p></body></html>",
        encoding="utf-8",
    )
    doc = read_document(page)
    assert doc.title == "Ops wiki"
    assert [c.section for c in doc.chunks] == ["Ops wiki", "Ops wiki > Disk full on AGT01"]
    assert "var x" not in " ".join(c.text for c in doc.chunks)


def test_plain_text_and_digest(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("First paragraph.\n\nSecond one.", encoding="utf-8")
    first = read_document(notes)
    assert first.title == "notes"
    assert [c.text for c in first.chunks] == ["First paragraph.\n\nSecond one."]
    notes.write_text("Changed.", encoding="utf-8")
    assert read_document(notes).digest != first.digest


def _pdf(text: str) -> bytes:
    """A one-page PDF with one line of text (Helvetica), offsets computed."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def test_pdf_pages_become_sections(tmp_path: Path) -> None:
    pdf = tmp_path / "vendor-guide.pdf"
    pdf.write_bytes(_pdf("Restart the agent with conman start"))
    doc = read_document(pdf)
    assert doc.title == "vendor-guide"
    assert doc.chunks[0].section == "page 1"
    assert "Restart the agent" in doc.chunks[0].text


def test_unsupported_and_unreadable_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match=r"unsupported type \.docx"):
        read_document(tmp_path / "x.docx")
    with pytest.raises(DocumentError, match=r"missing\.md"):
        read_document(tmp_path / "missing.md")
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(b"not a pdf")
    with pytest.raises(DocumentError, match="not a readable PDF"):
        read_document(bad)
    empty = tmp_path / "empty.md"
    empty.write_text("\n\n", encoding="utf-8")
    with pytest.raises(DocumentError, match="no text"):
        read_document(empty)
