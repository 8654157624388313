"""``ruqi review export``: hand the 纪委 everything about the selected inspections as a BagIt bag.

The bag (RFC 8493, written by bagit-python) holds, under ``data/``:

    originals/<serial>_<enterprise>/<the archive's file names>   byte-identical copies of the originals
                                                                  (with the multi-card scan a card was cut from)
    originals/可疑反馈卡/<档号>_<file>                            suspect cards that match no inspection
    index.xlsx                                                    one row per inspection
    review-report.pdf                                             the review report (PDF/A-3b)

Each original is copied from the archive and its SHA-256 compared with the archive index on the way;
a file that no longer matches is left out and reported (``ruqi archive verify`` says why).  The bag
is built in a hidden folder beside ``out_dir``, validated, then renamed into place, so ``out_dir``
is either a complete valid bag or absent.  The export is recorded in the audit trail (action
``export``) with the SHA-256 of the bag's ``manifest-sha256.txt`` and ``tagmanifest-sha256.txt``:
anyone can later recompute them from the bag to show it is the one that was handed over.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from ..actor import current_actor
from ..archive import Action, ItemMeta, file_item, log_action
from ..archive.layout import sanitize
from ..findings import Findings, RuqiError, error, exception_detail
from ..forms import PER_INSPECTION, QUESTION_NUMBERS, FormType
from ..workspace import Workspace
from .collect import Review, build_review
from .model import CARD_STATE_ZH, FLAG_ZH, Document, Entry
from .report import REPORT_NAME, write_index_sheet, write_pdf

if TYPE_CHECKING:  # heavy libraries load where they are used (start-up time)
    import bagit

INDEX_NAME = "index.xlsx"
ORIGINALS = "originals"
ORPHANS = "可疑反馈卡"
CHECKSUMS = ("sha256", "sha512")
_COPY_CHUNK = 1 << 20


class ExportCode(StrEnum):
    OUT_EXISTS = "REVIEW_EXPORT_EXISTS"
    ORIGINAL_MISSING = "REVIEW_ORIGINAL_MISSING"
    ORIGINAL_ALTERED = "REVIEW_ORIGINAL_ALTERED"
    BAG_INVALID = "REVIEW_BAG_INVALID"


@dataclass(slots=True)
class ExportResult:
    bag_dir: Path
    serials: list[str]  # the inspections exported, in review order
    payload: list[str]  # files under data/, posix paths relative to data/
    manifest_sha256: str  # SHA-256 of manifest-sha256.txt
    tagmanifest_sha256: str
    audit_seq: int | None
    findings: Findings = field(default_factory=Findings)
    review: Review | None = None
    report_archival_code: str = ""  # 档号 of review-report.pdf filed in the archive ("" when not filed)

    @property
    def ok(self) -> bool:
        return self.findings.ok


def export_bundle(
    ws: Workspace,
    out_dir: str | Path,
    date_from: date | None = None,
    date_to: date | None = None,
    county: str | None = None,
    only_flagged: bool = False,
    *,
    today: date | None = None,
    actor: str | None = None,
    file_report: bool = True,
) -> ExportResult:
    """Write the bag for the inspections of ``build_review(ws, date_from, date_to, county)``
    (only those needing attention with ``only_flagged``) and record it in the audit trail.

    With ``file_report`` the bag's ``review-report.pdf`` is also filed in the archive (文种
    ``review_export``), so the archive keeps what the 纪委 was given."""
    import bagit

    out = Path(out_dir).resolve()
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise RuqiError(error(ExportCode.OUT_EXISTS, f"输出目录“{out}”已存在且不为空，请换一个目录或先清空。", str(out)))
    review = build_review(ws, date_from, date_to, county, today=today)
    # Voided visits always go in, with their originals: the 纪委 sees every voiding.
    entries = (review.flagged if only_flagged else review.entries) + [x.entry for x in review.voided]
    stage = out.parent / f".{out.name}.ruqi-tmp-{os.getpid()}"
    if stage.exists():
        shutil.rmtree(stage)
    stage.mkdir(parents=True)
    findings = Findings()
    try:
        folders = _copy_originals(ws, stage, entries, review, findings)
        _write_index(stage / INDEX_NAME, entries, folders)
        write_pdf(review, stage / REPORT_NAME)
        bag = bagit.make_bag(str(stage), bag_info=_bag_info(ws, review, entries, only_flagged, actor),
                             checksums=list(CHECKSUMS))
        _validate(bag)
        payload = sorted(p.removeprefix("data/") for p in bag.payload_files())
        if out.exists():
            out.rmdir()
        os.replace(stage, out)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    manifest = _sha256(out / "manifest-sha256.txt")
    tagmanifest = _sha256(out / "tagmanifest-sha256.txt")
    report_code = _file_report(ws, out / "data" / REPORT_NAME, review, manifest, actor) if file_report else ""
    seq = _log(ws, out, review, entries, only_flagged, manifest, tagmanifest, len(payload), findings, report_code,
               actor)
    return ExportResult(out, [e.serial for e in entries], payload, manifest, tagmanifest, seq, findings, review,
                        report_code)


# ---- originals ---------------------------------------------------------------------------------------


def _safe(segment: str) -> str:
    return sanitize(segment)


def _copy_originals(ws: Workspace, stage: Path, entries: list[Entry], review: Review,
                    findings: Findings) -> dict[str, str]:
    """Copy each inspection's originals into its own folder; returns serial → folder (relative)."""
    folders: dict[str, str] = {}
    for e in entries:
        if not e.documents:
            continue  # nothing archived for it (a register written without `ruqi generate`)
        rel = f"{ORIGINALS}/{_safe(f'{e.serial}_{e.enterprise}')}"
        folders[e.serial] = rel
        (stage / rel).mkdir(parents=True, exist_ok=True)
        for d in e.documents:
            _copy(ws, d, stage / rel, Path(d.rel_path).name, findings)
        for d in _scans_cut(e.documents):
            _copy(ws, d, stage / rel, Path(d.rel_path).name, findings)
    orphans = [c for c in review.suspects if c.entry is None and c.document is not None]
    if orphans:
        (stage / ORIGINALS / ORPHANS).mkdir(parents=True, exist_ok=True)
        for c in orphans:
            d = c.document
            assert d is not None
            _copy(ws, d, stage / ORIGINALS / ORPHANS, _safe(f"{d.archival_code}_{Path(d.rel_path).name}"), findings)
    return folders


def _scans_cut(documents: list[Document]) -> list[Document]:
    """The multi-card scans (filed once, ``engine.inbox.stack``) these cards were cut from: the bag
    carries each such original byte-identical beside the card."""
    out: dict[str, Document] = {}
    for d in documents:
        src = d.extra.get("source")
        if isinstance(src, dict) and src.get("archival_code") and src["archival_code"] not in out:
            out[src["archival_code"]] = Document(FormType.CARD_SCAN, str(src["archival_code"]), str(src["rel_path"]),
                                                 str(src["sha256"]), int(src.get("size") or 0),
                                                 original_name=str(src.get("name") or ""))
    return list(out.values())


def _copy(ws: Workspace, d: Document, folder: Path, name: str, findings: Findings) -> None:
    src = (ws.archive / d.rel_path).resolve()
    dst = folder / name
    if dst.exists():  # two archive folders of one serial (the enterprise was renamed): keep both
        dst = folder / _safe(f"{d.archival_code}_{name}")
    # An index row pointing outside the archive (an edited database) must not pull other files in.
    if not src.is_relative_to(ws.archive.resolve()) or not src.is_file():
        findings.add(error(ExportCode.ORIGINAL_MISSING,
                           f"档号 {d.archival_code} 的原件不在档案库中（{d.rel_path}），未导出。请运行 ruqi archive verify。",
                           d.archival_code))
        return
    h = hashlib.sha256()
    with open(src, "rb") as fi, open(dst, "xb") as fo:
        while chunk := fi.read(_COPY_CHUNK):
            h.update(chunk)
            fo.write(chunk)
    if h.hexdigest() != d.sha256:
        dst.unlink()
        findings.add(error(ExportCode.ORIGINAL_ALTERED,
                           f"档号 {d.archival_code} 的原件与归档时的哈希不符（文件可能被改动），未导出。请运行 ruqi archive verify。",
                           d.archival_code))
        return
    shutil.copystat(src, dst)


# ---- index.xlsx --------------------------------------------------------------------------------------

INDEX_HEADERS: tuple[tuple[str, int], ...] = (
    ("检查编号", 18), ("企业名称", 30), ("统一社会信用代码", 21), ("县区", 10), ("检查类别", 10), ("开始日期", 12),
    ("结束日期", 12), ("组长", 10), ("成员", 20), ("专家", 14), ("反馈卡状态", 14), ("收到日期", 12),
    ("邮件来源", 36),
    *((f"第{i}题", 7) for i in QUESTION_NUMBERS),
    ("需关注情形", 30), *((f"{t.short}档号", 26) for t in PER_INSPECTION),
    ("原件文件夹", 40),
)


def index_rows(entries: list[Entry], folders: dict[str, str]) -> list[list[object]]:
    rows: list[list[object]] = []
    for e in entries:
        rows.append([
            e.serial, e.enterprise, e.uscc, e.county, e.kind, e.start, e.end, e.team.leader, "、".join(e.team.members),
            "、".join(e.team.experts), CARD_STATE_ZH[e.card], e.card_received_at.date() if e.card_received_at else None,
            mail_source(e),
            *(e.answers.get(i) for i in QUESTION_NUMBERS),
            "、".join(FLAG_ZH[f] for f in e.flags),
            *("\n".join(e.codes(t)) for t in PER_INSPECTION),
            f"data/{folders[e.serial]}" if e.serial in folders else "",
        ])
    return rows


def mail_source(e: Entry) -> str:
    """Who mailed the latest returned card, when the bureau's server received it, and the subject
    (``engine.provenance``, filed in the item's ``extra["mail"]``); "" for a card dropped into the inbox."""
    cards = [d for d in e.documents if d.form_type == FormType.CARD_RETURNED and isinstance(d.extra.get("mail"), dict)]
    if not cards:
        return ""
    m = max(cards, key=lambda d: d.version).extra["mail"]
    return f"{m.get('sender', '')}，服务器收到 {str(m.get('received_at', '')).replace('T', ' ')}，主题“{m.get('subject', '')}”"


def _write_index(path: Path, entries: list[Entry], folders: dict[str, str]) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    headers = [h for h, _ in INDEX_HEADERS]
    widths = [w for _, w in INDEX_HEADERS]
    write_index_sheet(wb.active, "检查索引", headers, widths, index_rows(entries, folders))
    wb.save(path)


# ---- bag ---------------------------------------------------------------------------------------------


def _bag_info(ws: Workspace, review: Review, entries: list[Entry], only_flagged: bool,
              actor: str | None) -> dict[str, str]:
    return {
        "Source-Organization": ws.config.name,
        "Contact-Name": current_actor(actor),
        "External-Description": f"入企检查纪律监督审查导出：检查开始日期 {review.period_zh}，县区 {review.county or '全部'}，"
                                f"{'仅需关注的检查' if only_flagged else '全部检查'}，共 {len(entries)} 次检查。",
        "Bagging-Date": date.today().isoformat(),
        "Ruqi-Date-From": review.date_from.isoformat() if review.date_from else "",
        "Ruqi-Date-To": review.date_to.isoformat() if review.date_to else "",
        "Ruqi-County": review.county or "",
        "Ruqi-Only-Flagged": "yes" if only_flagged else "no",
        "Ruqi-Inspections": str(len(entries)),
        "Ruqi-Review-Date": review.today.isoformat(),
    }


def _validate(bag: bagit.Bag) -> None:
    import bagit

    try:
        bag.validate()
    except bagit.BagValidationError as e:
        raise RuqiError(error(ExportCode.BAG_INVALID, "导出包校验失败：包内文件与清单不符，请重新导出。", bag.path,
                              detail=exception_detail(e))) from e


def _sha256(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def _file_report(ws: Workspace, pdf: Path, review: Review, manifest: str, actor: str | None) -> str:
    scope = f"{review.county or '全部县区'}，检查开始日期 {review.period_zh}"
    row = file_item(ws, pdf, ItemMeta(
        form_type=FormType.REVIEW_EXPORT, title=f"入企检查纪律监督审查报告（{scope}）", responsible=ws.config.name,
        date=date.today(), county=review.county or "", original_name=REPORT_NAME,
        extra={"bag_manifest_sha256": manifest, "review_date": review.today.isoformat()},
    ), actor=actor)
    return row.archival_code


def _log(ws: Workspace, out: Path, review: Review, entries: list[Entry], only_flagged: bool, manifest: str,
         tagmanifest: str, files: int, findings: Findings, report_code: str, actor: str | None) -> int | None:
    entry = log_action(ws, Action.EXPORT, str(out), actor=actor, details={
        "kind": "review_bag",
        "manifest_sha256": manifest,
        "tagmanifest_sha256": tagmanifest,
        "date_from": review.date_from.isoformat() if review.date_from else None,
        "date_to": review.date_to.isoformat() if review.date_to else None,
        "county": review.county,
        "only_flagged": only_flagged,
        "inspections": len(entries),
        "serials": [e.serial for e in entries],
        "payload_files": files,
        "problems": [f.code for f in findings],
        "report_archival_code": report_code,
        "exported_at": datetime.now().astimezone().isoformat(timespec="seconds"),
    })
    return entry.seq


def zip_bag(bag_dir: Path) -> Path:
    """The bag as one zip beside it (``<bag>.zip``, the bag folder at its top), for a download; the
    bag inside validates as the folder does (``bagit.py --validate`` after unzipping)."""
    target = bag_dir.with_name(bag_dir.name + ".zip")
    tmp = bag_dir.with_name(f".{bag_dir.name}.zip.ruqi-tmp-{os.getpid()}")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        for p in sorted(bag_dir.rglob("*")):
            if p.is_file():
                z.write(p, f"{bag_dir.name}/{p.relative_to(bag_dir).as_posix()}")
    os.replace(tmp, target)
    return target
