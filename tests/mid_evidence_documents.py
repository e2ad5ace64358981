"""Documents for the MID evidence tests: the text fixtures (tests/fixtures/mid_evidence/) and real PDF, JPEG
and PNG files made from them (fpdf2 writes a PDF with a real text layer; Pillow a real image)."""

from __future__ import annotations

import io
from datetime import datetime, timezone
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures" / "mid_evidence"


def fixture_text(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def pdf_of(name: str) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_creation_date(datetime(2026, 1, 2, tzinfo=timezone.utc))  # the same bytes every time
    pdf.add_page()
    pdf.set_font("Helvetica", size=10)
    for line in fixture_text(name).splitlines():
        pdf.cell(0, 5, line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def photo(kind: str = "JPEG") -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (64, 32), "white").save(buffer, kind)
    return buffer.getvalue()
