"""Render many inspections: chunks of inspections, laid out together, over worker processes.

A chunk of K inspections becomes, per form, one WeasyPrint layout and write split into K PDFs
(see :mod:`.pdf`) and K docx renders from the prepared template (see :mod:`.docx`).  Chunks
run in ``workers`` processes (spawned, so a caller's threads — a progress bar — never meet a
fork); a batch too small to pay for process start-up runs in this process.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from .codes import RenderCode, render_error
from .docx import compiled_template, render_docx_bytes
from .files import output_name, write_atomic
from .pdf import PDF_VARIANTS, renderer
from .templates import FORM_KEYS, docx_template, resolve_templates_dir

log = logging.getLogger("ruqi.render")

FORMATS = ("docx", "pdf")
MAX_CHUNK = 20  # documents laid out together: the font-subsetting cost is shared, memory stays ~150 MB
MIN_PER_WORKER = 4  # below this many inspections per extra process, start-up costs more than it saves

Progress = Callable[[int, int], None]  # (inspections done, total)


@dataclass(slots=True)
class RenderedSet:
    """The files written for one inspection: ``files[("card", "pdf")]`` → path."""

    serial: str
    files: dict[tuple[str, str], Path] = field(default_factory=dict)


@dataclass(slots=True)
class ChunkResult:
    sets: list[RenderedSet]
    failures: list[tuple[str, str]]  # (serial, reason)


def check_options(formats: Sequence[str], pdf_variant: str | None) -> None:
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise render_error(RenderCode.BAD_FORMAT, f"输出格式只能是 docx 或 pdf（现为 {'、'.join(formats) or '空'}）。")
    if pdf_variant is not None and pdf_variant not in PDF_VARIANTS:
        raise render_error(RenderCode.BAD_PDF_VARIANT,
                           f"不支持的 PDF 版本“{pdf_variant}”，可选：{'、'.join(PDF_VARIANTS)}。")


def render_chunk(contexts: Sequence[dict[str, Any]], out_dir: Path, formats: Sequence[str],
                 pdf_variant: str | None, templates_dir: Path) -> list[RenderedSet]:
    """Every form of every context in both formats; raises on the first failure."""
    sets = [RenderedSet(ctx["serial"]) for ctx in contexts]
    for form_key in FORM_KEYS:
        if "docx" in formats:
            compiled = compiled_template(docx_template(templates_dir, form_key))
            for rs, ctx in zip(sets, contexts, strict=True):
                path = out_dir / output_name(ctx["serial"], ctx["v"]["enterprise"], form_key, "docx")
                write_atomic(path, render_docx_bytes(compiled, ctx))
                rs.files[(form_key, "docx")] = path
        if "pdf" in formats:
            pdfs = renderer(templates_dir).render(form_key, contexts, pdf_variant)
            for rs, ctx, data in zip(sets, contexts, pdfs, strict=True):
                path = out_dir / output_name(ctx["serial"], ctx["v"]["enterprise"], form_key, "pdf")
                write_atomic(path, data)
                rs.files[(form_key, "pdf")] = path
    return sets


def _run_chunk(contexts: list[dict[str, Any]], out_dir: Path, formats: tuple[str, ...],
               pdf_variant: str | None, templates_dir: Path) -> ChunkResult:
    """A chunk, falling back to one inspection at a time so one bad value spoils only its own forms."""
    try:
        return ChunkResult(render_chunk(contexts, out_dir, formats, pdf_variant, templates_dir), [])
    except Exception:  # noqa: BLE001 - any failure: retry singly below, report per inspection
        if len(contexts) == 1:
            log.exception("render failed for %s", contexts[0].get("serial"))
            return ChunkResult([], [(contexts[0].get("serial", ""), _last_error())])
    result = ChunkResult([], [])
    for ctx in contexts:
        one = _run_chunk([ctx], out_dir, formats, pdf_variant, templates_dir)
        result.sets += one.sets
        result.failures += one.failures
    return result


def _last_error() -> str:
    import sys

    e = sys.exc_info()[1]
    return f"{type(e).__name__}: {e}" if e else "unknown error"


def _init_worker() -> None:
    # Quiet WeasyPrint's per-document warnings in workers; errors still reach the parent.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)


def default_workers(n: int) -> int:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(cores, n // MIN_PER_WORKER))


def chunk_size(n: int, workers: int) -> int:
    # At least ~3 chunks per worker so a slow chunk does not leave a core idle at the end.
    return max(1, min(MAX_CHUNK, math.ceil(n / (3 * workers))))


def render_batch(
    contexts: Sequence[dict[str, Any]],
    out_dir: Path,
    formats: Sequence[str] = FORMATS,
    workers: int | None = None,
    *,
    pdf_variant: str | None = None,
    templates_dir: Path | None = None,
    progress: Progress | None = None,
    on_failure: Callable[[str, str], None] | None = None,
) -> list[RenderedSet]:
    """Render the three forms for every context; see the package docstring."""
    formats = tuple(formats)
    check_options(formats, pdf_variant)
    tdir = resolve_templates_dir(templates_dir).resolve()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    n = len(contexts)
    if n == 0:
        return []
    workers = default_workers(n) if workers is None else max(1, workers)
    size = chunk_size(n, workers)
    chunks = [list(contexts[i:i + size]) for i in range(0, n, size)]
    done = 0
    by_serial: dict[str, RenderedSet] = {}
    failures: list[tuple[str, str]] = []

    def collect(res: ChunkResult) -> None:
        nonlocal done
        for rs in res.sets:
            by_serial[rs.serial] = rs
        failures.extend(res.failures)
        done += len(res.sets) + len(res.failures)
        if progress:
            progress(done, n)

    if progress:
        progress(0, n)
    if workers == 1 or len(chunks) == 1:
        for chunk in chunks:
            collect(_run_chunk(chunk, out_dir, formats, pdf_variant, tdir))
    else:
        with ProcessPoolExecutor(max_workers=min(workers, len(chunks)), mp_context=get_context("spawn"),
                                 initializer=_init_worker) as pool:
            pending: set[Future[ChunkResult]] = {
                pool.submit(_run_chunk, chunk, out_dir, formats, pdf_variant, tdir) for chunk in chunks}
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in finished:
                    collect(fut.result())
    for serial, reason in failures:
        log.error("inspection %s not rendered: %s", serial, reason)
        if on_failure:
            on_failure(serial, reason)
    return [by_serial[c["serial"]] for c in contexts if c["serial"] in by_serial]
