"""What `generate` no longer repeats on every run (issue 10, whole-process speed): the templates
check and the card layout's measurement, when neither the templates nor the code changed since."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
from _plan_fixtures import GOOD, _plan

from engine.generate import LAYOUT_NOTE, TEMPLATES_CHECKED, GenCode, RowStatus, generate
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


def test_the_card_layout_is_measured_once_per_templates_version(ws: Workspace, tmp_path: Path) -> None:
    """The layout of the card's boxes is measured from the first generated card once for a given
    templates digest (a note in layouts/ names the file); a later run skips it while that file is
    there, measures again when it is gone, and a changed template has a note of its own."""
    tdir = tmp_path / "templates"
    shutil.copytree(DEFAULT_TEMPLATES_DIR, tdir)

    def note() -> Path:
        return layout_dir(ws.root) / f"{LAYOUT_NOTE}{templates_digest(tdir)[:16]}"

    def run(plan: str, first: int) -> None:
        result = generate(ws, _plan(tmp_path / plan, _rows(1, first)), formats=("pdf",), workers=1, templates_dir=tdir)
        assert [o.status for o in result.outcomes] == [RowStatus.GENERATED]

    run("a.xlsx", 0)
    (layout,) = layout_dir(ws.root).glob("card-*.json")
    assert note().read_text(encoding="utf-8") == layout.name
    layout.unlink()  # gone (a clerk tidied the folder): the note alone is not trusted
    run("b.xlsx", 1)
    assert layout.is_file() and note().read_text(encoding="utf-8") == layout.name

    css = tdir / "forms.css"  # another templates version: measured and noted for it
    css.write_text(css.read_text(encoding="utf-8") + "\n/* 2026 */\n", encoding="utf-8")
    assert not note().exists()
    run("c.xlsx", 2)
    assert note().read_text(encoding="utf-8") == layout.name  # (a comment moves no box: the same layout)


def test_the_card_layout_is_measured_while_the_last_chunks_still_render(ws: Workspace, tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Over worker processes, the layout is measured by a process left without a chunk (here: the
    two processes take the chunks of 10, the one done first the last chunk of 8, the other measures
    meanwhile), inside the batch, not after rendering; what a worker process would run survives
    pickling."""
    import pickle
    import time

    import engine.render
    from engine.generate import CardLayout
    from engine.render.batch import RenderedSet, chunk_sizes

    batch_returned: list[int] = []
    render_batch = engine.render.render_batch

    def timed_render_batch(*args, **kwargs):  # type: ignore[no-untyped-def]
        sets = render_batch(*args, **kwargs)
        batch_returned.append(time.time_ns())
        return sets

    monkeypatch.setattr(engine.render, "render_batch", timed_render_batch)  # generate imports it when it runs
    assert chunk_sizes(28, 2) == [10, 10, 8]
    result = generate(ws, _plan(tmp_path / "a.xlsx", _rows(28)), formats=("pdf",), workers=2)
    assert [o.status for o in result.outcomes] == [RowStatus.GENERATED] * 28
    (layout,) = layout_dir(ws.root).glob("card-*.json")
    # Measured inside the batch (in the idle slot: render_batch waits for it), not after rendering.
    # Not compared with the last chunk's files: on a loaded machine the measurement, started while
    # that chunk still rendered, may end a moment after its last file is written.
    assert len(batch_returned) == 1 and layout.stat().st_mtime_ns <= batch_returned[0]
    note = layout_dir(ws.root) / f"{LAYOUT_NOTE}{templates_digest(None)[:16]}"
    assert note.read_text(encoding="utf-8") == layout.name

    layout.unlink()
    note.unlink()
    job = CardLayout(ws.root, templates_digest(None))
    job.seen([RenderedSet(o.serial, dict(o.forms)) for o in result.outcomes[:1]])
    pickle.loads(pickle.dumps(job.record))()
    assert note.read_text(encoding="utf-8") == layout.name and layout.is_file()
