"""How one answer cell is read: every way an enterprise marks 是/否, and the ways it cannot be trusted."""

from __future__ import annotations

import pytest

from engine.identifiers import qr_payload
from engine.inbox import plausible_phone
from engine.readback.common import AnswerProblem, CardReading, ReadMethod, parse_answer, split_labelled


@pytest.mark.parametrize(
    ("cell", "value"),
    [
        ("☑是 □否", "是"),
        ("□是 ☑否", "否"),
        ("□是 √否", "否"),
        ("✓是 □否", "是"),
        ("□是 ■否", "否"),
        ("□是 ☒否", "否"),
        ("□ 是　 ✔ 否", "否"),
        ("□否", "否"),  # 是 deleted
        ("□是", "是"),  # 否 deleted
        ("否", "否"),  # typed
        ("是", "是"),
        ("\uf0fe是 \uf0a8否", "是"),  # Wingdings ticked box and empty box (PUA) from a Word export
        ("□是 □否 否", "否"),  # boxes left, answer typed after them
    ],
)
def test_marked_answers(cell: str, value: str) -> None:
    a = parse_answer(cell)
    assert (a.value, a.problem) == (value, None)


@pytest.mark.parametrize(
    ("cell", "problem"),
    [
        ("☑是 ☑否", AnswerProblem.BOTH),
        ("是 否", AnswerProblem.BOTH),
        ("□是 □否", AnswerProblem.NONE),
        ("", AnswerProblem.NONE),
        ("×是 □否", AnswerProblem.UNCLEAR),  # a cross: "not this one"?
        ("不是", AnswerProblem.UNCLEAR),
        ("否，但有一次吃了工作餐", AnswerProblem.UNCLEAR),
        ("无", AnswerProblem.UNCLEAR),
    ],
)
def test_untrustworthy_answers(cell: str, problem: AnswerProblem) -> None:
    a = parse_answer(cell)
    assert (a.value, a.problem) == (None, problem)


def test_labelled_values_from_cells_and_from_one_line() -> None:
    cells = ["被检查单位", "大同市示例煤业有限公司", "负责人", "张三", "职　务", "", "联系电话", "0352-1234567"]
    assert split_labelled(cells) == {"enterprise": "大同市示例煤业有限公司", "head": "张三", "position": "",
                                     "phone": "0352-1234567"}
    # A text PDF drops empty cells: a label followed by the next label has no value.
    assert split_labelled(["负责人", "职务", "经理", "联系电话"]) == {"head": "", "position": "经理", "phone": ""}
    assert split_labelled(["负责人：李四 职务：安全员 联系电话：13912345678"]) == {
        "head": "李四", "position": "安全员", "phone": "13912345678"}


@pytest.mark.parametrize(
    ("phone", "ok"),
    [
        ("13912345678", True), ("+86 139 1234 5678", True), ("0352-1234567", True), ("010-12345678", True),
        ("（0352）7654321", True), ("0351-4000001转8001", True), ("0352-1234567 / 13912345678", True),
        ("400-123-4567", True), ("1234567", False), ("12345678901", False), ("0352-12345", False), ("无", False),
        ("139123456789", False),
    ],
)
def test_phone_plausibility(phone: str, ok: bool) -> None:
    assert plausible_phone(phone) is ok


def test_serial_prefers_a_valid_qr_over_the_printed_text() -> None:
    key = b"k" * 32
    r = CardReading(ReadMethod.DOCX, is_card=True, qr_payloads=["http://example.com", qr_payload(key, "140200-2025-0007", "91140200MA0K123454")])
    r.resolve_serial("检查编号：140200-2025-0009 本次检查是你单位本年度接受的省、市、县三级应急管理部门第3次入企业检查，第1次☑执法检查", key)
    assert (r.serial, r.printed_serial, r.qr.valid if r.qr else None) == ("140200-2025-0007", "140200-2025-0009", True)
    assert (r.stated_visit_total, r.stated_visit_kind) == (3, 1)
    forged = CardReading(ReadMethod.DOCX, is_card=True, qr_payloads=[qr_payload(b"x" * 32, "140200-2025-0007", "91140200MA0K123454")])
    forged.resolve_serial("检查编号：140200-2025-0009", key)
    assert (forged.serial, forged.qr.valid if forged.qr else None) == ("140200-2025-0009", False)
