"""Our card PDF with its checkboxes ticked in a PDF reader: read the AcroForm values.

The field names are the renderer's (see ``engine.render``): one checkbox per question and
option.  A checkbox is on when its value is anything but ``/Off``.  Text fields for 负责人,
职务 and 联系电话 are read when present; otherwise the text layer supplies them.  Returns
``None`` when the PDF has none of our checkbox fields, so the caller reads the text instead.
"""

from __future__ import annotations

import re
from pathlib import Path

from .common import NO, QUESTION_COUNT, YES, Answer, AnswerProblem, CardReading, ReadMethod, split_labelled

# q1_yes / q01-no / q1_是 / card_q1_否 / answer1_y …
_CHECKBOX_RE = re.compile(r"(?:^|[^0-9])q?0?(\d{1,2})[_\-. ]?(yes|no|y|n|shi|fou|是|否)$", re.IGNORECASE)
_OPTION = {"yes": YES, "y": YES, "shi": YES, "是": YES, "no": NO, "n": NO, "fou": NO, "否": NO}
_TEXT_FIELDS = {"head": "head", "负责人": "head", "position": "position", "职务": "position", "phone": "phone",
                "联系电话": "phone", "enterprise": "enterprise", "被检查单位": "enterprise"}
_OFF = {"", "/Off", "Off", "/off", "/No", "/0"}


def field_role(name: str) -> tuple[int, str] | None:
    """(question, 是/否) a checkbox field stands for, or None."""
    m = _CHECKBOX_RE.search(name.split(".")[-1])
    if not m:
        return None
    q = int(m.group(1))
    return (q, _OPTION[m.group(2).lower()]) if 1 <= q <= QUESTION_COUNT else None


def read_pdf_form(path: Path, key: bytes) -> CardReading | None:
    from pypdf import PdfReader

    reader = PdfReader(str(path), strict=False)
    fields = reader.get_fields() or {}
    marked: dict[int, set[str]] = {}
    seen: set[int] = set()
    header: dict[str, str] = {}
    for name, f in fields.items():
        role = field_role(name)
        if role is not None:
            q, opt = role
            seen.add(q)
            if str(f.get("/V", "")) not in _OFF:
                marked.setdefault(q, set()).add(opt)
            continue
        short = name.split(".")[-1].lower()
        target = next((v for k, v in _TEXT_FIELDS.items() if k in short), None)
        if target and isinstance(f.get("/V"), str):
            header[target] = f["/V"].strip()
    if len(seen) < QUESTION_COUNT // 2:
        return None
    answers: dict[int, Answer] = {}
    for q in seen:
        opts = marked.get(q, set())
        if len(opts) == 1:
            answers[q] = Answer(next(iter(opts)), None, next(iter(opts)))
        else:
            answers[q] = Answer(None, AnswerProblem.BOTH if opts else AnswerProblem.NONE, "、".join(sorted(opts)))
    return _with_text(path, key, answers, header, len(reader.pages))


def _with_text(path: Path, key: bytes, answers: dict[int, Answer], header: dict[str, str], pages: int) -> CardReading:
    # Serial, QR and any 负责人/职务/电话 typed into the page (not into fields) come from the page itself.
    from .pdf_text import layout
    from .qr import pdf_qr_payloads

    lay = layout(path)
    r = CardReading(ReadMethod.PDF_FORM, is_card=True, form="card", pages=pages)
    r.set_answers(answers)
    r.set_header(split_labelled(lay.segment_texts()))
    r.set_header({k: v for k, v in header.items() if v})
    r.qr_payloads = pdf_qr_payloads(path)
    r.resolve_serial(lay.text, key)
    return r
