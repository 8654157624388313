"""本年度第N次 / 第M次<kind> count visits by date, and the review says which printed cards went wrong and why."""

from __future__ import annotations

import os
import re
import shutil
from datetime import date, datetime
from pathlib import Path

from _plan_fixtures import GOOD, _plan
from docx import Document

from engine import register
from engine.db import session
from engine.generate import GenCode, RowStatus, generate
from engine.inbox import Status, ingest
from engine.review import ReviewFlag, build_review
from engine.simulate import tick_pdf
from engine.void import void_visit

CLEAN = {i: "否" for i in range(1, 11)}


def _visit(start: date, kind: str) -> dict[str, object]:
    return GOOD | {"开始日期": start, "结束日期": start, "检查类别": kind}


def _card_text(files: list[Path]) -> str:
    d = Document(str(next(p for p in files if p.name.endswith("反馈卡.docx"))))
    return re.sub(r"\s+", "", "".join(c.text for t in d.tables for row in t.rows for c in row.cells)
                  + "".join(p.text for p in d.paragraphs))


def _drop(ws, src: Path, arrived: date) -> None:  # type: ignore[no-untyped-def]
    dst = ws.inbox / src.name
    shutil.copy(src, dst)
    t = datetime.combine(arrived, datetime.min.time()).timestamp() + 9 * 3600
    os.utime(dst, (t, t))


def test_a_visit_entered_late_is_numbered_by_its_date_and_shifted_cards_are_reported(ws, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    first = generate(ws, _plan(tmp_path / "年度计划.xlsx", [
        _visit(date(2025, 3, 10), "执法检查"), _visit(date(2025, 7, 8), "督导检查"), _visit(date(2025, 11, 17), "执法检查"),
    ]), formats=("docx", "pdf"), today=date(2025, 3, 1))
    mar, jul, nov = first.outcomes
    assert [(o.inspection.visit_total, o.inspection.visit_kind) for o in first.outcomes] == [(1, 1), (2, 1), (3, 2)]

    # The clerk enters the 5月10日 visit after the November one was printed.
    late = generate(ws, _plan(tmp_path / "补充计划.xlsx", [_visit(date(2025, 5, 10), "调查核查")]), formats=("docx",),
                    today=date(2025, 5, 6))
    may = late.outcomes[0]
    assert may.status is RowStatus.GENERATED
    assert (may.inspection.visit_total, may.inspection.visit_kind) == (2, 1)  # not 第4次
    assert "第2次入企业检查" in _card_text(may.files) and "第4次入企业检查" not in _card_text(may.files)
    warned = [(f.code, f.where) for f in may.findings]
    assert warned == [(GenCode.RENUMBERED, "第2行"), (GenCode.RENUMBERED, "第2行")]
    assert [st.serial for st in may.stale] == [jul.serial, nov.serial]
    assert "按检查日期应为第4次、第2次执法检查" in may.findings.items[1].message
    with session(ws) as s:
        stale = {st.serial: st for st in register.stale_numbers(s, GOOD["统一社会信用代码"], 2025)}
        assert {k: (st.printed, st.now) for k, st in stale.items()} == {jul.serial: ((2, 1), (3, 1)),
                                                                        nov.serial: ((3, 2), (4, 2))}
        assert stale[nov.serial].entered_later == ((may.serial, date(2025, 5, 10)),)

    # The November card comes back as printed (第3次); the July card is still out.
    nov_pdf = next(p for p in nov.files if p.name.endswith("反馈卡.pdf"))
    _drop(ws, tick_pdf(nov_pdf, tmp_path / "十一月反馈卡.pdf", CLEAN), date(2025, 11, 18))
    assert [o.status for o in ingest(ws, workers=1).outcomes] == [Status.FILED]

    r = build_review(ws, today=date(2025, 12, 1))
    found = {m.entry.serial: m for m in r.mismatches}
    assert set(found) == {jul.serial, nov.serial}
    m = found[nov.serial]
    assert (m.stated_total, m.entry.visit_total, m.expected_total, m.expected_kind) == (3, 3, 4, 2)
    assert may.serial in m.explanation and "2025-05-10" in m.explanation and "仍是打印时的次数" in m.explanation
    assert found[jul.serial].stated_total is None and "按检查日期应为第3次" in found[jul.serial].explanation
    assert ReviewFlag.VISIT_MISMATCH in r.entry(jul.serial).flags  # type: ignore[union-attr]
    assert ReviewFlag.VISIT_MISMATCH not in r.entry(mar.serial).flags  # type: ignore[union-attr]

    # Voiding the March visit shifts the November card again; the void says so, and so does the review.
    voided = void_visit(ws, mar.serial, "误登记：三月未实际检查", actor="李文书")
    assert [(st.serial, st.printed, st.now) for st in voided.stale] == [(may.serial, (2, 1), (1, 1)),
                                                                        (nov.serial, (3, 2), (3, 1))]
    assert voided.stale[1].voided == ((mar.serial, date(2025, 3, 10)),)
    r = build_review(ws, today=date(2025, 12, 1))
    m = next(m for m in r.mismatches if m.entry.serial == nov.serial)
    assert (m.expected_total, m.expected_kind) == (3, 1)
    assert f"{mar.serial}（2025-03-10） 已作废" in m.explanation and may.serial in m.explanation
    assert jul.serial not in {m.entry.serial for m in r.mismatches}  # 第2次 is right again


def test_rows_out_of_date_order_in_one_plan_print_numbers_by_date(ws, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # Nothing of a run is printed before all its rows are registered, so nothing is reported either.
    res = generate(ws, _plan(tmp_path / "p.xlsx", [_visit(date(2025, 9, 1), "督导检查"),
                                                   _visit(date(2025, 4, 1), "督导检查")]),
                   formats=("docx",), today=date(2025, 3, 1))
    sep, apr = res.outcomes
    assert [(o.inspection.visit_total, o.inspection.visit_kind) for o in (apr, sep)] == [(1, 1), (2, 2)]
    assert "第2次入企业检查" in _card_text(sep.files)
    with session(ws) as s:
        assert register.numbers_by_date(s, GOOD["统一社会信用代码"], 2025) == {apr.serial: (1, 1), sep.serial: (2, 2)}
        assert register.stale_numbers(s, GOOD["统一社会信用代码"], 2025) == []
    assert (sep.stale, apr.stale, sep.findings.items, apr.findings.items) == ([], [], [], [])
