"""What happened to one file (``Outcome``) and to one run (``IngestReport``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..findings import Finding, Findings
from ..forms import QUESTION_NUMBERS
from .codes import Kind, Status


def no_answers() -> dict[str, str | None]:
    return {str(i): None for i in QUESTION_NUMBERS}


@dataclass(frozen=True, slots=True)
class Outcome:
    """One file's result, built once where it is decided (``dataclasses.replace`` for the shelved
    location); ``to_json`` is the ``ruqi ingest --json`` line."""

    file: str
    sha256: str
    status: Status
    kind: Kind = Kind.UNKNOWN
    serial: str | None = None
    answers: dict[str, str | None] = field(default_factory=no_answers)
    flags: list[str] = field(default_factory=list)
    findings: Findings = field(default_factory=Findings)
    location: str = ""  # archive-relative path, or the path under the workspace (inbox/rejected/…)
    archival_code: str = ""
    item_id: int | None = None
    duplicate_of: str = ""  # 档号 or path of what these bytes duplicate
    recovered: bool = False  # a killed run had filed it; this run only finished the clean-up
    # A scan or photo: per question, how its box was read and how surely (``CardReading.marks_json``).
    marks: dict[str, dict[str, Any]] | None = None
    page: int | None = None  # a scan or photo: the page (1-based) of the file this card is on
    # A card of a multi-card scan: the original file as filed once (``engine.inbox.stack.original_json``).
    original: dict[str, Any] | None = None
    # A multi-card scan: one outcome per card; the file's own outcome is only their carrier.
    cards: tuple[Outcome, ...] = ()

    def each(self) -> tuple[Outcome, ...]:
        """What is reported: one outcome per card of a multi-card scan, else this one."""
        return self.cards or (self,)

    @property
    def label(self) -> str:
        """The file as a clerk names this outcome: ``扫描.pdf（第2页）`` for a card of a multi-card scan."""
        return f"{self.file}（第{self.page}页）" if self.original is not None and self.page else self.file

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file, "sha256": self.sha256, "status": str(self.status), "kind": str(self.kind),
            "serial": self.serial, "answers": self.answers, "flags": list(self.flags),
            "errors": [{"code": f.code, "message": f.message, "where": f.where, "severity": str(f.severity)}
                       for f in self.findings],
            "location": self.location, "archival_code": self.archival_code or None,
            "duplicate_of": self.duplicate_of or None,
            **({"marks": self.marks} if self.marks is not None else {}),
            **({"page": self.page} if self.page is not None else {}),
            **({"original": self.original} if self.original is not None else {}),
        }


@dataclass(slots=True)
class IngestReport:
    run: str
    outcomes: list[Outcome] = field(default_factory=list)
    # Why the run stopped before the end (full disk, read-only archive); None when it did not.
    # The files it had not finished are back in inbox/, unregistered.
    stopped: Finding | None = None

    def count(self, status: Status) -> int:
        return sum(o.status is status for o in self.outcomes)

    def by_file(self) -> dict[str, Outcome]:
        """The outcome per file name (of a multi-card scan: its last card's; ``outcomes`` has them all)."""
        return {o.file: o for o in self.outcomes}

    def files(self) -> int:
        """How many files the outcomes are about (a multi-card scan has one outcome per card)."""
        return len({(o.file, o.sha256) for o in self.outcomes})
