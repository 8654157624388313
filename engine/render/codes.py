"""Stable codes of the render layer's findings, and the exception that carries one."""

from __future__ import annotations

from enum import StrEnum

from ..findings import Finding, RuqiError, error


class RenderCode(StrEnum):
    TEMPLATE_MISSING = "TEMPLATE_MISSING"  # a template file is not there or not a .docx
    TEMPLATE_SYNTAX = "TEMPLATE_SYNTAX"  # Jinja cannot parse a tag
    TEMPLATE_SPLIT_TAG = "TEMPLATE_SPLIT_TAG"  # Word split one tag over several runs
    TEMPLATE_UNKNOWN_VAR = "TEMPLATE_UNKNOWN_VAR"  # a tag names a value the context does not have
    TEMPLATE_NO_QR = "TEMPLATE_NO_QR"  # the QR picture (alt text ruqi:qr) was deleted
    TEMPLATE_DRIFT = "TEMPLATE_DRIFT"  # the .docx and the .html of one form print different words
    RENDER_FAILED = "RENDER_FAILED"
    BAD_PDF_VARIANT = "BAD_PDF_VARIANT"
    BAD_FORMAT = "BAD_FORMAT"
    GLYPH_MISSING = "GLYPH_MISSING"  # a character no installed font has: an empty box in the PDF


class RenderError(RuqiError):
    """A render that cannot go on; ``.finding`` says why in Chinese."""

    def __init__(self, finding: Finding):
        super().__init__(finding)


def render_error(code: RenderCode, message: str, where: str = "") -> RenderError:
    return RenderError(error(code, message, where))
