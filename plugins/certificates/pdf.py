"""Render a certificate as a one-page PDF (reportlab), with a QR code of its verify URL (segno).

Pure function of the certificate's snapshot: the same certificate and revision give the same
bytes (reportlab's ``invariant`` mode fixes the creation date and document id), so rendering
twice -- a task that ran twice, a worker killed and restarted -- stores the same file.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

import segno
from reportlab.lib.colors import Color
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from plugins.certificates import conf

logger = logging.getLogger(__name__)

PAGE_WIDTH, PAGE_HEIGHT = landscape(A4)
MARGIN = 36.0
INK = Color(0.13, 0.16, 0.22)
MUTED = Color(0.38, 0.42, 0.50)
ACCENT = Color(0.15, 0.35, 0.62)
QR_SIZE = 96.0
# Largest and smallest font sizes of the name and course lines; longer texts shrink, then wrap.
NAME_SIZES = (34.0, 18.0)
COURSE_SIZES = (22.0, 13.0)
REGULAR, BOLD = "CertificateRegular", "CertificateBold"


@dataclass(frozen=True)
class CertificateContent:
    """What a certificate says (the snapshot stored on the Certificate row)."""

    learner_name: str
    course_title: str
    title_line: str
    signature_name: str
    issuer: str
    completed_on: date
    code: str
    verify_url: str


@lru_cache(maxsize=1)
def _register_fonts() -> tuple[str, str]:
    regular, bold = conf.font_paths()
    pdfmetrics.registerFont(TTFont(REGULAR, str(regular)))
    pdfmetrics.registerFont(TTFont(BOLD, str(bold)))
    return REGULAR, BOLD


def missing_glyphs(text: str) -> str:
    """The characters of ``text`` the certificate font cannot draw (empty when it can)."""
    _register_fonts()
    face = pdfmetrics.getFont(BOLD).face
    return "".join(sorted({ch for ch in text if not ch.isspace() and ord(ch) not in face.charToGlyph}))


def _fit(text: str, font: str, sizes: tuple[float, float], width: float) -> tuple[list[str], float]:
    """Lines and font size: the largest size (down to the smallest) at which ``text`` fits on
    one line, else the smallest size wrapped."""
    largest, smallest = sizes
    size = largest
    while size > smallest and pdfmetrics.stringWidth(text, font, size) > width:
        size -= 1
    if pdfmetrics.stringWidth(text, font, size) <= width:
        return [text], size
    return simpleSplit(text, font, smallest, width), smallest


def _centred(canvas: Canvas, lines: list[str], font: str, size: float, top: float, leading: float = 1.25) -> float:
    """Draw ``lines`` centred from ``top`` down; return the y below the last line."""
    canvas.setFont(font, size)
    y = top
    for line in lines:
        canvas.drawCentredString(PAGE_WIDTH / 2, y, line)
        y -= size * leading
    return y


def _draw_qr(canvas: Canvas, url: str, x: float, y: float, size: float) -> None:
    """The QR code of ``url`` as vector squares (one rectangle per run of dark modules)."""
    qr = segno.make(url, error="m", micro=False)
    matrix = qr.matrix
    count = len(matrix)
    module = size / count
    canvas.setFillColor(INK)
    for row_index, row in enumerate(matrix):
        top = y + size - (row_index + 1) * module
        column = 0
        while column < count:
            if row[column]:
                start = column
                while column < count and row[column]:
                    column += 1
                canvas.rect(x + start * module, top, (column - start) * module, module, stroke=0, fill=1)
            else:
                column += 1
    canvas.linkURL(url, (x, y, x + size, y + size), relative=0)


def render_pdf(content: CertificateContent) -> bytes:
    """The certificate as PDF bytes (A4 landscape, one page)."""
    regular, bold = _register_fonts()
    missing = missing_glyphs(content.learner_name + content.course_title + content.title_line + content.signature_name)
    if missing:
        logger.warning(
            "certificate %s: the font cannot draw %r; set ACADEMY_CERTIFICATES_FONT to a font that can",
            content.code[:6], missing,
        )
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=(PAGE_WIDTH, PAGE_HEIGHT), invariant=1, pageCompression=1)
    canvas.setTitle(f"{content.title_line}: {content.course_title}")
    canvas.setAuthor(content.issuer)
    canvas.setSubject(f"Verification code {content.code}")
    canvas.setCreator("Academy certificates")

    # Frame.
    canvas.setStrokeColor(ACCENT)
    canvas.setLineWidth(3)
    canvas.rect(MARGIN, MARGIN, PAGE_WIDTH - 2 * MARGIN, PAGE_HEIGHT - 2 * MARGIN, stroke=1, fill=0)
    canvas.setLineWidth(0.75)
    inset = MARGIN + 8
    canvas.rect(inset, inset, PAGE_WIDTH - 2 * inset, PAGE_HEIGHT - 2 * inset, stroke=1, fill=0)

    text_width = PAGE_WIDTH - 2 * (MARGIN + 60)
    canvas.setFillColor(MUTED)
    y = _centred(canvas, simpleSplit(content.issuer.upper(), regular, 12, text_width), regular, 12, PAGE_HEIGHT - 100)
    canvas.setFillColor(ACCENT)
    lines, size = _fit(content.title_line, bold, (30.0, 18.0), text_width)
    y = _centred(canvas, lines, bold, size, y - 28)
    canvas.setFillColor(MUTED)
    y = _centred(canvas, ["This certifies that"], regular, 13, y - 14)
    canvas.setFillColor(INK)
    lines, size = _fit(content.learner_name, bold, NAME_SIZES, text_width)
    y = _centred(canvas, lines, bold, size, y - size - 4)
    canvas.setFillColor(MUTED)
    y = _centred(canvas, ["has completed the course"], regular, 13, y - 6)
    canvas.setFillColor(INK)
    lines, size = _fit(content.course_title, bold, COURSE_SIZES, text_width)
    y = _centred(canvas, lines, bold, size, y - size)
    canvas.setFillColor(MUTED)
    _centred(canvas, [f"on {content.completed_on.day} {content.completed_on:%B %Y}"], regular, 13, y - 6)

    # Signature (bottom left), QR code and verification (bottom right).
    base = MARGIN + 44
    left = MARGIN + 60
    canvas.setStrokeColor(MUTED)
    canvas.line(left, base + 34, left + 220, base + 34)
    canvas.setFillColor(INK)
    canvas.setFont(bold, 12)
    if content.signature_name:
        canvas.drawString(left, base + 18, content.signature_name)
    canvas.setFillColor(MUTED)
    canvas.setFont(regular, 10)
    canvas.drawString(left, base + 4, f"for {content.issuer}")

    qr_x = PAGE_WIDTH - MARGIN - 60 - QR_SIZE
    _draw_qr(canvas, content.verify_url, qr_x, base - 8, QR_SIZE)
    canvas.setFont(regular, 8)
    canvas.setFillColor(MUTED)
    canvas.drawRightString(qr_x - 10, base + 40, "Verify this certificate at")
    canvas.drawRightString(qr_x - 10, base + 28, content.verify_url)
    canvas.drawRightString(qr_x - 10, base + 16, f"Code {content.code}")
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()
