"""Stable codes of the inbox: outcome status, file kind, reasons, flags.

Codes are for programs and tests (``ruqi ingest --json``, ``<name>.reason.json``); the clerk
reads the Chinese message that comes with each one.
"""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    FILED = "filed"  # in the archive, register updated
    REJECTED = "rejected"  # moved to inbox/rejected/ with <name>.reason.txt / .reason.json
    DUPLICATE = "duplicate"  # the same bytes are already in the archive; the copy is removed
    NEEDS_REVIEW = "needs_review"  # in the archive with flag NEEDS_REVIEW: a person must read it
    SKIPPED = "skipped"  # not handled this time and left where the clerk sees it (folder, unreadable, still copying)

    @property
    def zh(self) -> str:
        return STATUS_ZH[self]


STATUS_ZH: dict[Status, str] = {
    Status.FILED: "已归档", Status.NEEDS_REVIEW: "待人工核对", Status.REJECTED: "已退回",
    Status.DUPLICATE: "重复，未再归档", Status.SKIPPED: "未处理，留在收件箱",
}


class Kind(StrEnum):
    FEEDBACK_CARD = "feedback_card"
    STATS_TABLE_1 = "stats_table_1"
    STATS_TABLE_2 = "stats_table_2"
    STATS_TABLE_3 = "stats_table_3"
    STATS_TABLE_4 = "stats_table_4"
    UNKNOWN = "unknown"


class Flag(StrEnum):
    VIOLATION = "VIOLATION"  # a 是 on the card: goes on the 纪委 list
    LATE = "LATE"  # received more than late_days after the inspection ended
    EARLY = "EARLY"  # received on a day before the inspection's last day: filled in advance?
    SUSPECT = "SUSPECT"  # unknown serial, QR signature wrong, enterprise or dates not the register's
    QR_MISSING = "QR_MISSING"  # no QR of ours with a valid signature: only the printed serial ties it to its visit
    NEEDS_REVIEW = "NEEDS_REVIEW"  # a person must read the card (scan, or answers unclear)
    # On the register's card_flags only (``refresh_visit``), never on one filed card:
    REVISED = "REVISED"  # the enterprise sent more than one version; the latest counts
    VIOLATION_WITHDRAWN = "VIOLATION_WITHDRAWN"  # an earlier version answered 是 where the latest does not

    @property
    def zh(self) -> str:
        return FLAG_ZH[self]


FLAG_ZH: dict[Flag, str] = {
    Flag.VIOLATION: "反馈“是”", Flag.LATE: "逾期", Flag.EARLY: "提前交回", Flag.SUSPECT: "可疑",
    Flag.QR_MISSING: "无可核验二维码", Flag.NEEDS_REVIEW: "待人工核对", Flag.REVISED: "新版本",
    Flag.VIOLATION_WITHDRAWN: "曾反馈“是”",
}


class Reason(StrEnum):
    """Why a file was rejected (or, for the few marked *warning*, what was noticed)."""

    EMPTY_FILE = "EMPTY_FILE"
    TOO_LARGE = "FILE_TOO_LARGE"
    NAME_UNSAFE = "NAME_UNSAFE"  # path separators, "..", control or bidi characters
    NAME_TOO_LONG = "NAME_TOO_LONG"
    NAME_ENCODING = "NAME_ENCODING"  # the name's bytes are not UTF-8 (copied from an old GBK share)
    UNSUPPORTED_TYPE = "UNSUPPORTED_TYPE"
    OLD_OFFICE_FORMAT = "OLD_OFFICE_FORMAT"  # .doc / .wps: save as .docx or PDF
    ARCHIVE_FILE = "ARCHIVE_FILE"  # .zip/.rar sent as is
    EXTENSION_MISMATCH = "EXTENSION_MISMATCH"  # warning: read by content
    OFFICE_ENCRYPTED = "OFFICE_ENCRYPTED"
    ZIP_CORRUPT = "ZIP_CORRUPT"
    ZIP_BOMB = "ZIP_BOMB"
    XML_ENTITY = "XML_ENTITY"  # DTD / entity declarations (XXE, billion laughs)
    PDF_CORRUPT = "PDF_CORRUPT"
    PDF_TRUNCATED = "PDF_TRUNCATED"
    PDF_ENCRYPTED = "PDF_ENCRYPTED"
    PDF_TOO_MANY_PAGES = "PDF_TOO_MANY_PAGES"
    IMAGE_CORRUPT = "IMAGE_CORRUPT"
    IMAGE_TOO_LARGE = "IMAGE_TOO_LARGE"
    TIME_LIMIT = "TIME_LIMIT"
    NOT_A_CARD = "NOT_A_CARD"
    OTHER_FORM = "OTHER_FORM"  # our 通知书 or 公示, not the card
    GENERATED_COPY = "GENERATED_COPY"  # the blank card we generated, not a return
    UNREADABLE = "UNREADABLE"  # the reader failed on a file that passed preflight
    UNKNOWN_WORKBOOK = "UNKNOWN_WORKBOOK"  # a spreadsheet that is none of our four tables
    STATS_REJECTED = "STATS_REJECTED"
    DUPLICATE = "DUPLICATE"  # status duplicate: the same bytes are already in the archive
    # Pages of a multi-page scan that are not filed as a card (notes on the file's outcome):
    BLANK_PAGE = "BLANK_PAGE"  # info: a blank page (the back of a card in a duplex scan), skipped
    PAGE_NOT_A_CARD = "PAGE_NOT_A_CARD"  # warning: a page with neither our QR nor the answers table, skipped
    DUPLICATE_PAGE = "DUPLICATE_PAGE"  # status duplicate: the same card scanned twice in one stack
    INTERNAL_ERROR = "INTERNAL_ERROR"  # the engine failed on this one file: rejected, traceback in reason.json
    # Left in inbox/ (status skipped), nothing read or moved:
    FOLDER = "FOLDER"  # a dropped folder: its files must be put in inbox/ itself
    SYMLINK = "SYMLINK"  # a link, not the document
    NOT_A_FILE = "NOT_A_FILE"  # a FIFO, socket or device
    NO_PERMISSION = "NO_PERMISSION"  # the engine's user may not read it
    STILL_WRITING = "STILL_WRITING"  # size or time still changing: a copy in progress
    VANISHED = "VANISHED"  # gone between listing and claiming (moved, deleted, taken by another run)
    # The run stopped (IngestReport.stopped); the files it had not finished are back in inbox/:
    DISK_FULL = "DISK_FULL"
    READ_ONLY = "READ_ONLY"  # the archive or the inbox cannot be written (read-only, no permission)
