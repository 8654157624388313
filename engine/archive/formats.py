"""File formats the archive accepts: recognising them from their bytes, and checking they open.

Two levels of 可用性 check:
- ``structure`` (default, cheap): the container is sound — PDF header and ``%%EOF`` trailer; for
  docx/xlsx the zip central directory lists the parts the format needs; xls has the OLE signature;
  csv/json decode.  This catches truncated, emptied or foreign files without parsing every page.
- ``deep`` (``--deep``): the format's own parser opens the file (pypdf, python-docx, openpyxl, xlrd).
"""

from __future__ import annotations

import io
import json
import re
import struct
from collections.abc import Callable

from ..findings import exception_reason

ALLOWED = ("pdf", "docx", "xlsx", "xls", "csv", "json")
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
    if fmt == "csv":
        return _decodes(data)
    if fmt == "json":
        err = _decodes(data)
        if err:
            return err
        try:
            json.loads(data)
        except ValueError as e:
            return f"JSON 无法解析：{e}"
        return None
    return f"不支持的格式 {fmt}"


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


_DEEP: dict[str, Callable[[bytes], None]] = {
    "pdf": _open_pdf, "docx": _open_docx, "xlsx": _open_xlsx, "xls": _open_xls,
}


def check_opens(fmt: str, data: bytes) -> str | None:
    """Structure check, then the format's own parser; None when the file opens."""
    problem = check_structure(fmt, data)
    if problem or fmt not in _DEEP:
        return problem
    try:
        _DEEP[fmt](data)
    except Exception as e:  # any parser failure means "does not open"
        return f"{fmt} 文件无法用解析器打开（{exception_reason(e)}）"
    return None
