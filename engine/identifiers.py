"""Identifiers: 统一社会信用代码 (GB 32100-2015), inspection serials and their signed QR payload."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from string import ascii_letters

from .findings import Finding, error
from .text import halfwidth

USCC_INVALID = "USCC_INVALID"


def normalize_uscc(text: str) -> str:
    # Clerks paste codes with spaces, full-width letters/digits or lower case.
    t = halfwidth(str(text or "").strip(), ascii_letters).upper()
    return re.sub(r"[\s\-]", "", t)


def check_uscc(text: str, where: str = "") -> Finding | None:
    """None when valid, else a finding that tells the clerk what exactly is wrong."""
    # python-stdnum loads where a code is checked, not in every command that reads a serial (start-up).
    from stdnum import exceptions as bad
    from stdnum.cn import uscc as _uscc

    code = normalize_uscc(text)
    if not code:
        return error(USCC_INVALID, "统一社会信用代码为空，请填写18位代码。", where)
    try:
        _uscc.validate(code)
    except bad.InvalidLength:
        return error(USCC_INVALID, f"统一社会信用代码“{code}”应为18位，实际为{len(code)}位。", where)
    except bad.InvalidChecksum:
        right = _uscc.calc_check_digit(code[:17])
        return error(
            USCC_INVALID,
            f"统一社会信用代码“{code}”校验位错误：按前17位计算，第18位应为“{right}”，请核对营业执照。",
            where,
        )
    except (bad.InvalidFormat, bad.InvalidComponent, bad.ValidationError):
        return error(
            USCC_INVALID,
            f"统一社会信用代码“{code}”格式不对：只能含数字和大写字母（不含I、O、Z、S、V），请核对营业执照。",
            where,
        )
    return None


def make_uscc(body17: str) -> str:
    """Complete 17 characters with their check character (used to build sample registries)."""
    from stdnum.cn import uscc as _uscc

    return body17 + _uscc.calc_check_digit(body17)


# ---- inspection serials ------------------------------------------------------------------

SERIAL_RE = re.compile(r"\b(\d{6})-(\d{4})-(\d{4,6})\b")


@dataclass(frozen=True, slots=True)
class Serial:
    division_code: str
    year: int
    seq: int

    def __str__(self) -> str:
        return f"{self.division_code}-{self.year}-{self.seq:04d}"

    @classmethod
    def parse(cls, text: str) -> Serial | None:
        m = SERIAL_RE.search(text or "")
        if not m:
            return None
        return cls(m.group(1), int(m.group(2)), int(m.group(3)))


# ---- signed QR payload ---------------------------------------------------------------------
# Payload: RUQI1|<serial>|<uscc>|<sig>; sig = first 80 bits of HMAC-SHA256 in base32.
# 16 base32 characters keep the QR small enough to scan from a phone photo of a printed card.

QR_PREFIX = "RUQI1"


def sign(key: bytes, serial: str, uscc: str) -> str:
    mac = hmac.new(key, f"{serial}|{uscc}".encode(), hashlib.sha256).digest()[:10]
    return base64.b32encode(mac).decode().rstrip("=")


def qr_payload(key: bytes, serial: str, uscc: str) -> str:
    return f"{QR_PREFIX}|{serial}|{uscc}|{sign(key, serial, uscc)}"


@dataclass(frozen=True, slots=True)
class QrContent:
    serial: str
    uscc: str
    signature: str
    valid: bool


def parse_qr(key: bytes, payload: str) -> QrContent | None:
    parts = (payload or "").strip().split("|")
    if len(parts) != 4 or parts[0] != QR_PREFIX:
        return None
    _, serial, uscc, sig = parts
    return QrContent(serial, uscc, sig, hmac.compare_digest(sig, sign(key, serial, uscc)))
