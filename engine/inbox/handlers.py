"""One handler per kind of return: the only place that decides where a read file goes.

``examine`` (in a worker) reads a file and says what it found; ``handler_for`` then picks the
first handler in ``HANDLERS`` that accepts the examination, once; the handler files the file in
the batch's transaction and returns its one typed ``Outcome``.  Adding a kind of return means adding
a handler here, in its place in the list.

- ``FormCardHandler``: a card read from its fields or text (AcroForm PDF, text PDF, docx);
- ``StackHandler``: a scan holding several cards (one per page): the original filed once, then
  each card as a card of its own, one outcome per card (``engine.inbox.stack``);
- ``ScannedCardHandler``: a scan or photo (JPEG/PNG/TIFF/HEIC, or a PDF without text) read by ``engine.omr``
  in the worker: filed when every question is decided, else with flag NEEDS_REVIEW naming the questions;
- ``WorkbookHandler``: a county statistics workbook (附件1–4), accepted by the stats desk in a
  transaction of its own.
"""

from __future__ import annotations

from typing import Protocol

from ..findings import Finding
from ..readback import CardReading, ReadMethod
from ..stats import Submission
from .claim import Item
from .codes import Kind
from .examine import Examination
from .outcome import Outcome
from .stats_adapter import STATS_KINDS


class Desk(Protocol):
    """What a handler files through: the batch's transaction (``engine.inbox.finish.Batch``)."""

    def file_card(self, it: Item, kind: Kind, reading: CardReading, read: list[Finding]) -> Outcome: ...

    def file_stack(self, it: Item, ex: Examination) -> Outcome: ...

    def file_stats(self, it: Item, kind: Kind, sub: Submission, read: list[Finding]) -> Outcome: ...


class Handler(Protocol):
    name: str
    # False: the handler commits on its own (the stats desk), so no SAVEPOINT is opened around it.
    savepoint: bool

    def accepts(self, ex: Examination) -> bool: ...

    def handle(self, batch: Desk, it: Item, ex: Examination) -> Outcome: ...


class FormCardHandler:
    name = "form_card"
    savepoint = True

    def accepts(self, ex: Examination) -> bool:
        return ex.kind is Kind.FEEDBACK_CARD and ex.reading is not None and ex.reading.method is not ReadMethod.IMAGE

    def handle(self, batch: Desk, it: Item, ex: Examination) -> Outcome:
        assert ex.reading is not None
        return batch.file_card(it, ex.kind, ex.reading, ex.findings)


class StackHandler:
    """A scan holding several cards: the original filed once, each card on its own (``engine.inbox.stack``)."""

    name = "card_stack"
    savepoint = True  # the original and every card in one SAVEPOINT: all of them, or none

    def accepts(self, ex: Examination) -> bool:
        return ex.reading is not None and ex.reading.method is ReadMethod.IMAGE and len(ex.cards) > 1

    def handle(self, batch: Desk, it: Item, ex: Examination) -> Outcome:
        return batch.file_stack(it, ex)


class ScannedCardHandler:
    name = "scanned_card"
    savepoint = True

    def accepts(self, ex: Examination) -> bool:
        # A scan without our QR may still be a card: a person decides, the archive keeps it.
        return ex.reading is not None and ex.reading.method is ReadMethod.IMAGE

    def handle(self, batch: Desk, it: Item, ex: Examination) -> Outcome:
        assert ex.reading is not None
        # One card, perhaps with blank backs or other pages: filed as that card, the pages skipped noted.
        return batch.file_card(it, ex.kind, ex.reading, [*ex.findings, *ex.page_notes])


class WorkbookHandler:
    name = "workbook"
    savepoint = False

    def accepts(self, ex: Examination) -> bool:
        return ex.kind in STATS_KINDS and ex.stats is not None

    def handle(self, batch: Desk, it: Item, ex: Examination) -> Outcome:
        assert ex.stats is not None
        return batch.file_stats(it, ex.kind, ex.stats, ex.findings)


HANDLERS: tuple[Handler, ...] = (FormCardHandler(), StackHandler(), ScannedCardHandler(), WorkbookHandler())


def handler_for(ex: Examination) -> Handler | None:
    """The handler of a file examine did not reject; None when none takes it (it is rejected)."""
    if ex.rejected:
        return None
    return next((h for h in HANDLERS if h.accepts(ex)), None)
