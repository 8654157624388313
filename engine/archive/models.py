"""Archive tables: one row per filed item, one row per audit-log entry, and the log's head.

Rows of ``archive_items`` are written once and never updated: a corrected document is a new
item whose ``supersedes`` points at the old one.  ``(year, piece)`` is unique, so two filers can
never share a 件号 even if the write lock were missing.  Free text is ``Text`` (no length PostgreSQL could reject); codes
are bounded ``String``s.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Date, DateTime, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base


class ItemRecord(Base):
    __tablename__ = "archive_items"
    __table_args__ = (UniqueConstraint("year", "piece", name="uq_archive_piece"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    archival_code: Mapped[str] = mapped_column(String(64), unique=True)  # 档号
    year: Mapped[int] = mapped_column(Integer, index=True)  # 年度
    piece: Mapped[int] = mapped_column(Integer)  # 件号
    retention: Mapped[str] = mapped_column(String(8))  # 保管期限 Y / D30 / D10
    form_type: Mapped[str] = mapped_column(String(32), index=True)  # 文种
    title: Mapped[str] = mapped_column(Text)  # 题名
    responsible: Mapped[str] = mapped_column(Text)  # 责任者
    doc_date: Mapped[date] = mapped_column(Date, index=True)  # 日期
    serial: Mapped[str] = mapped_column(String(64), default="", index=True)
    enterprise: Mapped[str] = mapped_column(Text, default="")
    uscc: Mapped[str] = mapped_column(String(64), default="", index=True)
    county: Mapped[str] = mapped_column(Text, default="")
    original_name: Mapped[str] = mapped_column(Text, default="")
    rel_path: Mapped[str] = mapped_column(String(1000), unique=True)  # posix path under archive/
    format: Mapped[str] = mapped_column(String(16))  # pdf / docx / xlsx …
    format_version: Mapped[str] = mapped_column(String(32), default="")  # e.g. PDF/A-3B
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    sm3: Mapped[str] = mapped_column(String(64), default="")  # empty when the build lacks SM3
    version: Mapped[int] = mapped_column(Integer, default=1)
    supersedes: Mapped[int | None] = mapped_column(Integer, nullable=True)  # id of the item this replaces
    flags: Mapped[list[str]] = mapped_column(JSON, default=list)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    received_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    filed_at: Mapped[datetime] = mapped_column(DateTime)
    actor: Mapped[str] = mapped_column(Text)
    audit_seq: Mapped[int] = mapped_column(Integer)  # the "file" entry that records this row


class AuditRecord(Base):
    """One hash-chained log entry; ``details`` is kept as canonical JSON text so the hash is reproducible."""

    __tablename__ = "archive_audit"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[str] = mapped_column(String(40))  # ISO 8601 with UTC offset
    actor: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(String(32), index=True)
    object: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[str] = mapped_column(Text, default="{}")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHeadRecord(Base):
    """The audit log's last entry (seq, hash) as the engine last appended it: one row, ``id`` 1.

    Written in the same transaction as each entry, and moved on only when it still names the
    log's last entry, so cutting entries off the end leaves it pointing past the new end (see
    ``audit``).  It is one of two head witnesses; the other is ``archive/.ruqi-audit-head``."""

    __tablename__ = "archive_audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))
