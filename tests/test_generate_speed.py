"""What `generate` no longer does on the run's critical path (issue 10, whole-process speed): the
templates check when neither the templates nor the code changed since a clean one, and the card
layout after rendering (it is recorded from the first card while the rest render)."""

from __future__ import annotations

import shutil
import threading
from datetime import date
from pathlib import Path

from _plan_fixtures import GOOD, _plan

from engine.generate import TEMPLATES_CHECKED, GenCode, RowStatus, generate
from engine.identifiers import make_uscc
from engine.omr.layout import layout_dir
from engine.render.lint import templates_digest
from engine.render.templates import DEFAULT_TEMPLATES_DIR
from engine.workspace import Workspace


def _rows(n: int, first: int = 0) -> list[dict[str, object]]:
    return [GOOD | {"企业名称": f"大同市云州区示例{i:02d}机械有限公司", "统一社会信用代码": make_uscc(f"91140200MA0K{i:05d}"),
                    "开始日期": date(2025, 5, 6), "结束日期": date(2025, 5, 6)} for i in range(first, first + n)]


def test_a_clean_templates_check_is_kept_and_any_change_is_checked_again(ws: Workspace, tmp_path: Path) -> None:
    tdir = tmp_path / "templates"
    shutil.copytree(DEFAULT_TEMPLATES_DIR, tdir)
    first = generate(ws, _plan(tmp_path / "a.xlsx", _rows(1)), formats=("docx",), workers=1, templates_dir=tdir)
    assert [o.status for o in first.outcomes] == [RowStatus.GENERATED]
    stamp = ws.root / TEMPLATES_CHECKED
    assert stamp.read_text(encoding="ascii") == templates_digest(tdir)  # the verdict, for this very content

    card = tdir / "card.html"  # the clerk's edit breaks a template after that clean run
    card.write_text(card.read_text(encoding="utf-8") + "{% if %}", encoding="utf-8")
    assert templates_digest(tdir) != stamp.read_text(encoding="ascii")
    bad = generate(ws, _plan(tmp_path / "b.xlsx", _rows(1, 1)), formats=("docx",), workers=1, templates_dir=tdir)
    assert GenCode.TEMPLATES_BROKEN in {f.code for f in bad.plan_findings} and bad.outcomes == []
    assert stamp.read_text(encoding="ascii") != templates_digest(tdir)  # a failed check is not kept


def test_the_card_layout_is_recorded_while_later_chunks_still_render(ws: Workspace, tmp_path: Path) -> None:
    """``progress`` of the run's last chunk waits for the layout file: it was recorded from the first
    chunk's card (the old run recorded it only after rendering, so the wait would time out)."""
    plan = _plan(tmp_path / "plan.xlsx", _rows(10))  # two chunks in one process: 8, then 2
    recorded_before_last_chunk: list[bool] = []
    seen = threading.Event()

    def progress(done: int, total: int) -> None:
        if done == total:
            for _ in range(600):
                if list(layout_dir(ws.root).glob("card-*.json")):
                    seen.set()
                    break
                seen.wait(0.1)
            recorded_before_last_chunk.append(seen.is_set())

    result = generate(ws, plan, formats=("pdf",), workers=1, progress=progress)
    assert [o.status for o in result.outcomes] == [RowStatus.GENERATED] * 10
    assert recorded_before_last_chunk == [True]
    assert len(list(layout_dir(ws.root).glob("card-*.json"))) == 1
