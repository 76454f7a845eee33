"""document_extractor: text from txt, md, html, pdf and docx, by file reference or inline content."""

from __future__ import annotations

import base64
import io
import re
import zipfile

import docx
import pytest

from tests.workflows._helpers import failure, run_single
from workflows import Ports, extract_text
from workflows.testing import InMemoryFileStore


def minimal_pdf(lines: list[str]) -> bytes:
    """A one-page PDF with real text objects (Helvetica), xref offsets computed."""
    text = "BT /F1 12 Tf 72 720 Td " + " ".join(f"({line}) Tj 0 -16 Td" for line in lines) + " ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(text), text.encode()),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    out.writelines(b"%010d 00000 n \n" % offset for offset in offsets)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def minimal_docx() -> bytes:
    document = docx.Document()
    document.add_heading("Quarterly report", level=1)
    document.add_paragraph("Revenue grew by 12%.")
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text, table.rows[0].cells[1].text = "Region", "EMEA"
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


HTML = (
    b"<html><head><title>T</title><style>p{}</style></head>"
    b"<body><h1>Hello</h1><script>alert(1)</script><p>World &amp; more</p></body></html>"
)

FILES = {
    "f-txt": (b"plain text\nsecond line", "notes.txt", "text/plain"),
    "f-md": (b"# Title\n\n* item", "readme.md", ""),
    "f-html": (HTML, "page.html", "text/html"),
    "f-pdf": (minimal_pdf(["Invoice 42", "Total 99 EUR"]), "invoice.pdf", "application/pdf"),
    "f-docx": (minimal_docx(), "report.docx", ""),
}


@pytest.mark.parametrize(
    ("file_id", "expected"),
    [
        ("f-txt", ["plain text\nsecond line"]),
        ("f-md", ["# Title", "* item"]),
        ("f-html", ["Hello\nWorld & more"]),
        ("f-pdf", ["Invoice 42", "Total 99 EUR"]),
        ("f-docx", ["Quarterly report", "Revenue grew by 12%.", "Region | EMEA"]),
    ],
)
async def test_document_extractor_reads_each_format_through_the_file_store(
    file_id: str, expected: list[str]
) -> None:
    node = {"id": "doc", "type": "document_extractor", "config": {"file": "start.upload"}}
    result = await run_single(
        node,
        {"text": "doc.text"},
        {"upload": file_id},
        Ports(files=InMemoryFileStore(FILES)),
        input_fields=[{"name": "upload", "type": "file"}],
    )
    for piece in expected:
        assert piece in result.outputs["text"]
    assert "alert" not in result.outputs["text"] and "p{}" not in result.outputs["text"]


async def test_document_extractor_accepts_a_list_and_inline_content() -> None:
    node = {"id": "doc", "type": "document_extractor", "config": {"file": "start.files"}}
    files = [{"name": "a.txt", "content_base64": base64.b64encode(b"alpha").decode()}, {"text": "beta"}]
    result = await run_single(node, {"texts": "doc.texts"}, {"files": files})
    assert result.outputs == {"texts": ["alpha", "beta"]}


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"\x00\x01", "archive.zip", "unsupported document type"),
        (b"not a pdf", "broken.pdf", "cannot read pdf document"),
    ],
)
def test_unsupported_or_corrupt_documents_raise_a_node_error(content: bytes, name: str, message: str) -> None:
    with pytest.raises(Exception, match=message):
        extract_text(content, name)


def docx_bomb(size: int) -> bytes:
    """A .docx whose ``word/document.xml`` inflates to ``size`` bytes of spaces (about ``size / 1000`` zipped)."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(minimal_docx())) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bomb,
    ):
        for member in source.infolist():
            if member.filename != "word/document.xml":
                bomb.writestr(member, source.read(member))
                continue
            with bomb.open(member.filename, "w", force_zip64=True) as part:
                part.write(source.read(member).split(b"<w:body>")[0] + b"<w:body><w:p><w:r><w:t>")
                for _ in range(size // (1 << 20)):
                    part.write(b" " * (1 << 20))
                part.write(b"</w:t></w:r></w:p></w:body></w:document>")
    return out.getvalue()


@pytest.mark.parametrize(
    ("size", "message"),
    [
        (300 << 20, "the document expands to more than 200 MiB when unzipped"),
        (20 << 20, "the document's part 'word/document.xml' is compressed 10\\d\\d times"),
    ],
    ids=["inflates-past-the-cap", "compression-ratio"],
)
async def test_a_docx_zip_bomb_fails_the_node_before_it_is_inflated(size: int, message: str) -> None:
    # given: a few hundred KB that python-docx would read whole as hundreds of MB
    content = docx_bomb(size)
    assert len(content) < 1 << 20
    node = {"id": "doc", "type": "document_extractor", "config": {"file": "start.files"}}
    files = [{"name": "bomb.docx", "content_base64": base64.b64encode(content).decode()}]
    # when
    result = await run_single(node, {"text": "doc.text"}, {"files": files})
    # then
    error = failure(result, "doc")
    assert error["type"] == "NodeError"
    assert re.search(message, error["message"]), error


async def test_a_missing_file_fails_the_node() -> None:
    node = {"id": "doc", "type": "document_extractor", "config": {"file": "start.upload"}}
    result = await run_single(
        node,
        {"text": "doc.text"},
        {"upload": "nope"},
        Ports(files=InMemoryFileStore()),
        input_fields=[{"name": "upload", "type": "file"}],
    )
    assert failure(result, "doc")["type"] == "LookupError"
