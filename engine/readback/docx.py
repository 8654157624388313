"""Our card as a .docx filled in Word or WPS.

The enterprise answers each question by replacing □ with a tick (☑ √ ✓ ■ ☒) before 是 or 否,
by deleting the option that does not apply, or by typing 是/否.  The text is read straight
from the XML so that what Word shows is what we read: tracked insertions count, tracked
deletions and hidden text do not, symbol-font ticks (``<w:sym>``) and checkbox content
controls (``<w14:checkbox>``) become ☑/□.

The file has passed ``engine.inbox.preflight`` (zip size limits, no DTD/entities) before it
gets here; python-docx's own parser does not resolve entities either.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from ..forms import QUESTION_COUNT, QUESTION_NUMBERS, FormKey
from .common import (
    FIELD_VALUES,
    Answer,
    CardReading,
    ReadMethod,
    find_question,
    identify_form,
    looks_like_card,
    normalize,
    parse_answer,
    split_labelled,
)
from .image import decode_qr_bytes, scan_reading

MAX_IMAGES = 8
NEEDS_REVIEW_PICTURE = "文档里是反馈卡的照片或扫描图片，系统暂不识别图片中的勾选，请人工核对十个问题的回答。"

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
W14 = "http://schemas.microsoft.com/office/word/2010/wordml"


def qn(tag: str) -> str:
    """``qn("w:t")`` → ``{W}t``, as python-docx spells it (which loads only when a docx is read)."""
    return f"{{{W}}}{tag.removeprefix('w:')}"


_T, _SYM, _TAB, _BR, _CR = qn("w:t"), qn("w:sym"), qn("w:tab"), qn("w:br"), qn("w:cr")
_P, _TBL, _TR, _TC, _SDT = qn("w:p"), qn("w:tbl"), qn("w:tr"), qn("w:tc"), qn("w:sdt")
MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
# Deleted, moved-away and formatting subtrees are not shown; a text box's VML fallback repeats its text.
_SKIP = {qn("w:del"), qn("w:moveFrom"), qn("w:rPr"), qn("w:pPr"), qn("w:instrText"), qn("w:delText"), f"{{{MC}}}Fallback"}
_VANISH = qn("w:vanish")
_CHECKBOX = f"{{{W14}}}checkbox"
_CHECKED = f"{{{W14}}}checked"
_VAL14 = f"{{{W14}}}val"


def element_text(el) -> str:  # type: ignore[no-untyped-def]
    """Visible text of a paragraph, cell or run tree, as Word displays it."""
    out: list[str] = []
    _collect(el, out)
    return "".join(out)


def _collect(el, out: list[str]) -> None:  # type: ignore[no-untyped-def]
    tag = el.tag
    if tag in _SKIP:
        return
    if tag == _SDT:
        box = _checkbox_state(el)
        if box is not None:
            out.append("☑" if box else "□")
            return
    if tag == qn("w:r") and _hidden(el):
        return
    if tag == _T:
        out.append(el.text or "")
    elif tag == _SYM:
        code = el.get(qn("w:char")) or ""
        with contextlib.suppress(ValueError):
            out.append(chr(int(code, 16)))
    elif tag in (_TAB, _BR, _CR):
        out.append(" ")
    for child in el:
        _collect(child, out)
    if tag == _P:
        out.append("\n")


def _checkbox_state(sdt) -> bool | None:  # type: ignore[no-untyped-def]
    pr = sdt.find(qn("w:sdtPr"))
    box = pr.find(_CHECKBOX) if pr is not None else None
    if box is None:
        return None
    checked = box.find(_CHECKED)
    return checked is not None and checked.get(_VAL14) in ("1", "true", "on")


def _hidden(run) -> bool:  # type: ignore[no-untyped-def]
    rpr = run.find(qn("w:rPr"))
    if rpr is None:
        return False
    v = rpr.find(_VANISH)
    return v is not None and v.get(qn("w:val"), "true") not in ("0", "false", "off")


def _rows(body) -> list[list[str]]:  # type: ignore[no-untyped-def]
    """Body content in reading order: a table row is a list of cell texts, a paragraph a list of one."""
    rows: list[list[str]] = []
    for el in body:
        if el.tag == _P:
            rows.append([element_text(el)])
        elif el.tag == _TBL:
            for tr in el.iter(_TR):
                cells = [element_text(tc) for tc in tr if tc.tag == _TC or tc.tag == _SDT]
                rows.append(cells)
        elif el.tag == _SDT:
            content = el.find(qn("w:sdtContent"))
            if content is not None:
                rows.extend(_rows(content))
    return rows


def read_answers(rows: list[list[str]]) -> dict[int, Answer]:
    """Find each question in the rows and read the text after it as its answer."""
    joined = [normalize("|".join(r)) for r in rows]
    answers: dict[int, Answer] = {}
    for i in QUESTION_NUMBERS:
        for text in joined:
            span = find_question(text, i)
            if span is None:
                continue
            end = len(text)
            nxt = find_question(text, i + 1, span[1]) if i < QUESTION_COUNT else None
            if nxt is not None:
                end = nxt[0]
            answers[i] = parse_answer(text[span[1]:end].strip("；;。.|"))
            break
    return answers


def read_docx(path: Path, key: bytes) -> CardReading:
    import docx

    d = docx.Document(str(path))
    rows = _rows(d.element.body)
    extra = [element_text(part.element) for part in _header_footer_parts(d)]
    full = "\n".join(["\n".join(extra), *("|".join(r) for r in rows)])
    answers = read_answers(rows)
    form = identify_form(full)
    r = CardReading(ReadMethod.DOCX, confidence=FIELD_VALUES, is_card=looks_like_card(full, len(answers)) and form in (FormKey.CARD, ""), form=form)
    if not r.is_card:
        # A photo of the filled card pasted into a Word document is a scan in a docx wrapper.
        payloads = [] if form else [t for blob in _image_blobs(d)[:MAX_IMAGES] for t in decode_qr_bytes(blob)]
        scan = scan_reading(payloads, key, NEEDS_REVIEW_PICTURE) if payloads else None
        return scan if scan is not None and scan.is_card else r
    r.form = FormKey.CARD
    r.set_answers(answers)
    r.set_header(split_labelled([c for row in rows for c in row]))
    r.qr_payloads = [t for blob in _image_blobs(d) for t in decode_qr_bytes(blob)]
    r.resolve_serial(full, key)
    return r


def _header_footer_parts(d):  # type: ignore[no-untyped-def]
    # Straight from the package: python-docx's section.header would *add* a missing header.
    for p in d.part.package.iter_parts():
        if p.content_type.endswith(("header+xml", "footer+xml")) and hasattr(p, "element"):
            yield p


def _image_blobs(d) -> list[bytes]:  # type: ignore[no-untyped-def]
    return [p.blob for p in d.part.package.iter_parts() if p.content_type.startswith("image/")]
