"""Where the templates live and which file belongs to which form."""

from __future__ import annotations

from pathlib import Path

from ..forms import FormKey

# templates/ at the repository root (the package is installed in editable mode by set-up).
DEFAULT_TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates"

FORM_KEYS: tuple[FormKey, ...] = tuple(FormKey)  # notice, notice_board, card
CSS_NAME = "forms.css"


def docx_template(templates_dir: Path, form_key: str) -> Path:
    return templates_dir / f"{form_key}.docx"


def html_template_name(form_key: str) -> str:
    return f"{form_key}.html"


def resolve_templates_dir(templates_dir: str | Path | None = None) -> Path:
    return Path(templates_dir) if templates_dir is not None else DEFAULT_TEMPLATES_DIR
