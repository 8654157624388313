"""What a clerk reads never names a Python exception, and codes come with their Chinese label.

Each case feeds a real broken input (a plan that is not a workbook, a county's .xls that is not
one, a malformed mail, an archived .xlsx that does not open) and checks the clerk's message says what
kind of failure it is in Chinese while the exception's name stays in the finding's ``detail``."""

from __future__ import annotations

import io
import re
import sys
import zipfile
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from engine.archive import Action, file_item
from engine.archive.formats import check_opens
from engine.cli import app
from engine.cli.common import run_app
from engine.findings import exception_reason
from engine.generate import render_failure_message
from engine.mail.codes import MailCode
from engine.mail.unpack import unpack
from engine.plan import PlanCode, read_plan
from engine.stats import read_submission
from engine.stats.codes import StatsCode
from engine.workspace import Workspace
from tests._archive_fixtures import card_meta, pdf_bytes

# A Python class name as it would leak into a message: CamelCase ending in Error/Exception/Defect/File.
CLASS_NAME = re.compile(r"[A-Z][A-Za-z]*(Error|Exception|Defect|File)\b")
CJK = re.compile(r"[\u4e00-\u9fff]")


def test_a_plan_that_is_not_a_workbook(tmp_path: Path) -> None:
    path = tmp_path / "计划.xlsx"
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 40 + "这不是工作簿".encode())
    f = next(f for f in read_plan(path).findings if f.code == PlanCode.UNREADABLE)
    assert not CLASS_NAME.search(f.message), f.message
    assert CLASS_NAME.search(f.detail), f.detail  # the developer still learns what raised


def test_a_county_xls_that_is_not_one(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "云州区统计表.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600)  # an OLE header and nothing behind it
    f = next(f for f in read_submission(path, ws).findings if f.code == StatsCode.UNREADABLE)
    assert not CLASS_NAME.search(f.message), f.message
    assert "（" in f.message and CJK.search(f.message.split("（", 1)[1]), f.message
    assert f.detail


def test_mail_defects_are_counted_not_named(ws: Workspace) -> None:
    raw = (b"From: qiye@example.com\r\nTo: zfjd@dtyjj.gov.cn\r\nSubject: card\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: multipart/mixed\r\n\r\nno boundary, no parts\r\n")
    out = unpack(raw, ws.config.limits, "m1")
    f = next(f for f in out.findings if f.code == MailCode.MIME_DEFECTS)
    assert not CLASS_NAME.search(f.message), f.message
    assert "Defect" in f.detail


def test_an_archived_workbook_that_does_not_open() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "这不是 XML")
    problem = check_opens("xlsx", buf.getvalue())
    assert problem is not None and not CLASS_NAME.search(problem), problem
    assert CJK.search(problem)


def test_exception_kinds_have_chinese_words() -> None:
    for e in (MemoryError(), TimeoutError(), ConnectionResetError(), zipfile.BadZipFile("x"), EOFError(),
              UnicodeDecodeError("utf-8", b"\xff", 0, 1, "bad"), KeyError("x"), RuntimeError("x"),
              OSError(28, "No space left on device")):
        words = exception_reason(e)
        assert CJK.search(words) and not CLASS_NAME.search(words), (e, words)


def test_render_failure_does_not_name_the_exception(tmp_path: Path) -> None:
    template = render_failure_message("UndefinedError: 'enterprise_name' is undefined", tmp_path)
    assert "UndefinedError" not in template and "enterprise_name" in template and "templates check" in template
    crash = render_failure_message("ZeroDivisionError: division by zero", tmp_path)
    assert not CLASS_NAME.search(crash) and "division" not in crash


def test_archive_log_and_search_show_labels_beside_codes(ws: Workspace) -> None:
    file_item(ws, pdf_bytes(), card_meta(flags=["LATE", "VIOLATION"]))
    env = {"COLUMNS": "250"}
    log = CliRunner().invoke(app, ["archive", "log", "-w", str(ws.root)], env=env)
    assert log.exit_code == 0, log.output
    assert f"{Action.FILE.zh}（file）" in log.output
    found = CliRunner().invoke(app, ["archive", "search", "-w", str(ws.root)], env=env)
    assert found.exit_code == 0, found.output
    assert "逾期、反馈“是”" in found.output and "LATE" not in found.output


def test_an_engine_bug_is_said_in_chinese_and_its_traceback_saved(monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    """run_app, the console entry point, around an app whose command hits a bug."""
    buggy = typer.Typer()

    @buggy.command()
    def divide(n: int = 0) -> None:
        print(1 / n)

    monkeypatch.setattr(sys, "argv", ["ruqi", "--n", "0"])
    with pytest.raises(SystemExit) as stop:
        run_app(buggy)
    err = capsys.readouterr().err
    assert stop.value.code == 3
    assert "程序内部错误" in err and not CLASS_NAME.search(err) and "Traceback" not in err, err
    saved = Path(re.search(r"出错记录已保存到“(.+?)”", err.replace("\n", "")).group(1))
    assert "ZeroDivisionError" in saved.read_text(encoding="utf-8")
    saved.unlink()
