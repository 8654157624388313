"""ruqi.toml and ruqi.key at start-up: every problem said once, in Chinese, before anything runs.

The CLI is run the way a clerk runs it (``run_app`` with argv, or the installed ``ruqi``), so a
``rich.errors.MarkupError`` or a traceback would show up here.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from engine import workspace
from engine.cli import app
from engine.cli.common import run_app
from engine.findings import RuqiError
from engine.workspace import (
    CONFIG_TEMPLATE,
    SCHEMA,
    SCHEMA_CARRIERS,
    Config,
    ConfigCode,
    Workspace,
    check_config,
)

RUQI = Path(sys.executable).with_name("ruqi")


def ruqi(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[int, str]:
    """Run the CLI in-process exactly as the console script does; (exit code, stdout + stderr)."""
    monkeypatch.setenv("COLUMNS", "400")  # one finding per line, whatever the terminal
    monkeypatch.setattr(sys, "argv", ["ruqi", *args])
    with pytest.raises(SystemExit) as ex:
        run_app(app)
    out = capsys.readouterr()
    return int(ex.value.code or 0), out.out + out.err


def _edit(ws: Workspace, old: str, new: str) -> None:
    p = ws.root / "ruqi.toml"
    text = p.read_text(encoding="utf-8")
    assert old in text
    p.write_text(text.replace(old, new, 1), encoding="utf-8")


# ---- not a workspace, markup in paths ---------------------------------------------------------


def test_outside_a_workspace_is_a_chinese_message_not_a_markup_error(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, out = ruqi(capsys, monkeypatch, "status")
    assert code == 2 and "Traceback" not in out and "MarkupError" not in out
    assert f"“{tmp_path.resolve()}”不是工作目录" in out and "NOT_A_WORKSPACE" in out

    code, out = ruqi(capsys, monkeypatch, "register", "--workspace", str(tmp_path / "大同工作目录-typo"))
    assert code == 2 and "找不到这个文件夹" in out and "--workspace" in out


def test_paths_and_names_with_brackets_print_literally(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "[red]工作[/red]"
    code, out = ruqi(capsys, monkeypatch, "init", str(root), "--name", "[bold]大同市应急管理局")
    assert code == 0, out
    assert f"{root.resolve()}" in out and "[bold]大同市应急管理局" in out
    odd = tmp_path / "[b]工作目录"  # mistyped: not there
    code, out = ruqi(capsys, monkeypatch, "archive", "search", "-w", str(odd))
    assert code == 2 and f"{odd.resolve()}" in out and "Traceback" not in out


def test_installed_command_outside_a_workspace(tmp_path: Path) -> None:
    if not RUQI.exists():
        pytest.skip("the ruqi console script is not installed in this environment")
    r = subprocess.run([str(RUQI), "status"], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                       env={**os.environ, "COLUMNS": "300"})
    assert r.returncode == 2 and "不是工作目录" in r.stderr and "Traceback" not in r.stderr + r.stdout


# ---- ruqi.toml: syntax, encoding, schema --------------------------------------------------------


def test_broken_toml_names_the_line(ws: Workspace, capsys: pytest.CaptureFixture[str],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    _edit(ws, 'org_code = "AQJ"', "org_code = AQJ")
    code, out = ruqi(capsys, monkeypatch, "status", "-w", str(ws.root))
    line = next(i for i, t in enumerate((ws.root / "ruqi.toml").read_text("utf-8").splitlines(), 1) if "org_code" in t)
    assert code == 2 and f"第{line}行" in out and "CONFIG_SYNTAX" in out and "Traceback" not in out


def test_gbk_toml_is_an_encoding_message_and_a_bom_is_fine(ws: Workspace) -> None:
    p = ws.root / "ruqi.toml"
    text = p.read_text(encoding="utf-8")
    p.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))  # Notepad's UTF-8
    assert Workspace.open(ws.root).config.name == "大同市应急管理局"
    p.write_bytes(text.encode("gbk"))
    with pytest.raises(RuqiError) as e:
        Workspace.open(ws.root)
    assert e.value.finding.code == ConfigCode.ENCODING and "UTF-8" in e.value.finding.message


def test_wrong_types_and_misspelt_keys_are_all_reported_at_once(
        ws: Workspace, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    _edit(ws, "max_file_mb = 25", 'max_file_mb = "25MB"')
    _edit(ws, "late_days = 3", 'late_days = "三"')
    _edit(ws, "max_pdf_pages = 20", "max_pdf_page = 20")
    _edit(ws, 'level = "市"', 'level = "地市"')
    _edit(ws, "[inbox]", "[inbx]\nfoo = 1\n\n[inbox]")
    with pytest.raises(RuqiError) as e:
        Workspace.open(ws.root)
    got = {(f.code, f.where) for f in e.value.findings}
    assert got == {
        (ConfigCode.BAD_TYPE, "ruqi.toml [limits] max_file_mb"),
        (ConfigCode.BAD_TYPE, "ruqi.toml [inbox] late_days"),
        (ConfigCode.UNKNOWN_KEY, "ruqi.toml [limits] max_pdf_page"),
        (ConfigCode.BAD_VALUE, "ruqi.toml [bureau] level"),
        (ConfigCode.UNKNOWN_TABLE, "ruqi.toml inbx"),
    }
    msgs = {f.where: f.message for f in e.value.findings}
    assert '"25MB"' in msgs["ruqi.toml [limits] max_file_mb"] and "不带单位" in msgs["ruqi.toml [limits] max_file_mb"]
    assert "是否想写 max_pdf_pages" in msgs["ruqi.toml [limits] max_pdf_page"]
    assert "省、市、县" in msgs["ruqi.toml [bureau] level"]

    # Through the CLI: one line per problem, and the inbox is not touched (old main rejected
    # every file as unreadable when max_file_mb was text).
    card = ws.inbox / "反馈卡.pdf"
    card.write_bytes(b"%PDF-1.7\n%%EOF\n")
    code, out = ruqi(capsys, monkeypatch, "ingest", "-w", str(ws.root))
    assert code == 2 and "发现 5 处问题" in out and "Traceback" not in out
    assert card.read_bytes() == b"%PDF-1.7\n%%EOF\n" and not any(ws.rejected.iterdir())


def test_contacts_tables_and_values(ws: Workspace) -> None:
    _edit(ws, '[contacts."县"]', '[contacts."乡"]')
    _edit(ws, "supervision_email", "supervison_email")
    _edit(ws, 'division_code = "140200"', 'division_code = "14020"')
    _edit(ws, 'notice = "D30"', 'notice = "D31"')
    with pytest.raises(RuqiError) as e:
        Workspace.open(ws.root)
    by_where = {f.where: f for f in e.value.findings}
    assert by_where["ruqi.toml [contacts.乡]"].code == ConfigCode.UNKNOWN_TABLE
    assert by_where["ruqi.toml [contacts.省] supervison_email"].code == ConfigCode.UNKNOWN_KEY
    assert "6位数字" in by_where["ruqi.toml [bureau] division_code"].message
    assert "Y、D30、D10" in by_where["ruqi.toml [archive.retention] notice"].message


def test_required_keys_and_numbers_as_clerks_write_them(ws: Workspace) -> None:
    _edit(ws, 'division_code = "140200"', "division_code = 140200")  # no quotes: same code
    _edit(ws, "max_file_mb = 25", "max_file_mb = 12.5")
    ws2 = Workspace.open(ws.root)
    assert (ws2.config.division_code, ws2.config.limits.max_file_mb) == ("140200", 12.5)
    _edit(ws, 'name = "大同市应急管理局"', 'name = ""')
    _edit(ws, "max_file_mb = 12.5", "max_file_mb = -1")
    with pytest.raises(RuqiError) as e:
        Workspace.open(ws.root)
    assert {(f.code, f.where) for f in e.value.findings} == {
        (ConfigCode.MISSING, "ruqi.toml [bureau] name"), (ConfigCode.BAD_VALUE, "ruqi.toml [limits] max_file_mb")}


def test_the_template_is_valid_and_the_schema_matches_the_dataclasses() -> None:
    text = CONFIG_TEMPLATE.format(name="大同市应急管理局", level="市", division_code="140200", report_phone="1",
                                  report_email="e", area="0352", slug="dt")
    values, found = check_config(tomllib.loads(text))
    assert found == []
    cfg = Config.from_values(values)
    assert cfg.limits == workspace.Limits() and cfg.late_days == 3
    for table, carrier in SCHEMA_CARRIERS.items():
        assert set(SCHEMA[table].keys) == {f.name for f in dataclasses.fields(carrier)}, table
        for name, key in SCHEMA[table].keys.items():
            assert key.default == next(f.default for f in dataclasses.fields(carrier) if f.name == name)


# ---- ruqi.key ------------------------------------------------------------------------------------


def test_missing_key_is_refused_not_recreated(ws: Workspace, capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    key = (ws.root / "ruqi.key").read_bytes()
    assert (ws.root / "ruqi.key.bak").read_bytes() == key and len(key) == 32
    (ws.root / "ruqi.key").unlink()
    code, out = ruqi(capsys, monkeypatch, "status", "-w", str(ws.root))
    assert code == 2 and "KEY_MISSING" in out and "ruqi.key.bak" in out and "cp ruqi.key.bak ruqi.key" in out
    assert not (ws.root / "ruqi.key").exists()
    # `init` on the same folder does not paper over it either: the archive holds issued documents.
    (ws.archive / "2025").mkdir()
    code, out = ruqi(capsys, monkeypatch, "init", str(ws.root))
    assert code == 2 and not (ws.root / "ruqi.key").exists()
    shutil.copy(ws.root / "ruqi.key.bak", ws.root / "ruqi.key")
    assert Workspace.open(ws.root).key == key


def test_empty_key_is_damaged_and_new_key_needs_both_copies_gone(ws: Workspace) -> None:
    (ws.root / "ruqi.key").write_bytes(b"")
    (ws.archive / "2025").mkdir()
    with pytest.raises(RuqiError) as e:
        Workspace.open(ws.root)
    assert e.value.finding.code == ConfigCode.KEY_DAMAGED and "0 字节" in e.value.finding.message
    with pytest.raises(RuqiError):
        workspace.init(ws.root, new_key=True)  # the backup is there: restore it instead
    (ws.root / "ruqi.key.bak").unlink()
    with pytest.raises(RuqiError) as e:
        Workspace.open(ws.root)
    assert "--new-key" in e.value.finding.message
    fresh = workspace.init(ws.root, new_key=True)
    assert len(fresh.key) == 32 and (ws.root / "ruqi.key.bak").read_bytes() == fresh.key
    assert (ws.root / "ruqi.key").stat().st_mode & 0o077 == 0


def test_old_workspace_without_backup_gets_one(ws: Workspace) -> None:
    (ws.root / "ruqi.key.bak").unlink()
    Workspace.open(ws.root)
    assert (ws.root / "ruqi.key.bak").read_bytes() == (ws.root / "ruqi.key").read_bytes()
