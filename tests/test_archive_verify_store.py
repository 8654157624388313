"""四性检测 of what lies in archive/: symlinks, non-regular files, file-manager litter with content,
and look-alikes of the engine's own bookkeeping file fail the check; empty litter is tolerated."""

from __future__ import annotations

import os
import shutil
import sys

import pytest
from _archive_fixtures import card_meta, docx_bytes, unique_pdf
from typer.testing import CliRunner

from engine.archive import ItemRow, file_item, verify
from engine.archive.audit import HEAD_NAME
from engine.cli import app
from engine.workspace import Workspace

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="symlinks and FIFOs as POSIX makes them")


@pytest.fixture
def filed(ws: Workspace) -> list[ItemRow]:
    return [file_item(ws, unique_pdf(i), card_meta(serial=f"140200-2025-{i:04d}", enterprise=f"企业{i}")) for i in (1, 2)]


def found(ws: Workspace) -> list[tuple[str, str]]:
    return sorted(set(verify(ws, deep=True).findings.flatten("code", "where")))


def where(r: ItemRow) -> str:
    return f"{r.archival_code} {r.rel_path}"


def exit_code(ws: Workspace) -> int:
    return CliRunner().invoke(app, ["archive", "verify", "-w", str(ws.root)]).exit_code


@posix_only
def test_an_archived_file_replaced_by_a_symlink_to_identical_bytes_fails(ws: Workspace, filed: list[ItemRow]) -> None:
    """The original moved out of the archive and linked back: every byte and hash still matches."""
    outside = ws.root.parent / "elsewhere.pdf"
    shutil.move(filed[0].path, outside)
    filed[0].path.symlink_to(outside)
    assert found(ws) == [("ARCHIVE_SYMLINK", where(filed[0]))]
    rep = verify(ws)
    assert "符号链接" in rep.findings.items[0].message and rep.to_dict()["checks"]["真实性"] is False
    assert exit_code(ws) == 1


@posix_only
def test_a_symlinked_folder_or_stray_link_in_the_store_fails(ws: Workspace, filed: list[ItemRow]) -> None:
    folder = filed[1].path.parent
    moved = ws.root.parent / "moved-folder"
    shutil.move(folder, moved)
    folder.symlink_to(moved, target_is_directory=True)  # every file of the folder still reads the same
    link = filed[0].path.parent / "附件.pdf"
    link.symlink_to("/etc/hostname")
    rel = str(folder.relative_to(ws.archive))
    assert found(ws) == sorted([("ARCHIVE_SYMLINK", rel), ("ARCHIVE_SYMLINK", str(link.relative_to(ws.archive)))])


@posix_only
def test_a_fifo_in_place_of_an_archived_file_fails_without_hanging(ws: Workspace, filed: list[ItemRow]) -> None:
    filed[1].path.unlink()
    os.mkfifo(filed[1].path)  # opening it for reading would block the check forever
    assert found(ws) == [("ARCHIVE_NOT_REGULAR_FILE", where(filed[1]))]


@pytest.mark.parametrize("name", ["Thumbs.db", "desktop.ini", ".DS_Store", "THUMBS.DB", "Desktop.ini"])
def test_litter_holding_content_fails(ws: Workspace, filed: list[ItemRow], name: str) -> None:
    litter = filed[0].path.parent / name
    litter.write_bytes(docx_bytes())  # a document hidden under the name Windows or macOS uses
    rel = str(litter.relative_to(ws.archive))
    assert found(ws) == [("ARCHIVE_SYSTEM_FILE_WITH_CONTENT", rel)]
    msg = verify(ws).findings.items[0].message
    assert name in msg and f"{len(docx_bytes())} 字节" in msg and msg.startswith("安全性：")
    assert exit_code(ws) == 1


def test_desktop_ini_as_windows_writes_it_fails_too(ws: Workspace, filed: list[ItemRow]) -> None:
    """Even the genuine article: a folder customised in Explorer. The clerk checks it and deletes it."""
    ini = ws.archive / "2025" / "desktop.ini"
    ini.write_bytes("\r\n[.ShellClassInfo]\r\nIconResource=C:\\Windows\\System32\\imageres.dll,-3\r\n".encode("utf-16"))
    assert found(ws) == [("ARCHIVE_SYSTEM_FILE_WITH_CONTENT", "2025/desktop.ini")]


def test_empty_litter_is_tolerated(ws: Workspace, filed: list[ItemRow]) -> None:
    for name in ("Thumbs.db", "desktop.ini", ".DS_Store"):
        (filed[0].path.parent / name).write_bytes(b"")
        (ws.archive / name).write_bytes(b"")
    assert found(ws) == []
    assert exit_code(ws) == 0


@pytest.mark.parametrize("name", [f"{HEAD_NAME}.pdf", f"{HEAD_NAME}-copy", f"{HEAD_NAME}.1234.tmp", f"{HEAD_NAME}2"])
def test_look_alikes_of_the_head_file_at_the_top_level_fail(ws: Workspace, filed: list[ItemRow], name: str) -> None:
    (ws.archive / name).write_bytes(unique_pdf(9))
    assert found(ws) == [("ARCHIVE_FILE_UNINDEXED", name)]
    assert ".ruqi-audit-head 本身" in verify(ws).findings.items[0].message
    assert exit_code(ws) == 1


@posix_only
def test_the_head_file_as_a_symlink_fails(ws: Workspace, filed: list[ItemRow]) -> None:
    head = ws.archive / HEAD_NAME
    kept = ws.root.parent / "head-copy"
    shutil.move(head, kept)
    head.symlink_to(kept)
    assert found(ws) == [("AUDIT_HEAD_INVALID", HEAD_NAME)]
