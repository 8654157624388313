"""Split one laid-out PDF into one file per document, keeping forms and PDF/A metadata.

WeasyPrint spends most of a small PDF's write time subsetting the CJK fonts (tens of ms per
face, whatever the page count), so the engine writes one PDF for many documents and splits it.
pdfium copies pages with their resources and widget annotations in about a millisecond, but
not the catalog: the AcroForm (the card's checkboxes), the XMP metadata and output intent that
make a file PDF/A, and the document information.  ``finish`` puts those back with a small
incremental update (a new catalog, new objects, an xref section chained with /Prev), which
leaves pdfium's bytes untouched and costs about a millisecond more.
"""

from __future__ import annotations

import io
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import pypdfium2 as pdfium
from pypdf import PdfReader
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    IndirectObject,
    NameObject,
    NumberObject,
    PdfObject,
)

_STARTXREF = re.compile(rb"startxref\s+(\d+)\s+%%EOF\s*$")


def split_pages(pdf: bytes, ranges: Sequence[range]) -> list[bytes]:
    """One PDF per page range, copied by pdfium (pages, resources, annotations)."""
    src = pdfium.PdfDocument(pdf)
    out: list[bytes] = []
    try:
        for r in ranges:
            dst = pdfium.PdfDocument.new()
            try:
                dst.import_pages(src, list(r))
                buf = io.BytesIO()
                dst.save(buf, version=17)
                out.append(buf.getvalue())
            finally:
                dst.close()
    finally:
        src.close()
    return out


@dataclass(slots=True)
class CatalogExtras:
    """What the source PDF's catalog carried that every split document must carry too."""

    info: DictionaryObject = field(default_factory=DictionaryObject)
    xmp: bytes | None = None  # XMP metadata packet (PDF/A identification)
    output_intent: DictionaryObject | None = None  # without its /DestOutputProfile
    icc_profile: bytes | None = None
    lang: PdfObject | None = None

    @classmethod
    def from_pdf(cls, pdf: bytes) -> CatalogExtras:
        r = PdfReader(io.BytesIO(pdf))
        root = r.trailer["/Root"]
        ex = cls()
        info = r.trailer.get("/Info")
        if info is not None:
            ex.info = _direct(info.get_object())
        if "/Metadata" in root:
            ex.xmp = root["/Metadata"].get_object().get_data()
        if "/OutputIntents" in root and len(root["/OutputIntents"]):
            oi = root["/OutputIntents"][0].get_object()
            ex.icc_profile = oi["/DestOutputProfile"].get_object().get_data()
            ex.output_intent = _direct(oi, skip="/DestOutputProfile")
        if "/Lang" in root:
            ex.lang = root["/Lang"].get_object()
        return ex


def _direct(d: DictionaryObject, skip: str = "") -> DictionaryObject:
    """A copy with every value resolved: references into the source PDF mean nothing in a split file."""
    return DictionaryObject({NameObject(k): v.get_object() for k, v in d.items() if k != skip})


def _ser(obj: PdfObject) -> bytes:
    buf = io.BytesIO()
    obj.write_to_stream(buf)
    return buf.getvalue()


class _Update:
    """An incremental update: replaced and new objects, then an xref section and a trailer."""

    def __init__(self, base: bytes, size: int):
        self.base = base
        self.size = size
        self.objects: dict[int, bytes] = {}

    def new(self, body: bytes) -> int:
        num = self.size
        self.size += 1
        self.objects[num] = body
        return num

    def stream(self, data: bytes, extra: str = "", compress: bool = True) -> int:
        if compress:
            data = zlib.compress(data)
            extra += "/Filter/FlateDecode"
        head = f"<<{extra}/Length {len(data)}>>\nstream\n".encode()
        return self.new(head + data + b"\nendstream")

    def to_bytes(self, trailer: DictionaryObject, prev: int) -> bytes:
        out = bytearray(self.base)
        if not out.endswith(b"\n"):
            out += b"\n"
        offsets: dict[int, int] = {}
        for num in sorted(self.objects):
            offsets[num] = len(out)
            out += f"{num} 0 obj\n".encode() + self.objects[num] + b"\nendobj\n"
        xref_at = len(out)
        out += b"xref\n"
        nums = sorted(offsets)
        i = 0
        while i < len(nums):  # contiguous subsections
            j = i
            while j + 1 < len(nums) and nums[j + 1] == nums[j] + 1:
                j += 1
            out += f"{nums[i]} {j - i + 1}\n".encode()
            for n in nums[i:j + 1]:
                out += f"{offsets[n]:010d} 00000 n\r\n".encode()
            i = j + 1
        trailer[NameObject("/Size")] = NumberObject(self.size)
        trailer[NameObject("/Prev")] = NumberObject(prev)
        out += b"trailer\n" + _ser(trailer) + f"\nstartxref\n{xref_at}\n%%EOF\n".encode()
        return bytes(out)


def finish(doc: bytes, extras: CatalogExtras, acroform: bool) -> bytes:
    """Add the catalog entries pdfium's page copy left out (see the module docstring)."""
    m = _STARTXREF.search(doc[-64:])
    if m is None:
        raise ValueError("split PDF without a trailing startxref")
    prev = int(m.group(1))
    r = PdfReader(io.BytesIO(doc))
    trailer = r.trailer
    root_ref = trailer.raw_get("/Root")
    catalog = DictionaryObject({NameObject(k): v for k, v in r.trailer["/Root"].items()})
    up = _Update(doc, int(trailer["/Size"]))

    if acroform:
        widgets = ArrayObject()
        for page in r.pages:
            for ref in list.__iter__(page.get_object().get("/Annots", ArrayObject())):  # raw refs
                if isinstance(ref, IndirectObject) and ref.get_object().get("/FT") is not None:
                    widgets.append(IndirectObject(ref.idnum, ref.generation, r))
        if widgets:
            # No /NeedAppearances: every widget carries its own appearance (PDF/A forbids the flag).
            num = up.new(_ser(DictionaryObject({NameObject("/Fields"): widgets})))
            catalog[NameObject("/AcroForm")] = IndirectObject(num, 0, r)
    if extras.xmp is not None:
        num = up.stream(extras.xmp, "/Type/Metadata/Subtype/XML", compress=False)
        catalog[NameObject("/Metadata")] = IndirectObject(num, 0, r)
    if extras.output_intent is not None and extras.icc_profile is not None:
        icc = up.stream(extras.icc_profile, "/N 3")
        oi = DictionaryObject(extras.output_intent)
        oi[NameObject("/DestOutputProfile")] = IndirectObject(icc, 0, r)
        num = up.new(_ser(oi))
        catalog[NameObject("/OutputIntents")] = ArrayObject([IndirectObject(num, 0, r)])
    if extras.lang is not None:
        catalog[NameObject("/Lang")] = extras.lang
    up.objects[root_ref.idnum] = _ser(catalog)

    new_trailer = DictionaryObject({NameObject("/Root"): IndirectObject(root_ref.idnum, 0, r)})
    info_num = up.new(_ser(extras.info))
    new_trailer[NameObject("/Info")] = IndirectObject(info_num, 0, r)
    if "/ID" in trailer:
        new_trailer[NameObject("/ID")] = trailer["/ID"]
    return up.to_bytes(new_trailer, prev)
