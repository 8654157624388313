"""Paper cards as they come back: printed, ticked with a pen, scanned or photographed (``engine.simulate_scan``).

``scan_corpus`` makes a small varied set once per session (a few dozen files, each with its ground
truth): every mark people use, every ambiguous row, every degradation the issue names, cards printed
from our PDF and from the Word version (when LibreOffice is installed). The reader's tests
(``tests/test_scan_*.py``) check the reader against it: every ambiguous row goes to a person naming
the question, every clear card is filed with the right answers, no wrong answer is ever filed.

The cards are the inbox kit's (``_inbox_fixtures.kit``): serials 0001 and 0002 of ``new_workspace``,
signed with ``KIT_KEY``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from _inbox_fixtures import SOFFICE, kit, to_pdf_with_libreoffice

from engine.simulate_scan import (
    PENS,
    Ambiguity,
    Capture,
    CardPlan,
    FileTruth,
    Fmt,
    Mark,
    Printed,
    make_file,
    plan_card,
)


@dataclass(frozen=True)
class Spec:
    """One file of the corpus: which printed cards (one per page), how they were marked, how captured."""

    name: str
    cap: Capture
    cards: tuple[str, ...] = ("pdf0",)  # keys of ``printed_cards``
    marks: tuple[Mark, ...] = (Mark.TICK,)
    ambiguous: dict[int, Ambiguity] = field(default_factory=dict)  # on the first card
    pen: int | None = None  # index into PENS; None: the seed chooses
    yes: tuple[int, ...] = ()  # questions answered 是 on the first card (others 否)
    spoil_qr: bool = False  # the first card's QR scribbled over


def _specs() -> list[Spec]:
    scan200 = Capture(dpi=200, noise=2)
    specs = [Spec("clean-200.png", Capture(dpi=200), pen=0, yes=(3,))]
    # every mark, as one person's habit on a whole card
    for i, m in enumerate(Mark):
        specs.append(Spec(f"mark-{m}.png", replace(scan200, skew=(-1) ** i * 1.5), marks=(m,), pen=i % len(PENS),
                          yes=(i % 10 + 1,)))
    specs.append(Spec("mark-mixed.jpg", replace(scan200, fmt=Fmt.JPEG, quality=80), marks=tuple(Mark), yes=(2, 9)))
    # every ambiguous row (and two on one card)
    for i, a in enumerate(Ambiguity):
        specs.append(Spec(f"ambiguous-{a}.png", replace(scan200, skew=2.5), ambiguous={2 * i + 2: a}, pen=i))
    specs.append(Spec("ambiguous-two.jpg", replace(scan200, fmt=Fmt.JPEG), ambiguous={1: Ambiguity.BOTH,
                                                                                      10: Ambiguity.CORRECTED}))
    # scanners: skew, noise, blur, JPEG, gray, bilevel Group 4, 150–600 dpi, quarter turns, EXIF, PDF
    specs += [
        Spec("skew+10.png", Capture(dpi=200, skew=10.0, noise=3), yes=(5,)),
        Spec("skew-10.jpg", Capture(dpi=200, skew=-10.0, fmt=Fmt.JPEG, quality=75)),
        Spec("150dpi-gray-q60.jpg", Capture(dpi=150, gray=True, fmt=Fmt.JPEG, quality=60, noise=4, blur=0.6)),
        Spec("600dpi.png", Capture(dpi=600, skew=0.8, gray=True), yes=(10,)),
        Spec("noisy-blurred.png", Capture(dpi=200, noise=9, blur=1.1, skew=-3)),
        Spec("fax-g4-200.tif", Capture(dpi=200, fmt=Fmt.TIFF_G4, skew=1.2), marks=(Mark.TICK, Mark.CROSS), yes=(1,)),
        Spec("fax-g4-300-skew.tif", Capture(dpi=300, fmt=Fmt.TIFF_G4, skew=-4, noise=5), marks=(Mark.FILL,)),
        Spec("fax-g4-ambiguous.tif", Capture(dpi=200, fmt=Fmt.TIFF_G4), ambiguous={6: Ambiguity.BOTH}),
        Spec("turned-90.png", Capture(dpi=200, turns=1, skew=2), yes=(7,)),
        Spec("upside-down.png", Capture(dpi=200, turns=2)),
        Spec("turned-270.jpg", Capture(dpi=250, turns=3, fmt=Fmt.JPEG)),
        Spec("exif-90.jpg", Capture(dpi=200, turns=1, exif=True, fmt=Fmt.JPEG), yes=(4,)),
        Spec("exif-270.jpg", Capture(dpi=200, turns=3, exif=True, fmt=Fmt.JPEG)),
        Spec("scan-to-pdf-upside-down.pdf", Capture(dpi=200, turns=2, fmt=Fmt.PDF, gray=True), yes=(8,)),
        Spec("scan-to-pdf-3-cards.pdf", Capture(dpi=200, fmt=Fmt.PDF, skew=-2), cards=("pdf0", "pdf1", "pdf1"),
             ambiguous={9: Ambiguity.NONE}),
        # phones: perspective, uneven light, desk, HEIC
        Spec("phone.jpg", Capture(dpi=200, phone=True, perspective=0.05, shadow=0.3, noise=3, blur=0.7,
                                  fmt=Fmt.JPEG, quality=85), yes=(6,)),
        Spec("phone-steep-dark.jpg", Capture(dpi=180, phone=True, perspective=0.08, shadow=0.5, skew=-6, noise=4,
                                             fmt=Fmt.JPEG, quality=75), marks=(Mark.CROSS,)),
        Spec("phone-sideways-exif.jpg", Capture(dpi=200, phone=True, perspective=0.04, shadow=0.2, turns=1,
                                                exif=True, fmt=Fmt.JPEG)),
        Spec("phone-ambiguous.jpg", Capture(dpi=200, phone=True, perspective=0.05, shadow=0.3, fmt=Fmt.JPEG),
             ambiguous={3: Ambiguity.STRAY}),
        Spec("phone.heic", Capture(dpi=200, phone=True, perspective=0.05, shadow=0.25, fmt=Fmt.HEIC, quality=80),
             yes=(2,)),
    ]
    # the QR scribbled over: only the printed 检查编号 is left
    specs += [
        Spec("qr-spoiled.png", Capture(dpi=300, skew=1, noise=2), cards=("pdf1",), spoil_qr=True, yes=(4,)),
        Spec("qr-spoiled-phone.jpg", Capture(dpi=200, phone=True, perspective=0.04, shadow=0.2, fmt=Fmt.JPEG),
             spoil_qr=True),
    ]
    # cards printed from the Word version
    specs += [
        Spec("word-scan.png", Capture(dpi=200, skew=-2, noise=2), cards=("word0",), yes=(1,)),
        Spec("word-phone.jpg", Capture(dpi=200, phone=True, perspective=0.05, shadow=0.3, fmt=Fmt.JPEG),
             cards=("word0",), marks=(Mark.CROSS, Mark.TICK)),
        Spec("word-g4-ambiguous.tif", Capture(dpi=300, fmt=Fmt.TIFF_G4, skew=3), cards=("word0",),
             ambiguous={5: Ambiguity.CORRECTED}),
    ]
    return specs


SPECS = _specs()


def printed_cards(tmp_path_factory) -> dict[str, Printed]:  # type: ignore[no-untyped-def]
    """The kit's blank cards as printed: ``pdf0``/``pdf1`` from our PDF, ``word0`` from the Word
    version exported by LibreOffice (absent when LibreOffice is not installed)."""
    base = kit(tmp_path_factory)
    cards = {"pdf0": Printed.of(base / "0.pdf"), "pdf1": Printed.of(base / "1.pdf")}
    if SOFFICE:
        word = base / "word-print" / "0.pdf"
        if not word.exists():
            to_pdf_with_libreoffice([base / "0.docx"], word.parent)
        cards["word0"] = Printed.of(word, "word")
    return cards


def make_spec(spec: Spec, cards: dict[str, Printed], out: Path, seed: int) -> FileTruth:
    import numpy as np

    rng = np.random.default_rng([seed, 7])
    plans: list[tuple[Printed, CardPlan]] = []
    for k, key in enumerate(spec.cards):
        p = cards[key]
        pen = PENS[spec.pen] if spec.pen is not None else None
        plan = plan_card(p.layout.serial, rng, marks=spec.marks, yes_rate=0.0,
                         ambiguous=spec.ambiguous if k == 0 else None, pen=pen)
        if k == 0 and spec.yes:
            plan = replace(plan, questions=tuple(replace(q, intended="是") if q.number in spec.yes and q.intended
                                                 else q for q in plan.questions))
        if k == 0 and spec.spoil_qr:
            plan = replace(plan, spoil_qr=True)
        plans.append((p, plan))
    return make_file(plans, spec.cap, out / spec.name, seed, out / "truth")


def scan_corpus(tmp_path_factory) -> list[tuple[Path, FileTruth]]:  # type: ignore[no-untyped-def]
    """The corpus, made once per session: ``[(file, truth)]`` in ``SPECS`` order (Word-version files
    only when LibreOffice is installed)."""
    out = tmp_path_factory.getbasetemp() / "scan-corpus"
    cards = printed_cards(tmp_path_factory)
    specs = [s for s in SPECS if all(c in cards for c in s.cards)]
    if not (out / "ready").exists():
        out.mkdir(parents=True, exist_ok=True)
        for i, spec in enumerate(specs):
            make_spec(spec, cards, out, seed=1200 + i)
        (out / "ready").write_text("ok")
    return [(out / s.name, FileTruth.load(out / "truth" / f"{s.name}.json")) for s in specs]
