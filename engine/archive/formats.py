"""File formats the archive accepts: recognising them from their bytes, and checking they open.

Two levels of 可用性 check:
- ``structure`` (default, cheap): the container is sound — PDF header and ``%%EOF`` trailer; for
  docx/xlsx the zip central directory lists the parts the format needs; xls has the OLE signature;
  csv/json decode; JPEG/PNG/TIFF have their signature and end marker (TIFF: a first IFD inside
  the file).  This catches truncated, emptied or foreign files without parsing every page.
- ``deep`` (``--deep``): the format's own parser opens the file (pypdf, python-docx, openpyxl, xlrd;
  Pillow decodes an image under the inbox's decompression-bomb limit ``engine.images.MAX_PIXELS``).

Images are archived because scanned and photographed feedback cards are originals too: they are
filed (with flag NEEDS_REVIEW) like any returned card, not kept outside the archive.
"""

from __future__ import annotations

import io
import json
import re
import struct
from collections.abc import Callable

from ..findings import exception_reason
from ..images import MAX_PIXELS, is_heif, pillow

IMAGES = ("jpeg", "png", "tiff", "heic")
ALLOWED = ("pdf", "docx", "xlsx", "xls", "csv", "json", *IMAGES)
_IMAGE_MAGIC = ((b"\xff\xd8\xff", "jpeg"), (b"\x89PNG\r\n\x1a\n", "png"), (b"II*\x00", "tiff"), (b"MM\x00*", "tiff"))
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_EOCD = struct.Struct("<4s4H2LH")  # zip end-of-central-directory record
_ZIP_MAIN = {"docx": "word/document.xml", "xlsx": "xl/workbook.xml"}
_PDFA = re.compile(rb"pdfaid:part(?:>|=[\"'])\s*(\d)")
_PDFA_CONF = re.compile(rb"pdfaid:conformance(?:>|=[\"'])\s*([ABUabu])")


def sniff(data: bytes, name: str = "") -> str:
    """The format the bytes really are ('pdf', 'docx', …), or '' when unrecognised."""
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if data[:1024].find(b"%PDF-") >= 0:
        return "pdf"
    if data.startswith(b"PK\x03\x04"):
        cd = central_directory(data)
        if cd is None:  # a damaged docx/xlsx is still that format, and "does not open"
            return ext if ext in _ZIP_MAIN else ""
        return next((fmt for fmt, main in _ZIP_MAIN.items() if main.encode() in cd), "")
    if data.startswith(_OLE):
        return "xls" if ext in ("xls", "") else ""
    for magic, fmt in _IMAGE_MAGIC:
        if data.startswith(magic):
            return fmt
    if is_heif(data):
        return "heic"
    if ext in ("csv", "json"):
        return ext
    return ""


def pdfa_version(data: bytes) -> str:
    """'PDF/A-3B' when the PDF's XMP metadata claims PDF/A conformance, else ''.

    A claim, not a validation (veraPDF is not available here); enough to tell generated PDF/A
    apart from plain PDFs.  The XMP stream is usually compressed (WeasyPrint does), so read it
    through pypdf."""
    try:
        from pypdf import PdfReader

        meta = PdfReader(io.BytesIO(data)).trailer["/Root"].get("/Metadata")
        xmp = meta.get_object().get_data() if meta is not None else b""
    except Exception:  # a PDF pypdf cannot read simply makes no claim
        return ""
    part = _PDFA.search(xmp)
    if part is None:
        return ""
    conf = _PDFA_CONF.search(xmp)
    return f"PDF/A-{part.group(1).decode()}{conf.group(1).decode().upper() if conf else ''}"


def central_directory(data: bytes) -> bytes | None:
    """The zip's central directory when the end record is there and points inside the file.

    Byte searches instead of ``zipfile``: a fraction of the cost, and what matters here is that
    the directory is complete (a truncated or overwritten zip loses its end record)."""
    end = data.rfind(b"PK\x05\x06", max(0, len(data) - 65_557))
    if end < 0 or len(data) - end < _EOCD.size:
        return None
    *_, cd_size, cd_offset, _comment = _EOCD.unpack_from(data, end)
    if cd_offset + cd_size > end:
        return None
    cd = data[cd_offset:cd_offset + cd_size]
    return cd if cd.startswith(b"PK\x01\x02") else None


def check_structure(fmt: str, data: bytes) -> str | None:
    """None when the container is sound; otherwise what is wrong (Chinese, for the finding)."""
    if fmt == "pdf":
        if data[:1024].find(b"%PDF-") < 0:
            return "缺少 PDF 文件头"
        if data[-1024:].find(b"%%EOF") < 0:
            return "缺少 PDF 结尾标记（文件可能被截断）"
        return None
    if fmt in _ZIP_MAIN:
        cd = central_directory(data)
        if cd is None:
            return "压缩结构损坏（找不到完整的中央目录，文件可能被截断）"
        missing = [n for n in ("[Content_Types].xml", _ZIP_MAIN[fmt]) if n.encode() not in cd]
        return f"缺少部件 {'、'.join(missing)}" if missing else None
    if fmt == "xls":
        return None if data.startswith(_OLE) else "缺少 Excel 97-2003 文件签名"
    if fmt in IMAGES:
        return _image_structure(fmt, data)
    if fmt == "csv":
        return _decodes(data)
    if fmt == "json":
        err = _decodes(data)
        if err:
            return err
        try:
            json.loads(data)
        except ValueError as e:
            return f"JSON 无法解析（{exception_reason(e)}）"
        return None
    return f"不支持的格式 {fmt}"


def _image_structure(fmt: str, data: bytes) -> str | None:
    if sniff(data) != fmt:
        return "缺少图片文件签名"
    if fmt == "jpeg":
        # Some phones append their own data after the end marker: look for it anywhere.
        return None if data.rfind(b"\xff\xd9", 3) > 0 else "缺少 JPEG 结尾标记（文件可能被截断）"
    if fmt == "png":
        if data[12:16] != b"IHDR":
            return "缺少 PNG 图像头"
        return None if data.rfind(b"IEND", len(data) - 64) > 0 else "缺少 PNG 结尾标记（文件可能被截断）"
    if fmt == "heic":
        return _heif_structure(data)
    if len(data) < 8:
        return "TIFF 文件头不完整"
    (ifd,) = struct.unpack_from("<L" if data[:2] == b"II" else ">L", data, 4)
    return None if 8 <= ifd < len(data) else "TIFF 目录位置超出文件（文件可能被截断）"


def _heif_structure(data: bytes) -> str | None:
    """The top-level boxes (ISO base media file) must end exactly at the end of the file."""
    at = 0
    while at < len(data):
        if at + 8 > len(data):
            return "HEIC 文件结构不完整（文件可能被截断）"
        (size,) = struct.unpack_from(">L", data, at)
        if size == 1:  # a 64-bit size follows the box type
            if at + 16 > len(data):
                return "HEIC 文件结构不完整（文件可能被截断）"
            (size,) = struct.unpack_from(">Q", data, at + 8)
        elif size == 0:  # the last box runs to the end of the file
            return None
        if size < 8 or at + size > len(data):
            return "HEIC 文件结构不完整（文件可能被截断）"
        at += size
    return None


def _decodes(data: bytes) -> str | None:
    for enc in ("utf-8-sig", "gb18030"):
        try:
            data.decode(enc)
            return None
        except UnicodeDecodeError:
            continue
    return "文本编码无法识别"


def _open_pdf(data: bytes) -> None:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    if len(reader.pages) < 1:
        raise ValueError("PDF 没有页面")
    _ = reader.pages[0].mediabox


def _open_docx(data: bytes) -> None:
    import docx

    docx.Document(io.BytesIO(data))


def _open_xlsx(data: bytes) -> None:
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(data), read_only=True)
    try:
        if not wb.sheetnames:
            raise ValueError("工作簿没有工作表")
    finally:
        wb.close()


def _open_xls(data: bytes) -> None:
    import xlrd

    xlrd.open_workbook(file_contents=data, on_demand=True).release_resources()


class _TooLarge(ValueError):
    """An image over the pixel limit: its own message says so (never decoded)."""


def _open_image(data: bytes) -> None:
    Image = pillow()  # noqa: N806 - the module, as Pillow spells it
    try:
        img = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError:  # Pillow's own refusal, far above the limit
        raise _TooLarge(f"图片尺寸过大（超过 {MAX_PIXELS // 1_000_000} 百万像素）") from None
    from PIL import ImageFile

    # WeasyPrint turns this on for the whole process on import; a damaged image must not pass.
    lenient, ImageFile.LOAD_TRUNCATED_IMAGES = ImageFile.LOAD_TRUNCATED_IMAGES, False
    try:
        with img:
            w, h = img.size
            if w * h >= MAX_PIXELS:  # checked before decoding: never allocate a bomb's pixels
                raise _TooLarge(f"图片尺寸过大（{w}×{h} 像素）")
            img.load()
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = lenient


_DEEP: dict[str, Callable[[bytes], None]] = {
    "pdf": _open_pdf, "docx": _open_docx, "xlsx": _open_xlsx, "xls": _open_xls,
    **dict.fromkeys(IMAGES, _open_image),
}


def check_opens(fmt: str, data: bytes) -> str | None:
    """Structure check, then the format's own parser; None when the file opens."""
    problem = check_structure(fmt, data)
    if problem or fmt not in _DEEP:
        return problem
    try:
        _DEEP[fmt](data)
    except _TooLarge as e:
        return str(e)
    except Exception as e:  # any parser failure means "does not open"
        return f"{fmt} 文件无法用解析器打开（{exception_reason(e)}）"
    return None
