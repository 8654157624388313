"""Our card PDF with its checkboxes ticked in a PDF reader: read the AcroForm values.

The renderer names the twenty checkboxes ``q1_yes``, ``q1_no`` … ``q10_no`` (see
``engine.render.pdf.checkbox_name``); other spellings of the same idea (``q01-是``) are accepted
too, so a card re-made in another PDF editor still reads.  A box is ticked when pdfium says the
field is checked (its value equals the box's export value).  The text fields ``head``, ``position``,
``phone`` of our card (or fields named like 负责人/职务/联系电话 in another editor's) give the contact
details; where they are empty, the page text supplies them.  ``None`` means the PDF
has none of our checkbox fields: read its text instead.
"""

from __future__ import annotations

import re

from ..forms import CARD, NO, QUESTION_COUNT, YES, FormKey
from .common import FIELD_VALUES, Answer, AnswerProblem, CardReading, ReadMethod
from .pdf_source import Widget

# q1_yes / q01-no / q1_是 / card_q1_否 / answer1_y …
_CHECKBOX_RE = re.compile(rf"(?:^|[^0-9])q?0?(\d{{1,2}})[_\-. ]?(yes|no|y|n|shi|fou|{YES}|{NO})$", re.IGNORECASE)
_OPTION = {"yes": YES, "y": YES, "shi": YES, YES: YES, "no": NO, "n": NO, "fou": NO, NO: NO}
# Text fields named by their key (our PDF) or by the card's label (a form someone else built).
_TEXT_FIELDS = {**{k: k for k in ("head", "position", "phone", "enterprise")},
                **{CARD.label(k): k for k in ("head", "position", "phone", "enterprise")}}
CHECKBOX, RADIO = 2, 3  # pdfium FPDF_FORMFIELD_CHECKBOX / _RADIOBUTTON


def field_role(name: str) -> tuple[int, str] | None:
    """(question, 是/否) a checkbox field stands for, or None."""
    m = _CHECKBOX_RE.search(name.split(".")[-1])
    if not m:
        return None
    q = int(m.group(1))
    return (q, _OPTION[m.group(2).lower()]) if 1 <= q <= QUESTION_COUNT else None


def form_answers(widgets: list[Widget]) -> tuple[dict[int, Answer], dict[str, str]] | None:
    """(answers, header values typed into text fields), or None when these are not our fields."""
    marked: dict[int, set[str]] = {}
    seen: set[int] = set()
    header: dict[str, str] = {}
    for w in widgets:
        role = field_role(w.name) if w.kind in (CHECKBOX, RADIO) else None
        if role is not None:
            q, opt = role
            seen.add(q)
            if w.checked:
                marked.setdefault(q, set()).add(opt)
            continue
        short = w.name.split(".")[-1].lower()
        target = next((v for k, v in _TEXT_FIELDS.items() if k in short), None)
        if target and w.value.strip():
            header[target] = w.value.strip()
    if len(seen) < QUESTION_COUNT // 2:
        return None
    answers: dict[int, Answer] = {}
    for q in sorted(seen):
        opts = marked.get(q, set())
        if len(opts) == 1:
            only = next(iter(opts))
            answers[q] = Answer(only, None, f"☑{only}")
        else:
            answers[q] = Answer(None, AnswerProblem.BOTH if opts else AnswerProblem.NONE, "、".join(sorted(opts)))
    return answers, header


def form_reading(answers: dict[int, Answer], header: dict[str, str], page_header: dict[str, str]) -> CardReading:
    r = CardReading(ReadMethod.PDF_FORM, confidence=FIELD_VALUES, is_card=True, form=FormKey.CARD)
    r.set_answers(answers)
    r.set_header(page_header)
    r.set_header(header)  # typed into fields wins over the page text
    return r
