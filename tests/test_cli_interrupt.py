"""Ctrl+C in the middle of real work: one Chinese line saying what is kept, exit code 130, no
traceback (from the command or its worker processes), and the same command run again completes.

Ctrl+C in a terminal sends SIGINT to the whole foreground process group (the command and its
workers); the test does the same with ``killpg`` on a ``ruqi`` started in its own session.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from engine.cli.common import INTERRUPTED
from engine.forms import NO, QUESTION_NUMBERS
from engine.simulate import fill_docx, tick_pdf
from engine.workspace import Workspace

RUQI = Path(sys.executable).with_name("ruqi")
PLAN = Path(__file__).resolve().parent.parent / "samples" / "检查计划-2025.xlsx"  # 40 inspections
ENV = {**os.environ, "COLUMNS": "400"}


def _ruqi(ws: Workspace, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(RUQI), *args, "-w", str(ws.root)], capture_output=True, text=True, env=ENV, timeout=600)


def _interrupted(ws: Workspace, started: Callable[[], bool], *args: str) -> tuple[int, str]:
    """Run ``ruqi *args``, press Ctrl+C as soon as ``started()`` (its work has begun); (exit code, stderr)."""
    p = subprocess.Popen([str(RUQI), *args, "-w", str(ws.root)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         text=True, env=ENV, start_new_session=True)
    deadline = time.monotonic() + 300
    while not started() and p.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    if p.poll() is None:
        os.killpg(p.pid, signal.SIGINT)
    _out, err = p.communicate(timeout=300)
    return p.returncode, err


def _said_only_the_interruption(err: str) -> None:
    assert [line for line in err.splitlines() if line.strip()] == [INTERRUPTED], err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err and "Process" not in err


@pytest.mark.slow  # two whole runs of a 40-row plan and of 80 cards (~35 s)
def test_ctrl_c_during_generate_and_ingest_says_what_is_kept_and_a_rerun_completes(ws: Workspace) -> None:
    assert INTERRUPTED == "已中断（Ctrl+C）。已经做完的部分都已保存；再次运行同一命令即可完成其余部分。"

    # generate: interrupted once its first documents are written.
    code, err = _interrupted(ws, lambda: any(ws.outbox.glob("*/*.pdf")), "generate", "--plan", str(PLAN))
    assert code == 130, err
    _said_only_the_interruption(err)
    done = _ruqi(ws, "generate", "--plan", str(PLAN))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "共 40 行：已生成 40，超次数 0，有错误 0。" in done.stdout
    register = [json.loads(line) for line in _ruqi(ws, "register", "--year", "2025", "--json").stdout.splitlines()]
    assert len(register) == 40 and sum(k["done"] for e in register for k in e["kinds"].values()) == 40  # once each

    # ingest: 80 returned cards (each card as Word and as PDF), interrupted once it has claimed them.
    latest = max(ws.outbox.glob("*/"), key=lambda p: p.stat().st_mtime)
    answers = dict.fromkeys(QUESTION_NUMBERS, NO)
    for i, card in enumerate(sorted(latest.glob("*反馈卡.docx"))):
        fill_docx(card, ws.inbox / f"w{i}_{card.name}", answers)
    for i, card in enumerate(sorted(latest.glob("*反馈卡.pdf"))):
        tick_pdf(card, ws.inbox / f"p{i}_{card.name}", answers)
    dropped = sorted(p.name for p in ws.inbox.iterdir() if p.is_file())
    assert len(dropped) == 80
    code, err = _interrupted(ws, lambda: (ws.inbox / ".processing").exists(), "ingest", "--workers", "2")
    assert code == 130, err
    _said_only_the_interruption(err)
    done = _ruqi(ws, "ingest", "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    # Every card is filed, by the interrupted run or the rerun; none is lost, none is left behind.
    assert [p for p in ws.inbox.rglob("*") if p.is_file() and p.suffix in (".docx", ".pdf")] == []
    status = _ruqi(ws, "status")
    assert "所有检查的反馈卡都已交回。" in status.stdout, status.stdout + status.stderr
    verify = _ruqi(ws, "archive", "verify")
    assert verify.returncode == 0 and "四性检测全部通过。" in verify.stdout, verify.stdout + verify.stderr


def test_ctrl_c_inside_a_c_callback_stops_the_command_without_library_noise(capfd: pytest.CaptureFixture[str]) -> None:
    """A Ctrl+C landing while a C library runs a Python callback (pypdfium2 reading or writing a PDF)
    is not lost with an "Exception ignored …" on the terminal: it reaches the main thread."""
    import ctypes

    from engine.cli.common import quiet_library_noise

    def callback() -> int:
        raise KeyboardInterrupt

    before = sys.unraisablehook
    try:
        quiet_library_noise()
        c_function = ctypes.CFUNCTYPE(ctypes.c_int)(callback)
        with pytest.raises(KeyboardInterrupt):
            c_function()  # called through libffi, as pdfium calls its file callbacks
            deadline = time.monotonic() + 30  # the interrupt arrives a moment after the callback
            while time.monotonic() < deadline:
                time.sleep(0.01)
    finally:
        sys.unraisablehook = before
    err = capfd.readouterr().err
    assert "Exception ignored" not in err and "KeyboardInterrupt" not in err, err
