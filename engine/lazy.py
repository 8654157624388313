"""Packages whose public names load on first use (start-up time).

``engine.inbox``, ``engine.archive`` … re-export their submodules' API (``from engine.inbox import
ingest``).  Importing all of those up front made any import of the package — even of one small
module in it, ``engine.inbox.codes`` — load the whole subsystem and its libraries: every CLI
command paid for every other.  A package calls :func:`lazy_package` with ``{name: submodule}``;
the name is imported from its submodule when first read.

A name that is also a submodule's name (``engine.archive.search`` the function, ``search.py``
the module) stays the function after the submodule is imported, as with the eager imports.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any


class LazyPackage(types.ModuleType):
    _lazy_exports: dict[str, str]

    def __getattr__(self, name: str) -> Any:
        module = self.__dict__.get("_lazy_exports", {}).get(name)
        if module is None:
            raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{self.__name__}.{module}"), name)
        super().__setattr__(name, value)
        return value

    def __setattr__(self, name: str, value: Any) -> None:
        # The import system binds a loaded submodule on its package: keep the same-named export.
        if isinstance(value, types.ModuleType) and self.__dict__.get("_lazy_exports", {}).get(name) == name:
            value = getattr(value, name)
        super().__setattr__(name, value)

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(self.__dict__.get("_lazy_exports", {})))


def lazy_package(package: str, exports: dict[str, str]) -> list[str]:
    """Make ``package`` (its ``__name__``) load ``exports`` ({name: submodule}) on first use; returns
    its ``__all__``."""
    module = sys.modules[package]
    module.__class__ = LazyPackage
    module.__dict__["_lazy_exports"] = dict(exports)
    return sorted(exports)
