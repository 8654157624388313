"""The one pixel limit for pictures (returned scans and photos), and Pillow loaded with it.

A leaf module: the inbox's preflight, the readers and the archive's ``verify --deep`` all decode
images under the same decompression-bomb limit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from types import ModuleType

# An A4 page at 600 dpi is 35 MP; Pillow refuses larger images itself (DecompressionBombError).
MAX_PIXELS = 80_000_000


def pillow() -> ModuleType:
    """``PIL.Image`` with ``MAX_PIXELS`` (Pillow loads only in a process that decodes images)."""
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    return Image
