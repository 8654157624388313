"""Hostile and broken input: every file gets its own reason, lands byte-identical in rejected/, and
never stops the good card dropped with it."""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from pathlib import Path

import pytest
from _inbox_fixtures import (
    ANSWERS_CLEAN,
    blank_pdf,
    encrypted_pdf,
    fill_docx,
    foreign_docx,
    kit,
    new_workspace,
    png_header,
    sparse_file,
    xxe_docx,
    zip_bomb,
)

from engine.inbox import Status, ingest
from engine.inbox.preflight import MAX_NAME_CHARS, preflight
from engine.workspace import Limits, Workspace


@pytest.fixture(scope="module")
def cards(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return kit(tmp_path_factory)


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return new_workspace(tmp_path / "ws", inspections=1)


def _ole(stream_name: str) -> bytes:
    # Enough of a compound file for sniffing: the OLE signature and a directory entry name.
    return b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504 + stream_name.encode("utf-16-le") + b"\x00" * 1024


def _workbook() -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(["日期", "值班人", "电话"])
    wb.active.append(["6月18日", "张三", "13912345678"])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def hostile_corpus(inbox: Path, cards: Path, tmp: Path) -> dict[str, str]:
    """Write the corpus into ``inbox``; returns file name → the reason code it must get."""
    card_pdf = (cards / "0.pdf").read_bytes()
    good = fill_docx(cards / "0.docx", tmp / "good.docx", ANSWERS_CLEAN)
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as z:
        z.writestr("反馈卡.pdf", card_pdf)
    files: dict[str, tuple[bytes | None, str]] = {
        "空文件.pdf": (b"", "EMPTY_FILE"),
        "截断.pdf": (card_pdf[: len(card_pdf) // 2], "PDF_TRUNCATED"),
        "加密.pdf": (encrypted_pdf(card_pdf), "PDF_ENCRYPTED"),
        "五百页.pdf": (blank_pdf(500), "PDF_TOO_MANY_PAGES"),
        "炸弹.docx": (zip_bomb("word/document.xml", 150), "ZIP_BOMB"),
        "炸弹.xlsx": (zip_bomb("xl/workbook.xml", 150), "ZIP_BOMB"),
        "实体.docx": (xxe_docx(good), "XML_ENTITY"),
        "像素炸弹.png": (png_header(30000, 30000), "IMAGE_TOO_LARGE"),
        "损坏.docx": (b"PK\x03\x04" + b"\x00garbage" * 100, "ZIP_CORRUPT"),
        "旧版.doc": (_ole("WordDocument"), "OLD_OFFICE_FORMAT"),
        "加密.docx": (_ole("EncryptedPackage"), "OFFICE_ENCRYPTED"),
        "打包.zip": (zipped.getvalue(), "ARCHIVE_FILE"),
        "说明.txt": ("请查收".encode(), "UNSUPPORTED_TYPE"),
        "会议纪要.docx": (foreign_docx(tmp / "m.docx").read_bytes(), "NOT_A_CARD"),
        "值班表.xlsx": (_workbook(), "UNKNOWN_WORKBOOK"),
        "..\\..\\windows\\反馈卡.docx": (good.read_bytes(), "NAME_UNSAFE"),
        "反馈卡\x07\x1b[31m.docx": (good.read_bytes(), "NAME_UNSAFE"),
        "反馈卡\u202egpj.docx": (good.read_bytes(), "NAME_UNSAFE"),
        "k" * (MAX_NAME_CHARS + 76) + ".docx": (good.read_bytes(), "NAME_TOO_LONG"),
        "巨大.png": (None, "FILE_TOO_LARGE"),
    }
    for name, (data, _) in files.items():
        if data is not None:
            (inbox / name).write_bytes(data)
    sparse_file(inbox / "巨大.png", png_header(8000, 8000), 50 * 1024 * 1024)  # 50 MB on paper, no disk
    return {name: code for name, (_, code) in files.items()}


def test_each_hostile_file_gets_its_own_reason_and_the_good_card_is_still_filed(
        ws: Workspace, cards: Path, tmp_path: Path) -> None:
    expected = hostile_corpus(ws.inbox, cards, tmp_path)
    shutil.copy(fill_docx(cards / "0.docx", tmp_path / "ok.docx", ANSWERS_CLEAN), ws.inbox / "正常的反馈卡.docx")
    sizes = {p.name: p.stat().st_size for p in ws.inbox.iterdir() if p.is_file()}
    report = ingest(ws)
    by = report.by_file()
    assert set(by) == set(expected) | {"正常的反馈卡.docx"}
    assert by["正常的反馈卡.docx"].status is Status.FILED
    got = {name: by[name].findings.errors[0].code if by[name].findings.errors else "" for name in expected}
    assert got == expected
    for name in expected:
        o = by[name]
        assert o.status is Status.REJECTED
        kept = ws.root / o.location
        assert kept.parent == ws.rejected and kept.stat().st_size == sizes[name]
        reason = json.loads(kept.with_name(kept.name + ".reason.json").read_text(encoding="utf-8"))
        assert (reason["file"], reason["sha256"], reason["codes"][0]) == (name, o.sha256, expected[name])
        txt = kept.with_name(kept.name + ".reason.txt").read_text(encoding="utf-8")
        assert o.findings.errors[0].message in txt
    # Nothing left behind: the inbox holds only its folders, the claims are gone.
    assert [p.name for p in ws.inbox.iterdir() if p.is_file()] == []
    assert not [p for p in (ws.inbox / ".processing").rglob("*") if p.is_file()]


def test_rejected_bytes_are_identical(ws: Workspace, cards: Path) -> None:
    data = (cards / "0.pdf").read_bytes()[:-4000]
    (ws.inbox / "截断.pdf").write_bytes(data)
    (o,) = ingest(ws).outcomes
    assert (ws.root / o.location).read_bytes() == data


def test_a_file_over_the_time_limit_is_rejected(ws: Workspace, cards: Path, tmp_path: Path) -> None:
    ws.config.limits.max_seconds_per_file = 0.001  # every real file takes longer than a millisecond
    shutil.copy(fill_docx(cards / "0.docx", tmp_path / "a.docx", ANSWERS_CLEAN), ws.inbox / "a.docx")
    (o,) = ingest(ws).outcomes
    assert (o.status, o.findings.codes()) == (Status.REJECTED, ["TIME_LIMIT"])


def test_limits_come_from_ruqi_toml(tmp_path: Path, cards: Path) -> None:
    ws = new_workspace(tmp_path / "ws", inspections=1)
    toml = ws.root / "ruqi.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace("max_pdf_pages = 20", "max_pdf_pages = 1"), encoding="utf-8")
    ws = Workspace.open(ws.root)
    (ws.inbox / "两页.pdf").write_bytes(blank_pdf(2))
    (o,) = ingest(ws).outcomes
    assert o.findings.codes() == ["PDF_TOO_MANY_PAGES"] and "上限 1 页" in o.findings.errors[0].message


def test_a_parent_that_already_maps_gigabytes_still_reads_good_files(
        ws: Workspace, cards: Path, tmp_path: Path) -> None:
    """The workers' memory cap is a budget on top of what they inherit: a long-running parent
    (``ruqi serve``, a test run) that maps more than the cap must not make every file unreadable."""
    import mmap

    from engine.inbox.pool import WORKER_MEMORY_BYTES

    reserved = mmap.mmap(-1, WORKER_MEMORY_BYTES + (1 << 30))  # address space only, never touched
    try:
        shutil.copy(fill_docx(cards / "0.docx", tmp_path / "a.docx", ANSWERS_CLEAN), ws.inbox / "a.docx")
        (o,) = ingest(ws).outcomes
    finally:
        reserved.close()
    assert o.status is Status.FILED, o.findings.codes()


@pytest.mark.parametrize(("name", "data", "what"), [
    ("扫描.jpg", bytes(range(256)) * 8, "图片"),  # a phone's upload cut off before its first byte was right
    ("反馈卡.pdf", "<html><body>下载失败</body></html>".encode(), " PDF 文件"),  # a web mail's error page saved as .pdf
    ("统计表.xlsx", b"\x00" * 64 + "附件2".encode(), " Excel 表格"),
])
def test_content_that_is_not_what_its_accepted_name_says_is_told_as_such(tmp_path: Path, name: str, data: bytes,
                                                                          what: str) -> None:
    """Said before as "无法识别的文件类型（.jpg）。收件箱只接受 …JPG…": a clerk read that .jpg is not accepted."""
    (tmp_path / name).write_bytes(data)
    (f,) = preflight(tmp_path / name, name, Limits()).findings.errors
    ext = Path(name).suffix
    assert f.code == "UNSUPPORTED_TYPE" and f.message.startswith(f"文件名是 {ext}，但内容不是{what}：") and "只接受" not in f.message
