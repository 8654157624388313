"""Fast .docx rendering: prepare a template once, then render only its XML per document.

docxtpl's ``render`` re-parses the package, re-runs its XML clean-up (``patch_xml``) and
re-compiles the Jinja template for every document, then saves every part through python-docx.
Here the clean-up and the Jinja compile happen once per template file and process; each
document is one Jinja render of the few XML parts that hold tags plus a zip write in which the
other parts are reused as they are.  The QR code is the template's picture whose alt text is
``ruqi:qr``: its image bytes are swapped, so the picture keeps the size and place the template
(or the clerk who edited it) gave it.

User values are XML-escaped by Jinja's autoescape, so ``A&B<化工>"有限"公司`` stays well-formed.
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..text import finalize
from .layout import QR_ALT_TEXT
from .nobreak import docx_nobreak
from .qr import qr_png

if TYPE_CHECKING:  # heavy libraries load where they are used (start-up time)
    import jinja2

# Parts that may hold tags; docxtpl renders the same ones (body, headers, footers, footnotes).
_TEMPLATED = re.compile(r"^word/(document|header\d*|footer\d*|footnotes)\.xml$")
_TAG = re.compile(r"{{|{%|{#")
_NS = {
    "wp": "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing",
    "a": "http://schemas.openxmlformats.org/drawingml/2006/main",
    "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "rel": "http://schemas.openxmlformats.org/package/2006/relationships",
}
# Literal braces a template escapes as {_{ … }_} (docxtpl's convention), restored after rendering.
_UNESCAPE = (("{_{", "{{"), ("}_}", "}}"), ("{_%", "{%"), ("%_}", "%}"))


def jinja_env() -> jinja2.Environment:
    """Autoescape on (values become XML text); StrictUndefined: a misspelt tag fails loudly."""
    import jinja2

    # finalize: a control character in a value would make document.xml unreadable to Word and LibreOffice.
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                             finalize=finalize)
    env.filters["nobreak"] = docx_nobreak
    return env


@dataclass(slots=True)
class CompiledDocx:
    path: Path
    members: list[tuple[zipfile.ZipInfo, bytes]]  # every part, in the template's order
    templates: dict[str, jinja2.Template] = field(default_factory=dict)  # part name -> compiled XML
    qr_member: str | None = None  # zip name of the QR picture, if the template has one
    base: bytes = b""  # a zip of the parts no document changes, compressed once


def patched_parts(path: Path) -> dict[str, str]:
    """The template's taggable XML parts after docxtpl's clean-up (tags merged across runs)."""
    from docxtpl import DocxTemplate

    tpl = DocxTemplate(str(path))
    out: dict[str, str] = {}
    with zipfile.ZipFile(path) as z:
        for info in z.infolist():
            if not _TEMPLATED.match(info.filename):
                continue
            xml = z.read(info).decode("utf-8")
            if _TAG.search(xml):
                out[info.filename] = tpl.patch_xml(xml)
    return out


def compile_docx(path: Path) -> CompiledDocx:
    env = jinja_env()
    with zipfile.ZipFile(path) as z:
        members = [(info, z.read(info)) for info in z.infolist()]
    compiled = CompiledDocx(path, members)
    for name, xml in patched_parts(path).items():
        compiled.templates[name] = env.from_string(xml)
    compiled.qr_member = find_qr_member(members)
    compiled.base = _static_zip(compiled)
    return compiled


def _static_zip(compiled: CompiledDocx) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for info, blob in compiled.members:
            if info.filename not in compiled.templates and info.filename != compiled.qr_member:
                z.writestr(_zinfo(info.filename, info.date_time, zipfile.ZIP_DEFLATED), blob)
    return buf.getvalue()


def _zinfo(name: str, date_time: tuple[int, int, int, int, int, int], method: int) -> zipfile.ZipInfo:
    zi = zipfile.ZipInfo(name, date_time=date_time)
    zi.compress_type = method
    return zi


def find_qr_member(members: list[tuple[zipfile.ZipInfo, bytes]]) -> str | None:
    """Follow the picture with alt text ``ruqi:qr`` to its image part: ``word/media/image1.png``."""
    from lxml import etree

    data = {info.filename: blob for info, blob in members}
    for name, blob in data.items():
        if not _TEMPLATED.match(name) or QR_ALT_TEXT.encode() not in blob:
            continue
        root = etree.fromstring(blob)
        for doc_pr in root.iterfind(".//wp:docPr", _NS):
            if doc_pr.get("descr") != QR_ALT_TEXT:
                continue
            blip = doc_pr.getparent().find(".//a:blip", _NS)  # type: ignore[union-attr]
            rid = blip.get(f"{{{_NS['r']}}}embed") if blip is not None else None
            rels_name = posixpath.join(posixpath.dirname(name), "_rels", posixpath.basename(name) + ".rels")
            if rid and rels_name in data:
                for rel in etree.fromstring(data[rels_name]).iterfind("rel:Relationship", _NS):
                    if rel.get("Id") == rid:
                        return posixpath.normpath(posixpath.join(posixpath.dirname(name), rel.get("Target", "")))
    return None


_cache: dict[tuple[str, int, int], CompiledDocx] = {}


def compiled_template(path: Path) -> CompiledDocx:
    """Compile once per process; an edited template (new mtime or size) is compiled again."""
    st = path.stat()
    key = (str(path.resolve()), st.st_mtime_ns, st.st_size)
    hit = _cache.get(key)
    if hit is None:
        hit = _cache[key] = compile_docx(path)
    return hit


def render_xml(template: jinja2.Template, ctx: dict[str, Any]) -> bytes:
    xml = template.render(ctx)
    for a, b in _UNESCAPE:
        xml = xml.replace(a, b)
    return xml.encode("utf-8")


def render_docx_bytes(compiled: CompiledDocx, ctx: dict[str, Any]) -> bytes:
    """The static parts' zip, with this document's XML parts and QR picture appended."""
    buf = io.BytesIO(compiled.base)
    buf.seek(0, io.SEEK_END)
    with zipfile.ZipFile(buf, "a") as z:
        for info, _ in compiled.members:
            name = info.filename
            if name in compiled.templates:
                z.writestr(_zinfo(name, info.date_time, zipfile.ZIP_DEFLATED), render_xml(compiled.templates[name], ctx))
            elif name == compiled.qr_member:  # PNG is compressed already
                z.writestr(_zinfo(name, info.date_time, zipfile.ZIP_STORED), qr_png(ctx["qr"]))
    return buf.getvalue()
