"""`generate`: a clerk's plan in, forms for every valid row out, bad rows explained, caps enforced."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date
from pathlib import Path

import pdfplumber
from _plan_fixtures import GOOD, _plan
from docx import Document
from openpyxl import load_workbook
from typer.testing import CliRunner

from engine import register
from engine.archive import audit_log, search, verify
from engine.cli import app
from engine.db import session
from engine.forms import CARD_QUESTIONS, TEN_PROHIBITIONS
from engine.generate import RowStatus, generate


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _pdf_text(p: Path) -> str:
    with pdfplumber.open(p) as pdf:
        return _squash("".join(page.extract_text() or "" for page in pdf.pages))


def _pdf_left_of_answers(p: Path) -> str:
    """The card's question column: its lines wrap beside the 是/否 column, so read left of it."""
    with pdfplumber.open(p) as pdf:
        page = pdf.pages[0]
        answer_x = min(w["x0"] for w in page.extract_words() if w["text"] in ("是", "□是"))
        return _squash(page.crop((0, 0, answer_x - 1, page.height)).extract_text() or "")


def _docx_text(p: Path) -> str:
    d = Document(str(p))
    parts = [para.text for sec in d.sections for para in sec.header.paragraphs]
    parts += [para.text for para in d.paragraphs]
    parts += [c.text for t in d.tables for row in t.rows for c in row.cells]
    return _squash("".join(parts))


def test_forms_for_every_valid_row_and_findings_for_the_rest(ws, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    rows = [
        GOOD | {"企业名称": "大同市A&B<化工>\"有限\"公司"},
        GOOD | {"统一社会信用代码": "91140200MA0K123455"},  # bad check character
        GOOD | {"检查类别": "督导检查", "开始日期": date(2025, 5, 6), "结束日期": date(2025, 5, 8)},
    ]
    result = generate(ws, _plan(tmp_path / "plan.xlsx", rows), issue_date=date(2025, 3, 28))
    assert [o.status for o in result.outcomes] == [RowStatus.GENERATED, RowStatus.INVALID, RowStatus.GENERATED]
    assert [o.serial for o in result.outcomes] == ["140200-2025-0001", "", "140200-2025-0002"]
    assert not result.ok
    first, third = result.outcomes[0], result.outcomes[2]
    assert len(first.files) == 6 and all(p.exists() for p in first.files)

    pdfs = {p.name.split("_")[-1]: p for p in first.files if p.suffix == ".pdf"}
    docxs = {p.name.split("_")[-1]: p for p in first.files if p.suffix == ".docx"}
    pdf_texts = {k: _pdf_text(v) for k, v in pdfs.items()}
    for texts in (pdf_texts, {k: _docx_text(v) for k, v in docxs.items()}):
        notice, board, card = (texts[f"{t}.{ext}"] for t, ext in
                                zip(("入企检查活动通知书", "入企检查监督公示", "入企检查监督反馈卡"),
                                    [next(iter(texts)).rsplit(".", 1)[1]] * 3, strict=True))
        assert _squash("大同市A&B<化工>\"有限\"公司：") in notice
        assert _squash("一行5人，在你单位开展（☑执法检查、□督导检查、□调查核查），请予配合。") in notice
        assert "此文书一式两份，一份交企业，一份由部门留存。" in notice
        for line in TEN_PROHIBITIONS:
            assert _squash(line) in board
        questions = _pdf_left_of_answers(pdfs["入企检查监督反馈卡.pdf"]) if texts is pdf_texts else card
        for q in CARD_QUESTIONS:
            assert _squash(q) in questions
        assert "第1次入企业检查，第1次☑执法检查" in card
        assert "检查编号：140200-2025-0001" in card
        assert "检查人员：张建国、李明、王芳、赵强" in card
        assert _squash("3.县应急局执法监督机构邮箱 zfjd-xian@dtyjj.gov.cn，监督电话：0352-6000001；") in card
    # the 督导检查 of the same enterprise is its second visit of the year, first of its kind
    card3 = next(p for p in third.files if p.name.endswith("反馈卡.pdf"))
    assert "第2次入企业检查，第1次□执法检查、☑督导检查" in _pdf_text(card3)

    # the same PDF/A files went, byte-identical, into the archive; 四性检测 passes without warnings
    filed = search(ws, serial="140200-2025-0001")
    assert sorted((i.form_type, i.format, i.format_version) for i in filed) == sorted(
        [(t, "pdf", "PDF/A-3B") for t in ("notice", "notice_board", "card_generated")]
        + [(t, "docx", "") for t in ("notice", "notice_board", "card_generated")])
    assert {i.sha256 for i in filed} == {hashlib.sha256(p.read_bytes()).hexdigest() for p in first.files}
    report = verify(ws)
    assert report.ok and list(report.findings) == []

    manifest = json.loads((result.out_dir / "manifest.json").read_text(encoding="utf-8"))
    assert [r["status"] for r in manifest["rows"]] == ["generated", "invalid", "generated"]
    assert manifest["rows"][1]["errors"][0]["code"] == "USCC_INVALID"
    sheet = load_workbook(result.out_dir / "生成清单.xlsx").active
    assert [c.value for c in sheet["C"]][1:] == ["140200-2025-0001", None, "140200-2025-0002"]


def test_caps_refuse_then_override_with_reason(ws, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # 非高危行业 二级: at most 2 执法检查 a year
    rows = [GOOD | {"开始日期": date(2025, m, 1), "结束日期": date(2025, m, 1)} for m in (3, 6, 9)]
    plan = _plan(tmp_path / "plan.xlsx", rows)
    result = generate(ws, plan, formats=("docx",), today=date(2025, 2, 20))
    assert [o.status for o in result.outcomes] == [RowStatus.GENERATED, RowStatus.GENERATED, RowStatus.REFUSED]
    refusal = result.outcomes[2].findings.items[0]
    assert refusal.code == "OVER_CAP" and "不超过2次" in refusal.message and "已执法检查2次" in refusal.message

    no_reason = generate(ws, plan, formats=("docx",), allow_over_cap=True)
    assert no_reason.plan_findings.flatten("code") == [("OVERRIDE_REASON_REQUIRED",)]

    forced = generate(ws, plan, formats=("docx",), allow_over_cap=True, reason="群众举报，经局长批准")
    assert [(o.status, o.existing, o.over_cap) for o in forced.outcomes] == [
        (RowStatus.GENERATED, True, False), (RowStatus.GENERATED, True, False), (RowStatus.GENERATED, False, True)]
    with session(ws) as s:
        v = register.by_serial(s, forced.outcomes[2].serial)
        assert (v.over_cap, v.override_reason, v.visit_total) == (True, "群众举报，经局长批准", 3)
        assert register.counts(s, GOOD["统一社会信用代码"], 2025)["执法检查"] == 3
    overrides = [e for e in audit_log(ws) if e.action == "override"]
    assert [(e.object, e.details["reason"]) for e in overrides] == [(forced.outcomes[2].serial, "群众举报，经局长批准")]


def test_generating_the_same_plan_twice_does_not_double_count(ws, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    plan = _plan(tmp_path / "plan.xlsx", [GOOD])
    a = generate(ws, plan, formats=("docx",))
    b = generate(ws, plan, formats=("docx",))
    assert (a.outcomes[0].serial, b.outcomes[0].serial, b.outcomes[0].existing) == (
        "140200-2025-0001", "140200-2025-0001", True)
    assert a.batch != b.batch
    assert [e.object for e in audit_log(ws, action="generate")] == [a.batch, b.batch]
    assert len([i for i in search(ws, serial="140200-2025-0001")]) == 3  # docx forms filed once
    with session(ws) as s:
        assert register.counts(s, GOOD["统一社会信用代码"], 2025) == {"执法检查": 1}


def test_cli_generate_json_and_exit_code(ws, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    plan = _plan(tmp_path / "plan.xlsx", [GOOD, GOOD | {"所属县区": "朔城区"}])
    r = CliRunner().invoke(app, ["generate", "--plan", str(plan), "--formats", "docx", "--json",
                                 "--workspace", str(ws.root)])
    lines = [json.loads(x) for x in r.stdout.splitlines() if x.startswith("{")]
    assert r.exit_code == 1
    assert [(x["row"], x["status"]) for x in lines] == [(2, "generated"), (3, "invalid")]
    assert lines[1]["errors"][0] | {"message": ""} == {"code": "COUNTY_UNKNOWN", "message": "",
                                                       "where": "第3行 所属县区（C列）", "severity": "error"}


def test_cli_not_a_plan_is_one_message_not_a_traceback(ws, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bogus = tmp_path / "计划.xlsx"
    bogus.write_bytes(b"PK\x03\x04garbage")
    r = CliRunner().invoke(app, ["generate", "--plan", str(bogus), "--workspace", str(ws.root)])
    assert r.exit_code == 1
    assert "无法打开计划文件" in r.stdout and "Traceback" not in r.stdout


def test_a_run_refused_as_a_whole_leaves_nothing_in_the_outbox(ws, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bogus = tmp_path / "计划.xlsx"
    bogus.write_bytes(b"PK\x03\x04garbage")
    not_a_plan = CliRunner().invoke(app, ["generate", "--plan", str(bogus), "--workspace", str(ws.root)])
    assert not_a_plan.exit_code == 1 and "无法打开计划文件" in not_a_plan.stdout
    over = _plan(tmp_path / "over.xlsx", [GOOD | {"开始日期": date(2025, m, 1), "结束日期": date(2025, m, 1)}
                                          for m in (3, 6, 9)])
    no_reason = generate(ws, over, formats=("docx",), allow_over_cap=True, today=date(2025, 2, 20))
    assert no_reason.plan_findings.flatten("code") == [("OVERRIDE_REASON_REQUIRED",)] and not no_reason.outcomes
    assert list(ws.outbox.iterdir()) == []  # no empty batch folder per refused run

    done = generate(ws, over, formats=("docx",), today=date(2025, 2, 20))  # two generated, one over the cap
    assert [p.name for p in ws.outbox.iterdir()] == [done.batch]
    assert (done.out_dir / "manifest.json").is_file()
