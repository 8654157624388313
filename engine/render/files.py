"""Output file names and safe writes."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from ..forms import FORMS

# Characters Windows, macOS or Linux refuse in names, plus controls; a clerk's USB stick is often FAT32.
_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]+')
MAX_ENTERPRISE_CHARS = 40  # 40 CJK characters = 120 bytes of UTF-8, well under the 255-byte name limit


def safe_component(text: str, limit: int = MAX_ENTERPRISE_CHARS) -> str:
    s = _UNSAFE.sub("_", text or "")
    s = re.sub(r"\s+", "", s).strip("._ ")
    return s[:limit] or "未命名单位"


def output_name(serial: str, enterprise: str, form_key: str, fmt: str) -> str:
    """``140200-2025-0001_大同市某某化工有限公司_入企检查活动通知书.docx``."""
    return f"{safe_component(serial, 40)}_{safe_component(enterprise)}_{FORMS[form_key].file_label()}.{fmt}"


def write_atomic(path: Path, data: bytes) -> None:
    """Write to a temporary file in the same folder, then rename: no half-written forms."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
