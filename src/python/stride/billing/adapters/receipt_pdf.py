"""Receipts as PDF documents, in Arabic or English, with fpdf2.

Arabic needs a font with its letters and a shaping engine to join them: HarfBuzz (uharfbuzz)
shapes, and fpdf2 orders mixed right-to-left and left-to-right text. The font is DejaVu Sans,
which covers Arabic and Latin. We found no font package on PyPI with Arabic letters, so it
comes from matplotlib's wheel (its `mpl-data`, found without importing matplotlib), or from
STRIDE_RECEIPT_FONT where an image carries its own.
"""

from __future__ import annotations

import importlib.util
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from stride.billing.service_layer.invoices import ReceiptText

if TYPE_CHECKING:
    from fpdf import FPDF

_COLUMN_WIDTHS = (76, 38, 38, 38)  # Millimetres: A4 less fpdf2's 1 cm margins is 190.
_LINE_HEIGHT = 7


@cache
def bundled_font() -> Path:
    """DejaVu Sans from matplotlib's package data (the bold face lies beside it)."""
    spec = importlib.util.find_spec("matplotlib")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("matplotlib's package data (for DejaVu Sans) is not installed")
    package = Path(next(iter(spec.submodule_search_locations)))
    font = package / "mpl-data" / "fonts" / "ttf" / "DejaVuSans.ttf"
    if not font.is_file():
        raise FileNotFoundError(font)
    return font


def receipt_pdf(receipt: ReceiptText, font: Path, created: datetime) -> bytes:
    """An A4 page: title, number, date and studio, then a table of the lines and their
    totals. Columns run right to left in Arabic; amounts, numbers and dates read left to
    right in both languages."""
    # fpdf2 brings fontTools, Pillow and NumPy, ~55 MB of Billing's ~150, for the rare request
    # that renders a receipt, so it is loaded by the first one.
    from fpdf import FPDF, FontFace  # noqa: PLC0415 - see above.

    bold_face = FontFace(emphasis="BOLD")
    pdf = FPDF(format="A4")
    pdf.set_creation_date(created)
    pdf.set_title(f"{receipt.title} {receipt.number}")
    pdf.set_lang(receipt.locale)
    pdf.add_font("DejaVu", fname=str(font))
    bold = font.with_name(f"{font.stem}-Bold{font.suffix}")
    pdf.add_font("DejaVu", style="B", fname=str(bold if bold.is_file() else font))
    pdf.set_text_shaping(True)
    pdf.add_page()
    start = "RIGHT" if receipt.right_to_left else "LEFT"
    pdf.set_font("DejaVu", style="B", size=20)
    pdf.cell(0, 14, receipt.title, align=start[0], new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", size=11)
    for label, value in receipt.facts:
        _fact(pdf, label, value, receipt.right_to_left)
    pdf.ln(4)
    columns = range(len(_COLUMN_WIDTHS))
    order = list(reversed(columns)) if receipt.right_to_left else list(columns)
    with pdf.table(
        col_widths=[_COLUMN_WIDTHS[column] for column in order],
        text_align=[start if column == 0 else "RIGHT" for column in order],
        borders_layout="HORIZONTAL_LINES",
        line_height=_LINE_HEIGHT,
        headings_style=bold_face,
    ) as table:
        *lines, totals = (receipt.headings, *receipt.rows)
        for row in lines:
            table.row([row[column] for column in order])
        table.row([totals[column] for column in order], style=bold_face)
    return bytes(pdf.output())


def _fact(pdf: FPDF, label: str, value: str, right_to_left: bool) -> None:
    """`label: value` on a line of its own. In Arabic the value gets a cell of its own to the
    label's left, so a date or number keeps its left-to-right order."""
    if not right_to_left:
        pdf.cell(0, _LINE_HEIGHT, f"{label}: {value}", new_x="LMARGIN", new_y="NEXT")
        return
    label_width = pdf.get_string_width(f"{label}:") + 2 * pdf.c_margin
    value_width = pdf.get_string_width(value) + 2 * pdf.c_margin
    right = pdf.w - pdf.r_margin
    pdf.set_x(right - label_width)
    pdf.cell(label_width, _LINE_HEIGHT, f"{label}:", align="R")
    pdf.set_x(right - label_width - value_width)
    pdf.cell(value_width, _LINE_HEIGHT, value, align="R", new_x="LMARGIN", new_y="NEXT")
