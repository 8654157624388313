"""Scanned and photographed cards are originals: the archive takes JPEG, PNG and TIFF, and
``verify --deep`` decodes each image under the inbox's decompression-bomb limit."""

from __future__ import annotations

import io

import pytest
from _archive_fixtures import card_meta
from _inbox_fixtures import png_header
from PIL import Image, ImageDraw, ImageFile

from engine.archive import StoreCode, file_item, search, verify
from engine.archive.formats import sniff
from engine.findings import RuqiError
from engine.workspace import Workspace

EXT = {"jpeg": "jpg", "png": "png", "tiff": "tif"}


def photo(fmt: str, text: str = "反馈卡") -> bytes:
    """A small greyscale 'scan' with some ink on it, saved the way a scanner or phone saves it."""
    img = Image.new("L", (240, 320), 255)
    ImageDraw.Draw(img).rectangle((20, 20, 220, 60 + len(text)), outline=0, width=3)
    buf = io.BytesIO()
    img.save(buf, {"jpeg": "JPEG", "png": "PNG", "tiff": "TIFF"}[fmt])
    return buf.getvalue()


def codes(ws: Workspace, **kw: bool | int) -> list[str]:
    return sorted({c for (c,) in verify(ws, **kw).findings.flatten("code")})


@pytest.mark.parametrize("fmt", ["jpeg", "png", "tiff"])
def test_an_image_card_is_filed_as_an_original_and_verifies(ws: Workspace, fmt: str) -> None:
    data = photo(fmt)
    row = file_item(ws, data, card_meta(original_name=f"拍照.{EXT[fmt]}", flags=["NEEDS_REVIEW"]))
    assert sniff(data) == fmt
    assert row.path.read_bytes() == data and row.rel_path.endswith(f".{fmt}")
    assert codes(ws, deep=True) == []


def test_a_damaged_image_passes_the_container_check_but_not_the_decoder(ws: Workspace,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    # As in any process that imported WeasyPrint, which sets this for everyone.
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    good = photo("png")
    # Sound signature, header and end marker; the compressed pixels in between are garbage.
    idat = good.index(b"IDAT") + 4
    broken = good[:idat] + bytes(b ^ 0x5A for b in good[idat:idat + 40]) + good[idat + 40:]
    row = file_item(ws, broken, card_meta(original_name="坏.png"))
    assert codes(ws, sample=0) == []
    assert codes(ws, deep=True) == ["ARCHIVE_UNREADABLE"]
    assert row.archival_code


def test_deep_verify_refuses_a_pixel_bomb_without_decoding_it(ws: Workspace) -> None:
    """A 30000×30000 PNG of a few hundred bytes (900 MP): reported, never allocated."""
    file_item(ws, png_header(30000, 30000), card_meta(original_name="炸弹.png"))
    rep = verify(ws, deep=True)
    assert [(f.code, "图片尺寸过大" in f.message) for f in rep.findings] == [("ARCHIVE_UNREADABLE", True)]


@pytest.mark.parametrize(("data", "name"), [
    (photo("jpeg")[:-200], "截断.jpg"),  # no end marker
    (photo("png")[:-30], "截断.png"),
    (b"\x89PNG\r\n\x1a\n" + b"\0" * 100, "card.png"),  # no IHDR
    (b"II*\x00" + (10_000).to_bytes(4, "little") + b"\0" * 20, "截断.tif"),  # first directory past the end
])
def test_a_truncated_image_is_refused_and_takes_no_number(ws: Workspace, data: bytes, name: str) -> None:
    with pytest.raises(RuqiError) as e:
        file_item(ws, data, card_meta(original_name=name))
    assert e.value.finding.code == StoreCode.UNREADABLE
    assert search(ws) == []
