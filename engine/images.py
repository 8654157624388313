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


# HEIC/HEIF (a phone's default photo format): ``ftyp`` box at offset 4 with one of these brands.
HEIF_BRANDS = frozenset({b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"})


def is_heif(head: bytes) -> bool:
    return head[4:8] == b"ftyp" and head[8:12] in HEIF_BRANDS


def pillow() -> ModuleType:
    """``PIL.Image`` with ``MAX_PIXELS`` and HEIC support (Pillow loads only in a process that
    decodes images)."""
    from PIL import Image
    from pillow_heif import register_heif_opener  # a dependency (pyproject.toml): phones' HEIC photos

    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    register_heif_opener()
    return Image
