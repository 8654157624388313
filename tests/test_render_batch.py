"""render_batch: several inspections, over two processes, each file its own inspection's."""

from __future__ import annotations

import hashlib
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pdfplumber
from _render_fixtures import decode_qr_image, docx_text, pdf_page_image, pdf_text, squash
from pypdf import PdfReader

from engine.render import CHECKBOX_FIELDS, FORM_KEYS, TEXT_FIELDS, render_batch
from engine.render.batch import MAX_CHUNK, MIN_CHUNK, chunk_sizes, default_workers, make_chunks
from engine.render.pdf import HtmlPdfRenderer
from engine.render.sample import sample_context
from engine.render.templates import DEFAULT_TEMPLATES_DIR


def test_batch_over_two_processes_writes_distinct_files_in_input_order(tmp_path: Path) -> None:
    contexts = [sample_context(i) for i in (4, 0, 3, 1, 2, 9, 5, 8, 6, 7)]  # two chunks of 5: here and in a worker
    calls: list[tuple[int, int]] = []
    sets = render_batch(contexts, tmp_path, workers=2, progress=lambda d, t: calls.append((d, t)))
    assert [s.serial for s in sets] == [c["serial"] for c in contexts]
    assert calls == [(0, 10), (5, 10), (10, 10)]
    files = [p for s in sets for p in s.files.values()]
    assert len(files) == 60 and len({p.name for p in files}) == 60
    assert len({hashlib.sha256(p.read_bytes()).hexdigest() for p in files}) == 60
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in files)  # no temp files left
    for s, ctx in zip(sets, contexts, strict=True):
        for key in FORM_KEYS:
            pdf, dx = s.files[(key, "pdf")], s.files[(key, "docx")]
            assert pdf.name.startswith(f"{ctx['serial']}_{ctx['v']['enterprise']}_")
            assert ctx["serial_label"] in squash(pdf_text(pdf)) and ctx["serial_label"] in docx_text(dx)
        card = s.files[("card", "pdf")]
        assert squash(ctx["card"]["t"]["inspectors"]) in squash(pdf_text(card))
        assert decode_qr_image(pdf_page_image(card, dpi=150)) == [ctx["qr"]]


def test_one_bad_inspection_spoils_only_its_own_forms(tmp_path: Path) -> None:
    good = [sample_context(i) for i in range(3)]
    bad = sample_context(3)
    del bad["card"]["t"]["remark"]  # a value the card template needs
    failures: list[tuple[str, str]] = []
    sets = render_batch([good[0], bad, good[1], good[2]], tmp_path, formats=("pdf",), workers=1,
                        on_failure=lambda serial, reason: failures.append((serial, reason)))
    assert [s.serial for s in sets] == [c["serial"] for c in good]
    assert [f[0] for f in failures] == [bad["serial"]] and "remark" in failures[0][1]
    assert all(len(s.files) == 3 for s in sets)
    assert not any(bad["serial"] in p.name for p in tmp_path.iterdir())


def widgets_on_boxes(pdf_path: Path) -> list[str]:
    """Names of the checkboxes, each checked to be centred on a printed □."""
    names = []
    with pdfplumber.open(pdf_path) as pdf:
        for page in pdf.pages:
            boxes = [c for c in page.chars if c["text"] == "□"]
            for a in page.annots:
                if a["data"]["T"].decode() in TEXT_FIELDS:  # 负责人/职务/联系电话 (test_card_fields.py)
                    continue
                cx, cy = (a["x0"] + a["x1"]) / 2, (a["top"] + a["bottom"]) / 2
                assert any(abs((c["x0"] + c["x1"]) / 2 - cx) < 1.5 and abs((c["top"] + c["bottom"]) / 2 - cy) < 3
                           for c in boxes), a["data"]["T"]
                names.append(a["data"]["T"].decode())
    return names


def test_cards_laid_out_together_each_get_checkboxes_on_their_own_boxes(tmp_path: Path) -> None:
    # One chunk: the first card's boxes are read from the PDF, the others' derived from their
    # table positions — unless a card is laid out differently (here: so many experts that its
    # answer table starts lower and runs onto a second page), then its boxes are read too.
    contexts = [sample_context(i) for i in range(4)]
    contexts[1]["card"]["t"]["inspectors"] = "检查人员：" + "、".join(f"检查员{i}" for i in range(12))  # 2 lines
    long = sample_context(4)
    long["card"]["t"]["experts"] = "随行专家：" + "、".join(f"专家{i:02d}号同志" for i in range(60))
    contexts.insert(2, long)
    sets = render_batch(contexts, tmp_path, formats=("pdf",), workers=1)
    for s in sets:
        card = s.files[("card", "pdf")]
        assert sorted(widgets_on_boxes(card)) == sorted(CHECKBOX_FIELDS)
    assert len(PdfReader(sets[2].files[("card", "pdf")]).pages) == 2


def test_engine_html_is_well_formed_xhtml() -> None:
    # The fast path (C XML parser instead of WeasyPrint's HTML5 parser) needs it; see pdf._TreeHTML.
    r = HtmlPdfRenderer(DEFAULT_TEMPLATES_DIR)
    root = ET.fromstring(r.html([(k, sample_context(i)) for i, k in enumerate(FORM_KEYS)]))
    assert [s.get("id") for s in root.iter("section")] == ["ruqi-doc-0", "ruqi-doc-1", "ruqi-doc-2"]


def test_docx_only_batch_and_sizing_rules(tmp_path: Path) -> None:
    sets = render_batch([sample_context(7)], tmp_path, formats=("docx",))
    assert sorted(sets[0].files) == [(k, "docx") for k in sorted(FORM_KEYS)]
    assert default_workers(1) == 1  # a single inspection never pays for a process start
    sizes = [len(c) for c in make_chunks([sample_context(0)] * 200, 2)]
    assert sum(sizes) == 200 and sizes[:6] == [MAX_CHUNK] * 6 and max(sizes) == MAX_CHUNK
    assert min(sizes) >= MIN_CHUNK and sizes[-2] < MAX_CHUNK  # smaller at the end, never a handful
    # A chunk's PDF write costs as much for 5 inspections as for 20: 100 go in six chunks, not nine;
    # a small batch is split evenly over the processes.
    assert chunk_sizes(100, 2) == [24, 24, 18, 12, 10, 12]
    assert chunk_sizes(5, 2) == [3, 2] and chunk_sizes(20, 2) == [10, 10] and chunk_sizes(3, 1) == [3]


def _chars_by_page(path: Path) -> list[list[tuple[str, str, float, float, float]]]:
    """Every printed character of every page: (text, font without its subset tag, size, x, y)."""
    with pdfplumber.open(path) as pdf:
        return [[(c["text"], c["fontname"].split("+")[-1], round(c["size"], 2), round(c["x0"], 1), round(c["top"], 1))
                 for c in page.chars] for page in pdf.pages]


def test_batch_output_equals_the_one_document_renderers_for_the_same_inspection(tmp_path: Path) -> None:
    """The batch path (docx from the prepared template, PDFs laid out three inspections to one HTML
    and split) prints what docxtpl and WeasyPrint print for that inspection alone, as the naive
    loop of benchmarks/bench_generate.py makes them: the same document XML, and PDFs with the same
    pages, characters (font, size, place), PDF/A identification and QR code."""
    import io
    import zipfile

    from docxtpl import DocxTemplate
    from weasyprint import HTML

    from engine.render.docx import jinja_env as docx_jinja_env
    from engine.render.layout import QR_ALT_TEXT
    from engine.render.pdf import ARCHIVE_PDF_VARIANT, html_context, jinja_env
    from engine.render.qr import qr_png

    contexts = [sample_context(i) for i in (3, 7, 11)]
    ctx = contexts[1]  # laid out between two others
    (_, rs, _) = render_batch(contexts, tmp_path / "batch", workers=1, pdf_variant=ARCHIVE_PDF_VARIANT)
    env = jinja_env(DEFAULT_TEMPLATES_DIR)
    for key in FORM_KEYS:
        tpl = DocxTemplate(str(DEFAULT_TEMPLATES_DIR / f"{key}.docx"))
        tpl.replace_pic(QR_ALT_TEXT, io.BytesIO(qr_png(ctx["qr"])))
        tpl.render(ctx, jinja_env=docx_jinja_env(), autoescape=True)
        alone = io.BytesIO()
        tpl.save(alone)
        with zipfile.ZipFile(alone) as a, zipfile.ZipFile(rs.files[(key, "docx")]) as b:
            assert a.read("word/document.xml") == b.read("word/document.xml"), key

        one = tmp_path / f"{key}-alone.pdf"
        HTML(string=env.get_template(f"{key}.html").render(html_context(ctx)),
             base_url=str(DEFAULT_TEMPLATES_DIR) + "/").write_pdf(str(one), pdf_variant=ARCHIVE_PDF_VARIANT)
        batch = rs.files[(key, "pdf")]
        assert _chars_by_page(batch) == _chars_by_page(one), key
        ra, rb = PdfReader(one), PdfReader(batch)
        assert [[round(float(v), 2) for v in p.mediabox] for p in ra.pages] == \
            [[round(float(v), 2) for v in p.mediabox] for p in rb.pages]  # (pdfium writes 4 decimals)
        for r in (ra, rb):
            xmp = r.trailer["/Root"]["/Metadata"].get_object().get_data().decode()
            assert re.search(r"pdfaid:part\W+3", xmp) and re.search(r"pdfaid:conformance\W+B", xmp)
        assert decode_qr_image(pdf_page_image(batch, dpi=150)) == [ctx["qr"]]


def _note_idle(folder: Path) -> None:
    import os
    import threading
    import time

    (folder / f"idle-{os.getpid()}-{threading.current_thread().name}").write_text(str(time.time()))


def test_idle_work_runs_once_in_a_free_process_while_another_still_renders(tmp_path: Path) -> None:
    """``when_idle`` (generate measures the card layout there) runs once, in this process's render
    thread or a worker process, whichever is free first once no chunk is left, before the batch
    ends; a one-process batch never runs it (its caller does that work after rendering)."""
    import functools
    import os
    import threading
    import time

    contexts = [sample_context(i) for i in range(17)]
    assert [len(c) for c in make_chunks(contexts, 3)] == [6, 6, 5]  # one chunk for each of three processes
    events: list[tuple[str, int, str, float]] = []

    def rendered(sets: list) -> None:
        events.append(("rendered", os.getpid(), threading.current_thread().name, time.time()))

    notes = tmp_path / "notes"
    notes.mkdir()
    sets = render_batch(contexts, tmp_path / "three", workers=3, on_rendered=rendered,
                        when_idle=functools.partial(_note_idle, notes))
    returned_at = time.time()
    assert len(sets) == 17
    [note] = list(notes.iterdir())  # once
    # Never on the thread that hands out chunks; a worker process runs it on *its* main thread.
    assert note.name != f"idle-{os.getpid()}-{threading.main_thread().name}"
    ran_at = float(note.read_text())
    # Handed out after a chunk's result, while another still rendered.  Its start may come a
    # moment after the last chunk's end on a loaded machine, so only the batch's return bounds it.
    assert events[0][3] <= ran_at <= returned_at
    events.clear()
    render_batch(contexts[:9], tmp_path / "one", formats=("docx",), workers=1, on_rendered=rendered,
                 when_idle=functools.partial(_note_idle, notes))
    assert [e[0] for e in events] == ["rendered"] and len(list(notes.iterdir())) == 1


def test_a_warm_up_loads_the_renderers_and_rendering_waits_for_it(tmp_path: Path) -> None:
    """generate starts loading the renderers while it reads the plan; render_batch forks only
    after every warm-up has finished, and renders with what it loaded.  A warm-up that fails
    (no templates there) leaves the failure to rendering, which reports it as before."""
    import shutil

    from engine.render import pdf
    from engine.render.batch import WarmUp

    tdir = tmp_path / "templates"
    shutil.copytree(DEFAULT_TEMPLATES_DIR, tdir)
    warm = WarmUp(tdir, ("docx", "pdf"))
    contexts = [sample_context(i) for i in range(9)]
    sets = render_batch(contexts, tmp_path / "out", workers=2, templates_dir=tdir)
    assert not warm._thread.is_alive() and WarmUp._running == []
    assert tdir.resolve() in pdf._renderers  # loaded once in this process, before the fork
    assert [s.serial for s in sets] == [c["serial"] for c in contexts]

    missing = tmp_path / "nowhere"
    WarmUp(missing, ("docx", "pdf")).join()
    failures: list[tuple[str, str]] = []
    assert render_batch(contexts[:1], tmp_path / "bad", templates_dir=missing,
                        on_failure=lambda serial, why: failures.append((serial, why))) == []
    assert [serial for serial, _ in failures] == [contexts[0]["serial"]]


def test_margin_boxes_are_built_only_where_a_stylesheet_gives_one(tmp_path: Path) -> None:
    """Our forms style no @page margin box: WeasyPrint's sixteen per page are not built at all.  A
    templates folder whose stylesheet adds one (a page number at the foot) still prints it."""
    import io
    import shutil

    import weasyprint.layout
    import weasyprint.layout.page

    tdir = tmp_path / "templates"
    shutil.copytree(DEFAULT_TEMPLATES_DIR, tdir)
    css = tdir / "forms.css"
    css.write_text(css.read_text(encoding="utf-8") + '\n@page { @bottom-center { content: "第" counter(page) "页"; } }\n',
                   encoding="utf-8")
    ctx = sample_context(0)
    installed = weasyprint.layout.make_margin_boxes
    built: list[int] = []

    def weasyprints_own(*args):  # type: ignore[no-untyped-def]
        built.append(1)
        return weasyprint.layout.page.make_margin_boxes(*args)

    weasyprint.layout.make_margin_boxes = weasyprints_own
    try:
        plain = HtmlPdfRenderer(DEFAULT_TEMPLATES_DIR).render([("notice", ctx), ("card", ctx)])
        assert built == []  # no margin box styled: none built
        numbered = HtmlPdfRenderer(tdir).render([("notice", ctx), ("card", ctx)])
        assert built  # one styled: WeasyPrint's own path
    finally:
        weasyprint.layout.make_margin_boxes = installed
    for data in plain:
        assert not re.search(r"第\d+页", squash(pdf_text(io.BytesIO(data))))
    for data in numbered:
        assert re.search(r"第\d+页", squash(pdf_text(io.BytesIO(data))))


def test_split_documents_are_finished_by_byte_search_and_read_the_same_as_through_pypdf() -> None:
    """pdfium's split documents are finished without parsing them (a byte search for the catalog,
    the page list and the trailer); the result carries the same AcroForm, XMP title, output intent
    and document information as the pypdf path, which takes any document that looks otherwise."""
    import io

    from engine.forms import FormKey
    from engine.render import pdfsplit
    from engine.render.pdf import (
        _DOC_ID,
        ARCHIVE_PDF_VARIANT,
        TITLE_PLACEHOLDER,
        _BoxPlan,
        document_title,
        page_ranges,
        text_fields,
    )

    ctx = sample_context(3)
    items = [("notice", ctx), ("card", ctx)]
    r = HtmlPdfRenderer(DEFAULT_TEMPLATES_DIR)
    document = r.layout(items)
    ranges = page_ranges(document, len(items))
    plan = _BoxPlan.make(document, ranges, [k for k, _ in items])
    found = [text_fields(document, ranges[i], _DOC_ID.format(i)) if k == FormKey.CARD else []
             for i, (k, _) in enumerate(items)]
    combined = document.write_pdf(pdf_variant=ARCHIVE_PDF_VARIANT)
    extras = pdfsplit.CatalogExtras.from_pdf(combined)
    docs = pdfsplit.split_pages(combined, ranges, [i in plan.scan for i in range(len(items))])
    plan.fill(docs)

    def facts(data: bytes) -> tuple[object, ...]:
        pdf = PdfReader(io.BytesIO(data))
        root = pdf.trailer["/Root"]
        intent = root["/OutputIntents"][0].get_object()
        xmp = root["/Metadata"].get_object().get_data()
        return (sorted(pdf.get_fields() or {}), pdf.metadata.title, re.findall(rb"<dc:title>.*?</dc:title>", xmp, re.S),
                intent["/S"], len(intent["/DestOutputProfile"].get_object().get_data()), str(root.get("/Lang")),
                [[(str(a.get_object()["/T"]), [round(float(x), 2) for x in a.get_object()["/Rect"]])
                  for a in page.get("/Annots", [])] for page in pdf.pages])

    for doc, fields, (key, c) in zip(docs, found, items, strict=True):
        doc.fields = fields
        title = (TITLE_PLACEHOLDER, document_title(key, c))
        fast = pdfsplit._finish_fast(doc, extras, title)
        assert fast is not None  # pdfium's layout: no parse
        assert facts(fast) == facts(pdfsplit._finish_parsed(doc, extras, title))
        assert facts(fast)[1] == document_title(key, c)
    card = docs[1]
    assert {n for n in facts(pdfsplit.finish(card, extras))[0]} == set(CHECKBOX_FIELDS) | set(TEXT_FIELDS)
    # A document pdfium did not write as it always does (here: one updated before, its trailer
    # chained to an earlier one): the byte search steps aside and pypdf finishes it.
    notice = pdfsplit.finish(docs[0], extras, (TITLE_PLACEHOLDER, document_title("notice", ctx)))
    again = pdfsplit.SplitDoc(notice)
    assert pdfsplit._finish_fast(again, extras, None) is None
    assert facts(pdfsplit.finish(again, extras, (TITLE_PLACEHOLDER, document_title("notice", ctx))))[1:] == facts(notice)[1:]
