"""Where an inbox file came from when it arrived by e-mail: its provenance, keyed by SHA-256.

``engine.mail`` writes an attachment into ``inbox/`` and records here, before the file becomes
visible to the inbox, who sent it, to whom, the message's ``Date``, the time the bureau's server
received it (IMAP INTERNALDATE), its Message-ID, subject, mailbox and the attachment's original
name.  The inbox looks these up by checksum (``sources_for``): the server's time replaces the
file's time for the 3-day rule (LATE), and the provenance is filed with the archive item
(``extra["mail"]``).  Provenance lives in the database, never as sidecar files in ``inbox/``
(the inbox would take them for returns).

Also here: the Message-IDs already processed (``MailMessage``: a message is never processed
twice, whichever mailbox it arrives in) and the receipts sent (``MailReceipt``: the per-sender
rate limit).  This module imports nothing of the inbox or the mail package, so both can use it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Integer, String, Text, UniqueConstraint, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from .db import Base

MAX_RECIPIENTS_KEPT = 50  # a message to 10,000 addresses keeps the first 50 and the count


class MailSource(Base):
    """One attachment (by SHA-256) as it arrived in one message."""

    __tablename__ = "mail_sources"
    __table_args__ = (UniqueConstraint("sha256", "message_id", "original_name", name="uq_mail_source"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    message_id: Mapped[str] = mapped_column(String(500))
    mailbox: Mapped[str] = mapped_column(String(300))
    sender: Mapped[str] = mapped_column(String(500))
    recipients: Mapped[list[str]] = mapped_column(JSON, default=list)
    recipient_count: Mapped[int] = mapped_column(Integer, default=0)
    date_header: Mapped[str] = mapped_column(String(200), default="")
    received_at: Mapped[datetime] = mapped_column(DateTime)
    subject: Mapped[str] = mapped_column(Text, default="")
    original_name: Mapped[str] = mapped_column(Text, default="")
    saved_as: Mapped[str] = mapped_column(Text, default="")
    fetched_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now())


class MailMessage(Base):
    """A message processed once and for all (or set aside for a person)."""

    __tablename__ = "mail_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[str] = mapped_column(String(500), unique=True)
    mailbox: Mapped[str] = mapped_column(String(300))
    sender: Mapped[str] = mapped_column(String(500), default="")
    subject: Mapped[str] = mapped_column(Text, default="")
    received_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    status: Mapped[str] = mapped_column(String(40))  # engine.mail.codes.MessageStatus
    code: Mapped[str] = mapped_column(String(60), default="")
    note: Mapped[str] = mapped_column(Text, default="")  # Chinese, for the person who looks at it
    attachments: Mapped[int] = mapped_column(Integer, default=0)
    processed_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now())


class MailReceipt(Base):
    __tablename__ = "mail_receipts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recipient: Mapped[str] = mapped_column(String(500), index=True)
    message_id: Mapped[str] = mapped_column(String(500))
    sent_at: Mapped[datetime] = mapped_column(DateTime)


@dataclass(frozen=True, slots=True)
class Source:
    """The provenance the inbox files with an item (a plain value)."""

    sender: str
    recipients: tuple[str, ...]
    recipient_count: int
    date_header: str
    received_at: datetime
    message_id: str
    subject: str
    original_name: str
    mailbox: str

    def to_json(self) -> dict[str, Any]:
        return {
            "sender": self.sender, "recipients": list(self.recipients), "recipient_count": self.recipient_count,
            "date": self.date_header, "received_at": self.received_at.isoformat(timespec="seconds"),
            "message_id": self.message_id, "subject": self.subject, "original_name": self.original_name,
            "mailbox": self.mailbox,
        }


def _source(r: MailSource) -> Source:
    return Source(r.sender, tuple(r.recipients or ()), r.recipient_count, r.date_header, r.received_at,
                  r.message_id, r.subject, r.original_name, r.mailbox)


def sources_for(s: Session, shas: Iterable[str]) -> dict[str, Source]:
    """For each SHA-256 that arrived by mail, its earliest arrival (the one the 3-day rule counts)."""
    wanted = sorted(set(shas))
    found: dict[str, Source] = {}
    for k in range(0, len(wanted), 500):
        rows = s.scalars(select(MailSource).where(MailSource.sha256.in_(wanted[k:k + 500]))
                         .order_by(MailSource.received_at, MailSource.id))
        for r in rows:
            found.setdefault(r.sha256, _source(r))
    return found


def record_source(s: Session, sha256: str, src: Source, saved_as: str) -> None:
    """Remember one attachment's provenance (idempotent: a re-fetched message adds nothing)."""
    exists = s.scalar(select(MailSource.id).where(MailSource.sha256 == sha256, MailSource.message_id == src.message_id,
                                                  MailSource.original_name == src.original_name))
    if exists is not None:
        return
    s.add(MailSource(sha256=sha256, message_id=src.message_id, mailbox=src.mailbox, sender=src.sender,
                     recipients=list(src.recipients[:MAX_RECIPIENTS_KEPT]), recipient_count=src.recipient_count,
                     date_header=src.date_header, received_at=src.received_at, subject=src.subject,
                     original_name=src.original_name, saved_as=saved_as))


def processed_ids(s: Session, message_ids: Iterable[str]) -> set[str]:
    wanted = sorted(set(message_ids))
    out: set[str] = set()
    for k in range(0, len(wanted), 500):
        out.update(s.scalars(select(MailMessage.message_id).where(MailMessage.message_id.in_(wanted[k:k + 500]))))
    return out
