"""The site's pages, one module each: ``engine/web/routes/<page>.py`` defines ``router`` (an
``APIRouter``) and, when the page belongs in the menu, ``NAV`` (a ``render.NavItem``).

``PAGES`` lists them in menu order; a module not written yet is skipped, so a page is added by
writing its module (its name is already here) and its templates.
"""

from __future__ import annotations

import importlib
from types import ModuleType

PAGES = ("auth", "account", "home", "generate", "inbox", "pending", "review", "archive", "stats", "files")


def load() -> list[ModuleType]:
    out = []
    for name in PAGES:
        try:
            out.append(importlib.import_module(f"{__name__}.{name}"))
        except ModuleNotFoundError as e:
            if e.name != f"{__name__}.{name}":
                raise
    return out
