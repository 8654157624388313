"""A paper card whose QR cannot be read (scribbled over), as a new user meets it: the printed 检查编号
is read off the print (Tesseract) and never guessed; a card filed under such a serial waits in
``ruqi confirm`` until a person has compared the number with the picture; a card whose printed number
cannot be read either is tied by a person, also when the machine read all ten answers.

The cards are the simulator's (``engine.simulate_scan``): the kit's card printed, ticked with a pen,
its QR scribbled over, then scanned at 150–600 dpi or photographed, and filed by the inbox."""

from __future__ import annotations

import base64
import io
import shutil
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pytest
from _confirm_fixtures import drop
from _inbox_fixtures import KIT_KEY, kit, new_workspace, visit
from PIL import Image, ImageDraw

from engine import readings
from engine.archive import Action, audit_log
from engine.confirm import ConfirmCode, confirm, waiting_cards
from engine.confirm_sheet import sheet_context
from engine.inbox import Flag, Status
from engine.omr import read_scan
from engine.omr.model import SerialSource
from engine.review import build_review
from engine.simulate_scan import Capture, Fmt, Mark, Printed, make_file, plan_card
from engine.workspace import Workspace

S1, S2 = "140200-2025-0001", "140200-2025-0002"
RECEIVED = datetime(2025, 3, 5, 9, 0)
TODAY = date(2025, 3, 12)
CLEAN = "否否否否否否否否否否"

needs_tesseract = pytest.mark.skipif(shutil.which("tesseract") is None,
                                     reason="Tesseract (Debian tesseract-ocr) is not installed")


@pytest.fixture(scope="module")
def printed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Printed]:
    base = kit(tmp_path_factory)
    return {S1: Printed.of(base / "0.pdf"), S2: Printed.of(base / "1.pdf")}


def _spoiled(p: Printed, cap: Capture, dst: Path, seed: int, *, cover_serial: bool = False) -> Path:
    """The card ticked (all 否) in blue ballpoint, its QR scribbled over; ``cover_serial``: the printed
    检查编号 beside it inked out as well (nothing on the page tells the serial)."""
    plan = replace(plan_card(p.layout.serial, np.random.default_rng(seed), marks=(Mark.TICK,), yes_rate=0.0),
                   spoil_qr=True)
    make_file([(p, plan)], cap, dst, seed)
    if cover_serial:
        img = Image.open(dst).convert("RGB")
        qr, k = p.layout.qr, cap.dpi / 72
        assert qr is not None
        ImageDraw.Draw(img).rectangle((int(img.width * 0.3), int(qr.y0 * k), int(qr.x1 * k), int(qr.y1 * k)), fill="black")
        img.save(dst)
    return dst


# Captures where the old reader (digits only, the QR's scribble read with the last digit) found no
# whole serial: the label's colon now parts label and serial, blobs larger than a glyph are taken out.
# A phone photo's print is softer: its serial may stay unread (the card then waits to be tied), never misread.
CAPTURES = {
    "150dpi.png": (Capture(dpi=150), True),
    "200dpi-gray-skew.png": (Capture(dpi=200, skew=-8, noise=4, blur=0.8, gray=True), True),
    "600dpi-upside-down.pdf": (Capture(dpi=600, fmt=Fmt.PDF, turns=2), True),
    "phone.jpg": (Capture(dpi=200, phone=True, fmt=Fmt.JPEG, perspective=0.05, shadow=0.3), False),
}


@needs_tesseract
@pytest.mark.parametrize("name", list(CAPTURES))
def test_a_scribbled_qr_leaves_the_printed_serial_read_never_another(
        name: str, printed: dict[str, Printed], tmp_path: Path) -> None:
    cap, must_read = CAPTURES[name]
    got = []
    for k, (serial, p) in enumerate(printed.items()):
        path = _spoiled(p, cap, tmp_path / f"{k}-{name}", seed=k)
        (card,) = read_scan(path, KIT_KEY, "pdf" if name.endswith(".pdf") else "")
        assert card.reading.qr is None  # the scribble really hides the QR
        assert card.reading.serial in (None, serial), (name, card.reading.serial)  # never another's
        got.append(card.serial_source is SerialSource.OCR and card.reading.serial == serial)
        if card.reading.serial:
            assert card.reading.serial_from_ocr and "签名未核验" in card.reading.needs_review
    assert all(got) if must_read else any(got), (name, got)


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return new_workspace(tmp_path / "ws", inspections=2)


@needs_tesseract
def test_a_card_filed_under_a_serial_read_off_the_print_waits_until_a_person_confirms_it(
        ws: Workspace, printed: dict[str, Printed], tmp_path: Path) -> None:
    src = _spoiled(printed[S1], Capture(dpi=200), tmp_path / "涂画二维码.png", seed=0)
    out = drop(ws, src, "涂画二维码.png", RECEIVED)
    assert out.status is Status.NEEDS_REVIEW and out.serial == S1
    assert {Flag.QR_MISSING, Flag.NEEDS_REVIEW} <= set(out.flags)

    # All ten answers were read, yet the card waits: only its serial is to be checked.
    (w,) = waiting_cards(ws, today=TODAY)
    assert (w.serial, w.serial_unconfirmed, w.unresolved, w.days_waiting) == (S1, True, (), 7)
    assert w.to_json()["serial_unconfirmed"] is True
    v = visit(ws, S1)
    assert (v.card_read_by, v.card_status) == ("waiting", "needs_review") and Flag.NEEDS_REVIEW in v.card_flags
    assert build_review(ws, today=TODAY).entry(S1).read_by is readings.ReadBy.WAITING  # type: ignore[union-attr]
    sheet = sheet_context(ws, w)  # the sheet shows the printed number, legibly, and the command to confirm it
    assert sheet["header"] and sheet["ref"] == w.archival_code and sheet["serial_unconfirmed"]
    band = Image.open(io.BytesIO(base64.b64decode(sheet["header"].split(",", 1)[1])))
    assert band.width >= 800 and band.width > 2 * band.height  # the header band at 8 px/mm, not the page

    # Answers alone do not confirm the serial; another serial is refused; nothing is written.
    again = confirm(ws, S1, answers=CLEAN, by="刘核对")
    assert again.findings.codes() == [ConfirmCode.NEEDS_SERIAL] and "--serial" in list(again.findings)[0].message
    other = confirm(ws, w.archival_code, serial=S2, by="刘核对")
    assert other.findings.codes() == [ConfirmCode.ALREADY_TIED] and "文字识别" in list(other.findings)[0].message
    assert audit_log(ws, action=Action.TIE) == [] and len(waiting_cards(ws, today=TODAY)) == 1

    res = confirm(ws, w.archival_code, serial=S1, by="刘核对")
    assert res.ok and res.tied and not res.serial_unconfirmed, res.findings
    assert waiting_cards(ws, today=TODAY) == []
    v = visit(ws, S1)
    assert (v.card_read_by, v.card_status) == ("machine", "received") and Flag.NEEDS_REVIEW not in v.card_flags
    assert Flag.QR_MISSING in v.card_flags  # the 纪委 still sees that no signature was checked
    (tie,) = audit_log(ws, action=Action.TIE)
    assert (tie.actor, tie.object, tie.details["serial_read"]) == ("刘核对", S1, S1)


def test_a_card_without_any_readable_serial_is_tied_with_the_answers_the_machine_read(
        ws: Workspace, printed: dict[str, Printed], tmp_path: Path) -> None:
    src = _spoiled(printed[S2], Capture(dpi=200), tmp_path / "看不清编号.png", seed=1, cover_serial=True)
    out = drop(ws, src, "看不清编号.png", RECEIVED)
    assert out.serial is None and out.answers == {str(i): "否" for i in range(1, 11)}  # never a guessed serial
    # It waits for a person (to be tied), so the clerk is told so, not "filed".
    assert out.status is Status.NEEDS_REVIEW and Flag.NEEDS_REVIEW in out.flags
    assert any("ruqi confirm 档号 --serial" in f.message for f in out.findings)
    (w,) = waiting_cards(ws, today=TODAY)
    assert w.needs_serial and w.unresolved == ()

    # What the list tells the clerk to type: 档号, --serial, the answers, --by.
    res = confirm(ws, w.archival_code, serial=S2, answers=CLEAN, by="刘核对")
    assert res.ok and res.tied and res.recorded == {}, res.findings
    assert waiting_cards(ws, today=TODAY) == []
    assert visit(ws, S2).card_answers == {str(i): "否" for i in range(1, 11)}
    assert [e.object for e in audit_log(ws, action=Action.TIE)] == [S2]
    assert audit_log(ws, action=Action.CONFIRM) == []  # nothing was recorded over the machine's reading


@needs_tesseract
def test_the_web_page_confirms_a_serial_read_off_the_print(ws: Workspace, printed: dict[str, Printed],
                                                           tmp_path: Path) -> None:
    from _web_fixtures import Client, live_server, make_users

    src = _spoiled(printed[S1], Capture(dpi=200), tmp_path / "涂画二维码.png", seed=0)
    drop(ws, src, "涂画二维码.png", RECEIVED)
    (w,) = waiting_cards(ws, today=TODAY)
    names = make_users(ws)
    with live_server(ws, today=TODAY) as srv:
        c = Client(srv.url)
        assert c.login(names["clerk"]).status == 303
        assert "编号由文字识别，需核对" in c.get("/pending").text
        page = c.get(f"/pending/{w.item_id}").text
        assert 'name="serial"' in page and "签名未核验" in page and "原件上印的检查编号" in page
        wrong = c.post(f"/pending/{w.item_id}", {"csrf_token": c.csrf(), "serial": S2})
        assert wrong.status == 400 and "CONFIRM_ALREADY_TIED" in wrong.text and waiting_cards(ws, today=TODAY)
        done = c.post(f"/pending/{w.item_id}", {"csrf_token": c.csrf(), "serial": S1})
        assert done.status == 303, done.text[:500]
    assert waiting_cards(ws, today=TODAY) == [] and visit(ws, S1).card_read_by == "machine"
    (tie,) = audit_log(ws, action=Action.TIE)
    assert (tie.actor, tie.object) == (names["clerk"], S1)


