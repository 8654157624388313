"""Page geometry and type sizes shared by the docx builder and (as documentation) forms.css.

GB/T 9704-2012: A4, top margin 37 mm, binding (left) margin 28 mm, type area 156 × 225 mm,
body 3号 (16 pt) 仿宋, title 2号 (22 pt) 小标宋.  The feedback card departs on purpose: it is a
single sheet the enterprise fills, prints or ticks in a PDF reader and returns, and at 3号 its
ten-row table plus the 备注 run to two pages, so the card uses 4号 (14 pt) for its text and
table and 五号 (10.5 pt) for the 备注, the form's small print.  templates/forms.css must agree
with these numbers.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PageGeometry:
    width_mm: float = 210.0
    height_mm: float = 297.0
    top_mm: float = 37.0
    left_mm: float = 28.0
    text_width_mm: float = 156.0
    text_height_mm: float = 225.0
    header_mm: float = 12.0  # header distance from the top edge: room for the 20 mm QR code
    footer_mm: float = 20.0

    @property
    def bottom_mm(self) -> float:
        return self.height_mm - self.top_mm - self.text_height_mm

    @property
    def right_mm(self) -> float:
        return self.width_mm - self.left_mm - self.text_width_mm


PAGE = PageGeometry()

TEXT_PT = 16.0  # 3号
TITLE_PT = 22.0  # 2号
CARD_TEXT_PT = 14.0  # 4号
CARD_REMARK_PT = 10.5  # 五号
SERIAL_PT = 10.5  # 五号
QR_MM = 20.0

# Official fonts, named first; Word/WPS substitute through the font table, WeasyPrint falls
# back to the free fonts set-up installs (see forms.css for the full stacks).
FONT_FANGSONG = "仿宋_GB2312"
FONT_TITLE = "方正小标宋简体"
FONT_HEITI = "黑体"
FONT_KAITI = "楷体_GB2312"
FONT_LATIN = "Times New Roman"

# Alt text of the QR picture in the .docx templates: the renderer finds the image by it.
QR_ALT_TEXT = "ruqi:qr"
