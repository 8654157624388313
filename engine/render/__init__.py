"""Render the three inspection forms as .docx and PDF from one form definition.

Input is the context of :func:`engine.forms.context.build_context` (one dict per inspection);
templates are in ``templates/`` (``notice.docx``, ``notice_board.docx``, ``card.docx`` for
docxtpl; ``notice.html``, ``notice_board.html``, ``card.html`` + ``forms.css`` for WeasyPrint).
Form keys: ``notice`` 入企检查活动通知书, ``notice_board`` 入企检查监督公示, ``card`` 入企检查监督反馈卡.

API::

    render_docx(form_key, ctx, out_path, *, templates_dir=None) -> Path
    render_pdf(form_key, ctx, out_path, pdf_variant=None, *, templates_dir=None) -> Path
    render_batch(contexts, out_dir, formats=("docx", "pdf"), workers=None, *, pdf_variant=None,
                 templates_dir=None, progress=None, on_failure=None) -> list[RenderedSet]
    check_templates(templates_dir=None) -> list[Finding]          # `ruqi templates check`

``render_batch`` writes ``<serial>_<enterprise>_<form title>.<fmt>`` (enterprise made safe for
file systems, see :func:`output_name`) into ``out_dir`` and returns one
``RenderedSet(serial, files={(form_key, fmt): Path})`` per rendered context, in input order.
``progress(done, total)`` is called as inspections finish; an inspection whose forms could not
be rendered is left out of the result, logged, and reported to ``on_failure(serial, reason)``.
``workers=None`` uses the available cores (a small batch stays in this process).

Feedback card checkboxes (the contract with the inbox reader)
-------------------------------------------------------------
The card prints each question's answer as ``□是 □否`` (in the .docx that is all: text).  In the
PDF an AcroForm checkbox lies over each □: twenty fields (``/FT /Btn``, field and widget in one
dictionary, no parent), named ``q<n>_yes`` (是) and ``q<n>_no`` (否) for n = 1…10 —
:data:`CHECKBOX_FIELDS`, :func:`checkbox_name`; ``/TU`` is ``第n题：是``.  Unticked: ``/V`` and
``/AS`` are ``/Off``; ticked: ``/on`` (the appearance states are ``/on`` and ``/Off``; read "ticked"
as "anything but /Off", since other PDF editors may write their own on-state name).  pypdf:
``PdfReader(p).get_fields()["q3_no"]["/V"]``; to tick:
``writer.update_page_form_field_values(None, {"q3_no": "/on"}, auto_regenerate=False)``.
Three text fields sit in the empty cells of the lower table: ``head`` (负责人), ``position`` (职务)
and ``phone`` (联系电话) — :data:`TEXT_FIELDS`.  Their /DA names the standard font STSong-Light, which
PDF readers supply, so no CJK font is embedded; ``PdfReader(p).get_fields()["head"]["/V"]`` is what
the enterprise typed.  Everything else on the card is static text.

PDF/A
-----
``pdf_variant="pdf/a-3b"`` (or a-2b, a-3u, a-2u) writes PDF/A for the archive, for all three forms.
The checkboxes survive it: they are added after WeasyPrint (see :mod:`.pdfsplit`) with their own
"on" and "Off" appearance streams, the print flag, and no ``/NeedAppearances`` (which PDF/A
forbids), so the archived card stays fillable.  (WeasyPrint 70's own ``pdf_forms`` would also keep
them under PDF/A but sets ``/NeedAppearances true``.)  The card sent to the enterprise is best a
plain PDF (the default).  Not verified with veraPDF here (not installable offline); the tests
check the PDF/A identification (XMP ``pdfaid``), the output intent, the per-document title in both
the XMP packet and the document information, embedded fonts, and the checkboxes.

Layout notes: GB/T 9704-2012 page and type sizes (see :mod:`.layout`); the card uses 4号/五号 to
fit one page.  The serial label and QR code sit in the top margin of each form's first page.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .batch import FORMATS, RenderedSet, _gc_paused, check_options, render_batch
from .codes import RenderCode, RenderError, render_error
from .docx import compiled_template, render_docx_bytes
from .files import output_name, write_atomic
from .lint import check_templates
from .pdf import CHECKBOX_FIELDS, PDF_VARIANTS, checkbox_name, renderer
from .pdfsplit import TEXT_FIELDS
from .templates import DEFAULT_TEMPLATES_DIR, FORM_KEYS, docx_template, resolve_templates_dir


def _check_form(form_key: str) -> None:
    if form_key not in FORM_KEYS:
        raise render_error(RenderCode.RENDER_FAILED, f"未知文书“{form_key}”，可选：{'、'.join(FORM_KEYS)}。")


def render_docx(form_key: str, ctx: dict[str, Any], out_path: str | Path, *,
                templates_dir: str | Path | None = None) -> Path:
    """One form of one inspection as .docx (same engine as :func:`render_batch`)."""
    _check_form(form_key)
    tdir = resolve_templates_dir(templates_dir)
    path = docx_template(tdir, form_key)
    if not path.is_file():
        raise render_error(RenderCode.TEMPLATE_MISSING, f"找不到模板 {path.name}。", str(path))
    out = Path(out_path)
    write_atomic(out, render_docx_bytes(compiled_template(path), ctx))
    return out


def render_pdf(form_key: str, ctx: dict[str, Any], out_path: str | Path, pdf_variant: str | None = None, *,
               templates_dir: str | Path | None = None) -> Path:
    """One form of one inspection as PDF; ``pdf_variant`` e.g. ``"pdf/a-3b"`` for the archive."""
    _check_form(form_key)
    check_options(("pdf",), pdf_variant)
    with _gc_paused():
        (data,) = renderer(resolve_templates_dir(templates_dir)).render([(form_key, ctx)], pdf_variant)
    out = Path(out_path)
    write_atomic(out, data)
    return out


__all__ = [
    "CHECKBOX_FIELDS", "DEFAULT_TEMPLATES_DIR", "FORMATS", "FORM_KEYS", "PDF_VARIANTS", "RenderCode", "RenderError",
    "RenderedSet", "TEXT_FIELDS", "check_templates", "checkbox_name", "output_name", "render_batch", "render_docx", "render_pdf",
]
