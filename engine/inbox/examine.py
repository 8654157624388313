"""The pure part of handling one file: preflight, classify, read.  No database, no moves: what a
reader needs from the database (the statistics rounds issued) is looked up by the parent and
passed in.

``examine`` runs in a worker process (``engine.inbox.pool``) and returns
a picklable ``Examination``.  It enforces ``max_seconds_per_file`` with ``SIGALRM`` so a
pathological file stops with ``TIME_LIMIT`` instead of holding a worker forever; the pool adds
a hard backstop in case a C extension ignores the signal.
"""

from __future__ import annotations

import signal
import threading
import traceback
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ..findings import Finding, error, exception_detail, exception_reason
from ..forms import FormKey
from ..omr import ScanCard, iter_scan, load_layouts
from ..omr.blank import blank_page
from ..readback import CardReading, ReadMethod, read_card
from ..stats import Period, Submission
from ..workspace import Limits
from . import stack, stats_adapter
from .codes import Kind, Reason
from .preflight import preflight


@dataclass(slots=True)
class Examination:
    content: str = ""
    pages: int = 0
    kind: Kind = Kind.UNKNOWN
    findings: list[Finding] = field(default_factory=list)  # errors here mean: reject
    reading: CardReading | None = None  # the card (the first card of a multi-card scan)
    # A scan or photo: what was read from each page (``reading`` is the first card).
    scans: list[CardReading] = field(default_factory=list)
    cards: list[CardReading] = field(default_factory=list)  # the pages of ``scans`` that are cards
    page_notes: list[Finding] = field(default_factory=list)  # the other pages: blank, or not a card (skipped)
    stats: Submission | None = None  # what engine.stats read from a workbook
    crash: str = ""  # traceback of an unexpected exception (an engine bug, reported, file rejected)

    @property
    def rejected(self) -> bool:
        return any(f.is_error for f in self.findings)


class TimeLimit(Exception):
    pass


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise TimeLimit after ``seconds`` (only in the main thread, where signals are delivered)."""
    if seconds <= 0 or threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    def _raise(_sig, _frm) -> None:  # type: ignore[no-untyped-def]
        raise TimeLimit()

    old = signal.signal(signal.SIGALRM, _raise)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def examine(path: Path, name: str, root: Path, key: bytes, limits: Limits,
            rounds: dict[int, Period] | None = None) -> Examination:
    ex = Examination()
    try:
        with time_limit(limits.max_seconds_per_file):
            _examine(ex, path, name, root, key, limits, rounds or {})
    except TimeLimit:
        ex.findings.append(error(Reason.TIME_LIMIT, f"读取超过 {limits.max_seconds_per_file:g} 秒仍未完成，文件可能被恶意构造或异常复杂，已退回。"
                                                    f"如确属正常文件，请联系管理员调整 [limits] max_seconds_per_file。"))
    except MemoryError:
        ex.findings.append(error(Reason.UNREADABLE, "读取时内存不足，文件可能被恶意构造，已退回。"))
    except Exception as e:  # a reader bug must not stop the run: reject this file, report the bug
        ex.crash = traceback.format_exc(limit=8)
        ex.findings.append(error(Reason.UNREADABLE, f"文件通过了安全检查，但读取时出错（{exception_reason(e)}）。"
                                                    f"文件已原样退回；请把它和 reason.json 交给管理员。",
                                 detail=exception_detail(e)))
    return ex


def _examine(ex: Examination, path: Path, name: str, root: Path, key: bytes, limits: Limits,
             rounds: dict[int, Period]) -> None:
    pf = preflight(path, name, limits)
    ex.findings.extend(pf.findings)
    ex.content, ex.pages = pf.content, pf.pages
    if not pf.ok:
        return
    if pf.content in ("xlsx", "xls"):
        _examine_workbook(ex, path, root, rounds)
        return
    reading = read_card(path, pf.content, key) if pf.content != "image" else None
    if reading is None or reading.method is ReadMethod.IMAGE:
        # A scan or photo (or a PDF of page images): the paper-card reader, one reading per card.
        _read_pages(ex, iter_scan(path, key, pf.content, load_layouts(root)))
        reading = (ex.cards[0] if ex.cards else ex.scans[0] if ex.scans else None) or reading
    ex.reading = reading
    if reading is None:
        ex.findings.append(error(Reason.IMAGE_CORRUPT, "图片中没有可读取的页面。请重新拍照或扫描后发送。"))
        return
    if reading.method is ReadMethod.IMAGE:
        if not any(r.is_card for r in ex.scans or [reading]):
            blank = ex.scans and all(f.code == Reason.BLANK_PAGE for f in ex.page_notes)
            ex.findings.append(error(Reason.NOT_A_CARD, BLANK_PICTURE if blank else NOT_A_CARD_PICTURE))
            return
        ex.kind = Kind.FEEDBACK_CARD
        return
    if reading.form in (FormKey.NOTICE, FormKey.NOTICE_BOARD):
        ex.findings.append(error(Reason.OTHER_FORM, f"这是{FormKey(reading.form).zh}，不是入企检查监督反馈卡。"
                                                     f"通知书和公示由本局生成时已自动归档，无需放入收件箱。"))
        return
    if not reading.is_card:
        ex.findings.append(error(Reason.NOT_A_CARD, "这不是入企检查监督反馈卡（找不到卡片标题和十个问题）。"
                                                     "收件箱只收反馈卡（PDF/docx/扫描件）和统计表（xlsx/xls）。"))
        return
    ex.kind = Kind.FEEDBACK_CARD


def _read_pages(ex: Examination, scans: Iterable[ScanCard]) -> None:
    """Each page of a scan: a card (one outcome each, ``engine.inbox.stack``), or a page skipped
    with a note: blank (the back of a duplex scan), or not a card at all.  Only the readings are
    kept, so a stack is read one page image at a time."""
    for c in scans:
        ex.scans.append(c.reading)
        if c.reading.is_card:
            ex.cards.append(c.reading)
        else:
            ex.page_notes.append(stack.blank_note(c.page) if blank_page(c.image) else stack.not_a_card_note(c.page))


BLANK_PICTURE = "这个文件只有空白页，不是入企检查监督反馈卡。请确认扫描时卡片有字的一面朝向扫描面，再重新扫描发送。"
NOT_A_CARD_PICTURE = ("这张图片（或扫描的 PDF）不是入企检查监督反馈卡：既没有本局的二维码，也找不到卡上十个问题的表格"
                      "（例如收据、空白页或其他文件）。如果确实是反馈卡，请把整张卡片拍全、拍正、拍清楚后重新发送。")


def _examine_workbook(ex: Examination, path: Path, root: Path, rounds: dict[int, Period]) -> None:
    kind, result, findings = stats_adapter.read(path, root, rounds)
    ex.kind = kind
    ex.stats = result
    ex.findings.extend(findings)
