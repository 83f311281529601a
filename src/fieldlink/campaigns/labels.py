"""Direct-mail output: a CSV of recipients, and address labels as a PDF (Avery 5160).

The PDF is written directly (PDF 1.4, the standard Helvetica font, WinAnsi text): one
content stream per page, 30 labels per US-letter page, 3 columns × 10 rows of 2.625" × 1".
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

from fieldlink.campaigns.queries import MailingAddress
from fieldlink.campaigns.rules import (
    LABEL_HEIGHT,
    LABEL_WIDTH,
    LABELS_PER_PAGE,
    PAGE_HEIGHT,
    PAGE_WIDTH,
    label_origin,
)

CSV_COLUMNS = ("customer_id", "name", "line1", "line2", "city", "region", "postcode", "country")
FONT_SIZE = 9.0
LEADING = 10.5
PADDING = 9.0  # points inside the label's left edge (labels have rounded corners)


def _cell(value: object) -> str:
    # CSV injection: a cell starting with = + - @ is a formula to a spreadsheet.
    text = "" if value is None else str(value)
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_rows(addresses: Iterable[MailingAddress]) -> Iterator[str]:
    """The CSV, a line at a time (streamed)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for a in addresses:
        row = (a.customer_id, a.name, a.line1, a.line2, a.city, a.region, a.postcode, a.country)
        writer.writerow([_cell(v) for v in row])
        if buffer.tell() > 64_000:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _pdf_text(value: str) -> bytes:
    """A PDF literal string in WinAnsi (cp1252); characters outside it become '?'.
    Formula-like leading characters are harmless here (this is not a spreadsheet)."""
    raw = value.encode("cp1252", errors="replace")
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def _fit(line: str, width: float) -> str:
    # Helvetica averages ~0.5 em per character: cut what cannot fit on the label.
    limit = int(width / (FONT_SIZE * 0.5))
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _page_stream(labels: list[list[str]], first_index: int) -> bytes:
    ops = [b"BT", b"/F1 %.1f Tf" % FONT_SIZE, b"%.1f TL" % LEADING]
    for i, lines in enumerate(labels):
        _, x, y = label_origin(first_index + i)
        lines = lines[:5]
        block = LEADING * (len(lines) - 1) + FONT_SIZE
        top = y + (LABEL_HEIGHT + block) / 2 - FONT_SIZE  # vertically centred
        ops.append(b"1 0 0 1 %.2f %.2f Tm" % (x + PADDING, top))
        for n, line in enumerate(lines):
            text = _pdf_text(_fit(line, LABEL_WIDTH - 2 * PADDING))
            ops.append(text + (b" Tj" if n == 0 else b" '"))
    ops.append(b"ET")
    return b"\n".join(ops)


def labels_pdf(addresses: Iterable[MailingAddress]) -> bytes:
    """Avery 5160 address labels for ``addresses``; an empty list gives one blank page."""
    pages: list[bytes] = []
    current: list[list[str]] = []
    index = 0
    for address in addresses:
        current.append(address.lines())
        if len(current) == LABELS_PER_PAGE:
            pages.append(_page_stream(current, index))
            index += len(current)
            current = []
    if current or not pages:
        pages.append(_page_stream(current, index))
    return _assemble(pages)


def _assemble(streams: list[bytes]) -> bytes:
    # Objects: 1 catalog, 2 pages, 3 font, then per page: the page and its content.
    n = len(streams)
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(n))
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {n} >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    for i, stream in enumerate(streams):
        objects.append(
            (
                f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_WIDTH:.0f} {PAGE_HEIGHT:.0f}] "
                f"/Resources << /Font << /F1 3 0 R >> >> /Contents {5 + 2 * i} 0 R >>"
            ).encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)
