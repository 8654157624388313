"""Where an item lives under ``archive/``: a tree a clerk can browse in a file manager.

    archive/2025/平城区/140200-2025-0001_大同市示例煤业有限公司/入企检查活动通知书.pdf
    archive/2025/平城区/140200-2025-0001_大同市示例煤业有限公司/入企检查监督反馈卡（交回）v2.pdf
    archive/2025/统计报表/云州区/2025年3月统计表.xlsx

Every path segment is sanitised: no separators, ``..``, control characters, characters Windows
forbids, reserved device names or trailing dots; each segment is cut to a byte length every
common file system accepts.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import PurePosixPath

from ..forms.types import FormType

# Chinese label per form type, used as the file name ("what the file is").
LABELS: dict[str, str] = {t: t.zh for t in FormType}
_GROUP_DIRS = {FormType.STATS_BLANK: "统计报表", FormType.STATS_TABLE: "统计报表", FormType.STATS_REPORT: "统计报表",
               FormType.PLAN: FormType.PLAN.zh, FormType.CARD_SCAN: "反馈卡扫描件", FormType.REVIEW_EXPORT: FormType.REVIEW_EXPORT.zh}
_BAD = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]')
_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}
MAX_SEGMENT_BYTES = 180  # below the 255-byte limit of ext4/NTFS, leaving room for " v12.xlsx"


def sanitize(segment: str, fallback: str = "未命名") -> str:
    s = unicodedata.normalize("NFC", segment)
    s = _BAD.sub("_", s)
    s = re.sub(r"\s+", " ", s).strip(" .")
    if not s or set(s) <= {"."}:
        s = fallback
    if s.split(".")[0].upper() in _RESERVED:
        s = f"_{s}"
    while len(s.encode("utf-8")) > MAX_SEGMENT_BYTES:
        s = s[:-1]
    return s.rstrip(" .") or fallback


def folder(form_type: str, year: int, serial: str, enterprise: str, county: str) -> PurePosixPath:
    base = PurePosixPath(str(year))
    if serial:
        return base / sanitize(county, "未分县区") / sanitize(f"{serial}_{enterprise}" if enterprise else serial)
    group = _GROUP_DIRS.get(form_type, "其他")
    return base / group / sanitize(county) if county else base / group


def file_name(form_type: str, title: str, serial: str, version: int, fmt: str) -> str:
    """Per-inspection forms are named by their form; the rest by their 题名."""
    other = FormType.OTHER.zh
    stem = LABELS.get(form_type, other) if serial else sanitize(title, LABELS.get(form_type, other))
    suffix = f"v{version}" if version > 1 else ""
    return f"{sanitize(stem)}{suffix}.{fmt}"
