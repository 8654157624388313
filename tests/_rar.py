"""A test-only RAR writer (STORED method, no compression): no RAR creator is installable on Debian,
and the mail tests need archives the way Chinese senders make them.

- ``rar4``: RAR 1.5-4.x, as WinRAR before 5, 好压 and 360压缩 still make them: names in the
  system code page (GBK on Chinese Windows) unless ``utf8=True`` sets the Unicode flag.
- ``rar5``: RAR 5.0, WinRAR's default since 5.0: names are always UTF-8.

``declare`` overrides a member's declared unpacked size (a "bomb" whose headers lie about it).
Read back by ``rarfile`` and by ``lsar``/``unar`` (tests/test_mail_rar.py checks both).
"""

from __future__ import annotations

import struct
import zlib

RAR4_SIGNATURE = b"Rar!\x1a\x07\x00"
RAR5_SIGNATURE = b"Rar!\x1a\x07\x01\x00"
_DOS_TIME = (2025 - 1980) << 25 | 6 << 21 | 12 << 16 | 9 << 11  # 2025-06-12 09:00


def _rar4_block(head_type: int, flags: int, body: bytes) -> bytes:
    rest = struct.pack("<BHH", head_type, flags, 7 + len(body)) + body
    return struct.pack("<H", zlib.crc32(rest) & 0xFFFF) + rest


def rar4(members: list[tuple[str, bytes]], encoding: str = "gbk", utf8: bool = False,
         declare: dict[str, int] | None = None) -> bytes:
    out = RAR4_SIGNATURE + _rar4_block(0x73, 0, b"\0" * 6)
    for name, data in members:
        raw_name = name.replace("/", "\\").encode("utf-8" if utf8 else encoding)
        size = (declare or {}).get(name, len(data))
        flags = 0x8000 | (0x0200 if utf8 else 0) | (0x0100 if size >= 1 << 32 else 0)  # LONG_BLOCK, UNICODE, LARGE
        body = struct.pack("<IIBIIBBHI", len(data), size & 0xFFFFFFFF, 2, zlib.crc32(data), _DOS_TIME, 29, 0x30,
                           len(raw_name), 0x20)  # host Win32, version 2.9, method 0x30 = store, attribute ARCHIVE
        if flags & 0x0100:
            body += struct.pack("<II", 0, size >> 32)
        out += _rar4_block(0x74, flags, body + raw_name) + data
    return out + _rar4_block(0x7B, 0x4000, b"")


def vint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _rar5_block(fields: bytes) -> bytes:
    """A RAR 5 header: CRC32 of (size + fields), size as vint, then the fields (type first)."""
    size = vint(len(fields))
    return struct.pack("<I", zlib.crc32(size + fields)) + size + fields


def rar5(members: list[tuple[str, bytes]], declare: dict[str, int] | None = None) -> bytes:
    out = RAR5_SIGNATURE + _rar5_block(vint(1) + vint(0) + vint(0))  # main header: no flags, no archive flags
    for name, data in members:
        raw_name = name.encode("utf-8")
        size = (declare or {}).get(name, len(data))
        fields = (vint(2) + vint(0x0002) + vint(len(data))  # file header, data area present, its size
                  + vint(0x0004) + vint(size) + vint(0x20)  # file flags: CRC32 present; unpacked size; attributes
                  + struct.pack("<I", zlib.crc32(data))
                  + vint(0) + vint(0)  # compression info: version 0, method 0 (store); host OS Windows
                  + vint(len(raw_name)) + raw_name)
        out += _rar5_block(fields) + data
    return out + _rar5_block(vint(5) + vint(0) + vint(0))  # end of archive
