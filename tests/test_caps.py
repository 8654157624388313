"""Annual caps (seed 001 §四, seed 004 标杆企业) and the register that counts visits."""

from __future__ import annotations

from datetime import date

import pytest

from engine import register
from engine.caps import cap_for, check_cap
from engine.db import session
from engine.inspection import Inspection


@pytest.mark.parametrize(
    ("industry", "grades", "caps"),
    [
        ("煤矿", "ABCD", (2, 4, 6, 4)),
        ("非煤矿山", "ABCD", (1, 1, 2, 4)),
        ("危险化学品", ("一级", "二级", "三级", "未定级"), (2, 4, 8, 12)),
        ("金属冶炼", ("一级", "二级", "三级", "未定级"), (2, 4, 8, 12)),
        ("非高危行业", ("一级", "二级", "三级", "未定级"), (1, 2, 4, 6)),
    ],
)
def test_enforcement_caps_match_the_seed_table(industry: str, grades, caps) -> None:  # type: ignore[no-untyped-def]
    assert tuple(cap_for(industry, g, "执法检查").limit for g in grades) == caps


def test_other_kinds_and_benchmark_enterprises() -> None:
    assert cap_for("煤矿", "C", "督导检查").limit == 3
    assert cap_for("煤矿", "C", "调查核查").limit is None
    assert cap_for("非高危行业", "未定级", "执法检查", benchmark=True, key_supervision=True).limit == 1
    assert cap_for("非高危行业", "未定级", "执法检查", benchmark=True).limit == 0


def test_refusal_names_cap_count_and_rule() -> None:
    assert check_cap("非煤矿山", "A", "执法检查", 0) is None
    f = check_cap("非煤矿山", "A", "执法检查", 1, where="第3行")
    assert f is not None and f.code == "OVER_CAP" and f.where == "第3行"
    assert "A类（低风险）企业每年累计不超过1次" in f.message and "已执法检查1次" in f.message


def _insp(kind: str, start: date) -> Inspection:
    return Inspection("大同市云州区鑫源铁矿", "91140200MA0K123454", "云州区", "140215", "非煤矿山", "C", kind, "计划",
                      start, start, "张三", ["李四"])


def test_register_numbers_visits_and_is_idempotent(ws) -> None:  # type: ignore[no-untyped-def]
    with session(ws) as s:
        a = register.record(s, _insp("执法检查", date(2025, 3, 1)), "140200")
        b = register.record(s, _insp("督导检查", date(2025, 4, 1)), "140200")
        c = register.record(s, _insp("执法检查", date(2025, 5, 1)), "140200")
    with session(ws) as s:
        again = register.record(s, _insp("执法检查", date(2025, 5, 1)), "140200")
        counts = register.counts(s, "91140200MA0K123454", 2025)
    assert [(r.visit.serial, r.visit.visit_total, r.visit.visit_kind) for r in (a, b, c)] == [
        ("140200-2025-0001", 1, 1), ("140200-2025-0002", 2, 1), ("140200-2025-0003", 3, 2)]
    assert (again.created, again.visit.serial) == (False, "140200-2025-0003")
    assert counts == {"执法检查": 2, "督导检查": 1}
    with session(ws) as s:
        rows = register.summary(s, 2025)
    assert [(r.kinds["执法检查"].done, r.kinds["执法检查"].left, r.kinds["督导检查"].left) for r in rows] == [(2, 0, 2)]
