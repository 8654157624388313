"""The whole path the 纪委 depends on: plan → generate → returned cards in the inbox → ingest → review → bag.

Cards come back the way enterprises return them: the generated PDF ticked in a PDF reader (pypdf
sets the AcroForm boxes), the generated docx filled in Word (one with the visit number corrected
by hand), one card for a serial we never issued, one naming another enterprise.  Every review list
is compared with exactly what was planted, and the bag must hold the bytes that were dropped.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import zipfile
from datetime import date, datetime, timedelta
from pathlib import Path

import bagit
import pytest
from openpyxl import Workbook

from engine import workspace
from engine.archive.layout import sanitize
from engine.db import session
from engine.generate import RowStatus, generate
from engine.inbox import Status, ingest
from engine.plan import COLUMNS
from engine.register import by_serial
from engine.review import CardState, SuspectReason, build_review
from engine.review.export import export_bundle
from engine.xlsx_safe import set_value
from tests._inbox_fixtures import fill_docx, render_card, tick_pdf
from tests._review_fixtures import FIRMS, Firm

TODAY = date(2025, 6, 30)
CLEAN = {i: "否" for i in range(1, 11)}
REASON = "=群众举报涉嫌非法生产，经局长批准"  # starts with "=": must stay text everywhere

# (firm, kind, start, days); F7 is 非高危行业 一级: one 执法检查 a year.
F0, F3, F5, F7 = FIRMS[0], FIRMS[3], FIRMS[5], FIRMS[7]
ROWS: list[tuple[Firm, str, date, int]] = [
    (F0, "执法检查", date(2025, 6, 2), 1),  # 0 clean
    (F3, "执法检查", date(2025, 6, 3), 2),  # 1 是 on question 2
    (F5, "督导检查", date(2025, 6, 4), 1),  # 2 late
    (F7, "执法检查", date(2025, 6, 5), 1),  # 3 never returned: overdue
    (F0, "督导检查", date(2025, 6, 9), 1),  # 4 docx, the enterprise corrected 第2次 to 第4次
    (F3, "调查核查", date(2025, 6, 11), 1),  # 5 是 on questions 3 and 8
    (F5, "执法检查", date(2025, 6, 13), 2),  # 6 a card naming another enterprise: suspect
    (F0, "调查核查", date(2025, 6, 16), 1),  # 7 clean
    (F3, "督导检查", date(2025, 6, 18), 1),  # 8 clean
    (F5, "调查核查", date(2025, 6, 23), 1),  # 9 clean
    (F0, "执法检查", date(2025, 6, 28), 1),  # 10 not back yet, still within 3 days
]
OVER = (F7, "执法检查", date(2025, 6, 20), 1)  # 11 F7's second 执法检查: refused, then overridden


def _plan(path: Path, rows: list[tuple[Firm, str, date, int]]) -> Path:
    wb = Workbook()
    sh = wb.active
    sh.append([c.header for c in COLUMNS])
    for n, (f, kind, start, days) in enumerate(rows, start=2):
        values = {"企业名称": f.name, "统一社会信用代码": f.uscc, "所属县区": f.county, "行业类别": f.industry, "等级": f.grade,
                  "检查类别": kind, "检查依据": "《2025年度安全生产监督检查计划》", "开始日期": start,
                  "结束日期": start + timedelta(days=days - 1), "组长": ("张建国", "王海涛")[n % 2],
                  "成员": ("李明、王芳", "赵强、孙丽")[n % 2], "专家": "周杰", "检查内容": "安全生产主体责任落实情况"}
        for j, c in enumerate(COLUMNS, start=1):
            set_value(sh.cell(n, j), values.get(c.header, ""))
    wb.save(path)
    return path


def _drop(ws: workspace.Workspace, src: Path, name: str, arrived: date) -> str:
    dst = ws.inbox / name
    shutil.copy(src, dst)
    t = datetime.combine(arrived, datetime.min.time()).timestamp() + 10 * 3600
    os.utime(dst, (t, t))
    return hashlib.sha256(dst.read_bytes()).hexdigest()


def _edit_docx(path: Path, old: str, new: str) -> Path:
    with zipfile.ZipFile(path) as z:
        parts = {i.filename: z.read(i) for i in z.infolist()}
    xml = parts["word/document.xml"].decode("utf-8")
    assert old in xml
    parts["word/document.xml"] = xml.replace(old, new).encode("utf-8")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)
    return path


@pytest.fixture(scope="module")
def month(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    tmp = tmp_path_factory.mktemp("e2e")
    ws = workspace.init(tmp / "ws")
    first = generate(ws, _plan(tmp / "六月计划.xlsx", [*ROWS, OVER]), formats=("pdf",), issue_date=date(2025, 5, 30))
    assert [o.status for o in first.outcomes] == [RowStatus.GENERATED] * len(ROWS) + [RowStatus.REFUSED]
    forced = generate(ws, _plan(tmp / "补充计划.xlsx", [OVER]), formats=("pdf",), allow_over_cap=True, reason=REASON,
                      issue_date=date(2025, 6, 18))
    outcomes = first.outcomes[:len(ROWS)] + forced.outcomes
    serials = [o.serial for o in outcomes]
    pdf_card = {o.serial: next(p for p in o.files if p.name.endswith("反馈卡.pdf")) for o in outcomes}
    with session(ws) as s:
        visits = {sn: by_serial(s, sn).to_inspection() for sn in serials}  # type: ignore[union-attr]

    dropped: dict[str, str] = {}  # serial → sha256 of the card as returned

    def back(k: int, answers: dict[int, str], late_days: int = 0) -> None:
        sn = serials[k]
        src = tick_pdf(pdf_card[sn], tmp / f"{sn}-ticked.pdf", answers)
        dropped[sn] = _drop(ws, src, f"{sn}反馈卡.pdf", visits[sn].end + timedelta(days=1 + late_days))

    for k in (0, 7, 8, 9, 11):
        back(k, CLEAN)
    back(1, CLEAN | {2: "是"})
    back(5, CLEAN | {3: "是", 8: "是"})
    back(2, CLEAN, late_days=6)
    # 4: the docx, filled in Word, with the visit number changed by the enterprise.
    sn4 = serials[4]
    blank = render_card(ws, visits[sn4], tmp / "r4", ("docx",))["docx"]
    filled = fill_docx(blank, tmp / "card4.docx", CLEAN)
    assert visits[sn4].visit_total == 2
    _edit_docx(filled, "第2次入企业检查", "第4次入企业检查")
    dropped[sn4] = _drop(ws, filled, "反馈卡（第4次）.docx", visits[sn4].end + timedelta(days=2))
    # 6: printed with another enterprise's name; and a card for a serial this bureau never issued.
    renamed = visits[serials[6]]
    renamed.enterprise = "大同市另一家物流有限公司"
    card6 = render_card(ws, renamed, tmp / "r6", ("docx",))["docx"]
    dropped[serials[6]] = _drop(ws, fill_docx(card6, tmp / "card6.docx", CLEAN), "反馈卡6.docx",
                                visits[serials[6]].end + timedelta(days=1))
    stranger = visits[serials[0]]
    stranger.serial = "140200-2025-0099"
    card99 = render_card(ws, stranger, tmp / "r99", ("docx",))["docx"]
    orphan_sha = _drop(ws, fill_docx(card99, tmp / "card99.docx", CLEAN | {1: "是"}), "来历不明.docx", date(2025, 6, 20))

    report = ingest(ws, workers=1)
    assert {o.status for o in report.outcomes} == {Status.FILED}, [o.to_json() for o in report.outcomes]
    return ws, serials, dropped, orphan_sha, outcomes


def test_review_lists_equal_what_was_planted(month) -> None:  # type: ignore[no-untyped-def]
    ws, s, _dropped, _orphan, _outcomes = month
    r = build_review(ws, date(2025, 6, 1), date(2025, 6, 30), today=TODAY)
    assert sorted(e.serial for e in r.entries) == sorted(s)
    assert [(v.entry.serial, v.questions) for v in r.violations] == [(s[1], (2,)), (s[5], (3, 8))]
    assert [(c.entry.serial, c.state) for c in r.cards] == [
        (s[2], CardState.LATE), (s[3], CardState.OVERDUE), (s[10], CardState.MISSING)]
    assert [(o.entry.serial, o.approved, o.reason) for o in r.over_cap] == [(s[11], True, REASON)]
    assert [(c.serial, c.reasons, c.entry.serial if c.entry else None) for c in r.suspects] == [
        (s[6], (SuspectReason.ENTERPRISE_MISMATCH,), s[6]),
        ("140200-2025-0099", (SuspectReason.SERIAL_UNKNOWN,), None),
    ]
    assert [(m.entry.serial, m.stated_total, m.stated_kind, m.entry.visit_total) for m in r.mismatches] == [
        (s[4], 4, 1, 2)]
    assert "大同市另一家物流有限公司" in r.suspects[0].note  # the inbox's own words, kept for the reviewer
    assert sorted(e.serial for e in r.flagged) == sorted(s[k] for k in (1, 2, 3, 4, 5, 6, 10, 11))
    assert r.notes == []
    v = r.violations[1]
    assert v.entry.team.leader in ("张建国", "王海涛") and v.texts[1] == "八、是否为检查人员、亲友及其他利益相关人谋取不正当利益；"


def test_bag_holds_the_cards_exactly_as_returned_and_generated(month, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ws, s, dropped, orphan_sha, outcomes = month
    res = export_bundle(ws, tmp_path / "纪委审查包", date(2025, 6, 1), date(2025, 6, 30), only_flagged=True, today=TODAY)
    assert res.ok and bagit.Bag(str(res.bag_dir)).is_valid()
    data = res.bag_dir / "data"

    def sha(rel: str) -> str:
        return hashlib.sha256((data / rel).read_bytes()).hexdigest()

    flagged = [s[k] for k in (1, 2, 3, 4, 5, 6, 10, 11)]
    assert sorted(res.serials) == sorted(flagged)
    by_serial = {o.serial: o for o in outcomes}
    for sn in flagged:
        e = res.review.entry(sn)
        folder = f"originals/{sanitize(f'{sn}_{e.enterprise}')}"
        names = sorted(x.removeprefix(folder + "/") for x in res.payload if x.startswith(folder + "/"))
        returned = [n for n in names if n.startswith("入企检查监督反馈卡（交回）")]
        assert [n for n in names if n not in returned] == sorted(
            ["入企检查活动通知书.pdf", "入企检查监督公示.pdf", "入企检查监督反馈卡（空白）.pdf"])
        assert [sha(f"{folder}/{n}") for n in returned] == ([dropped[sn]] if sn in dropped else [])
        generated = next(p for p in by_serial[sn].files if p.name.endswith("反馈卡.pdf"))
        assert sha(f"{folder}/入企检查监督反馈卡（空白）.pdf") == hashlib.sha256(generated.read_bytes()).hexdigest()
    orphans = [x for x in res.payload if x.startswith("originals/可疑反馈卡/")]
    assert [sha(x) for x in orphans] == [orphan_sha]
    assert re.fullmatch(r"[0-9a-f]{64}", res.manifest_sha256)
