"""Files as they arrive in an inbox: returned cards made the way enterprises make them, and a hostile corpus.

Returned cards start from the card the engine generated (docx and PDF) and are changed the way
a person does it: ticks typed over □ in Word, an option deleted, 是/否 typed, boxes ticked in a
PDF reader (pypdf sets the AcroForm values), the filled docx exported to PDF by LibreOffice.
"""

from __future__ import annotations

import io
import shutil
import struct
import subprocess
import zipfile
import zlib
from collections.abc import Iterable
from pathlib import Path

from engine.db import session
from engine.forms.context import build_context
from engine.inspection import Inspection
from engine.register import Visit, by_serial
from engine.simulate import fill_docx, tick_pdf  # noqa: F401  (re-exported for the tests)
from engine.workspace import Workspace

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")


# ---------------------------------------------------------------- inspections and generated cards

KIT_KEY = bytes(range(32))  # every kit workspace shares this key, so a card rendered once verifies in each


def kit_inspection(i: int) -> Inspection:
    """The i-th test inspection (render's sample family); its serial comes from the register."""
    from engine.render.sample import sample_inspection

    insp = sample_inspection(i)
    insp.serial, insp.visit_total, insp.visit_kind = "", 0, 0
    return insp


def new_workspace(root: Path, inspections: int = 3, key: bytes = KIT_KEY) -> Workspace:
    """A workspace with ``inspections`` visits recorded (serials 140200-2025-0001 …) and a fixed key."""
    from engine import workspace

    ws = workspace.init(root)
    (ws.root / "ruqi.key").write_bytes(key)
    for i in range(inspections):
        record(ws, kit_inspection(i))
    return ws


def record(ws: Workspace, insp: Inspection) -> Inspection:
    from engine import register
    from engine.db import session

    with session(ws) as s:
        register.record(s, insp, ws.config.division_code, issue_date=insp.start)
    return insp


def render_card(ws: Workspace, insp: Inspection, out_dir: Path, fmts: tuple[str, ...] = ("docx", "pdf")) -> dict[str, Path]:
    """The blank card exactly as ``ruqi generate`` makes it: {"docx": path, "pdf": path}."""
    from engine.forms import CARD

    ctx = build_context(insp, ws.config, ws.key)
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        from engine.render import render_batch  # type: ignore[attr-defined]
    except ImportError:
        return _render_card_internals(ctx, out_dir, fmts)
    sets = render_batch([ctx], out_dir, formats=fmts, workers=1)
    files = [Path(p) for p in sets[0].files.values()]
    return {f: next(p for p in files if CARD.title in p.name and p.suffix == f".{f}") for f in fmts}


def _render_card_internals(ctx: dict, out_dir: Path, fmts: tuple[str, ...]) -> dict[str, Path]:
    # Until engine.render exposes render_batch: the same template machinery it is built from.
    from engine.render.build_templates import build_all
    from engine.render.docx import render_docx_file
    from engine.render.pdf import renderer
    from engine.render.templates import DEFAULT_TEMPLATES_DIR

    out: dict[str, Path] = {}
    stem = f"{ctx['serial']}_入企检查监督反馈卡"
    if "docx" in fmts:
        tpl = DEFAULT_TEMPLATES_DIR / "card.docx"
        if not tpl.exists():
            tpl = build_all(out_dir / "_templates")[2]
        out["docx"] = render_docx_file(tpl, ctx, out_dir / f"{stem}.docx")
    if "pdf" in fmts:
        out["pdf"] = out_dir / f"{stem}.pdf"
        out["pdf"].write_bytes(renderer(DEFAULT_TEMPLATES_DIR).render("card", [ctx])[0])
    return out


# ---------------------------------------------------------------- filling a docx (what Word/WPS users do)


# ---------------------------------------------------------------- ticking the PDF (what a PDF reader does)


# ---------------------------------------------------------------- LibreOffice (what "export to PDF" does)


def to_pdf_with_libreoffice(docxs: Iterable[Path], out_dir: Path) -> list[Path]:
    """Convert in one soffice call (start-up dominates the cost)."""
    assert SOFFICE, "soffice not installed"
    docxs = list(docxs)
    out_dir.mkdir(parents=True, exist_ok=True)
    profile = out_dir / ".lo-profile"
    subprocess.run(
        [SOFFICE, f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", "pdf", "--outdir",
         str(out_dir), *map(str, docxs)],
        check=True, capture_output=True, timeout=180,
    )
    return [out_dir / (p.stem + ".pdf") for p in docxs]


# ---------------------------------------------------------------- hostile corpus


def blank_pdf(pages: int = 1) -> bytes:
    from pypdf import PdfWriter

    w = PdfWriter()
    for _ in range(pages):
        w.add_blank_page(width=595, height=842)
    buf = io.BytesIO()
    w.write(buf)
    return buf.getvalue()


def encrypted_pdf(src: bytes) -> bytes:
    from pypdf import PdfReader, PdfWriter

    w = PdfWriter(clone_from=PdfReader(io.BytesIO(src)))
    w.encrypt(user_password="secret", owner_password="owner", algorithm="AES-128")
    buf = io.BytesIO()
    w.write(buf)
    return buf.getvalue()


def zip_bomb(main_part: str, unzipped_mb: int) -> bytes:
    """An Office-looking zip whose main part inflates to ``unzipped_mb`` MB of spaces (~1000:1)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>')
        with z.open(main_part, "w", force_zip64=True) as f:
            chunk = b" " * (1 << 20)
            for _ in range(unzipped_mb):
                f.write(chunk)
    return buf.getvalue()


def xxe_docx(src: Path) -> bytes:
    """A docx whose document.xml declares an external entity (XXE) and uses it."""
    with zipfile.ZipFile(src) as z:
        parts = {i.filename: z.read(i) for i in z.infolist()}
    xml = parts["word/document.xml"].decode("utf-8")
    head, sep, rest = xml.partition("?>")
    dtd = '<!DOCTYPE w:document [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    xml = head + sep + dtd + rest.replace("□是", "&xxe;□是", 1)
    parts["word/document.xml"] = xml.encode("utf-8")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)
    return buf.getvalue()


def png_header(width: int, height: int) -> bytes:
    """A valid PNG claiming a huge size, with a tiny (empty) image stream: a pixel bomb."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 16)) + chunk(b"IEND", b"")


def sparse_file(path: Path, head: bytes, size: int) -> Path:
    """A file of ``size`` bytes that costs no disk: ``head`` then a hole."""
    with path.open("wb") as f:
        f.write(head)
        f.truncate(size)
    return path


def foreign_docx(path: Path) -> Path:
    """A Word document that is not our card: minutes of a meeting."""
    import docx

    d = docx.Document()
    d.add_heading("安全生产工作会议纪要", 1)
    d.add_paragraph("会议时间：2025年6月18日。会议研究了下半年安全生产检查工作，是否开展专项检查由局务会决定。")
    t = d.add_table(rows=2, cols=2)
    t.cell(0, 0).text = "参会人员"
    t.cell(0, 1).text = "张三、李四"
    d.save(str(path))
    return path


# ---------------------------------------------------------------- the session's kit (rendered once, cached on disk)

ANSWERS_CLEAN = {i: "否" for i in range(1, 11)}
ANSWERS_VIOLATION = {**ANSWERS_CLEAN, 3: "是", 8: "是"}
ANSWERS_BAD = {**{i: "否" for i in range(1, 11) if i != 5}, 7: "both"}  # 5 blank, 7 both


def kit(tmp_path_factory) -> Path:  # type: ignore[no-untyped-def]
    """Blank cards rendered once per test session, shared by every inbox/readback test module:

    ``0.docx``/``0.pdf`` and ``1.docx``/``1.pdf``: serials 0001 and 0002 of ``new_workspace``;
    ``unknown.docx``: serial 0099 (not in the register); ``forged.docx``: serial 0001 signed with
    another key; ``renamed.docx``: serial 0001 printed with another enterprise name.
    """
    base = tmp_path_factory.getbasetemp() / "inbox-kit"
    if (base / "ready").exists():
        return base
    ws = new_workspace(base / "ws", inspections=2)
    from engine.db import session
    from engine.register import by_serial

    with session(ws) as s:
        insps = [by_serial(s, f"140200-2025-{n:04d}").to_inspection() for n in (1, 2)]  # type: ignore[union-attr]
    for i, insp in enumerate(insps):
        for fmt, p in render_card(ws, insp, base / f"r{i}").items():
            shutil.copy(p, base / f"{i}.{fmt}")
    unknown = kit_inspection(5)
    unknown.serial, unknown.visit_total, unknown.visit_kind = "140200-2025-0099", 1, 1
    shutil.copy(render_card(ws, unknown, base / "ru", ("docx",))["docx"], base / "unknown.docx")
    other = new_workspace(base / "other", inspections=0, key=b"another workspace key, not ours!")
    shutil.copy(render_card(other, insps[0], base / "rf", ("docx",))["docx"], base / "forged.docx")
    renamed = kit_inspection(0)
    renamed.serial, renamed.visit_total, renamed.visit_kind = insps[0].serial, 1, 1
    renamed.enterprise = "大同市另一家化工有限公司"
    shutil.copy(render_card(ws, renamed, base / "rr", ("docx",))["docx"], base / "renamed.docx")
    (base / "ready").write_text("ok")
    return base


LO_VARIANTS = {"tick": ("tick", "☑", ANSWERS_VIOLATION), "check": ("tick", "√", ANSWERS_CLEAN),
               "delete": ("delete", "", ANSWERS_CLEAN), "typed": ("type", "", ANSWERS_VIOLATION),
               "bad": ("tick", "☑", ANSWERS_BAD)}


def libreoffice_pdfs(tmp_path_factory) -> dict[str, Path]:  # type: ignore[no-untyped-def]
    """The filled docx of card 0 exported to PDF by LibreOffice, once per session (one soffice call)."""
    base = kit(tmp_path_factory)
    out = base / "lo"
    names = list(LO_VARIANTS)
    if not (out / "ready").exists():
        docxs = []
        for name, (style, mark, answers) in LO_VARIANTS.items():
            docxs.append(fill_docx(base / "0.docx", base / f"lo-{name}.docx", answers, style=style, mark=mark or "☑"))
        pdfs = to_pdf_with_libreoffice(docxs, out)
        assert all(p.exists() for p in pdfs)
        (out / "ready").write_text("ok")
    return {n: out / f"lo-{n}.pdf" for n in names}


def visit(ws: Workspace, serial: str) -> Visit:
    """The register's record of one serial."""
    with session(ws) as s:
        v = by_serial(s, serial)
        assert v is not None
        return v
