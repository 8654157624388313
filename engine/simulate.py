"""What people outside the bureau do with our files: enterprises fill and return the card,
counties type figures into the statistics blanks.

Used by ``ruqi demo`` and by the tests, so both exercise the engine with files made the way
people make them: ticks typed over □ in Word, boxes ticked in a PDF reader (AcroForm values and
appearance states, as a reader saves them), numbers typed into a workbook's input cells.
"""

from __future__ import annotations

import logging
import re
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .forms import NO, YES

if TYPE_CHECKING:  # heavy libraries load where they are used (start-up time)
    pass



def fill_docx(src: Path, dst: Path, answers: dict[int, str], *, style: str = "tick", mark: str = "☑",
              head: str = "张三", position: str = "矿长", phone: str = "0352-1234567") -> Path:
    """Answer the card's questions in its XML, as typing in Word does.

    ``style``: ``tick`` replaces the □ before the chosen option with ``mark``; ``delete`` removes
    the other option; ``type`` replaces the whole cell with the typed 是/否.  Questions missing
    from ``answers`` stay blank; ``"both"`` ticks both.
    """
    with zipfile.ZipFile(src) as z:
        parts = {i.filename: z.read(i) for i in z.infolist()}
    xml = parts["word/document.xml"].decode("utf-8")
    xml = _answer_cells(xml, answers, style, mark)
    xml = _fill_after_label(xml, "负责人", head)
    xml = _fill_after_label(xml, "职　务", position)
    xml = _fill_after_label(xml, "联系电话", phone)
    parts["word/document.xml"] = xml.encode("utf-8")
    _write_zip(dst, parts)
    return dst


def _answer_cells(xml: str, answers: dict[int, str], style: str, mark: str) -> str:
    # Each answer cell holds the text "□是 □否" once; the k-th occurrence is question k.
    pattern = re.compile(r"□是(\s*)□否")
    k = 0

    def repl(m: re.Match[str]) -> str:
        nonlocal k
        k += 1
        a = answers.get(k)
        sp = m.group(1)
        if a is None:
            return m.group(0)
        if a == "both":
            return f"{mark}是{sp}{mark}否"
        if style == "tick":
            return f"{mark}是{sp}□否" if a == YES else f"□是{sp}{mark}否"
        if style == "delete":
            return f"□{YES}" if a == YES else f"□{NO}"
        return a  # typed

    return pattern.sub(repl, xml)


def _fill_after_label(xml: str, label: str, value: str) -> str:
    """Type ``value`` into the empty cell right after the cell holding ``label``."""
    if not value:
        return xml
    pos = xml.find(f">{label}<")
    if pos < 0:
        return xml
    cell_end = xml.find("</w:tc>", pos)
    next_p_end = xml.find("</w:p>", cell_end)
    run = f'<w:r><w:t xml:space="preserve">{value}</w:t></w:r>'
    return xml[:next_p_end] + run + xml[next_p_end:]


def _write_zip(dst: Path, parts: dict[str, bytes]) -> None:
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)


def tick_pdf(src: Path, dst: Path, answers: dict[int, str], contacts: dict[str, str] | None = None) -> Path:
    """Set the AcroForm checkboxes the way a PDF reader saves them (value and appearance state), and
    type ``contacts`` (``{"head": "张三", "position": …, "phone": …}``) into the card's text fields."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import NameObject

    reader = PdfReader(str(src))
    writer = PdfWriter(clone_from=reader)
    wanted = {f"q{q}_{'yes' if a == YES else 'no'}" for q, a in answers.items() if a in (YES, NO)}
    wanted |= {f"q{q}_{o}" for q, a in answers.items() if a == "both" for o in ("yes", "no")}
    for page in writer.pages:
        for annot_ref in page.get("/Annots", []) or []:
            annot = annot_ref.get_object()
            name = annot.get("/T") or (annot.get("/Parent").get_object().get("/T") if annot.get("/Parent") else None)
            if name not in wanted:
                continue
            on = next((k for k in (annot.get("/AP", {}).get("/N", {}) or {}) if k != "/Off"), "/Yes")
            annot[NameObject("/V")] = NameObject(on)
            annot[NameObject("/AS")] = NameObject(on)
    if contacts:
        # pypdf cannot draw a CJK appearance and says so in English on stderr (into `ruqi demo`'s
        # output); the value (/V) is what a reader saves and what the engine reads back.
        log = logging.getLogger("pypdf")
        level = log.level
        log.setLevel(logging.ERROR)
        try:
            writer.update_page_form_field_values(None, contacts, auto_regenerate=False)
        finally:
            log.setLevel(level)
    with dst.open("wb") as f:
        writer.write(f)
    return dst


def fill_blank(blank: Path, out: Path, values: dict[str, Any], sheet: str | None = None) -> Path:
    """Type values into cells of one of our blanks (``{"B6": 12, "E3": "2025年6月17日"}``) and save."""
    from openpyxl import load_workbook

    wb = load_workbook(blank)
    sh = wb[sheet] if sheet else wb.worksheets[0]
    for ref, v in values.items():
        sh[ref] = v
        if isinstance(v, str) and v.startswith("="):
            sh[ref].data_type = "s"  # typed as '=… in Excel: text, not a formula
    wb.save(out)
    return out
