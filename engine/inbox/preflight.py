"""Preflight: decide, before any parser touches a file, whether it is safe and sensible to read.

Checks run cheapest first and stop at the first refusal; each refusal has its own code
(``Reason``) and a Chinese sentence that tells the clerk what to do.  The limits come from
``ruqi.toml`` ``[limits]`` (``engine.workspace.Limits``):

- ``max_file_mb``: larger files are refused before they are read (``FILE_TOO_LARGE``);
- ``max_unzipped_mb``: a .docx/.xlsx is decompressed as a stream and refused as soon as its
  parts add up to more (``ZIP_BOMB``); the sizes the zip *claims* are not trusted;
- ``max_pdf_pages``: a PDF with more pages is refused (``PDF_TOO_MANY_PAGES``);
- ``max_seconds_per_file``: the whole examination of one file (preflight + reading) runs in
  a worker process under ``SIGALRM`` (``TIME_LIMIT``); the pool kills the worker 15 s later
  if even that does not return (``engine.inbox.pool``).

Fixed limits (not configurable, they protect the engine rather than express policy):
``MAX_NAME_CHARS`` characters in a file name, ``MAX_ZIP_ENTRIES`` parts in a zip, ``MAX_RATIO``
compression ratio per zip part over a megabyte, ``MAX_PIXELS`` pixels in an image, and a
3 GiB address-space budget per worker process, on top of what the fork inherits (``engine.inbox.pool.WORKER_MEMORY_BYTES``).

Also refused: encrypted PDFs and Office files, PDFs without ``%%EOF`` (truncated), XML parts
declaring a DTD or entities (XXE, "billion laughs"), .doc/.wps, archives, unknown formats, names
with path separators, ``..``, control or bidi characters.  A wrong extension is only a warning:
files are read by their content.
"""

from __future__ import annotations

import re
import unicodedata
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from ..archive.formats import check_structure
from ..archive.formats import sniff as archive_format
from ..findings import Finding, Findings, error, exception_detail, exception_reason, warning
from ..images import MAX_PIXELS, is_heif, pillow
from ..workspace import Limits
from .codes import Reason

MAX_NAME_CHARS = 120
MAX_SAFE_STEM_BYTES = 120  # 40 Chinese characters
MAX_ZIP_ENTRIES = 2000
MAX_RATIO = 200  # Office XML compresses ~10:1; 200:1 over a megabyte is a bomb
RATIO_MIN_BYTES = 1 << 20
_CHUNK = 1 << 16

ALLOWED_EXTENSIONS = {".pdf": "pdf", ".docx": "docx", ".xlsx": "xlsx", ".xls": "xls", ".jpg": "image",
                      ".jpeg": "image", ".png": "image", ".tif": "image", ".tiff": "image",
                      ".heic": "image", ".heif": "image"}
_CONTENT_ZH = {"pdf": " PDF 文件", "docx": " Word 文档", "xlsx": " Excel 表格", "xls": " Excel 表格", "image": "图片"}
OLD_OFFICE = {".doc", ".wps", ".et", ".dps", ".ppt", ".rtf"}
ARCHIVES = {".zip", ".rar", ".7z", ".gz", ".tar"}
_BIDI = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F)}


@dataclass(slots=True)
class Preflight:
    """What preflight learnt: the content type by magic bytes, pages of a PDF, and the findings."""

    content: str = ""  # pdf / docx / xlsx / xls / image ("" when refused)
    pages: int = 0
    findings: Findings = field(default_factory=Findings)

    @property
    def ok(self) -> bool:
        return self.findings.ok and bool(self.content)


# ---- names ---------------------------------------------------------------------------------


def check_name(name: str) -> Finding | None:
    if not_utf8(name):
        guess = display_name(name)
        shown = "显示为" if "\\x" in guess else "按 GBK 编码解读为"
        return error(Reason.NAME_ENCODING, f"文件名不是 UTF-8 编码（常见于从旧的 GBK 共享目录复制来的文件），{shown}“{guess}”，"
                                           "系统无法可靠记录原文件名。文件已改名后原样退回（原文件名的字节记在 reason.json 中）。"
                                           "请改成正常的文件名后重新放入收件箱。", "文件名")
    bad = [c for c in name if unicodedata.category(c) == "Cc" or c in _BIDI]
    if bad:
        return error(Reason.NAME_UNSAFE, "文件名含有控制字符或隐藏的方向字符，可能是伪装的文件。请核实来源，改名后再放入收件箱。", "文件名")
    if "\\" in name or "/" in name or name.startswith("..") or "../" in name or "..\\" in name:
        return error(Reason.NAME_UNSAFE, "文件名含有路径符号（“../”或“\\”），不能安全保存。请改名后再放入收件箱。", "文件名")
    if len(name) > MAX_NAME_CHARS:
        return error(Reason.NAME_TOO_LONG, f"文件名太长（{len(name)}个字符，上限{MAX_NAME_CHARS}）。请改短后再放入收件箱。", "文件名")
    return None


def not_utf8(name: str) -> bool:
    """Python hands over a name whose bytes are not UTF-8 with each bad byte as a lone surrogate."""
    return any("\udc80" <= c <= "\udcff" for c in name)


def raw_name(name: str) -> bytes:
    """The name's bytes as on disk (what a non-UTF-8 name really is)."""
    return name.encode("utf-8", "surrogateescape")


def display_name(name: str) -> str:
    """A name that can be printed, logged and stored: itself when it is UTF-8, else its bytes read as
    GB18030 (the old shares' encoding), else with the bad bytes written as ``\\xff``."""
    if not not_utf8(name):
        return name
    raw = raw_name(name)
    try:
        return raw.decode("gb18030")
    except UnicodeDecodeError:
        return raw.decode("utf-8", "backslashreplace")


def safe_name(name: str, limit: int = 80) -> str:
    """A name that is safe to write anywhere: no separators, controls or bidi marks, not UTF-8-less,
    and short: the stem keeps at most ``limit`` characters and ``MAX_SAFE_STEM_BYTES`` bytes, so
    ``.<name> (999).reason.json.tmp-<pid>`` still fits the 255 bytes of a file name."""
    name = display_name(name)
    cleaned = "".join("_" if unicodedata.category(c) in ("Cc", "Cs") or c in _BIDI or c in "/\\:*?\"<>|" else c
                      for c in name)
    cleaned = re.sub(r"\.{2,}", ".", cleaned).strip(" .") or "unnamed"
    stem, dot, ext = cleaned.rpartition(".")
    if not dot or len(ext) > 8:
        stem, ext = cleaned, ""
    stem = stem[:limit]
    while len(stem.encode("utf-8")) > MAX_SAFE_STEM_BYTES:
        stem = stem[:-1]
    return f"{stem}.{ext}" if ext else stem


# ---- content sniffing ------------------------------------------------------------------------


def sniff(head: bytes) -> str:
    """Content type from the first bytes, regardless of the name.

    Signatures at offset 0 are tested first: a zip that stores a PDF uncompressed has "%PDF-"
    in its first kilobyte too.  PDF readers accept junk before the header, so it is searched.
    """
    if head[:4] == b"PK\x03\x04":
        return "zip"
    if head[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        return "ole"
    if head[:3] == b"\xff\xd8\xff" or head[:8] == b"\x89PNG\r\n\x1a\n" or head[:4] in (b"II*\x00", b"MM\x00*"):
        return "image"
    if is_heif(head):
        return "image"
    if head[:4] in (b"Rar!", b"7z\xbc\xaf") or head[:2] == b"\x1f\x8b":
        return "archive"
    if b"%PDF-" in head[:1024]:
        return "pdf"
    return ""


_ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")
_WORD = "WordDocument".encode("utf-16-le")
_WORKBOOK = "Workbook".encode("utf-16-le")
_BOOK = "Book".encode("utf-16-le")


def _ole_kind(path: Path) -> str:
    data = path.read_bytes()
    if _ENCRYPTED_PACKAGE in data:
        return "encrypted"
    if _WORD in data:
        return "other"
    if _WORKBOOK in data or _BOOK in data:
        return "xls"
    return "other"


# ---- the checks ------------------------------------------------------------------------------


def preflight(path: Path, name: str, limits: Limits) -> Preflight:
    """Run every check on ``path`` (the claimed copy), reporting as ``name`` (what the clerk dropped)."""
    pf = Preflight()
    f = check_name(name)
    if f is not None:
        pf.findings.add(f)
        return pf
    size = path.stat().st_size
    if size == 0:
        pf.findings.add(error(Reason.EMPTY_FILE, "文件是空的（0字节），可能没有下载或复制完整。请重新保存后放入收件箱。"))
        return pf
    if size > limits.max_file_mb * 1024 * 1024:
        pf.findings.add(error(Reason.TOO_LARGE, f"文件太大（{size / 1048576:.1f} MB，上限 {limits.max_file_mb:g} MB）。"
                                                f"反馈卡一般不超过 1 MB，请确认文件后压缩或重新导出。"))
        return pf
    with path.open("rb") as fh:
        head = fh.read(1024)
    ext = Path(name).suffix.lower()
    content = _content_type(path, sniff(head), ext, pf.findings)
    if not content:
        return pf
    check = {"pdf": check_pdf, "docx": check_zip, "xlsx": check_zip, "image": check_image}.get(content)
    if check is not None:
        pages = check(path, limits, pf.findings)
        pf.pages = pages or 0
    if pf.findings.ok:
        pf.content = content
    return pf


def _content_type(path: Path, magic: str, ext: str, findings: Findings) -> str:
    if magic == "" or magic == "archive" or (magic == "zip" and ext in ARCHIVES):
        if ext in ARCHIVES or magic == "archive":
            findings.add(error(Reason.ARCHIVE_FILE, "这是压缩包。请解压后把其中的反馈卡或统计表逐个放入收件箱。"))
        elif ext in OLD_OFFICE:
            findings.add(error(Reason.OLD_OFFICE_FORMAT, f"不支持 {ext} 格式。请在 Word/WPS 中“另存为” .docx 或导出 PDF 后再放入收件箱。"))
        elif ext in ALLOWED_EXTENSIONS:  # a name we take, content we do not recognise: never "type .jpg not accepted"
            findings.add(error(Reason.UNSUPPORTED_TYPE, f"文件名是 {ext}，但内容不是{_CONTENT_ZH[ALLOWED_EXTENSIONS[ext]]}："
                                                        "文件可能已损坏、没有传完整，或是改了扩展名的其他文件。请让对方重新发送。"))
        else:
            findings.add(error(Reason.UNSUPPORTED_TYPE, f"无法识别的文件类型（{ext or '无扩展名'}）。收件箱只接受 PDF、docx、xlsx/xls、JPG/PNG/TIFF/HEIC。"))
        return ""
    if magic == "zip":
        content = _zip_kind(path, findings)
    elif magic == "ole":
        kind = _ole_kind(path)
        if kind == "encrypted":
            findings.add(error(Reason.OFFICE_ENCRYPTED, "文档设置了打开密码，无法读取。请让企业取消密码后重新发送（或导出为 PDF）。"))
            return ""
        if kind != "xls":
            findings.add(error(Reason.OLD_OFFICE_FORMAT, "这是旧版 Word/WPS 文档（.doc/.wps）。请“另存为” .docx 或导出 PDF 后再放入收件箱。"))
            return ""
        content = "xls"
    else:
        content = magic
    if content and ALLOWED_EXTENSIONS.get(ext) != content:
        findings.add(warning(Reason.EXTENSION_MISMATCH, f"扩展名为“{ext or '无'}”，但内容是 {content.upper()} 文件，已按实际内容读取。", "文件名"))
    return content


def _zip_kind(path: Path, findings: Findings) -> str:
    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        findings.add(error(Reason.ZIP_CORRUPT, "文件已损坏（docx/xlsx 的内部结构无法打开），可能未传完整。请让企业重新发送。"))
        return ""
    if "word/document.xml" in names:
        return "docx"
    if "xl/workbook.xml" in names:
        return "xlsx"
    findings.add(error(Reason.UNSUPPORTED_TYPE, "这是压缩包或其他 Office 文档（不是 Word 文档或 Excel 表格）。请解压或另存为 docx/xlsx。"))
    return ""


def check_zip(path: Path, limits: Limits, findings: Findings) -> int | None:
    """Decompress every part as a stream, with a running total, and look for DTDs in the XML parts."""
    budget = int(limits.max_unzipped_mb * 1024 * 1024)
    try:
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
            if len(infos) > MAX_ZIP_ENTRIES:
                findings.add(error(Reason.ZIP_BOMB, f"文件内部含 {len(infos)} 个部件，远超正常文档，疑似恶意构造（“压缩炸弹”），已退回。"))
                return None
            total = 0
            for info in infos:
                if info.flag_bits & 0x1:
                    findings.add(error(Reason.OFFICE_ENCRYPTED, "文档内部有加密部件，无法读取。请让企业取消密码后重新发送。"))
                    return None
                n, dtd = _scan_member(z, info, budget - total)
                total += n
                if total > budget:
                    findings.add(error(Reason.ZIP_BOMB, f"文件解压后超过 {limits.max_unzipped_mb:g} MB，疑似恶意构造（“压缩炸弹”），已退回。"
                                                        f"正常的反馈卡解压后不足 1 MB。", info.filename[:100]))
                    return None
                if n > RATIO_MIN_BYTES and info.compress_size and n / info.compress_size > MAX_RATIO:
                    findings.add(error(Reason.ZIP_BOMB, f"文件内部部件压缩比异常（{n // max(info.compress_size, 1)}:1），疑似“压缩炸弹”，已退回。",
                                       info.filename[:100]))
                    return None
                if dtd:
                    findings.add(error(Reason.XML_ENTITY, "文档内部含有 XML 实体声明（DTD/ENTITY），Word/WPS 不会生成这种内容，"
                                                          "疑似恶意构造（XXE），已退回。请让企业用 Word/WPS 重新保存后发送。",
                                       info.filename[:100]))
                    return None
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError, RuntimeError) as e:
        findings.add(error(Reason.ZIP_CORRUPT, f"文件已损坏，无法解压（{exception_reason(e)}）。请让企业重新发送。",
                           detail=exception_detail(e)))
        return None
    return None


_DTD_RE = re.compile(rb"<!(DOCTYPE|ENTITY)", re.IGNORECASE)


def _scan_member(z: zipfile.ZipFile, info: zipfile.ZipInfo, budget: int) -> tuple[int, bool]:
    """Bytes of one part (stopping once over budget) and whether an XML part declares a DTD."""
    is_xml = info.filename.lower().endswith((".xml", ".rels", ".vml"))
    n, dtd, tail = 0, False, b""
    with z.open(info) as fh:
        while chunk := fh.read(_CHUNK):
            n += len(chunk)
            if is_xml and not dtd:
                dtd = bool(_DTD_RE.search(tail + chunk))
                tail = chunk[-16:]
            if n > budget:
                break
    return n, dtd


def check_pdf(path: Path, limits: Limits, findings: Findings) -> int | None:
    """Complete (``%%EOF`` at the end), opens without a password, not too many pages.

    pdfium opens a document without parsing its pages (~1 ms), so even a 500-page PDF is
    refused cheaply.  PDFs with only an owner password (printing/editing restrictions) open
    with the empty user password and are accepted, as every PDF reader does.
    """
    import pypdfium2 as pdfium

    with path.open("rb") as fh:
        fh.seek(max(0, path.stat().st_size - 2048))
        tail = fh.read()
    if b"%%EOF" not in tail:
        findings.add(error(Reason.PDF_TRUNCATED, "PDF 文件不完整（缺少文件结尾），可能没有下载或传输完整。请让企业重新发送。"))
        return None
    try:
        pdf = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as e:
        if getattr(e, "err_code", None) == pdfium.raw.FPDF_ERR_PASSWORD:
            findings.add(error(Reason.PDF_ENCRYPTED, "PDF 设置了打开密码，无法读取。请让企业取消密码后重新导出发送。"))
        else:
            findings.add(error(Reason.PDF_CORRUPT, "PDF 文件已损坏，无法打开。请让企业重新导出发送。"))
        return None
    try:
        pages = len(pdf)
    finally:
        pdf.close()
    if pages == 0:
        findings.add(error(Reason.PDF_CORRUPT, "PDF 文件没有页面。请让企业重新导出发送。"))
        return None
    if pages > limits.max_pdf_pages:
        findings.add(error(Reason.PDF_TOO_MANY_PAGES, f"PDF 有 {pages} 页，超过上限 {limits.max_pdf_pages} 页；反馈卡只有1页。"
                                                      f"请确认是否放错了文件。"))
        return None
    return pages


def check_image(path: Path, limits: Limits, findings: Findings) -> int | None:
    from PIL import UnidentifiedImageError

    Image = pillow()  # noqa: N806 - the module, as Pillow spells it
    size: str | None = None
    try:
        # Pillow warns (in English, on the clerk's console) between MAX_PIXELS and twice that; the
        # size is checked right below and the file refused in Chinese.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                w, h = img.size
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        findings.add(error(Reason.IMAGE_CORRUPT, "图片文件已损坏或格式无法识别。请重新拍照或扫描后发送。"))
        return None
    except Image.DecompressionBombError:  # Pillow refuses to say the size of a bomb: say the limit
        size = f"超过 {MAX_PIXELS // 10_000} 万像素"
    else:
        size = f"{w}×{h} 像素" if w * h >= MAX_PIXELS else None
    if size is not None:
        findings.add(error(Reason.IMAGE_TOO_LARGE, f"图片尺寸过大（{size}）。请缩小到 A4 纸 300 dpi 左右（约 2500×3500 像素）后发送。"))
        return None
    # A picture cut off in transfer decodes as a half-grey page: refuse it rather than read half a card.
    data = path.read_bytes()
    problem = check_structure(archive_format(data), data)
    if problem is not None:
        findings.add(error(Reason.IMAGE_CORRUPT, f"图片文件不完整或已损坏（{problem}），可能没有发送或下载完整。请让企业重新发送。"))
        return None
    return 1
