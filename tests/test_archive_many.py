"""Filing several prepared documents at once (``file_prepared_many``, what ``generate`` does per
inspection) indexes and logs exactly what filing them one after the other does: the same 件号,
versions, names, supersedes links, audit entries and witnesses; only the clock readings differ."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

from _archive_fixtures import USCC, docx_bytes, pdf_bytes, unique_pdf

from engine.archive import ItemMeta, audit_log, file_item, verify
from engine.archive.audit import read_head
from engine.archive.journal import read as read_journal
from engine.archive.layout import file_name, folder
from engine.archive.store import file_prepared, file_prepared_many, prepare
from engine.db import session
from engine.workspace import Workspace, init

SERIAL = "140200-2025-0007"
ENTERPRISE = "大同市示例机械有限公司"
CLOCKS = {"filed_at", "id"}  # ids are compared through the supersedes links they make


def meta(form_type: str, fmt: str, **kw: Any) -> ItemMeta:
    return ItemMeta(form_type=form_type, title=f"{ENTERPRISE}{form_type}", responsible="大同市应急管理局",
                    date=date(2025, 5, 6), year=2025, serial=SERIAL, enterprise=ENTERPRISE, uscc=USCC,
                    county="云州区", original_name=f"{form_type}.{fmt}", **kw)


def documents() -> list[tuple[bytes, ItemMeta]]:
    """One inspection's six generated forms, plus a stats table without a serial."""
    out: list[tuple[bytes, ItemMeta]] = []
    for n, form_type in enumerate(("notice", "notice_board", "card_generated")):
        out.append((docx_bytes(f"{form_type}文书"), meta(form_type, "docx")))
        out.append((unique_pdf(n), meta(form_type, "pdf", extra={"visit": {"n": n}})))
    stats = ItemMeta(form_type="stats_table", title="云州区2025年5月入企检查统计表", responsible="云州区应急管理局",
                     date=date(2025, 6, 2), county="云州区", original_name="统计表.pdf")
    out.append((unique_pdf(99), stats))
    return out


def history(ws: Workspace) -> None:
    """What the archive held before: a first version of the notice PDF, and a stray file on the
    name the card's PDF would take (a name no item has but a file holds is skipped)."""
    file_item(ws, pdf_bytes("旧通知书"), meta("notice", "pdf"), actor="科员甲")
    m = meta("card_generated", "pdf")
    stray = ws.archive / folder(m.form_type, 2025, SERIAL, ENTERPRISE, m.county) / file_name(m.form_type, m.title,
                                                                                             SERIAL, 1, "pdf")
    stray.parent.mkdir(parents=True, exist_ok=True)
    stray.write_bytes(b"left by hand")


def items(ws: Workspace) -> list[dict[str, Any]]:
    from sqlalchemy import select

    from engine.archive.models import ItemRecord

    with session(ws) as s:
        rows = list(s.scalars(select(ItemRecord).order_by(ItemRecord.id)))
        ids = {r.id: k for k, r in enumerate(rows)}
        out = []
        for r in rows:
            d = {c.name: getattr(r, c.name) for c in ItemRecord.__table__.columns if c.name not in CLOCKS}
            d["supersedes"] = ids.get(r.supersedes) if r.supersedes is not None else None
            out.append(d)
        return out


def entries(ws: Workspace) -> list[tuple[int, str, str, str]]:
    """(seq, action, object, actor) and the item each entry records, without its clock reading."""
    out = []
    for e in audit_log(ws):
        item = {k: v for k, v in e.details.get("item", {}).items() if k not in CLOCKS}
        out.append((e.seq, e.action, e.object, e.actor, sorted(item.items())))
    return out


def file_all(ws: Workspace, together: bool) -> None:
    history(ws)
    ready = [prepare(ws, data, m) for data, m in documents()]
    with session(ws) as s:
        if together:
            file_prepared_many(s, ws, ready, actor="科员乙")
        else:
            for p in ready:
                file_prepared(s, ws, p, actor="科员乙")


def test_filing_together_records_what_filing_one_by_one_records(tmp_path: Path) -> None:
    one, many = init(tmp_path / "one"), init(tmp_path / "many")
    file_all(one, together=False)
    file_all(many, together=True)
    assert items(many) == items(one)
    assert entries(many) == entries(one)
    notice_pdfs = [i for i in items(many) if (i["form_type"], i["format"]) == ("notice", "pdf")]
    assert [i["version"] for i in notice_pdfs] == [1, 2] and notice_pdfs[1]["supersedes"] == 0
    assert [i["piece"] for i in items(many) if i["year"] == 2025] == list(range(1, 9))
    for ws in (one, many):
        head = read_head(ws)
        assert head is not None and head.seq == len(entries(ws)) == 8
        assert sorted(read_journal(ws).entries) == list(range(1, 9))
        assert all((ws.archive / i["rel_path"]).is_file() for i in items(ws))
        card_pdf = next(i for i in items(ws) if (i["form_type"], i["format"]) == ("card_generated", "pdf"))
        assert card_pdf["version"] == 2  # the name of version 1 is held by the stray file
        # verify passes but for the stray file, which it reports as a file no item holds
        assert [f.code for f in verify(ws).findings if f.is_error] == ["ARCHIVE_FILE_UNINDEXED"]


def test_the_same_document_twice_in_one_call_becomes_two_versions(ws: Workspace) -> None:
    first = prepare(ws, unique_pdf(1), meta("card_generated", "pdf"))
    second = prepare(ws, unique_pdf(2), replace(meta("card_generated", "pdf"), original_name="again.pdf"))
    with session(ws) as s:
        a, b = file_prepared_many(s, ws, [first, second], actor="科员乙")
    assert (a.version, b.version, b.supersedes) == (1, 2, a.id)
    assert a.rel_path != b.rel_path and a.path.read_bytes() == unique_pdf(1) and b.path.read_bytes() == unique_pdf(2)
    assert verify(ws).ok


def test_a_failed_call_leaves_no_temporary_file_and_takes_no_number(ws: Workspace) -> None:
    good = prepare(ws, unique_pdf(3), meta("notice", "pdf"))
    bad = prepare(ws, unique_pdf(4), meta("notice", "docx", supersedes=12345))  # an item that does not exist
    try:
        with session(ws) as s:
            file_prepared_many(s, ws, [good, bad], actor="科员乙")
    except Exception as e:  # noqa: BLE001 - the store's typed error
        assert "12345" in str(getattr(e, "finding", e))
    else:
        raise AssertionError("filing an item that supersedes a missing one must fail")
    assert not good.tmp.exists() and not bad.tmp.exists()
    assert items(ws) == [] and entries(ws) == []
    row = file_item(ws, unique_pdf(5), meta("notice", "pdf"))
    assert row.piece == 1 and verify(ws).ok
