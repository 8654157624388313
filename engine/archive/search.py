"""Finding filed items: by enterprise, USCC, serial, county, form type, date range and flag."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Select, Text, cast, select

from ..db import session
from ..workspace import Workspace
from . import audit
from .models import AuditRecord, ItemRecord
from .numbering import ArchivalCode
from .store import ItemRow, to_row


def search(
    ws: Workspace,
    *,
    enterprise: str | None = None,
    uscc: str | None = None,
    serial: str | None = None,
    county: str | None = None,
    form_type: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    flag: str | None = None,
    year: int | None = None,
    latest_only: bool = False,
) -> list[ItemRow]:
    """Items matching every given criterion, in 档号 order.  ``enterprise`` matches part of the
    name; ``date_from``/``date_to`` bound the document date (inclusive); ``latest_only`` drops
    items a later version supersedes."""
    q = select(ItemRecord)
    if enterprise:
        q = q.where(ItemRecord.enterprise.contains(enterprise, autoescape=True))
    for col, val in ((ItemRecord.uscc, uscc and uscc.strip().upper()), (ItemRecord.serial, serial),
                     (ItemRecord.county, county), (ItemRecord.form_type, form_type), (ItemRecord.year, year)):
        if val:
            q = q.where(col == val)
    if date_from:
        q = q.where(ItemRecord.doc_date >= date_from)
    if date_to:
        q = q.where(ItemRecord.doc_date <= date_to)
    if flag:  # a cheap narrowing on the JSON text (both databases write "FLAG" quoted); exact below
        q = q.where(cast(ItemRecord.flags, Text).contains(f'"{flag}"', autoescape=True))
    rows = _rows(ws, q.order_by(ItemRecord.year, ItemRecord.piece))
    if flag:
        # Flags are a short JSON list; filtering here keeps the SQL portable across SQLite/PostgreSQL.
        rows = [r for r in rows if flag in r.flags]
    if latest_only:
        replaced = superseded_ids(ws)
        rows = [r for r in rows if r.id not in replaced]
    return rows


def get_item(ws: Workspace, key: int | str) -> ItemRow | None:
    """By id, or by 档号 (``J001-WS·2025-D30-AQJ-0001``)."""
    if isinstance(key, str) and ArchivalCode.parse(key) is None and key.isdigit():
        key = int(key)
    q = select(ItemRecord).where(ItemRecord.id == key if isinstance(key, int) else ItemRecord.archival_code == key)
    found = _rows(ws, q)
    return found[0] if found else None


def items_for_serial(ws: Workspace, serial: str) -> list[ItemRow]:
    """Everything filed for one inspection, in filing order."""
    return _rows(ws, select(ItemRecord).where(ItemRecord.serial == serial).order_by(ItemRecord.id))


def latest_item(ws: Workspace, serial: str, form_type: str, fmt: str | None = None) -> ItemRow | None:
    """The most recently filed item of that form for that inspection (e.g. the current returned card)."""
    q = select(ItemRecord).where(ItemRecord.serial == serial, ItemRecord.form_type == form_type)
    if fmt:
        q = q.where(ItemRecord.format == fmt)
    found = _rows(ws, q.order_by(ItemRecord.id.desc()).limit(1))
    return found[0] if found else None


def find_sha256(ws: Workspace, sha256: str) -> list[ItemRow]:
    """Items with exactly these bytes (the inbox's duplicate check)."""
    return _rows(ws, select(ItemRecord).where(ItemRecord.sha256 == sha256.lower()).order_by(ItemRecord.id))


def superseded_ids(ws: Workspace) -> set[int]:
    with session(ws) as s:
        return {i for i in s.scalars(select(ItemRecord.supersedes).where(ItemRecord.supersedes.is_not(None)))}


def audit_log(ws: Workspace, *, limit: int | None = None, action: str | None = None) -> list[audit.Entry]:
    """Audit entries, oldest first (the last ``limit`` when given)."""
    with session(ws) as s:
        q = select(AuditRecord)
        if action:
            q = q.where(AuditRecord.action == action)
        q = q.order_by(AuditRecord.seq.desc())
        if limit:
            q = q.limit(limit)
        return [audit.to_entry(r) for r in reversed(s.scalars(q).all())]


def history(ws: Workspace, serial: str) -> list[audit.Entry]:
    """Every audit entry about one inspection, oldest first: those naming it (generate, override,
    void …), those filing its documents (by 档号), and those whose details mention it (a returned
    card is logged under its file name with the serial in its details)."""
    with session(ws) as s:
        codes = list(s.scalars(select(ItemRecord.archival_code).where(ItemRecord.serial == serial)))
        q = select(AuditRecord).where(AuditRecord.object.in_([serial, *codes])
                                      | AuditRecord.details.contains(f'"{serial}"', autoescape=True))
        return [audit.to_entry(r) for r in s.scalars(q.order_by(AuditRecord.seq))]


def _rows(ws: Workspace, q: Select[tuple[ItemRecord]]) -> list[ItemRow]:
    with session(ws) as s:
        return [to_row(ws, r) for r in s.scalars(q)]
