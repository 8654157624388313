"""Seed a workspace with many inspections, made through the library, for the web benchmark.

    .venv/bin/python benchmarks/seed_register.py DIR [--visits 20000] [--cards 0.3]

Every visit is recorded by ``engine.register.record`` (serials, visit numbers by date, one
transaction per thousand rows), as ``ruqi generate`` records them, but without rendering forms:
rendering 20,000 × 6 documents would take the better part of an hour and the list pages never
open them.  A share of the visits (``--cards``) gets a returned card, filed in the archive with
``file_item`` the way the inbox files one (a small distinct PDF, the card's metadata and flags:
some with a 是, some late, some waiting for a person), its ten answers recorded as readings, and the
register's card columns derived
from it by ``engine.inbox.refresh_visit``.  Re-running on a seeded workspace adds nothing.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select  # noqa: E402

from engine import readings  # noqa: E402
from engine.archive import ItemMeta, file_item  # noqa: E402
from engine.db import session  # noqa: E402
from engine.divisions import counties_of  # noqa: E402
from engine.identifiers import make_uscc  # noqa: E402
from engine.inbox import Flag, Status, refresh_visit  # noqa: E402
from engine.inbox.cards import RETURNED  # noqa: E402
from engine.inspection import Inspection  # noqa: E402
from engine.register import Visit, by_serial, record  # noqa: E402
from engine.workspace import Workspace, init  # noqa: E402

CITY = "140200"
VISITS_PER_ENTERPRISE = 5
LEADERS = ("王建国", "李卫东", "张志强", "刘海燕", "陈立新", "杨振华", "赵红梅", "黄永胜")
MEMBERS = ("周文博", "吴晓明", "郑国庆", "孙丽娟", "马俊杰", "胡志刚")
INDUSTRIES = (("非高危行业", "B"), ("危险化学品", "二级"), ("非煤矿山", "三级"), ("金属冶炼", "二级"))
CHUNK = 1000


def inspections(n: int, year: int) -> list[Inspection]:
    """``n`` visits to ``n / 5`` fictional enterprises of 大同市, spread over the year."""
    counties = counties_of(CITY)
    out: list[Inspection] = []
    for i in range(n):
        e, k = divmod(i, VISITS_PER_ENTERPRISE)
        county = counties[e % len(counties)]
        industry, grade = INDUSTRIES[e % len(INDUSTRIES)]
        start = date(year, 1, 6) + timedelta(days=k * 70 + e % 60)
        out.append(Inspection(
            enterprise=f"大同市{county.name}第{e + 1}号示例有限公司", uscc=make_uscc(f"91{CITY}MA{e:09d}"),
            county=county.name, county_code=county.code, industry=industry, grade=grade,
            kind="执法检查" if k % 2 == 0 else "督导检查", basis="《中华人民共和国安全生产法》",
            start=start, end=start + timedelta(days=1), leader=LEADERS[e % len(LEADERS)],
            members=[MEMBERS[e % len(MEMBERS)], MEMBERS[(e + 1) % len(MEMBERS)]], issue_date=start - timedelta(days=3),
        ))
    return out


def seed_visits(ws: Workspace, plan: list[Inspection], progress: bool = True) -> list[str]:
    t0 = time.perf_counter()
    serials: list[str] = []
    for k in range(0, len(plan), CHUNK):
        with session(ws) as s:
            for insp in plan[k:k + CHUNK]:
                record(s, insp, ws.config.division_code, batch="seed", actor="seed")
                serials.append(insp.serial)
        if progress:
            print(f"\r  visits {len(serials)}/{len(plan)} ({time.perf_counter() - t0:.0f} s)", end="", flush=True)
    if progress:
        print()
    return serials


def _pdf() -> bytes:
    from pypdf import PdfWriter

    w = PdfWriter()
    w.add_blank_page(595, 842)
    b = io.BytesIO()
    w.write(b)
    return b.getvalue()


def card_flags(i: int) -> tuple[list[str], dict[str, str | None], str]:
    """Flags, answers and status of the i-th seeded card: 1 in 20 with a 是, 1 in 15 late,
    1 in 25 waiting for a person (answers unread)."""
    answers: dict[str, str | None] = {str(q): "否" for q in range(1, 11)}
    flags: list[str] = []
    status = Status.FILED
    if i % 20 == 3:
        answers["4"] = "是"
        flags.append(Flag.VIOLATION)
    if i % 15 == 7:
        flags.append(Flag.LATE)
    if i % 25 == 11:
        answers = {str(q): None for q in range(1, 11)}
        flags.append(Flag.NEEDS_REVIEW)
        status = Status.NEEDS_REVIEW
    return [str(f) for f in flags], answers, str(status)


def seed_cards(ws: Workspace, serials: list[str], share: float, progress: bool = True) -> int:
    base = _pdf()
    chosen = serials[:: max(1, round(1 / share))] if share > 0 else []
    t0 = time.perf_counter()
    for k in range(0, len(chosen), CHUNK // 4):
        with session(ws) as s:
            for j, serial in enumerate(chosen[k:k + CHUNK // 4], start=k):
                v = by_serial(s, serial)
                assert v is not None
                flags, answers, status = card_flags(j)
                received = datetime.combine(v.end + timedelta(days=6 if Flag.LATE in flags else 1), datetime.min.time())
                extra = {"kind": "feedback_card", "status": status, "answers": answers,
                         "violations": [int(q) for q, a in answers.items() if a == "是"], "read_method": "pdf_form",
                         "serial_read": serial, "qr": {"serial": serial, "uscc": v.uscc, "valid": True},
                         "stated_visit_total": v.visit_total, "stated_visit_kind": v.visit_kind,
                         "codes": [], "errors": []}
                row = file_item(ws, base + f"\n%{serial}\n".encode(), ItemMeta(
                    form_type=RETURNED, title=f"{v.enterprise}入企检查监督反馈卡（回收）", responsible=v.enterprise,
                    date=received.date(), year=v.year, serial=v.serial, enterprise=v.enterprise, uscc=v.uscc,
                    county=v.county, original_name=f"{serial}.pdf", flags=flags, received_at=received,
                    extra=extra,  # what the inbox keeps of a card it read (engine.inbox.cards.card_extra)
                ), actor="seed", session=s)
                # and its ten answers as rows of the register, as the inbox records them when it files a card
                readings.record(s, row.id, readings.from_filed(row.id, extra).now, actor="seed", at=received)
                refresh_visit(s, v)
        if progress:
            print(f"\r  cards {min(k + CHUNK // 4, len(chosen))}/{len(chosen)} ({time.perf_counter() - t0:.0f} s)",
                  end="", flush=True)
    if progress:
        print()
    return len(chosen)


def seeded(ws: Workspace) -> int:
    with session(ws) as s:
        return int(s.scalar(select(func.count()).select_from(Visit)) or 0)


def seed(root: Path, visits: int = 20_000, cards: float = 0.3, year: int = 2025, progress: bool = True) -> Workspace:
    """A workspace under ``root`` with ``visits`` inspections (kept when already seeded)."""
    ws = init(root)
    if seeded(ws) >= visits:
        return ws
    serials = seed_visits(ws, inspections(visits, year), progress)
    seed_cards(ws, serials, cards, progress)
    return ws


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dir", type=Path)
    ap.add_argument("--visits", type=int, default=20_000)
    ap.add_argument("--cards", type=float, default=0.3, help="share of visits with a returned card")
    ap.add_argument("--year", type=int, default=2025)
    args = ap.parse_args()
    t0 = time.perf_counter()
    ws = seed(args.dir, args.visits, args.cards, args.year)
    print(f"{seeded(ws)} visits in {ws.root} ({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
