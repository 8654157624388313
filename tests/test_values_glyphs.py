"""Rare characters (𠀀𪚥, CJK Extension B) in an enterprise name: printed, warned about, never an accusation.

With fonts-hanazono installed (scripts/setup.sh) the PDF prints them and the reader gets them back
exactly.  Without a font that has them, generation warns with the row, and the genuine returned
card is filed without SUSPECT (a note says what could not be read), while a card whose name
differs in ordinary characters is still SUSPECT.  The no-font case runs ``ruqi generate`` in a
process whose fontconfig hides the Hanazono fonts.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import pdfplumber
import pytest
from _inbox_fixtures import SOFFICE, to_pdf_with_libreoffice
from _plan_fixtures import GOOD, _plan
from sqlalchemy import update

from engine.db import session
from engine.findings import Severity
from engine.generate import RowStatus, generate
from engine.inbox import Flag, ingest
from engine.inbox.validate import CardCode, NameMatch, name_match
from engine.register import Visit
from engine.render.codes import RenderCode
from engine.render.fonts import uncovered
from engine.simulate import fill_docx, tick_pdf
from engine.workspace import Workspace

RARE = "𠀀𪚥"
NAME = f"大同市{RARE}机械有限公司"
NO = {i: "否" for i in range(1, 11)}
RETURNED = datetime(2025, 4, 3, 9)  # the day after the plan's visit ended

needs_font = pytest.mark.skipif(uncovered(RARE) != "", reason="no font for CJK Extension B (fonts-hanazono)")


@needs_font
def test_rare_characters_are_printed_and_the_returned_card_is_genuine(ws: Workspace, tmp_path: Path) -> None:
    result = generate(ws, _plan(tmp_path / "plan.xlsx", [GOOD | {"企业名称": NAME}]), issue_date=date(2025, 3, 28), today=date(2025, 3, 28))
    (o,) = result.outcomes
    assert o.status is RowStatus.GENERATED and RenderCode.GLYPH_MISSING not in o.findings.codes()
    with pdfplumber.open(o.forms[("card", "pdf")]) as pdf:
        assert NAME in (pdf.pages[0].extract_text() or "").replace(" ", "")
    tick_pdf(o.forms[("card", "pdf")], ws.inbox / "card.pdf", NO)
    fill_docx(o.forms[("card", "docx")], ws.inbox / "card.docx", NO)
    expected = [("card.docx", False), ("card.pdf", False)]
    if SOFFICE:  # the enterprise fills the Word card and exports it with LibreOffice (fontconfig finds the font)
        fill_docx(o.forms[("card", "docx")], tmp_path / "lo-card.docx", NO | {2: "是"})
        (exported,) = to_pdf_with_libreoffice([tmp_path / "lo-card.docx"], tmp_path / "lo")
        shutil.copy(exported, ws.inbox / "lo-card.pdf")
        expected.append(("lo-card.pdf", False))
    outs = ingest(ws, now=RETURNED).outcomes
    assert [(x.file, Flag.SUSPECT in x.flags) for x in sorted(outs, key=lambda x: x.file)] == expected
    assert all(CardCode.ENTERPRISE_MISMATCH not in x.findings.codes() for x in outs)


def _fontconfig_without_hanazono(tmp: Path) -> Path:
    conf = tmp / "fonts.conf"
    conf.write_text(
        '<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd"><fontconfig>'
        '<include ignore_missing="yes">/etc/fonts/fonts.conf</include>'
        "<selectfont><rejectfont><glob>*/hanazono/*</glob><glob>*/fonts-japanese-*</glob>"
        "<pattern><patelt name=\"family\"><string>HanaMinA</string></patelt></pattern>"
        "<pattern><patelt name=\"family\"><string>HanaMinB</string></patelt></pattern>"
        "</rejectfont></selectfont></fontconfig>", encoding="utf-8")
    return conf


def _generate_without_the_font(ws: Workspace, tmp: Path) -> dict:  # type: ignore[type-arg]
    plan = _plan(tmp / "plan.xlsx", [GOOD | {"企业名称": NAME}])
    env = os.environ | {"FONTCONFIG_FILE": str(_fontconfig_without_hanazono(tmp))}
    probe = subprocess.run([sys.executable, "-c", f"from engine.render.fonts import uncovered; print(uncovered({RARE!r}))"],
                           env=env, capture_output=True, text=True, check=True).stdout.strip()
    if probe != RARE:
        pytest.skip("another installed font covers CJK Extension B: nothing to hide")
    cli = "import sys; from engine.cli import main; sys.argv[0] = 'ruqi'; main()"
    r = subprocess.run([sys.executable, "-c", cli, "generate", "--plan", str(plan), "--json", "--workspace", str(ws.root)],
                       env=env, capture_output=True, text=True, timeout=300)
    lines = [json.loads(x) for x in r.stdout.splitlines() if x.startswith("{")]
    assert r.returncode == 0 and len(lines) == 1, r.stdout + r.stderr
    return lines[0]


def test_without_a_font_generation_warns_and_the_genuine_card_is_not_suspect(ws: Workspace, tmp_path: Path) -> None:
    row = _generate_without_the_font(ws, tmp_path)
    assert row["status"] == "generated"
    glyphs = [e for e in row["errors"] if e["code"] == RenderCode.GLYPH_MISSING]
    assert [(e["where"], e["severity"]) for e in glyphs] == [("第2行 企业名称", "warning")]
    assert RARE in glyphs[0]["message"]
    card = next(Path(f) for f in row["files"] if f.endswith("反馈卡.pdf"))
    tick_pdf(card, ws.inbox / "card.pdf", NO)
    (out,) = ingest(ws, now=RETURNED).outcomes
    assert Flag.SUSPECT not in out.flags
    notes = [f for f in out.findings if f.code == CardCode.ENTERPRISE_GLYPHS]
    assert [(f.severity, f.where) for f in notes] == [(Severity.INFO, "被检查单位")]

    # The same card claimed for another enterprise (ordinary characters differ) is still SUSPECT.
    with session(ws) as s:
        s.execute(update(Visit).values(enterprise=f"太原市{RARE}机械有限公司"))
    tick_pdf(card, ws.inbox / "card2.pdf", NO | {3: "是"})
    (other,) = ingest(ws, now=RETURNED).outcomes
    assert Flag.SUSPECT in other.flags and CardCode.ENTERPRISE_MISMATCH in other.findings.codes()


@pytest.mark.parametrize(("printed", "registered", "match"), [
    (NAME, NAME, NameMatch.SAME),
    ("大同市𠀀𠀀机械有限公司", NAME, NameMatch.GLYPHS_UNREAD),  # both boxes map to one code
    ("大同市\ufffd\ufffd机械有限公司", NAME, NameMatch.GLYPHS_UNREAD),
    ("大同市机械有限公司", NAME, NameMatch.GLYPHS_UNREAD),  # boxes with no text at all
    ("大同市𠀀𠀀煤业有限公司", NAME, NameMatch.DIFFERENT),
    ("大同市𠀀机械有限公司", "大同市机械有限公司", NameMatch.DIFFERENT),  # a rare character the register lacks
    ("大同市\ue000机械有限公司", "大同市\ue001机械有限公司", NameMatch.GLYPHS_UNREAD),  # 造字 (private use)
])
def test_name_comparison(printed: str, registered: str, match: NameMatch) -> None:
    assert name_match(printed, registered) is match
