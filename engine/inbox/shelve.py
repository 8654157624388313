"""Putting a file aside, byte-identical, with its reasons: ``inbox/rejected/`` and ``inbox/needs_review/``.

Beside ``<name>`` go ``<name>.reason.txt`` (Chinese, for the clerk) and ``<name>.reason.json``
(codes, for programs).  The reason files are written first (temp file + ``os.replace``) and the
document is renamed into place last, so a crash leaves either the document still claimed (the
next run redoes everything under the same name) or everything in place.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from ..findings import Finding, located
from .preflight import safe_name

NEEDS_REVIEW_DIR = "needs_review"
REASON_TXT = ".reason.txt"
REASON_JSON = ".reason.json"


@dataclass(frozen=True, slots=True)
class Shelved:
    path: Path  # where the document is now
    already_there: bool  # identical bytes were already shelved under this name


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def target_for(directory: Path, name: str, sha256: str, reserved: dict[Path, str] | None = None) -> tuple[Path, bool]:
    """A free name in ``directory`` (``x.pdf``, ``x (2).pdf`` …), or the one already holding these bytes.

    ``reserved``: names promised to other files whose move is still pending (path → sha256).
    """
    reserved = reserved or {}
    base = safe_name(name)
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = base, ""
    for n in range(1, 1000):
        cand = base if n == 1 else (f"{stem} ({n}).{ext}" if ext else f"{stem} ({n})")
        p = directory / cand
        if p in reserved:
            if reserved[p] == sha256:
                return p, True
            continue
        if not p.exists() and not p.is_symlink():
            return p, False
        if p.is_file() and not p.is_symlink() and sha256_of(p) == sha256:
            return p, True
    raise RuntimeError(f"no free name for {name} in {directory}")


def write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def reason_files(target: Path) -> tuple[Path, Path]:
    return target.with_name(target.name + REASON_TXT), target.with_name(target.name + REASON_JSON)


def write_reasons(target: Path, record: dict[str, Any], heading: str, advice: str) -> None:
    txt, js = reason_files(target)
    write_atomic(js, json.dumps(record, ensure_ascii=False, indent=1, default=str))
    write_atomic(txt, clerk_text(record, heading, advice))


def clerk_text(record: dict[str, Any], heading: str, advice: str) -> str:
    lines = [
        f"文件：{record['file']}",
        f"收到时间：{record.get('received_at', '')}",
        f"处理时间：{record.get('handled_at', '')}",
        f"处理结果：{heading}",
        "原因：",
    ]
    for k, e in enumerate(record.get("errors", []), 1):
        lines.append(f"  {k}. {located(e['message'], e.get('where', ''))}（{e['code']}）")
    lines += [f"处理建议：{advice}", f"SHA-256：{record.get('sha256', '')}", ""]
    return "\n".join(lines)


def finding_dicts(findings: list[Finding]) -> list[dict[str, str]]:
    return [{"code": f.code, "message": f.message, "where": f.where, "severity": str(f.severity)} for f in findings]


def held_index(directory: Path) -> dict[str, Path]:
    """sha256 → shelved document, from the reason.json files (to recognise a file dropped twice)."""
    out: dict[str, Path] = {}
    if not directory.is_dir():
        return out
    for js in directory.glob("*" + REASON_JSON):
        try:
            rec = json.loads(js.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        doc = js.with_name(js.name[: -len(REASON_JSON)])
        if doc.exists() and isinstance(rec, dict) and rec.get("sha256"):
            out[str(rec["sha256"])] = doc
    return out


def now_iso() -> str:
    return datetime.now().isoformat(timespec="seconds")
