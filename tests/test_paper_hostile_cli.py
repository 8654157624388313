"""Hostile pictures through the installed command, as a clerk's terminal shows them: a 100-megapixel
photo and a decompression bomb are refused in Chinese with their real size (or the limit), no English
warning of Pillow's reaches the console, the files stay byte for byte in ``inbox/rejected/``, and the
scanned card dropped with them is still filed (without claiming its handwritten fields were left empty)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from _inbox_fixtures import kit, new_workspace
from PIL import Image

from engine.images import MAX_PIXELS
from engine.simulate_scan import Capture, paper_card

RUQI = Path(sys.executable).with_name("ruqi")


def test_big_pictures_are_refused_in_chinese_with_their_size_and_no_english_warning(
        tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    ws = new_workspace(tmp_path / "ws", inspections=2)
    cards = kit(tmp_path_factory)
    paper_card(cards / "0.pdf", ws.inbox / "扫描件.png", {3: "是"}, Capture(dpi=200), seed=3)
    # 100 MP: between Pillow's warning (MAX_PIXELS) and its refusal (twice that)
    Image.new("L", (10_000, 10_000), 235).save(ws.inbox / "一亿像素.jpg", quality=50)
    Image.new("1", (20_000, 20_000), 1).save(ws.inbox / "解压炸弹.png", optimize=True)  # 400 MP: Pillow refuses it
    sent = {p.name: p.read_bytes() for p in ws.inbox.iterdir() if p.is_file()}

    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200", "PYTHONWARNINGS": "default"}
    res = subprocess.run([str(RUQI), "ingest", "--workspace", str(ws.root), "--json"], capture_output=True, text=True,
                         env=env, timeout=600, check=False)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "Warning" not in res.stderr and "DecompressionBomb" not in res.stderr, res.stderr[-2000:]
    by = {d["file"]: d for d in map(json.loads, res.stdout.splitlines())}

    assert (by["扫描件.png"]["status"], by["扫描件.png"]["answers"]["3"]) == ("filed", "是")
    # handwriting is not read off a scan: nothing claims the card's 负责人, 职务, 电话 were left empty
    assert not {"HEAD_MISSING", "POSITION_MISSING", "PHONE_MISSING"} & {e["code"] for e in by["扫描件.png"]["errors"]}
    big, bomb = by["一亿像素.jpg"], by["解压炸弹.png"]
    assert [e["code"] for e in big["errors"]] == [e["code"] for e in bomb["errors"]] == ["IMAGE_TOO_LARGE"]
    assert "10000×10000 像素" in big["errors"][0]["message"]
    # Pillow does not say a bomb's size: the message gives the limit, not a made-up size
    assert f"超过 {MAX_PIXELS // 10_000} 万像素" in bomb["errors"][0]["message"]
    assert "×" not in bomb["errors"][0]["message"].split("。")[0]
    for name in ("一亿像素.jpg", "解压炸弹.png"):
        assert (ws.rejected / name).read_bytes() == sent[name]
        assert (ws.rejected / f"{name}.reason.txt").exists()
    assert [p.name for p in ws.inbox.iterdir() if p.is_file()] == []
