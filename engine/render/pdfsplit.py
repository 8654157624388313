"""Split one laid-out PDF into one file per document, and finish each file.

WeasyPrint spends ~150 ms of every PDF write on fixed work (subsetting CJK fonts of 65,000
glyphs), whatever the page count, so the engine writes one PDF for many documents and splits it here.
pdfium copies pages with their resources in about a millisecond, but not the catalog: the XMP
metadata and output intent that make a file PDF/A, and the document information.  ``finish``
puts those back with a small incremental update (replaced and new objects, an xref section
chained with /Prev), leaving pdfium's bytes as they are.

The card's answer boxes are printed as text (``□是 □否``).  ``split_pages`` finds each ``□``
followed by 是 or 否 on the pages of the cards it is asked to scan (the renderer derives the
others, see :mod:`.pdf`), and ``finish`` lays an AcroForm checkbox exactly over each: twenty
fields named ``q<n>_yes`` / ``q<n>_no``, each with its own "on" (a check mark) and "Off" (empty)
appearance, so any reader can tick them and no /NeedAppearances is needed (PDF/A forbids it).
This is much cheaper than HTML form inputs in WeasyPrint's layout.
"""

from __future__ import annotations

import io
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape as xml_escape

from ..forms import ANSWER_OPTIONS, NO, YES

if TYPE_CHECKING:  # pypdf and pdfium load only in a process that renders
    import pypdfium2 as pdfium
    from pypdf import PdfReader
    from pypdf.generic import (
        ArrayObject,
        DictionaryObject,
        PdfObject,
    )

_STARTXREF = re.compile(rb"startxref\s+(\d+)\s+%%EOF\s*$")
BOX_CHAR = "□"
_ANSWER = re.compile(BOX_CHAR + "([是否])")
OPTION_SUFFIX = {YES: "yes", NO: "no"}  # the AcroForm names: q3_yes, q3_no


def checkbox_name(question: int, option: str) -> str:
    """``checkbox_name(3, "否")`` → ``"q3_no"`` (question numbers start at 1)."""
    return f"q{question}_{OPTION_SUFFIX[option]}"


@dataclass(frozen=True, slots=True)
class AnswerBox:
    page: int  # page index within the split document
    option: str  # 是 / 否
    rect: tuple[float, float, float, float]  # left, bottom, right, top in PDF units


@dataclass(frozen=True, slots=True)
class TextField:
    """An empty cell the enterprise types into: 负责人, 职务, 联系电话."""

    page: int  # page index within the split document
    name: str  # head / position / phone (TEXT_FIELDS)
    rect: tuple[float, float, float, float]  # left, bottom, right, top in PDF units


# AcroForm names and tooltips of the card's text fields, in the order the card prints them.
TEXT_FIELDS: dict[str, str] = {"head": "负责人", "position": "职务", "phone": "联系电话"}


@dataclass(slots=True)
class SplitDoc:
    data: bytes
    boxes: list[AnswerBox] = field(default_factory=list)
    fields: list[TextField] = field(default_factory=list)


def split_pages(pdf: bytes, ranges: Sequence[range], find_boxes: Sequence[bool] | None = None) -> list[SplitDoc]:
    """One PDF per page range, copied by pdfium (pages, resources); answer boxes where asked."""
    import pypdfium2 as pdfium

    src = pdfium.PdfDocument(pdf)
    out: list[SplitDoc] = []
    try:
        for k, r in enumerate(ranges):
            dst = pdfium.PdfDocument.new()
            try:
                dst.import_pages(src, list(r))
                buf = io.BytesIO()
                dst.save(buf, version=17)
            finally:
                dst.close()
            doc = SplitDoc(buf.getvalue())
            if find_boxes and find_boxes[k]:
                for page_no, index in enumerate(r):
                    doc.boxes += answer_boxes(src[index], page_no)
            out.append(doc)
    finally:
        src.close()
    return out


def answer_boxes(page: pdfium.PdfPage, page_no: int) -> list[AnswerBox]:
    """Every ``□`` directly followed by 是 or 否, in reading order."""
    import pypdfium2.raw as pdfium_c

    tp = page.get_textpage()
    try:
        n = tp.count_chars()
        text = tp.get_text_range(0, n)
        if len(text) != n:  # characters outside the BMP: text offsets differ from char indices
            text = "".join(chr(pdfium_c.FPDFText_GetUnicode(tp.raw, i)) for i in range(n))
        found = []
        for m in _ANSWER.finditer(text):
            left, bottom, right, top = tp.get_charbox(m.start())
            found.append(AnswerBox(page_no, m.group(1), (left, bottom, right, top)))
        return found
    finally:
        tp.close()


@dataclass(slots=True)
class CatalogExtras:
    """What the source PDF's catalog carried that every split document must carry too."""

    info: DictionaryObject = field(default_factory=lambda: _new_dict())
    xmp: bytes | None = None  # XMP metadata packet (PDF/A identification)
    output_intent: DictionaryObject | None = None  # without its /DestOutputProfile
    icc_profile: bytes | None = None
    lang: PdfObject | None = None
    _oi_bytes: bytes | None = None

    def output_intent_bytes(self) -> bytes:
        """The output intent dictionary serialised (once per combined PDF), without its profile."""
        if self._oi_bytes is None:
            assert self.output_intent is not None
            self._oi_bytes = _ser(self.output_intent)
        return self._oi_bytes

    @classmethod
    def from_pdf(cls, pdf: bytes) -> CatalogExtras:
        from pypdf import PdfReader

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


def _new_dict() -> DictionaryObject:
    from pypdf.generic import DictionaryObject

    return DictionaryObject()


def _direct(d: DictionaryObject, skip: str = "") -> DictionaryObject:
    """A copy with every value resolved: references into the source PDF mean nothing in a split file."""
    from pypdf.generic import DictionaryObject, NameObject

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
        from pypdf.generic import NameObject, NumberObject

        trailer[NameObject("/Size")] = NumberObject(self.size)
        trailer[NameObject("/Prev")] = NumberObject(prev)
        return self._with_xref(_ser(trailer))

    def raw_bytes(self, trailer_entries: bytes, prev: int) -> bytes:
        """:meth:`to_bytes` with the trailer's other entries already serialised."""
        return self._with_xref(b"<<" + trailer_entries + b"/Size %d/Prev %d>>" % (self.size, prev))

    def _with_xref(self, trailer: bytes) -> bytes:
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
        while i < len(nums):  # one subsection per run of consecutive object numbers
            j = i
            while j + 1 < len(nums) and nums[j + 1] == nums[j] + 1:
                j += 1
            out += f"{nums[i]} {j - i + 1}\n".encode()
            for n in nums[i:j + 1]:
                out += f"{offsets[n]:010d} 00000 n\r\n".encode()
            i = j + 1
        out += b"trailer\n" + trailer + f"\nstartxref\n{xref_at}\n%%EOF\n".encode()
        return bytes(out)


def _check_mark(w: float, h: float) -> bytes:
    lw = max(0.8, min(w, h) / 8)
    return (f"q 0 G {lw:.2f} w 1 J 1 j {0.18 * w:.2f} {0.52 * h:.2f} m {0.42 * w:.2f} {0.2 * h:.2f} l "
            f"{0.84 * w:.2f} {0.86 * h:.2f} l S Q").encode()


def _widget(q: int, box: AnswerBox, page: int, on: int, off: int) -> bytes:
    """One checkbox (field and widget in one dictionary), written directly: pypdf's generic
    serialisation of twenty of these per card cost more than the rest of the split."""
    x0, y0, x1, y1 = box.rect
    label = f"第{q}题：{box.option}".encode("utf-16-be").hex().upper()
    return (f"<</Type/Annot/Subtype/Widget/FT/Btn/T({checkbox_name(q, box.option)})/TU<FEFF{label}>"
            f"/Rect[{x0 - 0.5:.2f} {y0 - 0.5:.2f} {x1 + 0.5:.2f} {y1 + 0.5:.2f}]/P {page} 0 R/F 4"
            f"/V/Off/AS/Off/MK<</CA(4)>>/AP<</N<</on {on} 0 R/Off {off} 0 R>>>>>>").encode("ascii")


def _add_checkboxes(up: _Update, r: PdfReader, boxes: list[AnswerBox], annots: dict[int, ArrayObject],
                    ) -> ArrayObject:
    """Widgets over the answer boxes, collected per page in ``annots``.  Returns the field references."""
    from pypdf.generic import ArrayObject, IndirectObject

    per_question = [boxes[i:i + 2] for i in range(0, len(boxes), 2)]
    if not boxes or any([b.option for b in pair] != list(ANSWER_OPTIONS) for pair in per_question):
        raise RuntimeError(f"card answer boxes not found as expected ({len(boxes)} boxes)")
    left, bottom, right, top = boxes[0].rect
    w, h = right - left + 1.0, top - bottom + 1.0
    bbox = f"/Type/XObject/Subtype/Form/BBox[0 0 {w:.2f} {h:.2f}]"
    on = up.stream(_check_mark(w, h), bbox)
    off = up.stream(b"", bbox, compress=False)
    fields = ArrayObject()
    for q, pair in enumerate(per_question, 1):
        for box in pair:
            page = r.pages[box.page]
            ref = IndirectObject(up.new(_widget(q, box, page.indirect_reference.idnum, on, off)), 0, r)
            fields.append(ref)
            annots.setdefault(box.page, ArrayObject()).append(ref)
    return fields


# The standard CJK font every reader has (PDF 1.7 §9.10.2 "STSong-Light", Adobe-GB1): a typed name
# shows in it without the PDF carrying a font.  The empty fields' appearances use no font, so the
# unembedded font is an unused resource, which PDF/A exempts from the embedding rule.
_FIELD_FONT = "STSong"
_FIELD_PT = 12
_CJK_FONT = ("<</Type/Font/Subtype/Type0/BaseFont/STSong-Light/Encoding/UniGB-UTF16-H/DescendantFonts["
             "<</Type/Font/Subtype/CIDFontType0/BaseFont/STSong-Light/CIDSystemInfo<</Registry(Adobe)"
             "/Ordering(GB1)/Supplement 4>>/FontDescriptor {desc} 0 R/DW 1000/W[1 95 500]>>]>>")
_CJK_DESCRIPTOR = (b"<</Type/FontDescriptor/FontName/STSong-Light/Flags 6/FontBBox[-25 -254 1000 880]"
                   b"/ItalicAngle 0/Ascent 880/Descent -120/CapHeight 880/StemV 93>>")


def _text_widget(f: TextField, page: int, ap: int) -> bytes:
    x0, y0, x1, y1 = f.rect
    label = TEXT_FIELDS[f.name].encode("utf-16-be").hex().upper()
    return (f"<</Type/Annot/Subtype/Widget/FT/Tx/T({f.name})/TU<FEFF{label}>"
            f"/Rect[{x0:.2f} {y0:.2f} {x1:.2f} {y1:.2f}]/P {page} 0 R/F 4/Q 0"
            f"/DA(/{_FIELD_FONT} {_FIELD_PT} Tf 0 g)/AP<</N {ap} 0 R>>>>").encode("ascii")


def _add_text_fields(up: _Update, r: PdfReader, fields: list[TextField], annots: dict[int, ArrayObject],
                     ) -> tuple[ArrayObject, DictionaryObject]:
    """Empty text fields over the given cells; returns their references and the AcroForm /DR."""
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject

    refs = ArrayObject()
    for f in fields:
        x0, y0, x1, y1 = f.rect
        # An empty field's appearance: the marked-content a reader replaces when text is typed.
        ap = up.stream(b"/Tx BMC EMC", f"/Type/XObject/Subtype/Form/BBox[0 0 {x1 - x0:.2f} {y1 - y0:.2f}]"
                       "/Resources<<>>", compress=False)
        page = r.pages[f.page]
        ref = IndirectObject(up.new(_text_widget(f, page.indirect_reference.idnum, ap)), 0, r)
        refs.append(ref)
        annots.setdefault(f.page, ArrayObject()).append(ref)
    desc = up.new(_CJK_DESCRIPTOR)
    font = up.new(_CJK_FONT.format(desc=desc).encode("ascii"))
    dr = DictionaryObject({NameObject("/Font"): DictionaryObject(
        {NameObject(f"/{_FIELD_FONT}"): IndirectObject(font, 0, r)})})
    return refs, dr


def _set_annots(up: _Update, r: PdfReader, annots: dict[int, ArrayObject]) -> None:
    from pypdf.generic import ArrayObject, DictionaryObject, NameObject

    for page_no, refs in annots.items():
        page = r.pages[page_no]
        d = DictionaryObject({NameObject(k): v for k, v in page.items()})
        d[NameObject("/Annots")] = ArrayObject([*page.get("/Annots", ArrayObject()), *refs])
        up.objects[page.indirect_reference.idnum] = _ser(d)


def finish(doc: SplitDoc, extras: CatalogExtras, title: tuple[str, str] | None = None) -> bytes:
    """Add what pdfium's page copy left out (see the module docstring), plus the answer checkboxes.

    ``title=(placeholder, real)`` puts this document's own title where the combined PDF had the
    placeholder, in the document information and in the XMP packet alike (PDF/A wants them equal).

    pdfium writes a split document the same simple way every time (a catalog holding only /Pages,
    one flat /Kids list, a classic xref table and trailer), which :func:`_finish_fast` reads by
    the table's offsets; anything else goes through pypdf (:func:`_finish_parsed`).  Both add the
    same objects.
    """
    fast = _finish_fast(doc, extras, title)
    return fast if fast is not None else _finish_parsed(doc, extras, title)


def _finish_parsed(doc: SplitDoc, extras: CatalogExtras, title: tuple[str, str] | None) -> bytes:
    from pypdf import PdfReader
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject, TextStringObject

    data = doc.data
    m = _STARTXREF.search(data[-64:])
    if m is None:
        raise ValueError("split PDF without a trailing startxref")
    r = PdfReader(io.BytesIO(data))
    trailer = r.trailer
    root_ref = trailer.raw_get("/Root")
    catalog = DictionaryObject({NameObject(k): v for k, v in trailer["/Root"].items()})
    up = _Update(data, int(trailer["/Size"]))

    if doc.boxes or doc.fields:
        annots: dict[int, ArrayObject] = {}
        fields = _add_checkboxes(up, r, doc.boxes, annots) if doc.boxes else ArrayObject()
        acroform = DictionaryObject()
        if doc.fields:
            texts, dr = _add_text_fields(up, r, doc.fields, annots)
            fields.extend(texts)
            acroform[NameObject("/DR")] = dr
            acroform[NameObject("/DA")] = TextStringObject(f"/{_FIELD_FONT} {_FIELD_PT} Tf 0 g")
        _set_annots(up, r, annots)
        acroform[NameObject("/Fields")] = fields
        catalog[NameObject("/AcroForm")] = acroform
    info = DictionaryObject(extras.info)
    xmp = _retitle(info, extras.xmp, title)
    if xmp is not None:
        num = up.stream(xmp, "/Type/Metadata/Subtype/XML", compress=False)
        catalog[NameObject("/Metadata")] = IndirectObject(num, 0, r)
    if extras.output_intent is not None and extras.icc_profile is not None:
        icc = up.stream(extras.icc_profile, "/N 3")
        oi = DictionaryObject(extras.output_intent)
        oi[NameObject("/DestOutputProfile")] = IndirectObject(icc, 0, r)
        catalog[NameObject("/OutputIntents")] = ArrayObject([IndirectObject(up.new(_ser(oi)), 0, r)])
    if extras.lang is not None:
        catalog[NameObject("/Lang")] = extras.lang
    up.objects[root_ref.idnum] = _ser(catalog)

    new_trailer = DictionaryObject({
        NameObject("/Root"): IndirectObject(root_ref.idnum, 0, r),
        NameObject("/Info"): IndirectObject(up.new(_ser(info)), 0, r),
    })
    if "/ID" in trailer:
        new_trailer[NameObject("/ID")] = trailer["/ID"]
    return up.to_bytes(new_trailer, int(m.group(1)))


# ---- the fast path: pdfium's own layout of a split document, read with byte searches -------------

_TRAILER = re.compile(rb"trailer\s*<<(.*?)>>\s*startxref\s+(\d+)\s+%%EOF\s*$", re.S)
_REF = rb"\s+(\d+)\s+0\s+R"
_KIDS = re.compile(rb"/Kids\s*\[((?:\s*\d+\s+0\s+R)*)\s*\]")
_KID = re.compile(rb"(\d+)\s+0\s+R")
_SIMPLE_CATALOG = re.compile(rb"<<\s*(?:/Pages" + _REF + rb"\s*/Type\s*/Catalog|/Type\s*/Catalog\s*/Pages" + _REF
                             + rb")\s*>>")
_DICT_OBJ = b"<<(?:[^<>]|<[^<>]*>|<<(?:[^<>]|<[^<>]*>)*>>)*>>"  # two levels of nesting: a page's dictionary


_OBJ = re.compile(rb"(\d+)\s+0\s+obj\s*(" + _DICT_OBJ + rb")\s*endobj")
_XREF = re.compile(rb"xref\s+")
_SUBSECTION = re.compile(rb"(\d+) (\d+)\s*?\r?\n")
_ENTRY = re.compile(rb"(\d{10}) \d{5} ([nf])\s{1,2}")


def _offsets(data: bytes, at: int) -> dict[int, int] | None:
    """Object number → offset, from the classic cross-reference table at ``at`` (what pdfium writes)."""
    m = _XREF.match(data, at)
    if m is None:
        return None
    pos, out = m.end(), {}
    while (sub := _SUBSECTION.match(data, pos)) is not None:
        first, pos = int(sub.group(1)), sub.end()
        for k in range(int(sub.group(2))):
            entry = _ENTRY.match(data, pos)
            if entry is None:
                return None
            if entry.group(2) == b"n":
                out[first + k] = int(entry.group(1))
            pos = entry.end()
    return out if data.startswith(b"trailer", pos) else None


def _obj_dict(data: bytes, offsets: dict[int, int], num: int) -> bytes | None:
    """The dictionary of object ``num`` (no stream) where the cross-reference table puts it, or None."""
    at = offsets.get(num)
    m = _OBJ.match(data, at) if at is not None else None
    return m.group(2) if m is not None and int(m.group(1)) == num else None


def _finish_fast(doc: SplitDoc, extras: CatalogExtras, title: tuple[str, str] | None) -> bytes | None:
    data = doc.data
    tail = _TRAILER.search(data, max(0, len(data) - 4096))
    if tail is None or b"/Encrypt" in tail.group(1) or b"/Prev" in tail.group(1):
        return None
    trailer = tail.group(1)
    root, size, ids = (re.search(rb"/Root" + _REF, trailer), re.search(rb"/Size\s+(\d+)", trailer),
                       re.search(rb"/ID\s*(\[[^\]]*\])", trailer))
    offsets = _offsets(data, int(tail.group(2)))
    if root is None or size is None or offsets is None:
        return None
    catalog = _obj_dict(data, offsets, int(root.group(1)))
    simple = _SIMPLE_CATALOG.fullmatch(catalog) if catalog is not None else None
    if simple is None:
        return None
    pages_ref = int(simple.group(1) or simple.group(2))
    pages_dict = _obj_dict(data, offsets, pages_ref)
    kids = _KIDS.search(pages_dict) if pages_dict is not None else None
    if kids is None:
        return None
    pages = [int(k) for k in _KID.findall(kids.group(1))]
    up = _Update(data, int(size.group(1)))
    entries = [b"/Type/Catalog/Pages %d 0 R" % pages_ref]
    if doc.boxes or doc.fields:
        acroform = _acroform_fast(up, data, offsets, pages, doc)
        if acroform is None:
            return None
        entries.append(b"/AcroForm" + acroform)
    info = _info_copy(extras.info)
    xmp = _retitle(info, extras.xmp, title)
    if xmp is not None:
        entries.append(b"/Metadata %d 0 R" % up.stream(xmp, "/Type/Metadata/Subtype/XML", compress=False))
    if extras.output_intent is not None and extras.icc_profile is not None:
        icc = up.stream(extras.icc_profile, "/N 3")
        oi = extras.output_intent_bytes()
        entries.append(b"/OutputIntents[%d 0 R]" % up.new(oi[:-2] + b"/DestOutputProfile %d 0 R>>" % icc))
    if extras.lang is not None:
        entries.append(b"/Lang" + _ser(extras.lang))
    up.objects[int(root.group(1))] = b"<<" + b"".join(entries) + b">>"
    new_trailer = b"/Root %d 0 R/Info %d 0 R" % (int(root.group(1)), up.new(_ser(info)))
    if ids is not None:
        new_trailer += b"/ID" + ids.group(1)
    return up.raw_bytes(new_trailer, int(tail.group(2)))


def _info_copy(d: DictionaryObject) -> DictionaryObject:
    from pypdf.generic import DictionaryObject

    return DictionaryObject(d)


def _acroform_fast(up: _Update, data: bytes, offsets: dict[int, int], pages: list[int], doc: SplitDoc,
                   ) -> bytes | None:
    """The checkboxes and text fields as new objects, the pages' /Annots replaced; the AcroForm dictionary."""
    annots: dict[int, list[int]] = {}
    fields: list[int] = []
    if doc.boxes:
        per_question = [doc.boxes[i:i + 2] for i in range(0, len(doc.boxes), 2)]
        if any([b.option for b in pair] != list(ANSWER_OPTIONS) for pair in per_question):
            raise RuntimeError(f"card answer boxes not found as expected ({len(doc.boxes)} boxes)")
        left, bottom, right, top = doc.boxes[0].rect
        w, h = right - left + 1.0, top - bottom + 1.0
        bbox = f"/Type/XObject/Subtype/Form/BBox[0 0 {w:.2f} {h:.2f}]"
        on = up.stream(_check_mark(w, h), bbox)
        off = up.stream(b"", bbox, compress=False)
        for q, pair in enumerate(per_question, 1):
            for box in pair:
                if box.page >= len(pages):
                    return None
                ref = up.new(_widget(q, box, pages[box.page], on, off))
                fields.append(ref)
                annots.setdefault(box.page, []).append(ref)
    extra = b""
    if doc.fields:
        for f in doc.fields:
            if f.page >= len(pages):
                return None
            x0, y0, x1, y1 = f.rect
            ap = up.stream(b"/Tx BMC EMC", f"/Type/XObject/Subtype/Form/BBox[0 0 {x1 - x0:.2f} {y1 - y0:.2f}]"
                           "/Resources<<>>", compress=False)
            ref = up.new(_text_widget(f, pages[f.page], ap))
            fields.append(ref)
            annots.setdefault(f.page, []).append(ref)
        desc = up.new(_CJK_DESCRIPTOR)
        font = up.new(_CJK_FONT.format(desc=desc).encode("ascii"))
        extra = (f"/DR<</Font<</{_FIELD_FONT} {font} 0 R>>>>/DA(/{_FIELD_FONT} {_FIELD_PT} Tf 0 g)").encode("ascii")
    for page_no, refs in annots.items():
        page = _obj_dict(data, offsets, pages[page_no])
        if page is None or b"/Annots" in page:
            return None  # a page with annotations of its own: pypdf merges them
        up.objects[pages[page_no]] = page[:-2] + b"/Annots[" + b" ".join(b"%d 0 R" % r for r in refs) + b"]>>"
    return b"<</Fields[" + b" ".join(b"%d 0 R" % r for r in fields) + b"]" + extra + b">>"


def _retitle(info: Any, xmp: bytes | None, title: tuple[str, str] | None) -> bytes | None:
    """Put the document's real title where the batch's placeholder stands, in /Info (changed in
    place) and in the XMP packet (returned)."""
    if title is None:
        return xmp
    placeholder, real = title
    if "/Title" in info:
        from pypdf.generic import NameObject, TextStringObject

        info[NameObject("/Title")] = TextStringObject(str(info["/Title"]).replace(placeholder, real))
    if xmp is not None:
        xmp = xmp.replace(placeholder.encode(), xml_escape(real).encode("utf-8"))
    return xmp
