"""What every card reader returns, and the text rules they share.

A reader turns one returned 入企检查监督反馈卡 (PDF form, text PDF, docx, scan) into a
``CardReading``: the serial and QR it found, one answer per question (``是``/``否``/``None``)
with a problem code where the answer cannot be trusted, the enterprise's 负责人/职务/联系电话,
and how it was read.  Readers never decide whether the card is acceptable; that is
``engine.inbox.validate``'s job.  They never guess either: an unclear mark is a problem,
never an answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from ..forms import CARD, CARD_QUESTIONS, FORMS, QUESTION_COUNT, QUESTION_NUMBERS, FormKey
from ..forms.definitions import ANSWER_OPTIONS, QUESTION_NUMERALS, QUESTION_STEM, SERIAL_LABEL, label_of
from ..forms.definitions import NO as NO  # re-exported: the answer words live in the card's definition
from ..forms.definitions import YES as YES
from ..identifiers import QrContent, Serial, parse_qr
from ..text import halfwidth


class ReadMethod(StrEnum):
    PDF_FORM = "pdf_form"  # our PDF, checkboxes ticked in a PDF reader (AcroForm values)
    PDF_TEXT = "pdf_text"  # a PDF exported from the filled docx (Word, WPS, LibreOffice)
    DOCX = "docx"  # our docx filled in Word/WPS
    IMAGE = "image"  # a scan or photo: JPG/PNG or an image-only PDF

    @property
    def zh(self) -> str:
        return {ReadMethod.PDF_FORM: "PDF（勾选框）", ReadMethod.PDF_TEXT: "PDF（文字）", ReadMethod.DOCX: "Word 文档",
                ReadMethod.IMAGE: "扫描件或照片"}[self]

    @classmethod
    def label(cls, value: str) -> str:
        """The label of a stored value ("" for none, the value itself when a newer version wrote it)."""
        try:
            return cls(value).zh
        except ValueError:
            return value


# How far a reader trusts the answers it read (``CardReading.confidence``); validation sends a card
# below ``REVIEW_BELOW`` to a person instead of switching on the read method.
FIELD_VALUES = 1.0  # the ticks are values of our own fields (AcroForm checkboxes, the docx's XML)
TEXT_EXTRACTED = 0.9  # the ticks are glyphs found in a PDF's text layer
NOT_READ = 0.0  # a scan or photo: the ticks are not read (yet)
# A card (or one question) read with less confidence than this goes to a person (NEEDS_REVIEW).
REVIEW_BELOW = 0.5


class Decided(StrEnum):
    """How one question's answer was decided (kept per question in the register, ``engine.readings``)."""

    FIELD = "field"  # the value of our own form field (AcroForm checkbox, the docx's XML)
    TEXT = "text"  # a tick glyph found in a PDF's text layer
    MARK = "mark"  # a pen mark measured in a scan or photo (engine.omr)
    PERSON = "person"  # recorded by a person (``ruqi confirm``)

    @property
    def zh(self) -> str:
        return DECIDED_ZH[self]


DECIDED_ZH: dict[Decided, str] = {Decided.FIELD: "勾选框", Decided.TEXT: "文字", Decided.MARK: "图像识别",
                                  Decided.PERSON: "人工录入"}
_DECIDED_BY_METHOD = {"pdf_form": Decided.FIELD, "docx": Decided.FIELD, "pdf_text": Decided.TEXT, "image": Decided.MARK}


def decided_by_method(method: str) -> Decided:
    """How a reader of this method decides its answers (for readings that do not say per question)."""
    return _DECIDED_BY_METHOD.get(str(method), Decided.MARK)


@dataclass(frozen=True, slots=True)
class Decision:
    """One question as a reader decided it: the answer (None: unresolved), how, and how sure."""

    answer: str | None
    how: Decided
    confidence: float
    note: str = ""  # what was seen, e.g. the kind of mark ("tick", "fill", "both marked")

    @property
    def resolved(self) -> bool:
        return self.answer is not None and (self.how is Decided.PERSON or self.confidence >= REVIEW_BELOW)


class AnswerProblem(StrEnum):
    """Why a question has no trustworthy answer (the validator turns these into errors)."""

    BOTH = "ANSWER_BOTH"  # 是 and 否 both marked
    NONE = "ANSWER_NONE"  # neither marked
    UNCLEAR = "ANSWER_UNCLEAR"  # a cross, a negation or free text: a person must read it
    MISSING = "QUESTION_MISSING"  # the question row itself was not found


# Marks people put in the box before 是/否.  ☒ counts as ticked (it is what Word's checkbox
# content control shows when checked); crosses alone are ambiguous ("not this one"?).
TICKS = frozenset("☑☒√✓✔■▣✅⊠●◉▪")
EMPTY_BOXES = frozenset("□☐▢◻⬜○")
CROSSES = frozenset("×✗✘╳ⅹ")
NEGATIONS = frozenset("不非无没")

# Symbol fonts (Wingdings, Wingdings 2) put their glyphs in the Private Use Area; Word writes
# them as <w:sym w:char="F0FE"/> and PDFs exported from Word keep the PUA code in the text.
PUA_GLYPHS: dict[int, str] = {
    0xF0FE: "☑", 0xF0FC: "✓", 0xF0FD: "☒", 0xF0FB: "×", 0xF0A8: "□", 0xF06F: "□", 0xF071: "□",  # Wingdings
    0xF052: "☑", 0xF050: "✓", 0xF051: "×", 0xF053: "☒", 0xF054: "☒", 0xF0A3: "□", 0xF0A2: "□",  # Wingdings 2
    0xF0A1: "□", 0xF04F: "×", 0xF0D6: "☒",
}
_PUA_TABLE = dict(PUA_GLYPHS)
_SPACE_RE = re.compile(r"[\s\u00a0\u3000\u200b_]+")


def normalize(text: str) -> str:
    """NFKC-free cleanup: map symbol-font glyphs, drop all white space and fill-in underscores.

    NFKC is not used because it would turn the full-width punctuation of the questions into
    ASCII and ☑ stays ☑ anyway; what we need is only that spacing never matters.
    """
    return _SPACE_RE.sub("", (text or "").translate(_PUA_TABLE))


def question_key(i: int) -> str:
    """Question ``i`` (1-based) without its numeral and end punctuation: what a reader searches for."""
    q = CARD_QUESTIONS[i - 1]
    return normalize(q.split("、", 1)[1].rstrip("；。;."))


QUESTION_KEYS: tuple[str, ...] = tuple(question_key(i) for i in QUESTION_NUMBERS)
QUESTION_PREFIXES: tuple[str, ...] = tuple(f"{n}、{QUESTION_STEM}" for n in QUESTION_NUMERALS)


def find_question(text: str, i: int, start: int = 0) -> tuple[int, int] | None:
    """(start, end) of question ``i`` in normalized ``text``: by its full wording, else by ``一、是否``.

    The fallback keeps a card readable when the enterprise retyped a question slightly.
    """
    key = QUESTION_KEYS[i - 1]
    pos = text.find(key, start)
    if pos >= 0:
        return pos, pos + len(key)
    prefix = QUESTION_PREFIXES[i - 1]
    pos = text.find(prefix, start)
    while pos > 0 and text[pos - 1] in QUESTION_NUMERALS:  # "十一、" is not "一、"
        pos = text.find(prefix, pos + 1)
    if pos < 0:
        return None
    # Without the exact wording we only know where the question starts; its text runs to the
    # first ；, which the answer never contains.
    end = text.find("；", pos)
    end2 = text.find("。", pos)
    ends = [e for e in (end, end2) if e >= 0]
    return pos, (min(ends) if ends else pos + len(prefix))


@dataclass(frozen=True, slots=True)
class Answer:
    value: str | None  # 是 / 否 / None
    problem: AnswerProblem | None = None
    text: str = ""  # the answer cell as read, for the clerk's message


_OPTION_RE = re.compile(f"[{''.join(ANSWER_OPTIONS)}]")
_BOXES_AND_TICKS = TICKS | EMPTY_BOXES
_RESIDUE_RE = re.compile(r"[\W_]+")


def parse_answer(raw: str) -> Answer:
    """Read one answer cell: ``□是 ☑否`` → 否; ``□是`` (否 deleted) → 是; ``否`` typed → 否.

    Each 是/否 is classified by the character just before it: an empty box, a tick, a cross
    or negation (unclear), or nothing/other (typed, counts as chosen).  Exactly one chosen
    option is an answer; two is BOTH; none is NONE, unless only one boxed option is left,
    which means the other was deleted.
    """
    text = normalize(raw)
    chosen: set[str] = set()
    boxed: set[str] = set()
    unclear = False
    typed = False
    for m in _OPTION_RE.finditer(text):
        opt = m.group()
        prev = text[m.start() - 1] if m.start() else ""
        if prev in EMPTY_BOXES:
            boxed.add(opt)
        elif prev in TICKS:
            chosen.add(opt)
        elif prev in CROSSES or prev in NEGATIONS:
            unclear = True
        else:
            chosen.add(opt)
            typed = True
    residue = _RESIDUE_RE.sub("", _OPTION_RE.sub("", "".join(c for c in text if c not in _BOXES_AND_TICKS)))
    if unclear or any(c in CROSSES for c in text):
        return Answer(None, AnswerProblem.UNCLEAR, text)
    if typed and residue:
        # "否，无此情况" is probably 否, but free text next to a typed option is exactly where a
        # misreading would hide; a person decides.
        return Answer(None, AnswerProblem.UNCLEAR, text)
    if len(chosen) == 1:
        return Answer(next(iter(chosen)), None, text)
    if len(chosen) > 1:
        return Answer(None, AnswerProblem.BOTH, text)
    if len(boxed) == 1 and not residue:
        return Answer(next(iter(boxed)), None, text)  # the other option was deleted
    if residue and not boxed:
        return Answer(None, AnswerProblem.UNCLEAR, text)
    return Answer(None, AnswerProblem.NONE, text)


# ---- header fields -------------------------------------------------------------------------

PHONE_WORDS = ("电话", "手机")  # bare words: only a label when a colon follows (the 备注 has 监督电话：…)
HEAD_LABELS: dict[str, tuple[str, ...]] = {
    # The card's own label first; then what enterprises retype it as.
    "enterprise": (CARD.label("enterprise"), "被检查企业", "企业名称"),
    "head": (CARD.label("head"), f"{CARD.label('head')}姓名"),
    "position": (CARD.label("position"),),
    "phone": (CARD.label("phone"), *PHONE_WORDS),
}
ALL_LABELS: tuple[str, ...] = tuple(sorted({lab for labs in HEAD_LABELS.values() for lab in labs}, key=len, reverse=True))
_LABEL_PUNCT = "：:（）()　 "


def clean_value(v: str) -> str:
    v = normalize(v).strip(_LABEL_PUNCT + "、，,;；")
    return "" if set(v) <= set("_—-－/") else v


def split_labelled(segments: list[str]) -> dict[str, str]:
    """Values of the header labels from a sequence of segments (table cells, or words on a line).

    A value is the rest of the label's own segment (``负责人：张三``) or, when that is empty, the
    next segment unless it is itself a label (a table: ``负责人 | 张三``).  A segment holding
    several labels (``负责人：张三 职务：经理``) is cut before each of them first.
    """
    segs = [piece for s in segments for piece in _cut_at_labels(normalize(s))]
    out: dict[str, str] = {}
    for k, seg in enumerate(segs):
        for field_name, labels in HEAD_LABELS.items():
            if field_name in out:
                continue
            for lab in labels:
                if not seg.startswith(lab):
                    continue
                rest = seg[len(lab):]
                if field_name == "phone" and lab != labels[0] and rest[:1] not in "：:":
                    continue  # "电话" in "监督电话：…" of the 备注 is not the enterprise's phone
                value = rest
                if not value.strip(_LABEL_PUNCT) and k + 1 < len(segs) and not _is_label(segs[k + 1]):
                    value = segs[k + 1]
                out[field_name] = clean_value(value)
                break
    return out


_PRIMARY_LABELS = tuple(sorted((labs[0] for labs in HEAD_LABELS.values()), key=len, reverse=True))


def _cut_at_labels(seg: str) -> list[str]:
    cuts = sorted({p for lab in _PRIMARY_LABELS for p in _find_all(seg, lab) if p > 0})
    # "联系电话" holds no other primary label, but guard against cutting inside a longer label.
    pieces, last = [], 0
    for p in cuts:
        if any(seg.startswith(lab, q) and q < p < q + len(lab) for lab in _PRIMARY_LABELS for q in cuts + [0]):
            continue
        pieces.append(seg[last:p])
        last = p
    pieces.append(seg[last:])
    return [x for x in pieces if x] or [seg]


def _find_all(text: str, sub: str) -> list[int]:
    out, p = [], text.find(sub)
    while p >= 0:
        out.append(p)
        p = text.find(sub, p + 1)
    return out


def _is_label(seg: str) -> bool:
    return any(seg.startswith(lab) for lab in ALL_LABELS)


# ---- marks on paper (scans and photos, engine.omr) -------------------------------------------


class MarkHow(StrEnum):
    """How a question's box was marked on a scanned or photographed card, or why no answer was taken."""

    TICK = "tick"  # ✓ in the box
    CROSS = "cross"  # × in the box (on a paper card, × in one box means "this one")
    FILL = "fill"  # the box blacked in
    RING = "ring"  # a ring drawn round the box or its 是/否 label
    FAINT = "faint"  # a light (pencil) mark, taken only when clearly alone
    BLANK = "blank"  # neither box marked
    BOTH = "both"  # both boxes marked (or a crossed-out tick beside a new one)
    UNCLEAR = "unclear"  # a mark too weak or too close to call
    BETWEEN = "between"  # a mark in the gap between the two options: meant for which?
    ACROSS = "across"  # one stroke through the boxes of two rows (a line down a column, a tick across a rule)
    BESIDE = "beside"  # pen beside the chosen option that no box accounts for (a word written next to it)
    DASH = "dash"  # one straight stroke along the row in the box ("—"): "this one" or "nothing here"?
    NOT_FOUND = "not_found"  # the row could not be located in the image

    @property
    def zh(self) -> str:
        return _HOW_ZH[self]

    @property
    def decided(self) -> bool:
        """A mark the machine takes as the answer (the others leave the question to a person)."""
        return self in _DECIDED


_HOW_ZH = {
    MarkHow.TICK: "打勾", MarkHow.CROSS: "打叉", MarkHow.FILL: "涂黑", MarkHow.RING: "画圈",
    MarkHow.FAINT: "笔迹较浅", MarkHow.BLANK: "未勾选", MarkHow.BOTH: "两项都有标记",
    MarkHow.UNCLEAR: "标记不清", MarkHow.BETWEEN: "标记在两个选项之间", MarkHow.NOT_FOUND: "未找到该行",
    MarkHow.ACROSS: "同一笔画穿过了几行的方框", MarkHow.BESIDE: "勾选旁另有笔迹（可能写了字或作了更正）",
    MarkHow.DASH: "框里只画了一横（选中还是表示“无”？）",
}
_DECIDED = frozenset({MarkHow.TICK, MarkHow.CROSS, MarkHow.FILL, MarkHow.RING, MarkHow.FAINT})
PROBLEM_OF_MARK = {MarkHow.BLANK: AnswerProblem.NONE, MarkHow.BOTH: AnswerProblem.BOTH,
                   MarkHow.UNCLEAR: AnswerProblem.UNCLEAR, MarkHow.BETWEEN: AnswerProblem.UNCLEAR,
                   MarkHow.ACROSS: AnswerProblem.UNCLEAR, MarkHow.BESIDE: AnswerProblem.UNCLEAR,
                   MarkHow.DASH: AnswerProblem.UNCLEAR,
                   MarkHow.NOT_FOUND: AnswerProblem.MISSING}


@dataclass(frozen=True, slots=True)
class QuestionMark:
    """How one question was read from paper, and how sure the reader is (0…1)."""

    how: MarkHow
    confidence: float
    yes_score: float = 0.0  # ink measured in/around the 是 box (0 blank … 1 filled or ringed)
    no_score: float = 0.0

    def to_json(self) -> dict[str, object]:
        return {"how": str(self.how), "how_zh": self.how.zh, "confidence": round(self.confidence, 3),
                "yes_score": round(self.yes_score, 3), "no_score": round(self.no_score, 3)}


# ---- the reading ---------------------------------------------------------------------------


@dataclass(slots=True)
class CardReading:
    """Everything a reader found on one returned card."""

    method: ReadMethod
    is_card: bool  # the title or most question rows were found
    confidence: float = NOT_READ  # how far the answers can be trusted (FIELD_VALUES … NOT_READ)
    form: str = ""  # a FormKey: the card, or one of our other forms; "" when none
    serial: str | None = None  # from a valid QR, else the printed serial
    printed_serial: str | None = None
    qr: QrContent | None = None
    qr_payloads: list[str] = field(default_factory=list)  # raw QR texts found (also foreign ones)
    answers: dict[int, str | None] = field(default_factory=dict)
    problems: dict[int, AnswerProblem] = field(default_factory=dict)
    answer_texts: dict[int, str] = field(default_factory=dict)
    enterprise: str = ""
    head: str = ""
    position: str = ""
    phone: str = ""
    needs_review: str = ""  # non-empty: why a person must read this card (scan/photo)
    pages: int = 0
    stated_visit_total: int | None = None  # 第N次入企业检查 as the card states it (the enterprise may correct it)
    stated_visit_kind: int | None = None  # 第M次 <kind>
    printed_dates: tuple[date, date] | None = None  # 检查日期 as printed (start, end); what ties a QR-less card to its visit
    # A scan or photo: how each question's box was read (engine.omr); empty for the other readers.
    marks: dict[int, QuestionMark] = field(default_factory=dict)
    page: int = 0  # the page of the file this card is on (a multi-card scan holds one card per page)
    serial_from_ocr: bool = False  # the serial was read from the printed 检查编号: no signature checked

    def set_answers(self, answers: dict[int, Answer]) -> None:
        for i in QUESTION_NUMBERS:
            a = answers.get(i)
            if a is None:
                self.answers[i] = None
                self.problems[i] = AnswerProblem.MISSING
                continue
            self.answers[i] = a.value
            self.answer_texts[i] = a.text
            if a.problem is not None:
                self.problems[i] = a.problem

    def set_header(self, values: dict[str, str]) -> None:
        self.enterprise = values.get("enterprise", self.enterprise)
        self.head = values.get("head", self.head)
        self.position = values.get("position", self.position)
        self.phone = values.get("phone", self.phone)

    def resolve_serial(self, text: str, key: bytes) -> None:
        """Serial from the first of our QR payloads (valid one preferred), else from the printed text."""
        self.printed_serial = _printed_serial(text)
        ours = [q for q in (parse_qr(key, p) for p in self.qr_payloads) if q is not None]
        ours.sort(key=lambda q: not q.valid)
        self.qr = ours[0] if ours else None
        if self.qr is not None and self.qr.valid:
            self.serial = self.qr.serial
        else:
            self.serial = self.printed_serial or (self.qr.serial if self.qr else None)
        self.read_visit_numbers(text)
        self.printed_dates = printed_dates_in(text)

    @property
    def qr_verified(self) -> bool:
        """Our QR with a valid signature was found: the card is bound to its serial and USCC."""
        return self.qr is not None and self.qr.valid

    def read_visit_numbers(self, text: str) -> None:
        found = visit_numbers_in(text)
        if found:
            self.stated_visit_total, self.stated_visit_kind = found

    def answers_json(self) -> dict[str, str | None]:
        return {str(i): self.answers.get(i) for i in QUESTION_NUMBERS}

    def decision(self, i: int) -> Decision:
        """Question ``i`` as read: a scan's measured mark (``marks``), else the answer with the card's
        confidence (none for a question with a problem: that one is unresolved)."""
        answer = None if i in self.problems else self.answers.get(i)
        mark = self.marks.get(i)
        if mark is not None:
            return Decision(answer, Decided.MARK, mark.confidence, str(mark.how))
        sure = self.confidence if answer is not None else NOT_READ
        return Decision(answer, decided_by_method(self.method), sure, str(self.problems.get(i, "")))

    def marks_json(self) -> dict[str, dict[str, object]] | None:
        """Per question, how a scan's box was read and with what confidence (None: not a scan read)."""
        if not self.marks:
            return None
        return {str(i): self.marks[i].to_json() for i in sorted(self.marks)}


def _tolerant(words: str) -> str:
    """A printed phrase as a pattern that also matches it as enterprises retype it: 入企检查 for
    入企业检查, any or no punctuation between the two numbers."""
    return re.sub("[，,、；;]", "[，,、；;]?", re.escape(normalize(words)).replace("企业", "企业?"))


def _visit_pattern(sentence: str) -> re.Pattern[str]:
    """``第N次入企业检查，第M次`` from the card's visit sentence (``第{visit_total}次…第{visit_kind}次``)."""
    number = "[0-9０-９一二三四五六七八九十两]+"
    before, rest = sentence.split("{visit_total}", 1)
    between, after = rest.split("{visit_kind}", 1)
    return re.compile(f"{_tolerant(before[-1])}(?P<n>{number}){_tolerant(between)}(?P<m>{number})"
                      f"{_tolerant(after.split('{', 1)[0])}")


_VISIT_RE = _visit_pattern(CARD.texts["visit"])
_CN_DIGITS = {c: i for i, c in enumerate("零一二三四五六七八九")} | {"两": 2}


def visit_numbers_in(text: str) -> tuple[int | None, int | None] | None:
    """(N, M) of "第N次入企业检查，第M次" in a card's text, or None when the sentence is not there."""
    m = _VISIT_RE.search(normalize(text or ""))
    return None if m is None else (parse_number(m["n"]), parse_number(m["m"]))


_DATE_LABEL = CARD.label("date")  # 检查日期
# engine.inspection.format_range read back: 2025年3月3日, …至4日, …至4月2日, …至2026年1月2日
_RANGE_RE = re.compile(re.escape(_DATE_LABEL) + r"[：:]?(\d{4})年(\d{1,2})月(\d{1,2})日"
                       r"(?:[至到~～\-－—](?:(\d{4})年)?(?:(\d{1,2})月)?(\d{1,2})日)?")


def printed_dates_in(text: str) -> tuple[date, date] | None:
    """(start, end) of the card's 检查日期 line, or None when it is not there or not a real date."""
    m = _RANGE_RE.search(halfwidth(normalize(text or "")))
    if m is None:
        return None
    y, mo, d, y2, mo2, d2 = m.groups()
    try:
        start = date(int(y), int(mo), int(d))
        end = date(int(y2 or y), int(mo2 or mo), int(d2)) if d2 else start
    except ValueError:
        return None
    return start, end


def parse_number(text: str) -> int | None:
    """``3``, ``３``, ``三``, ``十二`` → int."""
    t = halfwidth(text)
    if t.isdigit():
        return int(t)
    tens, ten, ones = t.partition("十")
    if not ten:
        return _CN_DIGITS.get(t) if len(t) == 1 else None
    if (tens and tens not in _CN_DIGITS) or (ones and ones not in _CN_DIGITS):
        return None
    return (_CN_DIGITS[tens] if tens else 1) * 10 + (_CN_DIGITS[ones] if ones else 0)


def _printed_serial(text: str) -> str | None:
    # Prefer the serial next to its label; any serial-shaped number otherwise.
    t = normalize(text)
    label = label_of(SERIAL_LABEL)
    pos = t.find(label)
    s = Serial.parse(_spaced(t[pos:pos + 40])) if pos >= 0 else None
    s = s or Serial.parse(_spaced(t))
    return str(s) if s else None


def _spaced(t: str) -> str:
    # Serial.parse wants word boundaries; after white space was removed a serial may touch CJK text.
    return re.sub(r"(\d{6}-\d{4}-\d{4,6})", r" \1 ", t.replace("－", "-").replace("—", "-"))


def identify_form(text: str) -> str:
    """Which of our three forms this text is (a ``FormKey``, "" if none): by title, the card wins ties."""
    t = normalize(text)
    for key in (FormKey.CARD, FormKey.NOTICE, FormKey.NOTICE_BOARD):
        if normalize(FORMS[key].title) in t:
            return key
    return ""


def looks_like_card(text: str, answers_found: int) -> bool:
    return identify_form(text) == FormKey.CARD or answers_found >= QUESTION_COUNT // 2 + 1
