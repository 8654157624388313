"""What happened to each message and each attachment of one ``ruqi mail fetch`` (``MailReport``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..findings import Finding
from ..inbox import IngestReport, Outcome
from .codes import MessageStatus, PartStatus


@dataclass(slots=True)
class PartOutcome:
    original_name: str
    status: PartStatus
    code: str = ""
    message: str = ""  # Chinese
    saved_as: str = ""  # the name in inbox/
    sha256: str = ""
    inbox: Outcome | None = None  # what the inbox did with it (when this run ingested it)

    def to_json(self, msg: MessageOutcome) -> dict[str, Any]:
        d: dict[str, Any] = {
            "type": "attachment", "mailbox": msg.mailbox, "message_id": msg.message_id, "name": self.original_name,
            "status": str(self.status), "code": self.code or None, "message": self.message or None,
            "saved_as": self.saved_as or None, "sha256": self.sha256 or None,
        }
        if self.inbox is not None:
            d["inbox"] = {"status": str(self.inbox.status), "archival_code": self.inbox.archival_code or None,
                          "serial": self.inbox.serial, "flags": list(self.inbox.flags),
                          "codes": self.inbox.findings.codes(), "location": self.inbox.location}
        return d


@dataclass(slots=True)
class MessageOutcome:
    mailbox: str
    uid: int
    message_id: str
    sender: str = ""
    subject: str = ""
    received_at: datetime | None = None
    status: MessageStatus = MessageStatus.PROCESSED
    findings: list[Finding] = field(default_factory=list)
    parts: list[PartOutcome] = field(default_factory=list)
    from_addresses: tuple[str, ...] = ()
    automatic: bool = False
    note: str = ""  # Chinese: what a person should do with it
    receipt: str = ""  # what became of the receipt (Chinese), "" when none was due

    def to_json(self) -> dict[str, Any]:
        return {
            "type": "message", "mailbox": self.mailbox, "uid": self.uid, "message_id": self.message_id,
            "from": self.sender, "subject": self.subject,
            "received_at": self.received_at.isoformat(timespec="seconds") if self.received_at else None,
            "status": str(self.status), "codes": [f.code for f in self.findings],
            "errors": [f.to_dict() for f in self.findings], "attachments": len(self.parts),
            "note": self.note or None, "receipt": self.receipt or None,
        }


@dataclass(slots=True)
class MailReport:
    messages: list[MessageOutcome] = field(default_factory=list)
    problems: list[Finding] = field(default_factory=list)  # per mailbox: configuration, connection, login
    ingest: IngestReport | None = None

    def count(self, status: MessageStatus) -> int:
        return sum(m.status is status for m in self.messages)

    @property
    def saved(self) -> list[PartOutcome]:
        return [p for m in self.messages for p in m.parts if p.status is PartStatus.SAVED]
