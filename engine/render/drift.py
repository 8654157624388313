"""Do the Word and the PDF version of a form print the same words?

A clerk may edit ``templates/card.docx`` in Word; the PDF comes from ``card.html``, so a line
typed into one of them only (a duty phone) silently makes the two versions of one official
document differ.  Both templates are rendered here with the same sample inspection and their
visible text compared character by character (white space ignored: the two lay lines out
differently).  Every difference is an error that names the template, the paragraph and the
fix: words both versions must print belong in ``ruqi.toml`` ``[texts]``, which both read.
"""

from __future__ import annotations

import difflib
import io
import re
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..findings import Finding, error, exception_detail
from .codes import RenderCode
from .docx import compiled_template, render_docx_bytes
from .pdf import renderer
from .sample import TEXTS_PLACEHOLDER
from .templates import docx_template, html_template_name

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_BLANK = re.compile(r"\s+")
_SHOWN = 24  # characters of a differing passage quoted in a message


@dataclass(slots=True)
class VisibleText:
    """A document's printed characters (no white space) and which paragraph each comes from."""

    text: str
    where: list[str]  # one label per character

    @classmethod
    def of(cls, paragraphs: list[tuple[str, str]]) -> VisibleText:
        chars, where = [], []
        for label, text in paragraphs:
            squeezed = _BLANK.sub("", text)
            chars.append(squeezed)
            where += [label] * len(squeezed)
        return cls("".join(chars), where)


def docx_paragraphs(data: bytes, name: str) -> list[tuple[str, str]]:
    """``[(where, text)]``: header paragraphs, then body paragraphs (table cells included)."""
    paragraphs: list[tuple[str, str]] = []
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        parts = sorted(n for n in z.namelist() if re.fullmatch(r"word/header\d*\.xml", n))
        for part in [*parts, "word/document.xml"]:
            label = "页眉" if "header" in part else "正文"
            root = ET.fromstring(z.read(part))
            for n, p in enumerate(root.iter(f"{W}p"), 1):
                paragraphs.append((f"{name} {label}第{n}段", _paragraph_text(p)))
    return paragraphs


def _paragraph_text(p: ET.Element) -> str:
    out = []
    for el in p.iter():
        if el.tag == f"{W}t":
            out.append(el.text or "")
        elif el.tag in (f"{W}noBreakHyphen", f"{W}softHyphen"):
            out.append("-" if el.tag == f"{W}noBreakHyphen" else "")
    return "".join(out)


def html_visible_text(fragment: str, name: str) -> VisibleText:
    root = ET.fromstring(f"<div>{fragment}</div>")
    return VisibleText.of([(name, "".join(root.itertext()))])


def compare(word: VisibleText, pdf: VisibleText, docx_name: str, html_name: str,
            template: list[tuple[str, str]] | None = None) -> list[Finding]:
    """One error per differing passage.  ``template`` (the .docx's own paragraphs) lets a message
    name the paragraph of the template a clerk edited rather than of the rendered document."""
    out = []
    for a0, a1, b0, b1 in _passages(word.text, pdf.text):
        op = "insert" if a0 == a1 else "delete" if b0 == b1 else "replace"
        if op == "insert":  # only the HTML prints it: that is the file to fix
            where = html_name
        else:
            where = _locate(word.text[a0:a1], template) or (word.where[min(a0, len(word.where) - 1)] if word.where
                                                              else docx_name)
        extra_w, extra_p = _quote(word.text[a0:a1]), _quote(pdf.text[b0:b1])
        before = _before(word.text, a0)
        context = f"（前文：“{before}”）" if before else ""
        if op == "delete":
            said = f"Word 版有“{extra_w}”，PDF 版（{html_name}）没有"
        elif op == "insert":
            said = f"PDF 版（{html_name}）有“{extra_p}”，Word 版没有"
        else:
            said = f"Word 版印“{extra_w}”，PDF 版（{html_name}）印“{extra_p}”"
        out.append(error(
            RenderCode.TEMPLATE_DRIFT,
            f"{where}：{said}{context}。Word 版和 PDF 版必须印出相同的文字，"
            f"否则不能生成文书。要加的文字（如值班电话）请写进工作目录 ruqi.toml 的 [texts] 中（两个版本都会印出），"
            f"并把 {docx_name} 恢复原样（可从程序自带的 templates/ 复制）。",
            where))
    return out


def _passages(a: str, b: str, join: int = 8) -> list[tuple[int, int, int, int]]:
    """Differing passages ``(a0, a1, b0, b1)``; differences fewer than ``join`` equal characters
    apart are one passage (a retyped phone number is one change, not three)."""
    out: list[tuple[int, int, int, int]] = []
    for op, a0, a1, b0, b1 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            continue
        if out and a0 - out[-1][1] < join and b0 - out[-1][3] < join:
            out[-1] = (out[-1][0], a1, out[-1][2], b1)
        else:
            out.append((a0, a1, b0, b1))
    return out


def _locate(passage: str, template: list[tuple[str, str]] | None) -> str:
    """The template paragraph holding a passage typed into it literally ('' if none does)."""
    probe = passage[:8]
    if not probe or not template:
        return ""
    return next((where for where, text in template if probe in _BLANK.sub("", text)), "")


def _before(text: str, at: int) -> str:
    """The words printed before a passage, as a place to find it: never the placeholder the check
    fills in for the clerk's [texts] lines, which the clerk has not typed and will not find."""
    return text[:at].replace(_BLANK.sub("", TEXTS_PLACEHOLDER), "")[-12:]


def _quote(text: str) -> str:
    return text if len(text) <= _SHOWN else text[:_SHOWN] + "…"


def check_drift(templates_dir: Path, form_key: str, sample: dict[str, Any]) -> list[Finding]:
    """Findings where ``<form>.docx`` and ``<form>.html`` print different words for ``sample``.

    Call only for templates without syntax errors (they cannot be rendered)."""
    docx_path = docx_template(templates_dir, form_key)
    html_name = html_template_name(form_key)
    word = VisibleText.of(docx_paragraphs(render_docx_bytes(compiled_template(docx_path), sample), docx_path.name))
    try:
        pdf = html_visible_text(renderer(templates_dir).fragment(form_key, sample), html_name)
    except ET.ParseError as e:
        line, column = e.position
        return [error(RenderCode.TEMPLATE_SYNTAX, f"{html_name} 不是格式良好的 XHTML（第{line}行第{column}列附近：标签没有配对，"
                      "或“&”“<”没有写成 &amp; &lt;）。", html_name, detail=exception_detail(e))]
    return compare(word, pdf, docx_path.name, html_name, docx_paragraphs(docx_path.read_bytes(), docx_path.name))
