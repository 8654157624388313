"""The site's pages, one module each: ``engine/web/routes/<page>.py`` defines ``router`` (an
``APIRouter``) and, when the page belongs in the menu, ``NAV`` (a ``render.NavItem``).

``PAGES`` lists them in menu order; every one ships with the engine, so a missing one is an error,
never a page quietly left out.
"""

from __future__ import annotations

import importlib
from types import ModuleType

PAGES = ("auth", "account", "home", "generate", "inbox", "pending", "review", "archive", "stats", "files")


def load() -> list[ModuleType]:
    return [importlib.import_module(f"{__name__}.{name}") for name in PAGES]
