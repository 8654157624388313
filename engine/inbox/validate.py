"""Rules for a returned feedback card: what is an error, what is a warning, which flags it carries.

``check_card`` compares a ``CardReading`` with the register row of its serial and yields
findings; it never raises and never changes anything.  Errors (an answer that cannot be
trusted) make the card ``needs_review``; warnings are shown but the card is filed.  Flags
go into the archive and the register for the 纪委 review:

- ``VIOLATION``: any question answered 是 (the question numbers are kept);
- ``LATE``: received more than ``late_days`` after the inspection ended;
- ``EARLY``: received on a calendar day before the inspection's last day (``end``), i.e. before it
  started or while it still had a day to run.  "Received" is when the file reached the inbox (the
  earlier of its modification time and the ingest), as for LATE.  A card that arrives on the last
  day itself is normal (the team leaves the card as it goes) and is not flagged;
- ``SUSPECT``: serial unknown or missing, QR signature wrong, QR and printed serial disagree,
  or the enterprise on the card (QR code or printed name) is not the register's; on a card without
  a verifiable QR also: the printed 检查日期 differ from the register's, or the printed enterprise
  or dates cannot be read (nothing else ties the printed serial to its visit);
- ``QR_MISSING``: no QR of ours with a valid signature was found (the picture was deleted, cannot
  be decoded, or is not ours).  Such a card is tied to its visit only by what is printed on it,
  which anyone can retype in Word, so it always goes on the 纪委 list, SUSPECT or not;
- ``NEEDS_REVIEW``: a reading below ``REVIEW_BELOW`` confidence (a scan/photo), or at least one
  answer error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

from ..findings import Finding, Findings, Severity, error, warning
from ..forms import CARD, QUESTION_NUMBERS, YES
from ..forms.definitions import QUESTION_NUMERALS, SERIAL_LABEL, label_of
from ..inspection import format_range
from ..readback.common import (
    REVIEW_BELOW,
    AnswerProblem,
    CardReading,
    ReadMethod,
    normalize,
)
from ..text import halfwidth
from .codes import Flag

if TYPE_CHECKING:
    from ..register import Visit

# Where on the card a finding is: the card's own labels.
ENTERPRISE, DATES, HEAD, POSITION, PHONE = (CARD.label(k) for k in ("enterprise", "date", "head", "position", "phone"))
SERIAL = label_of(SERIAL_LABEL)

# A reading less sure than ``REVIEW_BELOW`` (``CardReading.confidence``: a scan or photo whose ticks are
# not read) is not checked answer by answer: a person reads the card (NEEDS_REVIEW).


class CardCode(StrEnum):
    ANSWER_BOTH = "ANSWER_BOTH"
    ANSWER_NONE = "ANSWER_NONE"
    ANSWER_UNCLEAR = "ANSWER_UNCLEAR"
    QUESTION_MISSING = "QUESTION_MISSING"
    VIOLATION = "VIOLATION"
    LATE = "LATE"
    EARLY = "CARD_EARLY"
    SERIAL_MISSING = "SERIAL_MISSING"
    SERIAL_UNKNOWN = "SERIAL_UNKNOWN"
    QR_INVALID = "QR_SIGNATURE_INVALID"
    QR_SERIAL_MISMATCH = "QR_SERIAL_MISMATCH"
    QR_UNREADABLE = "QR_UNREADABLE"
    ENTERPRISE_MISMATCH = "ENTERPRISE_MISMATCH"
    QR_MISSING = "QR_MISSING"  # no verifiable QR: a warning and a flag, SUSPECT only with one of the two below
    DATES_MISMATCH = "CARD_DATES_MISMATCH"  # QR-less card: printed 检查日期 are not the register's
    IDENTITY_UNCONFIRMED = "CARD_IDENTITY_UNCONFIRMED"  # QR-less card: printed enterprise or dates unreadable
    ENTERPRISE_GLYPHS = "ENTERPRISE_NAME_GLYPHS_UNREAD"  # a note, never SUSPECT
    HEAD_MISSING = "HEAD_MISSING"
    POSITION_MISSING = "POSITION_MISSING"
    PHONE_MISSING = "PHONE_MISSING"
    PHONE_IMPLAUSIBLE = "PHONE_IMPLAUSIBLE"
    SCAN = "SCAN_NEEDS_REVIEW"


_ANSWER_MESSAGES = {
    AnswerProblem.BOTH: "第{n}题“是”和“否”都勾选了，无法确定回答。请与企业核实后人工录入。",
    AnswerProblem.NONE: "第{n}题没有勾选“是”或“否”。请与企业核实后人工录入。",
    AnswerProblem.UNCLEAR: "第{n}题的回答“{text}”无法判断（打叉、否定词或附加文字）。请人工核对。",
    AnswerProblem.MISSING: "没有找到第{n}题，反馈卡可能被改动过。请人工核对。",
}
_ANSWER_CODES = {
    AnswerProblem.BOTH: CardCode.ANSWER_BOTH, AnswerProblem.NONE: CardCode.ANSWER_NONE,
    AnswerProblem.UNCLEAR: CardCode.ANSWER_UNCLEAR, AnswerProblem.MISSING: CardCode.QUESTION_MISSING,
}


@dataclass(slots=True)
class CardCheck:
    findings: Findings = field(default_factory=Findings)
    flags: list[str] = field(default_factory=list)
    violations: list[int] = field(default_factory=list)  # question numbers answered 是
    suspect_reasons: list[str] = field(default_factory=list)  # Chinese, why it is SUSPECT

    def flag(self, f: Flag) -> None:
        if f not in self.flags:
            self.flags.append(str(f))

    @property
    def needs_review(self) -> bool:
        return Flag.NEEDS_REVIEW in self.flags


def question_where(numbers: list[int]) -> str:
    return "第" + "、".join(str(n) for n in numbers) + "题"


def check_card(reading: CardReading, visit: Visit | None, received_at: datetime, late_days: int) -> CardCheck:
    c = CardCheck()
    for f in identity_findings(reading, visit):
        c.findings.add(f)
        c.flag(Flag.SUSPECT)
        c.suspect_reasons.append(f.message)
    if not reading.qr_verified:
        c.findings.add(qr_missing_finding(reading))
        c.flag(Flag.QR_MISSING)
    if not reading.serial:  # it waits in ``ruqi confirm`` until a person ties it to its inspection
        c.flag(Flag.NEEDS_REVIEW)
    if reading.confidence < REVIEW_BELOW:
        c.findings.add(warning(CardCode.SCAN, reading.needs_review or "扫描件需人工核对。"))
        c.flag(Flag.NEEDS_REVIEW)
    else:
        c.findings.extend(answer_findings(reading))
        if c.findings.errors:
            c.flag(Flag.NEEDS_REVIEW)
        c.findings.extend(contact_findings(reading))
    c.violations = [i for i in QUESTION_NUMBERS if reading.answers.get(i) == YES]
    if c.violations:
        c.flag(Flag.VIOLATION)
        nums = "、".join(QUESTION_NUMERALS[i - 1] for i in c.violations)
        c.findings.add(warning(CardCode.VIOLATION, f"企业对第{nums}题回答“是”，反映检查人员可能违反廉洁纪律，已列入纪委审查清单。",
                               question_where(c.violations)))
    c.findings.add(glyph_note(reading, visit))
    late = late_finding(visit, received_at, late_days)
    if late is not None:
        c.findings.add(late)
        c.flag(Flag.LATE)
    early = early_finding(visit, received_at)
    if early is not None:
        c.findings.add(early)
        c.flag(Flag.EARLY)
    return c


def answer_findings(reading: CardReading) -> list[Finding]:
    out: list[Finding] = []
    for i in QUESTION_NUMBERS:
        p = reading.problems.get(i)
        if p is None:
            continue
        text = reading.answer_texts.get(i, "")
        out.append(error(_ANSWER_CODES[p], _ANSWER_MESSAGES[p].format(n=i, text=text), f"第{i}题"))
    return out


def identity_findings(reading: CardReading, visit: Visit | None) -> list[Finding]:
    """Why this card might not be what it claims to be (each one makes it SUSPECT)."""
    out: list[Finding] = []
    qr = reading.qr
    if not reading.serial:
        out.append(warning(CardCode.SERIAL_MISSING, "反馈卡上找不到检查编号（二维码和印刷编号都无法识别），无法对应检查记录。"
                                                      "请核对卡上印的检查编号后用 ruqi confirm 档号 --serial 检查编号 --by 姓名 对应。", SERIAL))
        return out
    if qr is not None and not qr.valid:
        out.append(warning(CardCode.QR_INVALID, "二维码签名校验不通过：二维码不是本局系统生成的，或内容被改动过。", "二维码"))
    if qr is not None and reading.printed_serial and qr.serial != reading.printed_serial:
        out.append(warning(CardCode.QR_SERIAL_MISMATCH,
                           f"二维码中的编号 {qr.serial} 与卡上印刷的编号 {reading.printed_serial} 不一致。", SERIAL))
    if visit is None:
        out.append(warning(CardCode.SERIAL_UNKNOWN, f"检查编号 {reading.serial} 不在本局检查登记中。", SERIAL))
        return out
    if qr is not None and qr.valid and qr.uscc != visit.uscc:
        out.append(warning(CardCode.ENTERPRISE_MISMATCH,
                           f"二维码中的统一社会信用代码 {qr.uscc} 与登记的 {visit.uscc}（{visit.enterprise}）不一致。", "二维码"))
    if reading.enterprise and name_match(reading.enterprise, visit.enterprise) is NameMatch.DIFFERENT:
        out.append(warning(CardCode.ENTERPRISE_MISMATCH,
                           f"卡上的被检查单位“{reading.enterprise}”与登记的“{visit.enterprise}”不一致。", ENTERPRISE))
    if not reading.qr_verified:
        out.extend(printed_identity_findings(reading, visit))
    return out


def qr_missing_finding(reading: CardReading) -> Finding:
    why = "二维码签名不符，不是本局签发的" if reading.qr is not None else "找不到二维码，图片被删除或无法识别"
    serial = f"印刷的检查编号 {reading.printed_serial}" if reading.printed_serial else "卡上的文字"
    return warning(CardCode.QR_MISSING, f"反馈卡上没有可核验的二维码：{why}。只能凭{serial}对应检查记录，"
                                        "已核对卡上的企业名称和检查日期，并列入纪委审查清单。", "二维码")


def printed_identity_findings(reading: CardReading, visit: Visit) -> list[Finding]:
    """Without a verifiable QR, the printed serial must agree with what else the card prints about
    its visit: the enterprise (compared in ``identity_findings``) and the 检查日期.  A card that
    prints neither cannot be tied to the serial at all.  (The card prints no USCC: only the QR
    carries it.)"""
    out: list[Finding] = []
    unread = [label for label, v in ((ENTERPRISE, reading.enterprise), (DATES, reading.printed_dates)) if not v]
    if unread:
        out.append(warning(CardCode.IDENTITY_UNCONFIRMED,
                           f"反馈卡没有可核验的二维码，卡上也读不出{'和'.join(unread)}，无法确认它属于检查编号 {visit.serial}"
                           f"（{visit.enterprise}）。", "、".join(unread)))
    dates = reading.printed_dates
    if dates is not None and dates != (visit.start, visit.end):
        out.append(warning(CardCode.DATES_MISMATCH,
                           f"卡上的检查日期“{format_range(*dates)}”与检查编号 {visit.serial} 登记的"
                           f"“{format_range(visit.start, visit.end)}”不一致：这张卡可能是别的检查的卡改了编号。", DATES))
    return out


def _name_key(name: str) -> str:
    return normalize(name).replace("（", "(").replace("）", ")").upper()


class NameMatch(StrEnum):
    SAME = "same"
    GLYPHS_UNREAD = "glyphs_unread"  # equal but for rare characters the PDF text could not give back
    DIFFERENT = "different"


def _rare(ch: str) -> bool:
    """A character a PDF may print without a usable text mapping: CJK Extension B and beyond (outside
    the BMP), a private-use character from a 造字 program, or the replacement character."""
    cp = ord(ch)
    return cp > 0xFFFF or 0xE000 <= cp <= 0xF8FF or cp == 0xFFFD


def name_match(printed: str, registered: str) -> NameMatch:
    """Compare the enterprise printed on a returned card with the register's.

    A glyph no font had is drawn as an empty box, and a text PDF maps every such box to one code (we
    read 𠀀𪚥 back as 𠀀𠀀), so a rare character of the registered name matches any one character, or
    none.  Every other character must agree: a genuinely different enterprise is still DIFFERENT.
    """
    p, r = _name_key(printed), _name_key(registered)
    if p == r:
        return NameMatch.SAME
    if any(_rare(ch) for ch in r):
        pattern = "".join(".?" if _rare(ch) else re.escape(ch) for ch in r)
        if re.fullmatch(pattern, p):
            return NameMatch.GLYPHS_UNREAD
    return NameMatch.DIFFERENT


def glyph_note(reading: CardReading, visit: Visit | None) -> Finding | None:
    """A note (not a flag) when only the rare characters of the enterprise name could not be read."""
    if visit is None or not reading.enterprise:
        return None
    if name_match(reading.enterprise, visit.enterprise) is not NameMatch.GLYPHS_UNREAD:
        return None
    rare = "".join(ch for ch in visit.enterprise if _rare(ch))
    return Finding(CardCode.ENTERPRISE_GLYPHS, f"卡上被检查单位名称中的生僻字“{rare}”未能从 PDF 文字中准确读出"
                   f"（读作“{reading.enterprise}”），其余文字与登记的“{visit.enterprise}”一致，不作为可疑。", ENTERPRISE,
                   Severity.INFO)


def contact_findings(reading: CardReading) -> list[Finding]:
    out: list[Finding] = []
    if reading.method is ReadMethod.IMAGE:
        # Handwriting is not read off a scan: "未填写" would be said of every paper card, filled or not.
        return out
    if not reading.head:
        out.append(warning(CardCode.HEAD_MISSING, "被检查单位未填写负责人。", HEAD))
    if not reading.position:
        out.append(warning(CardCode.POSITION_MISSING, "被检查单位未填写负责人职务。", POSITION))
    if not reading.phone:
        out.append(warning(CardCode.PHONE_MISSING, "被检查单位未填写联系电话。", PHONE))
    elif not plausible_phone(reading.phone):
        out.append(warning(CardCode.PHONE_IMPLAUSIBLE,
                           f"联系电话“{reading.phone}”不像有效的手机号（11位，1开头）或座机号（区号+7~8位）。", PHONE))
    return out


_MOBILE = re.compile(r"1[3-9]\d{9}")
_LANDLINE = re.compile(r"0(?:10|2\d)\d{8}|0[3-9]\d{2}\d{7,8}")
_SERVICE = re.compile(r"[48]00\d{7}")
_SPLIT = re.compile(r"[/、,，;；或]|\s{2,}")


def plausible_phone(text: str) -> bool:
    """A mainland mobile or landline (with area code), optionally +86 and an extension; any of several."""
    return any(_plausible_one(part) for part in _SPLIT.split(text) if part.strip())


def _plausible_one(part: str) -> bool:
    t = halfwidth(part.strip(), "-()+")
    t = re.sub(r"^\+?86[\s-]?", "", t)
    groups = re.findall(r"\d+", t)
    if not groups or re.search(r"[A-Za-z\u4e00-\u9fff]", re.sub(r"(转|分机|ext\.?|x)", "", t, flags=re.I)):
        return False
    for k in range(1, len(groups) + 1):
        main, rest = "".join(groups[:k]), "".join(groups[k:])
        if len(rest) <= 5 and any(p.fullmatch(main) for p in (_MOBILE, _LANDLINE, _SERVICE)):
            return True
    return False


def due_date(visit: Visit, late_days: int) -> date:
    return visit.end + timedelta(days=late_days)


def late_finding(visit: Visit | None, received_at: datetime, late_days: int) -> Finding | None:
    if visit is None:
        return None
    due = due_date(visit, late_days)
    if received_at.date() <= due:
        return None
    days = (received_at.date() - due).days
    return warning(CardCode.LATE, f"检查于 {visit.end:%Y-%m-%d} 结束，应在 {late_days} 日内（{due:%Y-%m-%d} 前）交回，"
                                  f"实际 {received_at:%Y-%m-%d} 收到，逾期 {days} 天。", "收到日期")


def early_finding(visit: Visit | None, received_at: datetime) -> Finding | None:
    """A card received before the inspection's last day: possibly filled and signed in advance."""
    if visit is None or received_at.date() >= visit.end:
        return None
    when = "开始前" if received_at.date() < visit.start else "结束前"
    span = f"{visit.start:%Y-%m-%d}" + ("" if visit.end == visit.start else f" 至 {visit.end:%Y-%m-%d}")
    return warning(CardCode.EARLY, f"检查于 {span} 进行，反馈卡却在检查{when}（{received_at:%Y-%m-%d}）就已收到："
                                   "可能是事先填好、签好的，已列入纪委审查清单。", "收到日期")
