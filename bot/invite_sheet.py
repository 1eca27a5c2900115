"""What `kopdesk invites create` writes: a CSV of the codes and printable cards with QR codes.

One layout only: the cards are drawn once, into an A4 PDF (fpdf2), eight to a page in two
columns with dashed cut lines; the PNG sheets are those same pages rendered by PDFium
(pypdfium2), so what is printed from either is the same. The QR code (segno) carries the deep
link `https://t.me/<bot>?start=<code>`; it is embedded as a bitmap with its four-module quiet
zone, large enough (about 1 mm a module) for any phone camera.

The PDF uses the standard Helvetica and Courier fonts, which cover Latin-1: names are written
as they are when they fit (Indonesian names do), and otherwise with accents dropped and any
other character replaced by '?'. The CSV always holds the exact names.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import segno
from fpdf import FPDF

from bot.i18n import t

CSV_COLUMNS = ("nomor_badan_hukum", "nama", "kecamatan", "desa_kelurahan", "kode", "tautan", "berlaku_sampai")

# A4 in millimetres, two columns by four rows of cards.
PAGE_W, PAGE_H, MARGIN = 210.0, 297.0, 10.0
COLUMNS, ROWS = 2, 4
CARDS_PER_PAGE = COLUMNS * ROWS
CARD_W, CARD_H = (PAGE_W - 2 * MARGIN) / COLUMNS, (PAGE_H - 2 * MARGIN) / ROWS
QR_SIZE = 36.0
PNG_DPI = 150


@dataclass(frozen=True)
class Card:
    """One cooperative's invitation as printed."""

    number: str
    name: str
    kecamatan: str
    desa: str
    code: str
    link: str
    expires: str  # local time with the zone's name, e.g. "15 Desember 2026, 10.46 WITA"


def write_csv(path: Path, cards: Sequence[Card]) -> None:
    """The codes as a spreadsheet: UTF-8 with a byte-order mark, so Excel reads it right."""
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for c in cards:
            writer.writerow([c.number, c.name, c.kecamatan, c.desa, c.code, c.link, c.expires])


def qr_png(link: str) -> bytes:
    """The QR code of a link as a PNG: black on white, quiet zone included."""
    buffer = io.BytesIO()
    segno.make(link, error="m", micro=False).save(buffer, kind="png", scale=8, border=4)
    return buffer.getvalue()


_TYPOGRAPHY = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201c": '"', "\u201d": '"',
                             "\u201e": '"', "\u2013": "-", "\u2014": "-", "\u2026": "..."})


def _latin1(text: str) -> str:
    """Text the core PDF fonts can show: typographic quotes and dashes made plain, accents
    dropped where needed, anything else '?'."""
    try:
        text.encode("latin-1")
        return text
    except UnicodeEncodeError:
        text = text.translate(_TYPOGRAPHY)
    out = []
    for char in text:
        if ord(char) < 256:
            out.append(char)
            continue
        base = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
        out.append(base if base and all(ord(c) < 256 for c in base) else "?")
    return "".join(out)


class _Sheet(FPDF):
    """The card grid: one `card()` call draws one cooperative's invitation."""

    def __init__(self, lang: str, bot_username: str) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.lang, self.bot_username = lang, bot_username
        self.set_auto_page_break(False)
        self.set_margins(0, 0, 0)
        self.set_creator("KopDesk")
        self.set_title(t(lang, "invite_sheet.title"))

    def _lines(self, text: str, width: float, height: float, most: int) -> list[str]:
        lines = self.multi_cell(width, height, _latin1(text), dry_run=True, output="LINES")
        if len(lines) > most:  # cut, and say so ("…" is not in the core fonts)
            lines = lines[:most]
            lines[-1] = lines[-1].rstrip()[:-3] + "..."
        return lines

    def _text(self, x: float, y: float, text: str, width: float, height: float, most: int) -> float:
        """Write up to `most` lines at (x, y); returns the y below them."""
        lines = [_latin1(text)] if most == 1 else self._lines(text, width, height, most)
        for line in lines:
            self.set_xy(x, y)
            self.cell(width, height, line)
            y += height
        return y

    def card(self, index: int, card: Card) -> None:
        """Draw one card in the next free slot: QR code left, the cooperative right, how-to below."""
        slot = index % CARDS_PER_PAGE
        if slot == 0:
            self.add_page()
        x = MARGIN + (slot % COLUMNS) * CARD_W
        y = MARGIN + (slot // COLUMNS) * CARD_H
        self.set_draw_color(140)
        self.set_line_width(0.2)
        self.set_dash_pattern(dash=1.5, gap=1.5)
        self.rect(x, y, CARD_W, CARD_H)
        self.set_dash_pattern()
        self._style(7, grey=True)
        self._text(x + 4, y + 3, t(self.lang, "invite_sheet.title"), CARD_W - 8, 3.5, 1)
        self.image(io.BytesIO(qr_png(card.link)), x=x + 3, y=y + 8, w=QR_SIZE, h=QR_SIZE)

        # Right of the code: at most 3 + 2 + 2 lines and the code, ending above the bottom block.
        left, width = x + QR_SIZE + 6, CARD_W - QR_SIZE - 10
        self._style(10, bold=True)
        row = self._text(left, y + 9, card.name, width, 4.3, 3) + 0.6
        self._style(7.5)
        row = self._text(left, row, t(self.lang, "invite_sheet.number", number=card.number), width, 3.4, 2)
        place = t(self.lang, "invite_sheet.place_desa" if card.desa else "invite_sheet.place",
                  kecamatan=card.kecamatan, desa=card.desa)
        row = self._text(left, row, place, width, 3.4, 2) + 1.2
        self._style(7, grey=True)
        row = self._text(left, row, t(self.lang, "invite_sheet.code"), width, 3, 1)
        self._style(17, bold=True, family="Courier")
        self._text(left, row, card.code, width, 7.5, 1)

        # Across the card's foot: validity, the link (also clickable in the PDF), how to use it.
        inner, foot = CARD_W - 8, y + CARD_H - 16
        self._style(7)
        self._text(x + 4, foot, t(self.lang, "invite_sheet.expires", expires=card.expires), inner, 3.2, 1)
        self._style(8, bold=True)
        self.set_xy(x + 4, foot + 3.4)
        self.cell(inner, 3.8, card.link, link=card.link)
        self._style(6.5)
        how = t(self.lang, "invite_sheet.how", code=card.code, bot=self.bot_username)
        self._text(x + 4, foot + 7.4, how, inner, 3, 2)

    def _style(self, size: float, *, bold: bool = False, grey: bool = False, family: str = "Helvetica") -> None:
        self.set_font(family, "B" if bold else "", size)
        self.set_text_color(90 if grey else 0)


def render_pdf(
    cards: Sequence[Card], *, lang: str, bot_username: str, on_each: Callable[[int], None] | None = None
) -> bytes:
    """The cards as an A4 PDF, eight to a page."""
    sheet = _Sheet(lang, bot_username)
    for index, card in enumerate(cards):
        sheet.card(index, card)
        if on_each:
            on_each(1)
    return bytes(sheet.output())


def page_count(cards: int) -> int:
    """How many pages `cards` cards take."""
    return -(-cards // CARDS_PER_PAGE)


def write_pngs(
    pdf: bytes, stem: Path, *, dpi: int = PNG_DPI, on_each: Callable[[int], None] | None = None,
    written: list[Path] | None = None,
) -> list[Path]:
    """Each page of the PDF as `<stem>-001.png`, `<stem>-002.png`, …; returns the paths.

    Each path is added to `written` before its file is, so a caller can remove what a failure
    left behind.
    """
    import pypdfium2

    paths = []
    document = pypdfium2.PdfDocument(pdf)
    try:
        for number, page in enumerate(document, start=1):
            path = stem.with_name(f"{stem.name}-{number:03d}.png")
            if written is not None:
                written.append(path)
            page.render(scale=dpi / 72, grayscale=True).to_pil().save(path)
            page.close()
            paths.append(path)
            if on_each:
                on_each(1)
    finally:
        document.close()
    return paths
