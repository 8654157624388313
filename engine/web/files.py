"""Files in and out of the site: downloads by identifier, uploads streamed under a size limit.

**Downloads** (``send_file``): the route looks the file up by an identifier it understands (an
archive item's id, a batch name it lists itself …) and hands the resulting path here; no path from
the request ever reaches the file system.  ``send_file`` serves only a regular file (not a
symlink, not a device) inside the workspace, byte-identical, under its original name.  PDFs may be
shown inline; everything else is an attachment, and every file goes out with
``X-Content-Type-Options: nosniff`` and a sandboxing CSP so a hostile upload cannot run as a page.

**Uploads** (``receive_files``): the multipart body is parsed as it streams in (never held in
memory), each file written to ``<workspace>/.web-uploads/`` (outside what the inbox scans) and
abandoned as soon as it exceeds ``max_bytes`` (``[limits] max_file_mb`` by default); a request
larger than ``max_files`` × ``max_bytes`` is refused before it is read.  ``to_inbox`` then moves a
staged file into ``inbox/`` under a safe name (``engine.inbox.shelve.target_for``: the same rule
the mail fetcher uses), so ``ruqi ingest``/``watch`` and the web page see the same files.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import stat
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import FileResponse
from python_multipart.multipart import MultipartParser, parse_options_header

from ..findings import Finding, error
from ..inbox.preflight import display_name
from ..inbox.shelve import target_for
from ..workspace import Workspace

UPLOADS = ".web-uploads"
MAX_FIELD_BYTES = 64 * 1024
INLINE_TYPES = {".pdf": "application/pdf", ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}


class WebCode(StrEnum):
    NOT_FOUND = "WEB_NOT_FOUND"
    UPLOAD_TOO_LARGE = "WEB_UPLOAD_TOO_LARGE"
    UPLOAD_TOO_MANY = "WEB_UPLOAD_TOO_MANY"
    UPLOAD_BAD = "WEB_UPLOAD_BAD"
    UPLOAD_EMPTY = "WEB_UPLOAD_EMPTY"


class FileNotServed(Exception):
    """The identifier names nothing that may be served (the page says 找不到)."""


def _inside(path: Path, root: Path) -> bool:
    try:
        return path.resolve(strict=True).is_relative_to(root.resolve(strict=True))
    except (OSError, RuntimeError):
        return False


def send_file(ws: Workspace, path: Path, name: str, *, inline: bool = False) -> FileResponse:
    """``path`` (found by the caller from an identifier) as a download named ``name``.

    Refused (``FileNotServed``) unless it is a regular file inside the workspace reached without a
    symbolic link."""
    try:
        st = os.lstat(path)
    except OSError as e:
        raise FileNotServed(str(path)) from e
    if not stat.S_ISREG(st.st_mode) or not _inside(path, ws.root) or path.resolve() != path.absolute():
        raise FileNotServed(str(path))
    media = INLINE_TYPES.get(path.suffix.lower()) if inline else None
    disposition = "inline" if media else "attachment"
    ascii_name = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in name) or "file"
    headers = {
        "Content-Disposition": f"{disposition}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'",
        "Cache-Control": "private, no-store",
    }
    return FileResponse(path, media_type=media or "application/octet-stream", headers=headers)


# ---- uploads ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Staged:
    """One uploaded file, complete, waiting in ``.web-uploads/``."""

    field: str  # the form field it came in
    name: str  # the name the browser gave (printable)
    path: Path
    size: int
    sha256: str


@dataclass
class Received:
    files: list[Staged] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=dict)
    refused: list[Finding] = field(default_factory=list)  # one per file not kept, with why

    def discard(self) -> None:
        """Delete whatever is still staged (files not moved on)."""
        for f in self.files:
            f.path.unlink(missing_ok=True)


class _Part:
    def __init__(self) -> None:
        self.headers: dict[bytes, bytes] = {}
        self.field = ""
        self.filename: str | None = None
        self.data = bytearray()
        self.out = None  # the open staging file of a file part
        self.path: Path | None = None
        self.size = 0
        self.sha = hashlib.sha256()
        self.too_large = False


class _Parser:
    def __init__(self, staging: Path, max_bytes: int, max_files: int):
        self.staging, self.max_bytes, self.max_files = staging, max_bytes, max_files
        self.result = Received()
        self.part = _Part()
        self.hname = b""
        self.hvalue = b""
        self.nfiles = 0

    def on_part_begin(self) -> None:
        self.part = _Part()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.hname += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.hvalue += data[start:end]

    def on_header_end(self) -> None:
        self.part.headers[self.hname.lower()] = self.hvalue
        self.hname = self.hvalue = b""

    def on_headers_finished(self) -> None:
        _kind, opts = parse_options_header(self.part.headers.get(b"content-disposition", b""))
        p = self.part
        p.field = opts.get(b"name", b"").decode("utf-8", "replace")
        if b"filename" not in opts:
            return
        p.filename = display_name(opts[b"filename"].decode("utf-8", "surrogateescape")).replace("\\", "/").rsplit("/", 1)[-1]
        self.nfiles += 1
        if self.nfiles > self.max_files:
            p.too_large = True
            self.result.refused.append(error(WebCode.UPLOAD_TOO_MANY, f"一次最多上传 {self.max_files} 个文件，"
                                             f"“{p.filename}”及以后的文件没有收下，请分批上传。", p.filename))
            return
        self.staging.mkdir(exist_ok=True)
        p.path = self.staging / f"{os.getpid()}-{secrets.token_hex(8)}"
        p.out = p.path.open("xb")  # type: ignore[assignment]

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        p, chunk = self.part, data[start:end]
        if p.filename is None:
            if len(p.data) + len(chunk) <= MAX_FIELD_BYTES:
                p.data.extend(chunk)
            return
        if p.too_large:
            return
        p.size += len(chunk)
        if p.size > self.max_bytes:
            self._abandon(p)
            return
        p.sha.update(chunk)
        p.out.write(chunk)  # type: ignore[attr-defined]

    def _abandon(self, p: _Part) -> None:
        p.too_large = True
        if p.out is not None:
            p.out.close()  # type: ignore[unreachable]
            p.out = None
        if p.path is not None:
            p.path.unlink(missing_ok=True)
        mb = self.max_bytes / (1 << 20)
        self.result.refused.append(error(WebCode.UPLOAD_TOO_LARGE, f"“{p.filename}”超过单个文件大小上限 {mb:g} MB，没有收下"
                                         "（上限见 ruqi.toml 的 [limits] max_file_mb）。", p.filename or ""))

    def on_part_end(self) -> None:
        p = self.part
        if p.filename is None:
            self.result.fields[p.field] = p.data.decode("utf-8", "replace")
            return
        if p.out is not None:
            p.out.flush()
            os.fsync(p.out.fileno())
            p.out.close()
            p.out = None
        if p.too_large or p.path is None:
            return
        if p.size == 0:
            p.path.unlink(missing_ok=True)
            if p.filename:  # an empty file input sends a part with no name and no bytes
                self.result.refused.append(error(WebCode.UPLOAD_EMPTY, f"“{p.filename}”是空文件，没有收下。", p.filename))
            return
        self.result.files.append(Staged(p.field, p.filename, p.path, p.size, p.sha.hexdigest()))

    def close(self) -> None:
        if self.part.out is not None:
            self.part.out.close()
            if self.part.path is not None:
                self.part.path.unlink(missing_ok=True)


async def receive_files(request: Request, ws: Workspace, *, max_bytes: int | None = None,
                        max_files: int = 100) -> Received:
    """Stream a multipart/form-data request's files into ``.web-uploads/``.

    Never raises for what the browser sent: a body that is not multipart, too large as a whole or
    cut short comes back as a finding in ``refused`` (and nothing staged)."""
    max_bytes = max_bytes or int(ws.config.limits.max_file_mb * (1 << 20))
    ctype, params = parse_options_header(request.headers.get("content-type", ""))
    out = Received()
    boundary = params.get(b"boundary")
    if ctype != b"multipart/form-data" or not boundary:
        out.refused.append(error(WebCode.UPLOAD_BAD, "没有收到文件（请求不是文件上传）。"))
        return out
    declared = request.headers.get("content-length")
    ceiling = max_files * (max_bytes + MAX_FIELD_BYTES)
    if declared and declared.isdigit() and int(declared) > ceiling:
        out.refused.append(error(WebCode.UPLOAD_TOO_LARGE, f"一次上传的内容过大（{int(declared) / (1 << 20):.0f} MB），"
                                 f"请分批上传，每个文件不超过 {max_bytes / (1 << 20):g} MB。"))
        return out
    p = _Parser(ws.root / UPLOADS, max_bytes, max_files)
    parser = MultipartParser(boundary, {name: getattr(p, name) for name in (
        "on_part_begin", "on_part_data", "on_part_end", "on_header_field", "on_header_value", "on_header_end",
        "on_headers_finished")})
    total = 0
    try:
        async for chunk in request.stream():
            total += len(chunk)
            if total > ceiling:
                raise ValueError("request larger than its ceiling")
            parser.write(chunk)
        parser.finalize()
    except Exception as e:  # a cut connection or a malformed body: keep nothing half-received
        p.close()
        p.result.discard()
        out.refused.append(error(WebCode.UPLOAD_BAD, "上传没有完成（连接中断或内容不完整），请重新上传。", detail=repr(e)))
        return out
    return p.result


def to_inbox(ws: Workspace, staged: Staged) -> Path:
    """Move one staged upload into ``inbox/`` under a safe, free name (the same bytes already
    waiting there under that name are not written twice); returns where it is now."""
    while True:
        target, there = target_for(ws.inbox, staged.name, staged.sha256)
        if there:
            staged.path.unlink(missing_ok=True)
            return target
        try:
            os.link(staged.path, target)  # never replaces a file that appeared meanwhile
        except FileExistsError:
            continue
        except OSError:  # a share without hard links: a rename, after the same free-name check
            if target.exists() or target.is_symlink():
                continue
            os.rename(staged.path, target)
            return target
        staged.path.unlink()
        return target
