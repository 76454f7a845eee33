"""Hostile documents, generated small: each is a few KB to a few hundred KB on the wire and would expand to
hundreds of MB (or GBs) in a naive parser."""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from collections.abc import Callable

from tests.knowledge.factories import docx_bytes, xlsx_bytes

MIB = 1024 * 1024


def _rezip(original: bytes, replace: dict[str, Callable[[zipfile.ZipFile], None]]) -> bytes:
    """``original`` with the members named in ``replace`` written by their writer instead."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(original)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf,
    ):
        for member in source.infolist():
            if member.filename in replace:
                replace[member.filename](zf)
            else:
                zf.writestr(member, source.read(member))
    return out.getvalue()


def _streamed(
    name: str, head: bytes, filler: bytes, size: int, tail: bytes
) -> Callable[[zipfile.ZipFile], None]:
    """A writer of member ``name``: ``head``, ``filler`` repeated to about ``size`` bytes, ``tail``."""

    def write(zf: zipfile.ZipFile) -> None:
        block = filler * (MIB // len(filler))
        with zf.open(name, "w", force_zip64=True) as member:
            member.write(head)
            for _ in range(size // len(block)):
                member.write(block)
            member.write(tail)

    return write


def xlsx_declared_dimension(rows: int = 1000) -> bytes:
    """A real ``rows`` x 3 sheet whose ``<dimension>`` claims ``A1:XFD1048576`` (1.5 KB per 300 rows):
    openpyxl pads every row to 16,384 columns."""
    content = xlsx_bytes([["animal", "food", "n"], *[["owl", "mice", i] for i in range(rows)]])
    with zipfile.ZipFile(io.BytesIO(content)) as zf:
        sheet = zf.read("xl/worksheets/sheet1.xml")
    claimed = re.sub(rb'<dimension ref="[^"]+"', b'<dimension ref="A1:XFD1048576"', sheet)
    assert claimed != sheet
    return _rezip(
        content, {"xl/worksheets/sheet1.xml": lambda zf: zf.writestr("xl/worksheets/sheet1.xml", claimed)}
    )


def xlsx_sheet(rows_xml: bytes, dimension: bytes = b"A1") -> bytes:
    """An .xlsx whose first sheet's ``<sheetData>`` is ``rows_xml`` and whose declared size is ``dimension``."""
    content = xlsx_bytes([["x"]])
    with zipfile.ZipFile(io.BytesIO(content)) as zf:
        sheet = zf.read("xl/worksheets/sheet1.xml")
    sheet = re.sub(rb'<dimension ref="[^"]+"', b'<dimension ref="' + dimension + b'"', sheet)
    sheet = re.sub(
        rb"<sheetData>.*</sheetData>|<sheetData\s*/>", b"<sheetData>" + rows_xml + b"</sheetData>", sheet
    )
    return _rezip(
        content, {"xl/worksheets/sheet1.xml": lambda zf: zf.writestr("xl/worksheets/sheet1.xml", sheet)}
    )


def xlsx_wide_rows(rows: int = 400) -> bytes:
    """Rows of two real cells, in columns A and XFD (as declared): each row pads to 16,384 cells."""
    row = '<row r="{0}"><c r="A{0}" t="inlineStr"><is><t>owl</t></is></c><c r="XFD{0}"><v>1</v></c></row>'
    return xlsx_sheet("".join(row.format(i) for i in range(1, rows + 1)).encode(), b"A1:XFD%d" % rows)


def xlsx_far_row() -> bytes:
    """Two rows, the second numbered 50,000,000: a parser yields every missing row in between."""
    cell = '<row r="{0}"><c r="A{0}"><v>1</v></c></row>'
    return xlsx_sheet((cell.format(1) + cell.format(50_000_000)).encode())


def xlsx_many_cells(rows: int, columns: int) -> bytes:
    """``rows`` x ``columns`` real, distinct numeric cells."""
    row = "<row>" + "<c><v>{}</v></c>" * columns + "</row>"
    return xlsx_sheet(
        "".join(row.format(*range(r * columns, (r + 1) * columns)) for r in range(rows)).encode()
    )


def docx_zip_bomb(size: int = 300 * MIB) -> bytes:
    """A .docx whose ``word/document.xml`` inflates to ``size`` bytes (one paragraph of spaces)."""
    head = (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r>'
        b'<w:t xml:space="preserve">'
    )
    tail = b"</w:t></w:r></w:p></w:body></w:document>"
    return _rezip(
        docx_bytes(["x"]), {"word/document.xml": _streamed("word/document.xml", head, b" ", size, tail)}
    )


def pdf_stream_bomb(operations: int = 20_000_000) -> bytes:
    """A one-page PDF whose Flate content stream inflates to ``operations`` text-showing operators (about
    ``8 * operations`` bytes): each becomes Python objects in pypdf's content parser."""
    stream = zlib.compress(b"BT /F1 12 Tf " + b"(owls) Tj\n" * operations + b"ET", 9)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def json_deep(depth: int = 100_000) -> bytes:
    return b"[" * depth + b"]" * depth


def json_many_objects(count: int = 3_000_000) -> bytes:
    """``count`` empty objects in one array (3 bytes each on the wire, about 100 bytes each in memory)."""
    return b"[" + b"{}," * count + b"{}]"


def csv_giant_field(size: int = 10 * MIB) -> bytes:
    return b"animal,notes\nowl," + b"x" * size + b"\n"
