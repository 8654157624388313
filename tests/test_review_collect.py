"""The 纪委 review list built from the register: every list equals exactly what was planted."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta

import pytest

from engine.forms import CARD_QUESTIONS
from engine.readback.common import parse_number, visit_numbers_in
from engine.review import CardState, ReviewFlag, build_review
from tests._review_fixtures import JUNE, TODAY, Planted, register_month


@pytest.fixture
def month(ws):  # type: ignore[no-untyped-def]
    return ws, register_month(ws)


def test_selection_is_june_by_start_date(month) -> None:  # type: ignore[no-untyped-def]
    ws, p = month
    r = build_review(ws, *JUNE, today=TODAY)
    assert [e.serial for e in r.entries] == sorted(p.june, key=lambda s: (r.entry(s).start, s))
    assert sorted(e.serial for e in r.entries) == sorted(p.june)
    assert not set(p.outside) & {e.serial for e in r.entries}
    everything = build_review(ws, today=TODAY)
    assert sorted(e.serial for e in everything.entries) == sorted(p.june + p.outside)


def test_violations_name_questions_team_and_dates(month) -> None:  # type: ignore[no-untyped-def]
    ws, p = month
    r = build_review(ws, *JUNE, today=TODAY)
    assert [(v.entry.serial, list(v.questions)) for v in r.violations] == [
        (s, p.yes[s]) for s in [e.serial for e in r.entries] if s in p.yes]
    v = next(v for v in r.violations if len(v.questions) == 3)
    assert list(v.texts) == [CARD_QUESTIONS[i - 1] for i in p.yes[v.entry.serial]]
    assert v.texts[0] == "一、是否逐利检查，干扰你单位正常生产经营，任性处罚；"
    leader, members = p.team[v.entry.serial]
    assert (v.entry.team.leader, list(v.entry.team.members)) == (leader, members)
    assert v.entry.enterprise == p.firm[v.entry.serial].name
    assert v.entry.end >= v.entry.start and v.entry.card_received_at is not None


def test_missing_overdue_and_late_cards_against_injected_today(month) -> None:  # type: ignore[no-untyped-def]
    ws, p = month
    r = build_review(ws, *JUNE, today=TODAY)
    got = {state: sorted(c.entry.serial for c in r.cards if c.state is state) for state in CardState}
    assert got[CardState.OVERDUE] == sorted(p.overdue)
    assert got[CardState.LATE] == sorted(p.late)
    assert got[CardState.MISSING] == sorted(p.missing)
    assert sorted(e.serial for e in r.entries if e.card is CardState.NOT_DUE) == sorted(p.not_due)
    for c in r.cards:
        if c.state is CardState.OVERDUE:
            assert c.days_late == (TODAY - c.entry.due).days > 0
        if c.state is CardState.LATE:
            assert c.days_late == (c.entry.card_received_at.date() - c.entry.due).days > 0

    # A week later every missing card is overdue, and the not-yet-ended visit is missing or overdue too.
    later = build_review(ws, *JUNE, today=TODAY + timedelta(days=7))
    assert sorted(c.entry.serial for c in later.cards if c.state is CardState.OVERDUE) == sorted(
        p.overdue + p.missing + p.not_due)
    assert not [c for c in later.cards if c.state is CardState.MISSING]


def test_over_cap_lists_overrides_with_reasons_and_unapproved_excess(month) -> None:  # type: ignore[no-untyped-def]
    ws, p = month
    r = build_review(ws, *JUNE, today=TODAY)
    assert sorted((o.entry.serial, o.approved, o.reason) for o in r.over_cap) == sorted(
        [(s, True, reason) for s, reason in p.overrides.items()] + [(s, False, "") for s in p.unapproved_over_cap])
    approved = next(o for o in r.over_cap if o.approved)
    assert approved.cap == 1 and "每年累计不超过1次" in approved.rule


def test_flags_per_inspection_and_counts(month) -> None:  # type: ignore[no-untyped-def]
    ws, p = month
    r = build_review(ws, *JUNE, today=TODAY)
    assert [e.serial for e in r.flagged] == [e.serial for e in r.entries if e.serial in set(p.flagged)]
    expected = Counter({ReviewFlag.VIOLATION: len(p.yes), ReviewFlag.CARD_LATE: len(p.late),
                        ReviewFlag.CARD_OVERDUE: len(p.overdue), ReviewFlag.CARD_MISSING: len(p.missing),
                        ReviewFlag.OVER_CAP: len(p.overrides) + len(p.unapproved_over_cap)})
    assert Counter(f for e in r.entries for f in e.flags) == expected

    by_county = {t.name: t for t in r.by_county}
    assert {n: t.inspections for n, t in by_county.items()} == dict(Counter(p.county[s] for s in p.june))
    assert {n: t.violations for n, t in by_county.items() if t.violations} == dict(Counter(p.county[s] for s in p.yes))
    assert {n: t.overdue for n, t in by_county.items() if t.overdue} == dict(Counter(p.county[s] for s in p.overdue))

    by_person = {t.name: t for t in r.by_inspector}
    leaders = Counter(p.team[s][0] for s in p.june)
    members = Counter(m for s in p.june for m in p.team[s][1])
    assert {n: t.as_leader for n, t in by_person.items() if t.as_leader} == dict(leaders)
    assert {n: t.as_member for n, t in by_person.items() if t.as_member} == dict(members)
    involved = Counter(n for s in p.yes for n in [p.team[s][0], *p.team[s][1]])
    assert {n: t.violations for n, t in by_person.items() if t.violations} == dict(involved)
    assert {n: t.yes_answers for n, t in by_person.items() if t.yes_answers} == _yes_per_person(p)
    assert "专家甲" not in by_person  # experts are not inspectors


def _yes_per_person(p: Planted) -> dict[str, int]:
    c: Counter[str] = Counter()
    for s, qs in p.yes.items():
        for n in [p.team[s][0], *p.team[s][1]]:
            c[n] += len(qs)
    return dict(c)


def test_county_filter_by_name_or_code(month) -> None:  # type: ignore[no-untyped-def]
    ws, p = month
    by_name = build_review(ws, *JUNE, county="云州区", today=TODAY)
    by_code = build_review(ws, *JUNE, county="140215", today=TODAY)
    want = sorted(s for s in p.june if p.county[s] == "云州区")
    assert sorted(e.serial for e in by_name.entries) == want == sorted(e.serial for e in by_code.entries)
    assert sorted(o.entry.serial for o in by_name.over_cap) == sorted(
        s for s in [*p.overrides, *p.unapproved_over_cap] if p.county[s] == "云州区")


def test_stated_visit_numbers_are_read_from_card_text() -> None:
    text = "本次检查是你单位本年度接受的省、市、县三级应急管理部门第 3 次入企业检查，\n第1次☑执法检查、□督导检查"
    assert visit_numbers_in(text) == (3, 1)
    assert visit_numbers_in("第十二次入企业检查，第三次□执法检查") == (12, 3)
    assert visit_numbers_in("没有这句话") is None
    assert [parse_number(x) for x in ("３", "二十", "十", "两", "abc")] == [3, 20, 10, 2, None]


def test_an_empty_workspace_gives_an_empty_review(ws) -> None:  # type: ignore[no-untyped-def]
    r = build_review(ws, date(2025, 1, 1), date(2025, 12, 31), today=TODAY)
    assert (r.entries, r.violations, r.cards, r.over_cap, r.suspects, r.by_county) == ([], [], [], [], [], [])


def test_a_card_waiting_for_a_person_is_listed_not_counted_as_read(month) -> None:  # type: ignore[no-untyped-def]
    from engine import register
    from engine.db import session

    ws, p = month
    serial = p.overdue[0]  # a photo of the card arrived late; the inbox could not read it
    with session(ws) as s:
        v = register.by_serial(s, serial)
        v.card_status, v.card_flags = "needs_review", ["NEEDS_REVIEW", "LATE"]
        v.card_received_at = datetime.combine(TODAY, datetime.min.time())
    r = build_review(ws, *JUNE, today=TODAY)
    e = r.entry(serial)
    assert (e.card, e.flags) == (CardState.NEEDS_REVIEW, [ReviewFlag.CARD_LATE, ReviewFlag.CARD_UNREAD])
    assert [(c.entry.serial, c.state) for c in r.cards if c.state is CardState.NEEDS_REVIEW] == [
        (serial, CardState.NEEDS_REVIEW)]
    assert sorted(c.entry.serial for c in r.cards if c.state is CardState.OVERDUE) == sorted(p.overdue[1:])


def test_a_benchmark_enterprise_inspected_at_all_is_over_its_cap(month) -> None:  # type: ignore[no-untyped-def]
    from engine import register
    from engine.db import session
    from tests._review_fixtures import FIRMS, _insp

    ws, p = month
    insp = _insp(FIRMS[0], "执法检查", date(2025, 6, 12), 1, "张建国", ["李明"])
    insp.benchmark = True  # 标杆企业, not on the key-supervision list: no 执法检查 at all (seed 004)
    with session(ws) as s:
        serial = register.record(s, insp, "140200").visit.serial
    r = build_review(ws, *JUNE, today=TODAY)
    got = next(o for o in r.over_cap if o.entry.serial == serial)
    assert (got.cap, got.approved, got.rule) == (0, False, "标杆企业（非重点监管单位）：不安排安全执法检查")
    assert sorted(o.entry.serial for o in r.over_cap) == sorted([*p.overrides, *p.unapproved_over_cap, serial])
